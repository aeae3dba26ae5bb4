//! `paybridge withdrawal create` with a ledger, killed with SIGKILL after the
//! payout was sent and before its answer was recorded, then run again: the
//! payout is resolved by status through the outcome table, never sent again,
//! and reported as the provider holds it (completed: exit 0; failed: exit 7;
//! another amount: exit 8), on SQLite and PostgreSQL.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use paybridge::ledger::{Ledger, LedgerState, OrderKey, SqlLedger};
use paybridge::{OrderId, OrderKind};
use paybridge_testkit::postgres::TestPostgres;
use serde_json::json;

/// What the provider holds under the payout's id once it was sent; a `word`
/// of `None` is a status query refused in words no document writes.
#[derive(Debug, Clone, Copy)]
struct Held {
    word: Option<&'static str>,
    amount: &'static str,
}

/// How the create is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// Never: the process is killed while it waits.
    Hang,
    /// HTTP 409 with a JSON refusal.
    Conflict409,
    /// The documented `Balance not enough!` the first time, then success.
    RefusedOnce,
}

fn json_answer(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A Vpay88-shaped provider that takes the payout, answers its create as
/// `create` says, and answers its status as `held`.
async fn provider(held: Held, create: Create, creates: Arc<AtomicU32>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/merchant/auth",
            post(|| async { json_answer(json!({"status": true, "auth": "T0KEN"})) }),
        )
        .route(
            "/merchant/withdraw_orders",
            post(move || {
                let creates = creates.clone();
                async move {
                    let earlier = creates.fetch_add(1, Ordering::SeqCst);
                    if create == Create::RefusedOnce {
                        return match earlier {
                            0 => json_answer(
                                json!({"status": false, "message": "Balance not enough!"}),
                            ),
                            _ => json_answer(json!({"status": true, "message": "Success"})),
                        };
                    }
                    if create == Create::Conflict409 {
                        let refusal = json!({"status": false, "message": "Order id exist!"});
                        return (axum::http::StatusCode::CONFLICT, json_answer(refusal))
                            .into_response();
                    }
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    json_answer(json!({"status": true, "message": "Success"}))
                }
            }),
        )
        .route(
            "/merchant/check_withdraw_status",
            post(move || async move {
                match held.word {
                    Some(word) => json_answer(json!({"status": true, "order_status": word,
                        "amount": held.amount, "currency": "MYR",
                        "order_datetime": "2026-12-01 10:00:00"})),
                    None => json_answer(json!({"status": false, "message": "Too many requests"})),
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

const PAYOUT: [&str; 14] = [
    "withdrawal",
    "create",
    "--order-id",
    "W-KILLED-1",
    "--amount",
    "50",
    "--currency",
    "MYR",
    "--bank-id",
    "101",
    "--holder-name",
    "John",
    "--account-no",
    "123",
];

fn paybridge(config: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paybridge"));
    command
        .arg("--config")
        .arg(config)
        .args(["--output", "json"])
        .args(PAYOUT)
        .env_remove("PAYBRIDGE_PROVIDER")
        .env_remove("PAYBRIDGE_LEDGER_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Sends the payout, kills the process once the provider has it, runs it
/// again and returns the second run's exit code, stdout and the ledger's
/// record after it.
async fn killed_then_run_again(
    ledger_url: &str,
    held: Held,
) -> (
    Option<i32>,
    serde_json::Value,
    paybridge::ledger::OrderRecord,
) {
    let creates = Arc::new(AtomicU32::new(0));
    let config = configured(
        provider(held, Create::Hang, creates.clone()).await,
        ledger_url,
    );
    let mut first = paybridge(&config).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while creates.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the payout never reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: nothing after sending runs.
    first.wait().unwrap();
    let ledger = SqlLedger::open(ledger_url).await.unwrap();
    let key = payout_key();
    assert_eq!(
        ledger.get(&key).await.unwrap().unwrap().state,
        LedgerState::Sending,
        "recorded before it was sent, its answer never recorded"
    );
    let again = paybridge(&config).output().unwrap();
    assert_eq!(creates.load(Ordering::SeqCst), 1, "sent once, never again");
    let stdout: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&again.stderr)
        )
    });
    let record = ledger.get(&key).await.unwrap().unwrap();
    (again.status.code(), stdout, record)
}

fn payout_key() -> OrderKey {
    OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Withdrawal,
        &OrderId::new("W-KILLED-1").unwrap(),
    )
}

/// A configuration file for the provider at `base` with the ledger at `ledger_url`.
fn configured(base: SocketAddr, ledger_url: &str) -> std::path::PathBuf {
    let dir = paybridge_testkit::temp_dir("paybridge-killed");
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"http://{base}\"\nusername = \"m\"\n\
             api_key = \"k\"\nsecret_key = \"s\"\n[ledger]\nurl = \"{ledger_url}\"\n\
             [http]\nresolve_attempts = 1\nread_attempts = 1\n"
        ),
    )
    .unwrap();
    config
}

/// A create answered HTTP 409 with a JSON refusal, whose status query is then
/// refused too: reported ambiguous (exit 4), recorded `unknown` with both
/// reasons, and a second run resolves by status again without resending.
async fn a_409_refusal_then_a_refused_query_is_unknown_with_its_reason(url: &str) {
    let creates = Arc::new(AtomicU32::new(0));
    let held = Held {
        word: None,
        amount: "50",
    };
    let config = configured(
        provider(held, Create::Conflict409, creates.clone()).await,
        url,
    );
    for run in 0..2 {
        let out = paybridge(&config).output().unwrap();
        let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(4), "run {run}: {stdout}");
        assert_eq!(stdout["error"].as_str(), Some("ambiguous"), "{stdout}");
        assert_eq!(stdout["order_id"].as_str(), Some("W-KILLED-1"), "{stdout}");
    }
    assert_eq!(creates.load(Ordering::SeqCst), 1, "sent once, never again");
    let ledger = SqlLedger::open(url).await.unwrap();
    let record = ledger.get(&payout_key()).await.unwrap().unwrap();
    assert_eq!(record.state, LedgerState::Unknown);
    let detail = record.detail.unwrap_or_default();
    assert!(
        detail.contains("Too many requests"),
        "the reason is recorded: {detail}"
    );
}

/// A payout refused with a documented message held nothing: the merchant's
/// corrected request under the same id is sent, once, and accepted.
async fn a_documented_refusal_then_a_resend_under_the_same_id_is_sent_once(url: &str) {
    let creates = Arc::new(AtomicU32::new(0));
    let held = Held {
        word: Some("pending"),
        amount: "50",
    };
    let config = configured(
        provider(held, Create::RefusedOnce, creates.clone()).await,
        url,
    );
    let first = paybridge(&config).output().unwrap();
    let refused: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first.status.code(), Some(3), "{refused}");
    let ledger = SqlLedger::open(url).await.unwrap();
    assert_eq!(
        ledger.get(&payout_key()).await.unwrap().unwrap().state,
        LedgerState::Refused
    );
    let again = paybridge(&config).output().unwrap();
    let receipt: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again.status.code(), Some(0), "{receipt}");
    assert_eq!(receipt["learned_from"].as_str(), Some("create_answer"));
    assert_eq!(
        creates.load(Ordering::SeqCst),
        2,
        "the resend reached the provider"
    );
    assert_eq!(
        ledger.get(&payout_key()).await.unwrap().unwrap().state,
        LedgerState::Processing
    );
    // A third run answers from the ledger: the accepted payout is not sent again.
    let third = paybridge(&config).output().unwrap();
    let receipt: serde_json::Value = serde_json::from_slice(&third.stdout).unwrap();
    assert_eq!(
        receipt["learned_from"].as_str(),
        Some("ledger"),
        "{receipt}"
    );
    assert_eq!(creates.load(Ordering::SeqCst), 2);
}

async fn completed_is_accepted_by_status(url: &str) {
    let (code, out, record) = killed_then_run_again(
        url,
        Held {
            word: Some("completed"),
            amount: "50.0000",
        },
    )
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        (out["status"].as_str(), out["learned_from"].as_str()),
        (Some("completed"), Some("status_query"))
    );
    assert_eq!(record.state, LedgerState::Completed);
}

async fn failed_is_held_as_failed_exit_7(url: &str) {
    let (code, out, record) = killed_then_run_again(
        url,
        Held {
            word: Some("fail"),
            amount: "50.0000",
        },
    )
    .await;
    assert_eq!(code, Some(7), "{out}");
    assert_eq!(out["error"].as_str(), Some("held_as_failed"), "{out}");
    assert_eq!(record.state, LedgerState::Failed);
}

async fn another_amount_is_a_conflict_exit_8(url: &str) {
    let (code, out, record) = killed_then_run_again(
        url,
        Held {
            word: Some("completed"),
            amount: "60.0000",
        },
    )
    .await;
    assert_eq!(code, Some(8), "{out}");
    assert_eq!(out["error"].as_str(), Some("order_id_conflict"), "{out}");
    assert!(
        record.conflict.is_some(),
        "the ledger surfaces it: {record:?}"
    );
    assert_ne!(record.state, LedgerState::Completed);
}

fn sqlite_url() -> String {
    let dir = paybridge_testkit::temp_dir("paybridge-killed-ledger");
    format!("sqlite://{}", dir.join("ledger.db").display())
}

/// Runs `scenario` against SQLite, then against PostgreSQL when it is here.
macro_rules! on_every_database {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(&super::sqlite_url()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let test = concat!(stringify!($name), "::postgres");
                if let Some(server) = super::TestPostgres::start(test) {
                    super::$scenario(&server.url()).await;
                }
            }
        }
    };
}

on_every_database!(completed, completed_is_accepted_by_status);
on_every_database!(failed, failed_is_held_as_failed_exit_7);
on_every_database!(other_amount, another_amount_is_a_conflict_exit_8);
on_every_database!(
    conflict_refusal,
    a_409_refusal_then_a_refused_query_is_unknown_with_its_reason
);
on_every_database!(
    resend_after_refusal,
    a_documented_refusal_then_a_resend_under_the_same_id_is_sent_once
);
