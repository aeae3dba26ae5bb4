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

async fn listing_attempts_replaying_and_enabling_read_and_move_the_outbox(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    for id in ["CLI-1", "CLI-2"] {
        ledger
            .observe(
                &OrderKey::new(
                    Provider::new("vpay88"),
                    None,
                    OrderKind::Deposit,
                    &OrderId::new(id).unwrap(),
                ),
                &Observation::new(Source::Callback, LedgerState::Completed)
                    .amount(Some(Money::parse("5", "MYR").unwrap())),
            )
            .await
            .unwrap();
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
