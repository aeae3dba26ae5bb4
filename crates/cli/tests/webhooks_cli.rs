//! `paybridge webhooks list | attempts | replay | enable` over a ledger
//! holding events, on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;

use paybridge::ledger::{
    AfterAttempt, Attempt, EventClaim, EventFilter, Ledger, LedgerState, Observation, OrderKey,
    Source, SqlLedger,
};
use paybridge::{Money, OrderId, OrderKind, Provider};
use paybridge_testkit::on_every_database;
use serde_json::Value;

fn config(ledger_url: &str) -> PathBuf {
    let path = paybridge_testkit::temp_dir("paybridge-webhooks-cli").join("paybridge.toml");
    std::fs::write(&path, format!("[ledger]\nurl = \"{ledger_url}\"\n")).unwrap();
    path
}

fn paybridge(config: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .arg("--config")
        .arg(config)
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `order_id` completed by a callback: one event in the outbox.
async fn completed(ledger: &SqlLedger, kind: OrderKind, order_id: &str) {
    ledger
        .observe(
            &OrderKey::new(
                Provider::new("vpay88"),
                None,
                kind,
                &OrderId::new(order_id).unwrap(),
            ),
            &Observation::new(Source::Callback, LedgerState::Completed)
                .amount(Some(Money::parse("5", "MYR").unwrap())),
        )
        .await
        .unwrap();
}

async fn listing_attempts_replaying_and_enabling_read_and_move_the_outbox(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    for id in ["CLI-1", "CLI-2"] {
        completed(&ledger, OrderKind::Deposit, id).await;
    }
    // One event dies after one attempt.
    let claimed = ledger
        .claim_events(&EventClaim {
            now: paybridge::ledger::now_ms() + 1,
            limit: 1,
            lease_ms: 60_000,
        })
        .await
        .unwrap()
        .remove(0);
    let now = paybridge::ledger::now_ms();
    ledger
        .record_attempt(
            &claimed,
            &Attempt::new(now, 40).answered(500, b"down"),
            AfterAttempt::Dead,
        )
        .await
        .unwrap();
    let config = config(url);

    let (code, all, err) = paybridge(&config, &["webhooks", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["type"], "deposit.completed");
    assert_eq!(all[0]["kind"], "deposit");
    let (_, dead, _) = paybridge(&config, &["webhooks", "list", "--state", "dead"]);
    assert_eq!(dead.as_array().unwrap().len(), 1);
    assert_eq!(dead[0]["id"], claimed.event.id.as_str());

    let (code, attempts, err) = paybridge(&config, &["webhooks", "attempts", &claimed.event.id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[0]["answer"], "down");
    assert_eq!(attempts[0]["duration_ms"], 40);

    let (code, replayed, err) = paybridge(
        &config,
        &[
            "webhooks",
            "replay",
            "--since",
            "2000-01-01",
            "--state",
            "dead",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(replayed["queued"], 1);
    let events = ledger.events(&EventFilter::all()).await.unwrap();
    assert!(
        events.iter().all(|e| e.state.as_str() == "pending"),
        "{events:?}"
    );

    // Asking for nothing, or for an event that is not there, is a clear error.
    let (code, _, err) = paybridge(&config, &["webhooks", "replay"]);
    assert_ne!(code, 0);
    assert!(err.contains("--id") || err.contains("--since"), "{err}");
    let (code, _, err) = paybridge(&config, &["webhooks", "replay", "--id", "evt_none"]);
    assert_ne!(code, 0);
    assert!(err.contains("evt_none"), "{err}");
    assert!(!err.contains("Some("), "{err}");

    ledger
        .disable_endpoint("https://merchant.example/hooks", "answered 410 Gone")
        .await
        .unwrap();
    let (code, enabled, err) = paybridge(
        &config,
        &[
            "webhooks",
            "enable",
            "--url",
            "https://merchant.example/hooks",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(enabled["was_disabled"], true);
}
on_every_database!(
    webhooks_commands,
    listing_attempts_replaying_and_enabling_read_and_move_the_outbox
);

/// The `webhook-id`s an application took, signatures verified, in order.
type Taken = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The merchant's application on a free loopback port, `http://ADDR/events`:
/// takes (204) every webhook whose Standard Webhooks signature verifies with
/// `secret`, refuses (401) every other.
async fn webhook_application(secret: &str) -> Result<(String, Taken), paybridge::Error> {
    use axum::http::{HeaderMap, StatusCode};
    let secret = paybridge_signing::webhook::WebhookSecret::parse(secret)
        .map_err(|e| paybridge::Error::local("the application's webhook secret", e))?;
    let taken: Taken = Default::default();
    let seen = taken.clone();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (secret, seen) = (secret.clone(), seen.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let id = header("webhook-id");
                let timestamp = header("webhook-timestamp").parse().unwrap_or(0);
                if !paybridge_signing::webhook::verify(
                    &[secret],
                    &id,
                    timestamp,
                    &body,
                    &header("webhook-signature"),
                ) {
                    return StatusCode::UNAUTHORIZED;
                }
                seen.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| paybridge::Error::local("the merchant's application", e))?;
    let address = listener
        .local_addr()
        .map_err(|e| paybridge::Error::local("the merchant's application", e))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{address}/events"), taken))
}

async fn replay_with_deliver_sends_the_dead_events_and_shows_its_progress(url: &str) {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let ledger = SqlLedger::open(url).await.unwrap();
    for n in 0..30 {
        completed(&ledger, OrderKind::Withdrawal, &format!("DELIVER-{n}")).await;
    }
    // Every event dead after a failed attempt, as after an endpoint down for days.
    let claimed = ledger
        .claim_events(&EventClaim {
            now: paybridge::ledger::now_ms() + 1,
            limit: 100,
            lease_ms: 60_000,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 30);
    for event in &claimed {
        ledger
            .record_attempt(
                event,
                &Attempt::new(paybridge::ledger::now_ms(), 5).answered(503, b"down"),
                AfterAttempt::Dead,
            )
            .await
            .unwrap();
    }
    let (hooks, taken) = webhook_application(SECRET).await.unwrap();
    let config = config(url);
    std::fs::write(
        &config,
        format!("[ledger]\nurl = \"{url}\"\n[serve.webhooks]\nurl = \"{hooks}\"\nsecrets = [\"{SECRET}\"]\n"),
    )
    .unwrap();
    let run = tokio::task::spawn_blocking(move || {
        paybridge(
            &config,
            &[
                "webhooks",
                "replay",
                "--since",
                "2000-01-01",
                "--state",
                "dead",
                "--deliver",
            ],
        )
    });
    let (code, replayed, err) = run.await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(replayed["queued"], 30, "{replayed}");
    assert_eq!(replayed["delivery"]["delivered"], 30, "{replayed}");
    assert_eq!(replayed["delivery"]["dead"], 0, "{replayed}");
    // Not a terminal: plain progress lines, the last one complete.
    assert!(err.contains("replay: 30/30 events delivered"), "{err}");
    let mut ids = taken.lock().unwrap().clone();
    ids.sort();
    let mut expected: Vec<String> = claimed.iter().map(|c| c.event.id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected, "each event delivered once, under its own id");
    assert!(ledger
        .events(&EventFilter::all())
        .await
        .unwrap()
        .iter()
        .all(|e| e.state.as_str() == "delivered"));

    // Without an endpoint configured, --deliver says what is missing.
    let bare = self::config(url);
    let (code, _, err) = paybridge(
        &bare,
        &["webhooks", "replay", "--since", "2000-01-01", "--deliver"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("serve.webhooks.url"), "{err}");
}
on_every_database!(
    replay_deliver,
    replay_with_deliver_sends_the_dead_events_and_shows_its_progress
);
