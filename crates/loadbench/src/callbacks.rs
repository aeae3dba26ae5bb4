//! `callbacks DATABASE COUNT CONCURRENCY`: the whole callback path measured as
//! one. A merchant's service (the library's axum route over a ledger) runs on a
//! single-threaded runtime of its own, one core's worth; each callback is a
//! genuine Vpay88 deposit callback for an order the ledger holds, sent over
//! loopback HTTP. The route verifies it, confirms it by a status query against
//! a local provider, applies it through the ledger, claims and finishes the
//! merchant's handler, then answers `success`.
//!
//! DATABASE is `sqlite_full`, `sqlite_normal` or `postgres` (a server started
//! for the run with PostgreSQL's own durability defaults). A first pass sends
//! the callbacks one at a time (latency), a second CONCURRENCY at a time
//! (throughput and its p99), each callback to an order of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::{Ledger, LedgerOptions, OrderKey, SqlLedger, SqliteSynchronous};
use paybridge::{Config, Gateway, Money, OrderId, OrderKind};
use paybridge_testkit::postgres::TestPostgres;
use serde_json::{json, Value};

use crate::{nanos, spread};

const SECRET: &str = "bench-secret";

/// Opens the ledger the run measures; the PostgreSQL server lives as long as the guard.
pub(crate) async fn open_ledger(
    database: &str,
) -> Result<(SqlLedger, Option<TestPostgres>), String> {
    let sqlite = |synchronous| async move {
        let dir = paybridge_testkit::temp_dir("paybridge-callback-bench");
        let url = format!("sqlite://{}", dir.join("ledger.db").display());
        let options = LedgerOptions::default().sqlite_synchronous(synchronous);
        SqlLedger::open_with(&url, &options)
            .await
            .map_err(|e| e.to_string())
    };
    match database {
        "sqlite_full" => Ok((sqlite(SqliteSynchronous::Full).await?, None)),
        "sqlite_normal" => Ok((sqlite(SqliteSynchronous::Normal).await?, None)),
        "postgres" => {
            let server = TestPostgres::start_durable("callback bench (postgres)")
                .ok_or("PostgreSQL is not installed")?;
            let ledger = SqlLedger::open(&server.url())
                .await
                .map_err(|e| e.to_string())?;
            Ok((ledger, Some(server)))
        }
        other => Err(format!(
            "unknown database {other}: sqlite_full, sqlite_normal or postgres"
        )),
    }
}

/// Serves the router `app` makes on a single-threaded runtime of a thread of
/// its own; the address it listens on.
pub(crate) fn serve_on_own_thread(app: impl FnOnce() -> axum::Router + Send + 'static) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let address = listener.local_addr().expect("local address");
            let _ = tx.send(format!("http://{address}"));
            let _ = axum::serve(listener, app()).await;
        });
    });
    rx.recv().expect("the server's address")
}

/// A Vpay88 whose status API says `completed` for 300 MYR for every order.
fn status_api() -> String {
    serve_on_own_thread(|| {
        let answer = json!({"status": true, "order_status": "completed", "amount": "300.0000",
                            "currency": "MYR", "order_datetime": "2026-11-23 10:00:00"})
        .to_string();
        let answer: &'static str = answer.leak();
        axum::Router::new().route(
            "/merchant/check_status",
            axum::routing::post(
                move || async move { ([("content-type", "application/json")], answer) },
            ),
        )
    })
}

fn key(order_id: &str) -> OrderKey {
    OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Deposit,
        &OrderId::new(order_id).expect("an order id"),
    )
}

fn callback(order_id: &str) -> String {
    json!({"order_id": order_id, "amount": 300.0000, "currency": "MYR",
           "order_status": "completed", "status": true, "charge": "1.50", "name": "john",
           "token": paybridge_signing::form_callback_token(SECRET, order_id), "type": "deposit"})
    .to_string()
}

/// Serves the merchant's route (one core's worth); its URL.
fn merchant_service(gateway: Gateway, handled: Arc<AtomicUsize>) -> String {
    let base = serve_on_own_thread(move || {
        let route = CallbackRoute::new(gateway, move |delivery: Delivery| {
            let handled = handled.clone();
            async move {
                if delivery.confirmed.is_some() {
                    handled.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), std::convert::Infallible>(())
            }
        });
        axum::Router::new().nest("/callbacks", route.into_router())
    });
    format!("{base}/callbacks")
}

/// Sends `ids`' callbacks, `concurrency` at a time; each latency, and how many
/// were not answered `success`.
async fn send_all(url: &str, ids: Vec<String>, concurrency: usize) -> (Vec<u64>, usize, u64) {
    let client = reqwest::Client::new();
    let queue = Arc::new(Mutex::new(ids));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, queue, latencies, refused) = (
            client.clone(),
            url.to_owned(),
            queue.clone(),
            latencies.clone(),
            refused.clone(),
        );
        senders.spawn(async move {
            loop {
                let Some(id) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    return;
                };
                let body = callback(&id);
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(answer) => {
                        answer.status().as_u16() == 200
                            && answer.text().await.is_ok_and(|text| text == "success")
                    }
                    Err(_) => false,
                };
                let took = nanos(sent.elapsed());
                if ok {
                    latencies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(took);
                } else {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while senders.join_next().await.is_some() {}
    let elapsed = nanos(started.elapsed());
    let latencies = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    (latencies, refused.load(Ordering::Relaxed), elapsed)
}

fn pass(latencies: Vec<u64>, refused: usize, elapsed_ns: u64) -> Value {
    let answered = latencies.len() as u64;
    let mut report = spread(latencies);
    report["refused"] = json!(refused);
    report["per_second"] = json!(answered.saturating_mul(1_000_000_000) / elapsed_ns.max(1));
    report
}

/// Runs the callback-path measurement; its JSON report.
pub(crate) async fn callbacks(database: &str, count: usize, concurrency: usize) -> Value {
    let (ledger, _server) = match open_ledger(database).await {
        Ok(opened) => opened,
        Err(reason) => return json!({ "database": database, "skipped": reason }),
    };
    let ledger: Arc<dyn Ledger> = Arc::new(ledger);
    let amount = Money::parse("300", "MYR").expect("an amount");
    let ids: Vec<String> = (0..count * 2).map(|n| format!("CB-{n:07}")).collect();
    for id in &ids {
        ledger
            .begin(&key(id), &amount)
            .await
            .expect("the ledger records the order");
    }
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{}\"\nusername = \"m\"\napi_key = \"k\"\n\
             secret_key = \"{SECRET}\"\n",
            status_api()
        ),
        "callback bench",
    )
    .expect("valid configuration");
    let gateway = Gateway::for_provider(&config, paybridge::providers::VPAY88)
        .expect("a gateway")
        .with_ledger(ledger);
    let handled = Arc::new(AtomicUsize::new(0));
    let url = merchant_service(gateway, handled.clone());
    let (one_at_a_time, loaded) = ids.split_at(count);
    let (latencies, refused, elapsed) = send_all(&url, one_at_a_time.to_vec(), 1).await;
    let sequential = pass(latencies, refused, elapsed);
    let (latencies, refused, elapsed) = send_all(&url, loaded.to_vec(), concurrency).await;
    let concurrent = pass(latencies, refused, elapsed);
    json!({
        "database": database,
        "callbacks": count * 2,
        "handled_confirmed": handled.load(Ordering::Relaxed),
        "one_at_a_time": sequential,
        "concurrency": concurrency,
        "concurrent": concurrent,
    })
}
