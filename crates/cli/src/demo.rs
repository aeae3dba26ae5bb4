//! `paybridge demo`: the whole life of a merchant, for each provider, against an
//! embedded sandbox and a local callback receiver. No network beyond loopback.
//!
//! [`Harness`] is the wiring (sandbox, receiver, gateways), shared with the
//! end-to-end tests.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{
    Config, Currency, DepositRequest, Error, Gateway, Money, OrderId, OrderStatus, StatusQuery,
    WithdrawalRequest,
};
use paybridge_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How long a step waits for a callback.
const CALLBACK_WAIT: Duration = Duration::from_secs(10);

struct Steps {
    failures: usize,
    count: usize,
}

impl Steps {
    async fn run<T, E: Display>(
        &mut self,
        provider: &str,
        name: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Option<T>
    where
        T: Summary,
    {
        let started = Instant::now();
        let outcome = step.await;
        let took = started.elapsed();
        self.count += 1;
        match outcome {
            Ok(value) => {
                println!(
                    "  ok    {provider:<8} {name:<34} {:>9}  {}",
                    format!("{took:.1?}"),
                    value.summary()
                );
                Some(value)
            }
            Err(err) => {
                self.failures += 1;
                println!(
                    "  FAIL  {provider:<8} {name:<34} {:>9}  {err}",
                    format!("{took:.1?}")
                );
                None
            }
        }
    }
}

trait Summary {
    fn summary(&self) -> String;
}

impl Summary for String {
    fn summary(&self) -> String {
        self.clone()
    }
}

fn fail(message: impl Into<String>) -> String {
    message.into()
}

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
        wanted: &std::collections::HashSet<String>,
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

    /// Waits for the next delivery for `order_id` (others are skipped).
    pub async fn next(&mut self, order_id: &str) -> Result<Delivery, String> {
        let deadline = tokio::time::Instant::now() + CALLBACK_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.deliveries.recv()).await {
                Ok(Some(d)) if d.event.order_id.as_ref().map(OrderId::as_str) == Some(order_id) => {
                    return Ok(d)
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err(fail("callback receiver stopped")),
                Err(_) => {
                    return Err(fail(format!(
                        "no verified callback for {order_id} within {CALLBACK_WAIT:?}"
                    )))
                }
            }
        }
    }
}

/// Serves the callback routes on an already bound listener (its URL had to be
/// known before the sandbox could be told where to call back).
fn serve_receiver(
    listener: TcpListener,
    url: String,
    gateways: &[(&'static str, Gateway)],
) -> Receiver {
    let (tx, deliveries) = mpsc::unbounded_channel();
    let payment_tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    // What the merchant has already applied: (provider, kind, order id, status).
    let applied: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
    let mut app = axum::Router::new().route("/return", axum::routing::get(|| async { "thanks" }));
    for (name, gateway) in gateways {
        let tx = tx.clone();
        let tokens = payment_tokens.clone();
        let (applied, seen) = (applied.clone(), applied.clone());
        let key = |e: &paybridge::CallbackEvent| {
            format!("{}/{}/{:?}/{}", e.provider, e.kind, e.order_id, e.status)
        };
        let route = CallbackRoute::new(gateway.clone(), move |delivery: Delivery| {
            let tx = tx.clone();
            let applied = applied.clone();
            async move {
                applied
                    .lock()
                    .map_err(|_| "lock poisoned")?
                    .insert(key(&delivery.event));
                tx.send(delivery).map_err(|_| "demo receiver closed")
            }
        })
        .seen_before(move |event| {
            seen.lock()
                .map(|s| s.contains(&key(event)))
                .unwrap_or(false)
        })
        .provider_ref_lookup(move |order_num| {
            let tokens = tokens.lock().unwrap_or_else(|p| p.into_inner());
            order_num.and_then(|n| tokens.get(n).cloned())
        });
        app = app.nest(&format!("/{name}"), route.into_router());
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
    let text = format!(
        r#"
[vpay88]
base_url = "{base}/vpay88"
username = "demo"
api_key = "demo-api-key"
secret_key = "demo-secret-key"
[one1pay]
base_url = "{base}/one1pay"
username = "demo"
api_key = "demo-api-key"
secret_key = "demo-secret-key"
[onepunch]
base_url = "{base}/onepunch"
monster_token = "MON-demo"
monster_key = "demo-monster-key"
{onepunch_urls}[http]
resolve_delay_ms = 50
"#
    );
    Config::from_toml(&text, "the demo's configuration")
}

/// Gateways for the three providers, pointed at `sandbox` with its demo credentials.
pub fn gateways(
    sandbox: &Sandbox,
    receiver_url: &str,
) -> Result<Vec<(&'static str, Gateway)>, Error> {
    let (notify, ret) = (
        format!("{receiver_url}/onepunch"),
        format!("{receiver_url}/return"),
    );
    let config = demo_config(&sandbox.base_url(), Some((&notify, &ret)))?;
    Ok(vec![
        (
            "vpay88",
            Gateway::for_provider(&config, paybridge::Provider::Vpay88)?,
        ),
        (
            "one1pay",
            Gateway::for_provider(&config, paybridge::Provider::One1Pay)?,
        ),
        (
            "onepunch",
            Gateway::for_provider(&config, paybridge::Provider::OnePunch)?,
        ),
    ])
}

/// A browser that does not follow redirects, so the demo can show them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Opens a payment page and presses a button, as a payer would.
pub async fn pay(page_url: &str, outcome: &str) -> Result<String, String> {
    let client = browser();
    let page = client
        .get(page_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    if !html.contains("id=\"pay\"") || !html.contains("id=\"fail\"") {
        return Err(fail("the payment page has no Pay/Fail buttons"));
    }
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| fail("the payment page has no form action"))?;
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

fn expect_status(report: &paybridge::StatusReport, want: OrderStatus) -> Result<String, String> {
    if report.status == want {
        Ok(format!(
            "{} (provider says {:?})",
            report.status, report.provider_status
        ))
    } else {
        Err(format!(
            "expected {want}, got {} ({:?})",
            report.status, report.provider_status
        ))
    }
}

fn describe(delivery: &Delivery) -> Result<String, String> {
    let event = &delivery.event;
    let confirmed = delivery
        .confirmed
        .as_ref()
        .ok_or_else(|| fail("the callback was not confirmed"))?;
    Ok(format!(
        "{} {} {}, verified and confirmed by status ({})",
        event.kind, event.amount, event.status, confirmed.status
    ))
}

async fn forged_rejected(
    receiver_url: &str,
    provider: &str,
    body: String,
) -> Result<String, String> {
    let response = reqwest::Client::new()
        .post(format!("{receiver_url}/{provider}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::BAD_REQUEST {
        Ok(format!("HTTP 400: {text}"))
    } else {
        Err(format!("a forged callback got HTTP {status}"))
    }
}

async fn form_provider(
    steps: &mut Steps,
    name: &'static str,
    gateway: &Gateway,
    sandbox: &Sandbox,
    receiver: &mut Receiver,
) {
    let currency = if name == "vpay88" { "MYR" } else { "THB" };
    let cur = Currency::new(currency).ok();
    steps.run(name, "currencies", gateway.currencies()).await;
    let banks = steps
        .run(
            name,
            "withdrawal banks",
            gateway.withdrawal_banks(cur.as_ref()),
        )
        .await;
    let suffix = std::process::id();
    let return_url = format!("{}/return", receiver.url);
    let deposit = |order: &str| {
        let mut b = DepositRequest::builder(
            order,
            Money::parse("100.50", currency).expect("valid demo amount"),
        )
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789");
        if name == "one1pay" {
            b = b
                .bank_id("101")
                .payment_method("thaiqr")
                .redirect_url(return_url.clone())
                .customer_bank_holder_name("John Doe")
                .customer_bank_account("1234567890");
        }
        b.build()
    };
    for (label, outcome, want) in [
        ("paid", "completed", OrderStatus::Completed),
        ("failed", "fail", OrderStatus::Failed),
    ] {
        let order_id = format!("DEMO-{name}-{label}-{suffix}");
        let created = steps
            .run(name, &format!("deposit created ({label})"), async {
                let order = gateway.create_deposit(&deposit(&order_id)?).await?;
                Ok::<_, Error>(order.payment_url)
            })
            .await;
        let Some(url) = created else { continue };
        steps
            .run(
                name,
                &format!("payment page: {outcome}"),
                pay(&url, outcome),
            )
            .await;
        steps
            .run(name, "callback", async {
                receiver.next(&order_id).await.and_then(|d| describe(&d))
            })
            .await;
        steps
            .run(name, "deposit status", async {
                let report = gateway
                    .deposit_status(&StatusQuery::new(
                        OrderId::new(&order_id).map_err(|e| e.to_string())?,
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                expect_status(&report, want)
            })
            .await;
    }
    let Some(bank_id) = banks.and_then(|b| b.first().map(|b| b.id.clone())) else {
        return;
    };
    let payout_id = format!("DEMO-{name}-payout-{suffix}");
    let sent = steps
        .run(name, "withdrawal created", async {
            let request = WithdrawalRequest::builder(
                &payout_id,
                Money::parse("250", currency)?,
                bank_id,
                "John Doe",
                "1234567890",
            )
            .build()?;
            gateway
                .create_withdrawal(&request)
                .await
                .map(|r| format!("accepted, provider_ref {:?}", r.provider_ref))
        })
        .await;
    if sent.is_some() {
        steps
            .run(name, "withdrawal status", async {
                let report = gateway
                    .withdrawal_status(&StatusQuery::new(
                        OrderId::new(&payout_id).map_err(|e| e.to_string())?,
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                expect_status(&report, OrderStatus::Processing)
            })
            .await;
        steps
            .run(name, "withdrawal settled by provider", async {
                let url = format!(
                    "{}/{name}/_sandbox/withdrawals/{payout_id}/settle",
                    sandbox.base_url()
                );
                let r = reqwest::Client::new()
                    .post(url)
                    .form(&[("outcome", "completed")])
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status().is_success() {
                    Ok("completed".to_string())
                } else {
                    Err(format!("HTTP {}", r.status()))
                }
            })
            .await;
        steps
            .run(name, "callback", async {
                receiver.next(&payout_id).await.and_then(|d| describe(&d))
            })
            .await;
    }
    if name == "one1pay" {
        steps
            .run(name, "balance", async {
                let b = gateway.balance(&Currency::new(currency)?).await?;
                Ok::<_, Error>(format!("{} available", b.available))
            })
            .await;
    } else {
        steps
            .run(name, "balance is unsupported", async {
                match gateway
                    .balance(&Currency::new(currency).map_err(|e| e.to_string())?)
                    .await
                {
                    Err(Error::Unsupported { .. }) => Ok("refused before any request".to_string()),
                    other => Err(format!("expected unsupported, got {other:?}")),
                }
            })
            .await;
    }
    let forged = format!(
        r#"{{"order_id":"DEMO-{name}-paid-{suffix}","amount":"1000000","currency":"{currency}","order_status":"completed","status":true,"token":"{}","type":"deposit"}}"#,
        "0".repeat(32)
    );
    steps
        .run(
            name,
            "forged callback rejected",
            forged_rejected(&receiver.url, name, forged),
        )
        .await;
}

async fn onepunch(steps: &mut Steps, gateway: &Gateway, receiver: &mut Receiver) {
    let name = "onepunch";
    let methods = steps
        .run(name, "payment methods", async {
            gateway.payment_methods().await.map(|m| {
                m.iter()
                    .map(|m| m.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        })
        .await;
    steps
        .run(name, "allowed amounts", gateway.currencies())
        .await;
    if methods.is_none() {
        return;
    }
    let suffix = std::process::id();
    for (label, outcome, want) in [
        ("paid", "completed", OrderStatus::Completed),
        ("failed", "fail", OrderStatus::Failed),
    ] {
        let order_id = format!("DEMO-punch-{label}-{suffix}");
        let created = steps
            .run(name, &format!("deposit created ({label})"), async {
                let request = DepositRequest::builder(&order_id, Money::parse("10.00", "CNY")?)
                    .payment_method("ali-person")
                    .build()?;
                let order = gateway.create_deposit(&request).await?;
                Ok::<_, Error>(order)
            })
            .await;
        let Some(order) = created else { continue };
        let token = order.provider_ref.clone().unwrap_or_default();
        receiver
            .payment_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(order_id.clone(), token.clone());
        steps
            .run(
                name,
                &format!("payment page: {outcome}"),
                pay(&order.payment_url, outcome),
            )
            .await;
        steps
            .run(name, "notification", async {
                receiver.next(&order_id).await.and_then(|d| describe(&d))
            })
            .await;
        steps
            .run(name, "deposit status", async {
                let query = StatusQuery::new(OrderId::new(&order_id).map_err(|e| e.to_string())?)
                    .with_provider_ref(token.clone());
                let report = gateway
                    .deposit_status(&query)
                    .await
                    .map_err(|e| e.to_string())?;
                expect_status(&report, want)
            })
            .await;
    }
    steps
        .run(name, "withdrawal is unsupported", async {
            let request = WithdrawalRequest::builder(
                "DEMO-punch-w",
                Money::parse("1", "CNY").map_err(|e| e.to_string())?,
                "1",
                "J",
                "1",
            )
            .build()
            .map_err(|e| e.to_string())?;
            match gateway.create_withdrawal(&request).await {
                Err(Error::Unsupported { .. }) => Ok("refused before any request".to_string()),
                other => Err(format!("expected unsupported, got {other:?}")),
            }
        })
        .await;
    let forged = format!(
        r#"{{"monster_token":"MON-demo","transaction_status":true,"message":"TRANSACTION SUCCEED","amount":100000,"order_num":"DEMO-punch-paid-{suffix}","signature":"{}","payment_token":"OPforged"}}"#,
        "0".repeat(32)
    );
    steps
        .run(
            name,
            "forged notification rejected",
            forged_rejected(&receiver.url, name, forged),
        )
        .await;
}

impl Summary for Vec<paybridge::CurrencyLimit> {
    fn summary(&self) -> String {
        let shown: Vec<String> = self
            .iter()
            .map(|l| match &l.allowed_amounts {
                Some(amounts) => format!(
                    "{} {}",
                    l.currency,
                    amounts
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                ),
                None => format!(
                    "{} {}..{}",
                    l.currency,
                    l.min.normalize(),
                    l.max.normalize()
                ),
            })
            .collect();
        shown.join(", ")
    }
}

impl Summary for Vec<paybridge::Bank> {
    fn summary(&self) -> String {
        match self.first() {
            Some(bank) => format!("{} banks; first {:?} id {}", self.len(), bank.name, bank.id),
            None => "no banks".into(),
        }
    }
}

impl Summary for paybridge::DepositOrder {
    fn summary(&self) -> String {
        format!(
            "{} (token {})",
            self.payment_url,
            self.provider_ref.as_deref().unwrap_or("-")
        )
    }
}

/// A sandbox, a callback receiver and the three gateways, wired together.
#[derive(Debug)]
pub struct Harness {
    /// The running sandbox.
    pub sandbox: Sandbox,
    /// The merchant's receiver.
    pub receiver: Receiver,
    /// `(provider, gateway)` for vpay88, one1pay and onepunch.
    pub gateways: Vec<(&'static str, Gateway)>,
}

impl Harness {
    /// Starts everything on free loopback ports. The demo merchants' account
    /// callback URLs are pointed at the receiver.
    pub async fn start(mut config: SandboxConfig) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::Config {
            key: "demo".into(),
            reason: e.to_string(),
        };
        // The receiver's address must be known before the sandbox is configured.
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let receiver_url = format!("http://{}", listener.local_addr().map_err(io)?);
        for merchant in &mut config.vpay88 {
            merchant.callback_url = Some(format!("{receiver_url}/vpay88"));
        }
        for merchant in &mut config.one1pay {
            merchant.callback_url = Some(format!("{receiver_url}/one1pay"));
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

    /// The gateway for `provider`.
    pub fn gateway(&self, provider: &str) -> Option<&Gateway> {
        self.gateways
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, g)| g)
    }
}

/// Runs the demo; `Ok(true)` when every step behaved.
pub async fn run() -> Result<bool, Error> {
    let started = Instant::now();
    let Harness {
        sandbox,
        mut receiver,
        gateways,
    } = Harness::start(SandboxConfig::default()).await?;
    println!(
        "paybridge demo: sandbox at {}, callbacks to {}",
        sandbox.base_url(),
        receiver.url
    );
    println!();
    let mut steps = Steps {
        failures: 0,
        count: 0,
    };
    for (name, gateway) in &gateways {
        match *name {
            "onepunch" => onepunch(&mut steps, gateway, &mut receiver).await,
            _ => form_provider(&mut steps, name, gateway, &sandbox, &mut receiver).await,
        }
    }
    println!();
    println!(
        "{} steps, {} failed, {:.2?}",
        steps.count,
        steps.failures,
        started.elapsed()
    );
    Ok(steps.failures == 0)
}
