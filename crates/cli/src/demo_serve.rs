//! The demo's `serve` steps: the same life of a Vpay88 deposit and payout,
//! over HTTP through `paybridge serve` on its own ledger, as a merchant in any
//! language calls it, with the ledger's events delivered as signed webhooks
//! to the sandbox, which verifies them by its own reading of the standard and
//! shows them on its dashboard.

use std::time::Duration;

use paybridge::{Config, Error};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};
use serde_json::{json, Value};

use crate::demo::Steps;
use crate::harness::{pay, settle_in_back_office};

/// The demo's API key, and the secret its webhooks are signed with.
const KEY: &str = "demo-serve-key";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a step waits for the ledger or a webhook to catch up.
const WAIT: Duration = Duration::from_secs(10);

/// The running service and its sandbox, which takes its webhooks too.
struct Served {
    api: String,
    sandbox: Sandbox,
    stop: tokio::sync::watch::Sender<bool>,
    ledger_dir: std::path::PathBuf,
}

async fn start() -> Result<Served, Error> {
    let io = |e: std::io::Error| Error::local("the demo's service", e);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io)?;
    let api = format!("http://{}", listener.local_addr().map_err(io)?);
    // This sandbox's Vpay88 merchant calls back to the service.
    let secret = paybridge_sandbox::webhooks::Secret::parse(WEBHOOK_SECRET)
        .map_err(|e| Error::local("the demo's webhook secret", e))?;
    let mut sandbox_config = SandboxConfig::default().with_webhook_secret(secret);
    for merchant in &mut sandbox_config.vpay88 {
        merchant.callback_url = Some(format!("{api}/v1/callbacks/vpay88"));
    }
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .map_err(io)?;
    let events_url = format!("{}/merchant/webhooks", sandbox.base_url());
    let ledger_dir =
        std::env::temp_dir().join(format!("paybridge-demo-serve-{}", std::process::id()));
    std::fs::create_dir_all(&ledger_dir).map_err(io)?;
    let config = Config::from_toml(
        &format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{}/vpay88\"\nusername = \"{DEMO_USERNAME}\"\n\
             api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n[http]\nresolve_delay_ms = 50\n\
             [ledger]\nurl = \"sqlite://{}\"\n[serve]\napi_keys = [\"{}\"]\n\
             [serve.webhooks]\nurl = \"{events_url}\"\nsecrets = [\"{WEBHOOK_SECRET}\"]\n",
            sandbox.base_url(),
            ledger_dir.join("serve.db").display(),
            paybridge_serve::hash_key(KEY),
        ),
        "the demo's serve configuration",
    )?;
    let ledger = config
        .open_ledger()
        .await?
        .ok_or_else(|| Error::local("the demo", "no ledger configured"))?;
    let service = paybridge_serve::Service::new(&config, ledger.clone())?;
    let outbox = paybridge_serve::webhook_outbox(&config, ledger)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut serve_stopped = stopped.clone();
    tokio::spawn(async move {
        let _ = paybridge_serve::run(
            &service,
            listener,
            async move {
                let _ = serve_stopped.wait_for(|s| *s).await;
            },
            Duration::from_secs(5),
        )
        .await;
    });
    if let Some(outbox) = outbox {
        let mut outbox_stopped = stopped;
        tokio::spawn(async move {
            outbox
                .run(Duration::from_millis(100), async move {
                    let _ = outbox_stopped.wait_for(|s| *s).await;
                })
                .await;
        });
    }
    Ok(Served {
        api,
        sandbox,
        stop,
        ledger_dir,
    })
}

/// A call with the demo's key: the status, the `Idempotent-Replayed` header, the JSON body.
async fn call(
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    idempotency_key: Option<&str>,
) -> Result<(u16, bool, Value), String> {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let body = response.json().await.map_err(|e| e.to_string())?;
    Ok((status, replayed, body))
}

/// Reads `url` until its `status` is `want`, for at most [`WAIT`].
async fn until_status(url: &str, want: &str) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (code, _, body) = call(reqwest::Method::GET, url, None, None).await?;
        if code == 200 && body["status"] == want {
            return Ok(format!(
                "GET says {want} (provider says {})",
                body["provider_status"].as_str().unwrap_or("-")
            ));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("still {} after {WAIT:?}: {body}", body["status"]));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the sandbox to have verified a webhook of `event_type` for `order_id`.
async fn until_webhook(
    sandbox: &Sandbox,
    event_type: &str,
    order_id: &str,
) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = sandbox
            .webhooks()
            .into_iter()
            .find(|w| {
                w.verified
                    && w.event_type.as_deref() == Some(event_type)
                    && w.order_id.as_deref() == Some(order_id)
            })
            .map(|w| w.webhook_id);
        if let Some(id) = found {
            return Ok(format!(
                "{event_type} {order_id}, verified by the sandbox ({id})"
            ));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "no verified {event_type} for {order_id} within {WAIT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The steps, over HTTP.
pub(crate) async fn serve_life(steps: &mut Steps) {
    let provider = paybridge::providers::VPAY88;
    let Some(served) = steps
        .run(provider, "serve: started on a ledger", async {
            start().await.map(|served| {
                let summary = format!(
                    "{} (its sandbox {} takes its webhooks)",
                    served.api,
                    served.sandbox.base_url()
                );
                (served, summary)
            })
        })
        .await
        .map(|(served, _)| served)
    else {
        return;
    };
    let suffix = std::process::id();
    let deposit_id = format!("DEMO-serve-deposit-{suffix}");
    let payout_id = format!("DEMO-serve-payout-{suffix}");
    let api = served.api.clone();
    let created = steps
        .run(provider, "serve: POST /v1/deposits", async {
            let body = json!({
                "order_id": deposit_id, "amount": "120.00", "currency": "MYR",
                "customer": {"name": "John Doe", "email": "john@example.com", "phone": "60123456789"},
            });
            match call(reqwest::Method::POST, &format!("{api}/v1/deposits"), Some(body), None).await? {
                (201, _, answer) => {
                    let url = answer["payment_url"].as_str().unwrap_or_default().to_owned();
                    Ok((url.clone(), format!("201, payment page {url}")))
                }
                (status, _, answer) => Err(format!("HTTP {status}: {answer}")),
            }
        })
        .await;
    if let Some((payment_url, _)) = created {
        steps
            .run(
                provider,
                "serve: payment page: completed",
                pay(&payment_url, "completed"),
            )
            .await;
        steps
            .run(
                provider,
                "serve: callback into the ledger",
                until_status(&format!("{api}/v1/deposits/{deposit_id}"), "completed"),
            )
            .await;
        steps
            .run(
                provider,
                "serve: webhook deposit.completed",
                until_webhook(&served.sandbox, "deposit.completed", &deposit_id),
            )
            .await;
    }
    let payout = json!({
        "order_id": payout_id, "amount": "75.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "John Doe", "account_no": "1234567890",
    });
    let key = format!("demo-payout-{suffix}");
    let payouts = format!("{api}/v1/payouts");
    steps
        .run(provider, "serve: POST /v1/payouts with a key", async {
            match call(
                reqwest::Method::POST,
                &payouts,
                Some(payout.clone()),
                Some(&key),
            )
            .await?
            {
                (201, _, answer) => {
                    Ok(format!("201, {}", answer["status"].as_str().unwrap_or("-")))
                }
                (status, _, answer) => Err(format!("HTTP {status}: {answer}")),
            }
        })
        .await;
    steps
        .run(provider, "serve: the same key again", async {
            let (status, replayed, _) = call(
                reqwest::Method::POST,
                &payouts,
                Some(payout.clone()),
                Some(&key),
            )
            .await?;
            let creates: u32 = served
                .sandbox
                .create_requests()
                .iter()
                .filter(|((_, _, id), _)| *id == payout_id)
                .map(|(_, n)| *n)
                .sum();
            match (status, replayed, creates) {
                (201, true, 1) => Ok(
                    "201 replayed (Idempotent-Replayed: true); the provider saw 1 create"
                        .to_owned(),
                ),
                other => Err(format!("status, replayed, creates: {other:?}")),
            }
        })
        .await;
    steps
        .run(provider, "serve: payout settled, read back", async {
            let answer = settle_in_back_office(
                &served.sandbox.base_url(),
                provider,
                "withdrawals",
                &payout_id,
                "completed",
            )
            .await?;
            match answer.status().is_success() {
                true => until_status(&format!("{api}/v1/payouts/{payout_id}"), "completed").await,
                false => Err(format!("the sandbox answered HTTP {}", answer.status())),
            }
        })
        .await;
    steps
        .run(
            provider,
            "serve: webhook payout.completed",
            until_webhook(&served.sandbox, "payout.completed", &payout_id),
        )
        .await;
    let _ = served.stop.send(true);
    let _ = std::fs::remove_dir_all(&served.ledger_dir);
}
