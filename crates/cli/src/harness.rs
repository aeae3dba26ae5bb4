//! The wiring the demo, the end-to-end tests and the fixture recorder share: an
//! embedded sandbox, the merchant's callback receiver, the three gateways, and
//! a payer pressing a button on a payment page. No network beyond loopback.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{CallbackEvent, Config, DepositRequest, Error, Gateway, Money, OrderId, Provider};
use paybridge_sandbox::{
    Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN, DEMO_SECRET_KEY,
    DEMO_USERNAME,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How long [`Receiver::next`] waits for a callback.
pub const CALLBACK_WAIT: Duration = Duration::from_secs(10);

/// The merchant's callback receiver: the ready axum route for each provider,
/// handing every verified and confirmed delivery to a channel.
#[derive(Debug)]
pub struct Receiver {
    /// `http://ADDR`; providers post to `/{provider}`.
    pub url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    payment_tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Receiver {
    /// Records the payment token of a ONE-PUNCH order, as a merchant's database would.
    pub fn remember_payment_token(&self, order_id: &str, payment_token: &str) {
        self.payment_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(order_id.to_owned(), payment_token.to_owned());
    }

    /// Counts deliveries per order id until every id in `wanted` has arrived at
    /// least once or `timeout` passes. Returns `(order id -> deliveries, duplicates
    /// flagged by the seen-before check)`.
    pub async fn collect(
        &mut self,
        wanted: &HashSet<String>,
        timeout: Duration,
    ) -> (HashMap<String, u32>, u32) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut duplicates = 0;
        while !wanted.iter().all(|id| counts.contains_key(id)) {
            match tokio::time::timeout_at(deadline, self.deliveries.recv()).await {
                Ok(Some(delivery)) => {
                    duplicates += u32::from(delivery.duplicate);
                    if let Some(id) = &delivery.event.order_id {
                        *counts.entry(id.to_string()).or_default() += 1;
                    }
                }
                _ => break,
            }
        }
        (counts, duplicates)
    }

    /// Waits up to [`CALLBACK_WAIT`] for the next delivery for `order_id`
    /// (deliveries for other orders are skipped).
    pub async fn next(&mut self, order_id: &str) -> Result<Delivery, String> {
        let deadline = tokio::time::Instant::now() + CALLBACK_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.deliveries.recv()).await {
                Ok(Some(d)) if d.event.order_id.as_ref().map(OrderId::as_str) == Some(order_id) => {
                    return Ok(d)
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err("callback receiver stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "no verified callback for {order_id} within {CALLBACK_WAIT:?}"
                    ))
                }
            }
        }
    }
}

/// What the merchant has already applied, one key per (provider, kind, order
/// id, status), so a repeated delivery is flagged as a duplicate.
fn applied_key(event: &CallbackEvent) -> String {
    let order_id = event.order_id.as_ref().map(OrderId::as_str).unwrap_or("");
    format!(
        "{}/{}/{order_id}/{}",
        event.provider, event.kind, event.status
    )
}

/// Serves the callback routes on an already bound listener (its URL had to be
/// known before the sandbox could be told where to call back).
fn serve_receiver(
    listener: TcpListener,
    url: String,
    gateways: &[(Provider, Gateway)],
) -> Receiver {
    let (tx, deliveries) = mpsc::unbounded_channel();
    let payment_tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let applied: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut app = axum::Router::new().route("/return", axum::routing::get(|| async { "thanks" }));
    for (provider, gateway) in gateways {
        let tx = tx.clone();
        let tokens = payment_tokens.clone();
        let (applied, seen) = (applied.clone(), applied.clone());
        let route = CallbackRoute::new(gateway.clone(), move |delivery: Delivery| {
            let tx = tx.clone();
            let applied = applied.clone();
            async move {
                applied
                    .lock()
                    .map_err(|_| "lock poisoned")?
                    .insert(applied_key(&delivery.event));
                tx.send(delivery).map_err(|_| "demo receiver closed")
            }
        })
        .seen_before(move |event| {
            seen.lock()
                .map(|s| s.contains(&applied_key(event)))
                .unwrap_or(false)
        })
        .provider_ref_lookup(move |order_num| {
            let tokens = tokens.lock().unwrap_or_else(|p| p.into_inner());
            order_num.and_then(|n| tokens.get(n).cloned())
        });
        app = app.nest(&format!("/{provider}"), route.into_router());
    }
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url,
        deliveries,
        payment_tokens,
    }
}

/// The configuration of the three providers at a sandbox's `base` URL with its
/// demo credentials; ONE-PUNCH's default notify and return URLs when given.
pub fn demo_config(base: &str, onepunch_urls: Option<(&str, &str)>) -> Result<Config, Error> {
    let onepunch_urls = onepunch_urls
        .map(|(notify, ret)| format!("notify_url = \"{notify}\"\nreturn_url = \"{ret}\"\n"))
        .unwrap_or_default();
    let form_api = |provider: Provider| {
        format!(
            "[{provider}]\nbase_url = \"{base}/{provider}\"\nusername = \"{DEMO_USERNAME}\"\n\
             api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n"
        )
    };
    let text = format!(
        "{}{}[onepunch]\nbase_url = \"{base}/onepunch\"\nmonster_token = \"{DEMO_MONSTER_TOKEN}\"\n\
         monster_key = \"{DEMO_MONSTER_KEY}\"\n{onepunch_urls}[http]\nresolve_delay_ms = 50\n",
        form_api(paybridge::providers::VPAY88),
        form_api(paybridge::providers::ONE1PAY),
    );
    Config::from_toml(&text, "the demo's configuration")
}

/// Gateways for the three providers, pointed at `sandbox` with its demo credentials.
pub fn gateways(sandbox: &Sandbox, receiver_url: &str) -> Result<Vec<(Provider, Gateway)>, Error> {
    let (notify, ret) = (
        format!("{receiver_url}/onepunch"),
        format!("{receiver_url}/return"),
    );
    let config = demo_config(&sandbox.base_url(), Some((&notify, &ret)))?;
    paybridge::providers::BUILT_IN
        .into_iter()
        .map(|provider| Ok((provider, Gateway::for_provider(&config, provider)?)))
        .collect()
}

/// A Vpay88 MYR deposit of `amount` by the demo payer, sending them back to a
/// closed loopback port.
pub fn myr_deposit(order_id: &str, amount: &str) -> Result<DepositRequest, Error> {
    DepositRequest::builder(order_id, Money::parse(amount, "MYR")?)
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .redirect_url("http://127.0.0.1:9/back")
        .build()
}

/// Opens a payment page and presses a button, as a payer would. The browser
/// does not follow redirects, so the answer can say where it was sent.
pub async fn pay(page_url: &str, outcome: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let page = client
        .get(page_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    if !html.contains("id=\"pay\"") || !html.contains("id=\"fail\"") {
        return Err("the payment page has no Pay/Fail buttons".into());
    }
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the payment page has no form action")?;
    let origin: String = page_url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    let response = client
        .post(format!("{origin}{action}"))
        .form(&[("outcome", outcome)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if status.is_redirection() {
        Ok(format!("pressed {outcome:?}, redirected to {location}"))
    } else if status.is_success() {
        Ok(format!("pressed {outcome:?}"))
    } else {
        Err(format!("the page answered HTTP {status}"))
    }
}

/// Settles an order as the provider's back office would, through the sandbox's
/// operator endpoint: `kind` is `deposits` or `withdrawals`, `outcome` a status
/// word the provider's document uses. The sandbox calls the merchant back.
pub async fn settle_in_back_office(
    sandbox_base: &str,
    provider: Provider,
    kind: &str,
    order_id: &str,
    outcome: &str,
) -> Result<reqwest::Response, String> {
    reqwest::Client::new()
        .post(format!(
            "{sandbox_base}/{provider}/_sandbox/{kind}/{order_id}/settle"
        ))
        .form(&[("outcome", outcome)])
        .send()
        .await
        .map_err(|e| e.to_string())
}

/// A sandbox, a callback receiver and the three gateways, wired together.
#[derive(Debug)]
pub struct Harness {
    /// The running sandbox.
    pub sandbox: Sandbox,
    /// The merchant's receiver.
    pub receiver: Receiver,
    /// A gateway for each of [`paybridge::providers::BUILT_IN`], in that order.
    pub gateways: Vec<(Provider, Gateway)>,
}

impl Harness {
    /// Starts everything on free loopback ports. The demo merchants' account
    /// callback URLs are pointed at the receiver.
    pub async fn start(mut config: SandboxConfig) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::local("the demo's loopback listeners", e);
        // The receiver's address must be known before the sandbox is configured.
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let receiver_url = format!("http://{}", listener.local_addr().map_err(io)?);
        for merchant in &mut config.vpay88 {
            merchant.callback_url =
                Some(format!("{receiver_url}/{}", paybridge::providers::VPAY88));
        }
        for merchant in &mut config.one1pay {
            merchant.callback_url =
                Some(format!("{receiver_url}/{}", paybridge::providers::ONE1PAY));
        }
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let sandbox = Sandbox::start(config, loopback).await.map_err(io)?;
        let gateways = gateways(&sandbox, &receiver_url)?;
        let receiver = serve_receiver(listener, receiver_url, &gateways);
        Ok(Self {
            sandbox,
            receiver,
            gateways,
        })
    }

    /// The gateway for `provider`; `None` for a provider the harness does not wire.
    pub fn gateway(&self, provider: Provider) -> Option<&Gateway> {
        self.gateways
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, g)| g)
    }
}
