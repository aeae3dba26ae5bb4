//! The ledger end to end, against the sandbox and real databases: SQLite in a
//! temporary directory and a PostgreSQL server started for the test (skipped
//! loudly when PostgreSQL is not installed; `cargo xtask test` requires it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::{Ledger, LedgerState, ListFilter, OrderKey, SqlLedger, Which};
use paybridge::{Config, DepositRequest, Gateway, OrderId, OrderKind};
use paybridge_cli::harness::{demo_config, pay};
use paybridge_sandbox::{Sandbox, SandboxConfig};
use paybridge_testkit::postgres::TestPostgres;
use tokio::net::TcpListener;

fn sqlite_url() -> String {
    let dir = paybridge_testkit::temp_dir("paybridge-cli-ledger");
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

fn myr_deposit(order_id: &str) -> DepositRequest {
    paybridge_cli::harness::myr_deposit(order_id, "100").unwrap()
}

/// A sandbox whose Vpay88 demo merchant calls back to a capture route that
/// only keeps each body (answering 200), so a test can deliver it itself.
async fn sandbox_with_capture() -> (Sandbox, Arc<Mutex<Vec<Vec<u8>>>>) {
    let captured: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = captured.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/capture", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/capture",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.to_vec());
                "success"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = SandboxConfig::default().with_demo_callback_url(&url);
    let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    (sandbox, captured)
}

/// One instance of the merchant's service: a Vpay88 gateway on its own
/// connection to the shared ledger, and the callback route, counting handler runs.
async fn instance(
    config: &Config,
    ledger_url: &str,
    handled: Arc<AtomicUsize>,
) -> (Gateway, String) {
    let ledger: Arc<dyn Ledger> = Arc::new(SqlLedger::open(ledger_url).await.unwrap());
    let gateway = Gateway::for_provider(config, paybridge::providers::VPAY88)
        .unwrap()
        .with_ledger(ledger);
    let route = CallbackRoute::new(gateway.clone(), move |_: Delivery| {
        let handled = handled.clone();
        async move {
            handled.fetch_add(1, Ordering::SeqCst);
            // Long enough that the other deliveries arrive while it runs.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<(), &'static str>(())
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, route.into_router()).await });
    (gateway, url)
}

/// Two instances on one database receive the same genuine callback 100 times
/// at once (50 each): the order advances once and the handler runs once.
async fn one_callback_delivered_100_times_to_two_instances_runs_the_handler_once(url: &str) {
    let (sandbox, captured) = sandbox_with_capture().await;
    let config = demo_config(&sandbox.base_url(), None).unwrap();
    let handled = Arc::new(AtomicUsize::new(0));
    let (first, first_url) = instance(&config, url, handled.clone()).await;
    let (_, second_url) = instance(&config, url, handled.clone()).await;
    let order = first
        .create_deposit(&myr_deposit("LEDGER-CB-1"))
        .await
        .unwrap();
    pay(&order.payment_url, "completed").await.unwrap();
    let body = loop {
        if let Some(body) = captured.lock().unwrap().first().cloned() {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let client = reqwest::Client::new();
    let posts = (0..100).map(|n| {
        let target = if n % 2 == 0 { &first_url } else { &second_url };
        client
            .post(target)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    });
    let answers = futures_util::future::join_all(posts).await;
    let mut statuses: Vec<u16> = answers
        .into_iter()
        .map(|a| a.unwrap().status().as_u16())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "every delivery is acknowledged or asked to retry while the handler runs: {statuses:?}"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1, "the handler ran once");
    let ledger = SqlLedger::open(url).await.unwrap();
    let key = OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Deposit,
        &OrderId::new("LEDGER-CB-1").unwrap(),
    );
    let record = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(record.state, LedgerState::Completed);
}
on_every_database!(
    concurrent_callbacks,
    one_callback_delivered_100_times_to_two_instances_runs_the_handler_once
);

/// A verified `fail` for a completed order (a late failure webhook, the
/// route's confirmation turned off so only the ledger stands in its way) is
/// recorded as a conflict and never reaches the handler.
async fn a_late_fail_after_completed_is_a_conflict_not_a_downgrade(url: &str) {
    let (sandbox, captured) = sandbox_with_capture().await;
    let config = demo_config(&sandbox.base_url(), None).unwrap();
    let ledger: Arc<dyn Ledger> = Arc::new(SqlLedger::open(url).await.unwrap());
    let gateway = Gateway::for_provider(&config, paybridge::providers::VPAY88)
        .unwrap()
        .with_ledger(ledger.clone());
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = handled.clone();
    let route = CallbackRoute::new(gateway.clone(), move |d: Delivery| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(d.event.status.to_string());
            Ok::<(), &'static str>(())
        }
    })
    .confirm(false);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, route.into_router()).await });
    let order = gateway
        .create_deposit(&myr_deposit("LEDGER-LATE-1"))
        .await
        .unwrap();
    pay(&order.payment_url, "completed").await.unwrap();
    let completed = loop {
        if let Some(body) = captured.lock().unwrap().first().cloned() {
            break String::from_utf8(body).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The token covers only the order id: a late `fail` verifies.
    let late_fail = completed.replace("\"completed\"", "\"fail\"");
    assert_ne!(late_fail, completed);
    let client = reqwest::Client::new();
    for body in [&completed, &late_fail] {
        let answer = client
            .post(&target)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(*handled.lock().unwrap(), ["completed"]);
    let conflicts = ledger
        .list(&ListFilter::new(Which::Conflict, None))
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        conflicts[0].state,
        LedgerState::Completed,
        "never downgraded"
    );
    assert_eq!(
        conflicts[0].conflict.as_deref(),
        Some("callback said failed after completed")
    );
}
on_every_database!(
    late_fail,
    a_late_fail_after_completed_is_a_conflict_not_a_downgrade
);

/// The `paybridge` command with `config`, its output read as JSON.
fn paybridge(config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paybridge"));
    command
        .arg("--config")
        .arg(config)
        .args(["--output", "json"])
        .args(args)
        .env_remove("PAYBRIDGE_PROVIDER")
        .env_remove("PAYBRIDGE_LEDGER_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

const CRASH_PAYOUT: [&str; 14] = [
    "withdrawal",
    "create",
    "--order-id",
    "W-CRASH-1",
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

/// A `paybridge withdrawal create` killed after it recorded its payout and
/// sent it, before the answer came: run again, it resolves the payout by
/// status and never sends it again (the sandbox saw one create).
async fn a_payout_whose_process_was_killed_mid_call_is_resolved_by_status_not_resent(url: &str) {
    use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
    // The payout is carried out, then its answer trickles a byte a second.
    let sandbox_config = SandboxConfig {
        faults: FaultConfig {
            rules: vec![FaultRule {
                provider: "vpay88".into(),
                endpoint: "withdraw_orders".into(),
                kind: FaultKind::Trickle,
                percent: 100,
                latency_ms: 1000,
            }],
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let dir = paybridge_testkit::temp_dir("paybridge-crash");
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{}/vpay88\"\nusername = \"demo\"\n\
             api_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n[ledger]\nurl = \"{url}\"\n",
            sandbox.base_url()
        ),
    )
    .unwrap();
    let creates = |sandbox: &Sandbox| {
        sandbox
            .create_requests()
            .iter()
            .filter(|((_, _, id), _)| id == "W-CRASH-1")
            .map(|(_, n)| *n)
            .sum::<u32>()
    };
    let mut first = paybridge(&config, &CRASH_PAYOUT).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while creates(&sandbox) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the payout never reached the sandbox"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let ledger = SqlLedger::open(url).await.unwrap();
    let key = OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Withdrawal,
        &OrderId::new("W-CRASH-1").unwrap(),
    );
    let killed = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(
        killed.state,
        LedgerState::Sending,
        "recorded before it was sent"
    );

    let again = paybridge(&config, &CRASH_PAYOUT).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    let receipt: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (receipt["status"].as_str(), receipt["learned_from"].as_str()),
        (Some("processing"), Some("status_query"))
    );
    assert_eq!(creates(&sandbox), 1, "sent once, never again");
    let resolved = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(resolved.state, LedgerState::Processing);
    // A third run answers from the ledger, still without sending.
    let third = paybridge(&config, &CRASH_PAYOUT).output().unwrap();
    let receipt: serde_json::Value = serde_json::from_slice(&third.stdout).unwrap();
    assert_eq!(receipt["learned_from"].as_str(), Some("ledger"));
    assert_eq!(creates(&sandbox), 1);
}
on_every_database!(
    crash,
    a_payout_whose_process_was_killed_mid_call_is_resolved_by_status_not_resent
);
