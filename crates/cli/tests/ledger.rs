//! The ledger end to end, against the sandbox and real databases: SQLite in a
//! temporary directory and a PostgreSQL server started for the test (skipped
//! loudly when PostgreSQL is not installed; `cargo xtask test` requires it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::{Ledger, LedgerState, ListFilter, OrderKey, SqlLedger, Which};
use paybridge::{Config, DepositRequest, Gateway, OrderId, OrderKind, Provider};
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
    let gateway = Gateway::for_provider(config, Provider::Vpay88)
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
        Provider::Vpay88,
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
    let gateway = Gateway::for_provider(&config, Provider::Vpay88)
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
