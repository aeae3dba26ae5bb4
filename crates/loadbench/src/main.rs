//! Load drivers for `cargo xtask bench`. Each prints one JSON document.
//!
//! - `overhead ITERATIONS`: the same deposit creation and status query sent with
//!   plain reqwest (a shared client, hand-built multipart forms) and through
//!   paybridge, alternating, against one local server; medians and the ratio,
//!   plus how many connections the server saw (connection reuse).
//! - `concurrency BASE_URL PER_LEVEL LEVELS...`: deposit creations through one
//!   `Gateway` at each concurrency level against a sandbox; throughput, p50/p99,
//!   and resident memory per in-flight request.
//! - `floor PORT ANSWER`: serves `ANSWER` as JSON to every POST of a Vpay88
//!   status query on loopback, doing nothing else, until killed: the floor the
//!   HTTP stack alone sets under the same load as the sandbox's status query.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::routing::post;
use paybridge::{Config, DepositRequest, Gateway, Money, OrderId, StatusQuery};
use reqwest::multipart::Form;
use serde_json::{json, Value};

/// What the local provider saw: each connection's peer address, once, and how
/// many requests came.
#[derive(Default)]
struct SeenInner {
    peers: Mutex<HashSet<SocketAddr>>,
    requests: AtomicUsize,
}

type Seen = Arc<SeenInner>;

fn answer(seen: Seen, body: &'static str) -> axum::routing::MethodRouter {
    post(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, _body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.requests.fetch_add(1, Ordering::Relaxed);
                seen.peers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(peer);
                ([("content-type", "application/json")], body)
            }
        },
    )
}

async fn local_provider() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/merchant/auth", answer(seen.clone(), r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv"}"#))
        // Asked once by paybridge (its limits are kept), so its amount check runs on every deposit.
        .route(
            "/merchant/currency",
            answer(seen.clone(), r#"{"status":true,"rate":[{"currency":"MYR","min":10.0000,"max":42000.0000}]}"#),
        )
        .route(
            "/merchant/generate_orders",
            answer(seen.clone(), r#"{"status":true,"p_url":"https://pay.example/checkout/order-pay/92/?key=1234"}"#),
        )
        .route(
            "/merchant/check_status",
            answer(
                seen.clone(),
                r#"{"status":true,"order_status":"completed","order_datetime":"2021-11-18 15:00:00","amount":300.0000,"currency":"MYR"}"#,
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (url, seen)
}

fn gateway(base_url: &str) -> Gateway {
    let config = Config::from_toml(
        &format!("[vpay88]\nbase_url = \"{base_url}\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n"),
        "loadbench",
    )
    .expect("valid configuration");
    Gateway::for_provider(&config, paybridge::providers::VPAY88).expect("a gateway")
}

fn deposit(order_id: &str) -> DepositRequest {
    DepositRequest::builder(order_id, Money::parse("100.50", "MYR").expect("amount"))
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .expect("valid deposit")
}

/// Posts a multipart form and reads the JSON answer, as a hand-written integration does.
async fn post_form(client: &reqwest::Client, url: &str, form: Form) -> Value {
    let response = client.post(url).multipart(form).send().await;
    response
        .expect("the local provider answers")
        .json()
        .await
        .expect("the local provider answers JSON")
}

/// The same deposit by hand: a fresh auth token, then the order, as the documents' PHP does.
async fn plain_deposit(client: &reqwest::Client, base: &str, order_id: &str) -> String {
    let auth = Form::new()
        .text("username", "demo")
        .text("api_key", "demo-api-key");
    let token = post_form(client, &format!("{base}/merchant/auth"), auth).await;
    let token = token["auth"].as_str().unwrap().to_owned();
    let order = Form::new()
        .text("auth", token)
        .text("username", "john")
        .text("amount", "100.5")
        .text("currency", "MYR")
        .text("orderid", order_id.to_owned())
        .text("email", "john@example.com")
        .text("phone_number", "601012456789");
    let answer = post_form(client, &format!("{base}/merchant/generate_orders"), order).await;
    answer["p_url"].as_str().unwrap().to_owned()
}

async fn plain_status(client: &reqwest::Client, base: &str, order_id: &str) -> String {
    let form = Form::new()
        .text("username", "demo")
        .text("id", order_id.to_owned());
    let answer = post_form(client, &format!("{base}/merchant/check_status"), form).await;
    answer["order_status"].as_str().unwrap().to_owned()
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Median and the 10th/90th percentiles, in nanoseconds.
fn spread(mut samples: Vec<u64>) -> Value {
    samples.sort_unstable();
    let at = |p: usize| samples[(samples.len() - 1) * p / 100];
    json!({ "median_ns": at(50), "p10_ns": at(10), "p90_ns": at(90), "samples": samples.len() })
}

async fn overhead(iterations: usize) -> Value {
    let (base, seen) = local_provider().await;
    // The same timeouts paybridge sets by default: a serious integration sets them too
    // (the documents' PHP sets a 400 s one), and each costs a timer per request.
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let gateway = gateway(&base);
    let (mut plain_dep, mut sdk_dep, mut plain_st, mut sdk_st) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Warm both pools first.
    plain_deposit(&client, &base, "WARM").await;
    gateway.create_deposit(&deposit("WARM")).await.unwrap();
    for i in 0..iterations {
        let id = format!("ORDER-{i}");
        // Alternate which goes first, so neither always meets a warmer cache.
        for plain_first in [i % 2 == 0, i % 2 == 1] {
            if plain_first {
                let started = Instant::now();
                plain_deposit(&client, &base, &id).await;
                plain_dep.push(nanos(started.elapsed()));
                let started = Instant::now();
                plain_status(&client, &base, &id).await;
                plain_st.push(nanos(started.elapsed()));
            } else {
                let started = Instant::now();
                gateway.create_deposit(&deposit(&id)).await.unwrap();
                sdk_dep.push(nanos(started.elapsed()));
                let started = Instant::now();
                gateway
                    .deposit_status(&StatusQuery::new(OrderId::new(&id).unwrap()))
                    .await
                    .unwrap();
                sdk_st.push(nanos(started.elapsed()));
            }
        }
    }
    let connections = seen.peers.lock().unwrap_or_else(|p| p.into_inner()).len();
    let requests = seen.requests.load(Ordering::Relaxed);
    let (pd, sd, ps, ss) = (
        spread(plain_dep),
        spread(sdk_dep),
        spread(plain_st),
        spread(sdk_st),
    );
    let ratio = |b: &Value, a: &Value| {
        format!(
            "{:.3}",
            ratio_of(
                b["median_ns"].as_u64().unwrap(),
                a["median_ns"].as_u64().unwrap()
            )
        )
    };
    json!({
        "iterations": iterations,
        "deposit": { "plain": pd, "paybridge": sd, "ratio": ratio(&sd, &pd) },
        "status": { "plain": ps, "paybridge": ss, "ratio": ratio(&ss, &ps) },
        "requests": requests,
        "connections": connections,
    })
}

/// `b / a` to three decimals, with integers only (no float arithmetic in this workspace).
fn ratio_of(b: u64, a: u64) -> RatioText {
    RatioText(b.saturating_mul(1000) / a.max(1))
}

struct RatioText(u64);

impl std::fmt::Display for RatioText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let precision = f.precision().unwrap_or(3).min(3);
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        let frac = frac / 10u64.pow(3 - precision as u32);
        write!(f, "{whole}.{frac:0precision$}")
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn concurrency(base_url: &str, per_level: usize, levels: &[usize]) -> Value {
    let gateway = gateway(&format!("{base_url}/vpay88"));
    gateway.create_deposit(&deposit("CONC-WARM")).await.unwrap();
    let mut results = Vec::new();
    for &level in levels {
        let total = per_level.max(level * 2);
        let next = Arc::new(AtomicUsize::new(0));
        let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
        let baseline = rss_kib();
        let peak = Arc::new(AtomicUsize::new(0));
        let monitor = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(usize::try_from(rss_kib()).unwrap_or(0), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..level {
            let (gateway, next, latencies) = (gateway.clone(), next.clone(), latencies.clone());
            tasks.spawn(async move {
                let mut errors = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return errors;
                    }
                    let id = format!("CONC-{level}-{i}");
                    let t = Instant::now();
                    match gateway.create_deposit(&deposit(&id)).await {
                        Ok(_) => latencies
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(nanos(t.elapsed())),
                        Err(_) => errors += 1,
                    }
                }
            });
        }
        let mut errors = 0;
        while let Some(done) = tasks.join_next().await {
            errors += done.unwrap_or(0);
        }
        let elapsed = started.elapsed();
        monitor.abort();
        let samples = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let ok = samples.len();
        let mut sorted = samples;
        sorted.sort_unstable();
        let pct = |p: usize| {
            sorted
                .get((sorted.len().saturating_sub(1)) * p / 100)
                .copied()
                .unwrap_or(0)
        };
        let peak_kib = u64::try_from(peak.load(Ordering::Relaxed)).unwrap_or(0);
        results.push(json!({
            "concurrency": level,
            "requests": total,
            "errors": errors,
            "elapsed_ms": elapsed.as_millis() as u64,
            "per_second": (ok as u128 * 1000 / elapsed.as_millis().max(1)) as u64,
            "p50_ns": pct(50),
            "p99_ns": pct(99),
            "rss_baseline_kib": baseline,
            "rss_peak_kib": peak_kib,
            "kib_per_in_flight": peak_kib.saturating_sub(baseline) / level as u64,
        }));
    }
    json!({ "levels": results })
}

/// A bare axum server: reads each status query's body and answers `answer`.
async fn floor(port: u16, answer: String) {
    let answer: &'static str = answer.leak();
    let app = axum::Router::new().route(
        "/vpay88/merchant/check_status",
        post(move |body: axum::body::Bytes| async move {
            drop(body);
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                answer,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the floor's port");
    axum::serve(listener, app).await.expect("the floor server");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let value = match args.first().map(String::as_str) {
        Some("overhead") => {
            let iterations = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
            runtime.block_on(overhead(iterations))
        }
        Some("concurrency") => {
            let base = args.get(1).cloned().unwrap_or_default();
            let per_level = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
            let levels: Vec<usize> = args.iter().skip(3).filter_map(|n| n.parse().ok()).collect();
            runtime.block_on(concurrency(&base, per_level, &levels))
        }
        Some("floor") => {
            let port = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
            let answer = args.get(2).cloned().unwrap_or_default();
            runtime.block_on(floor(port, answer));
            return;
        }
        _ => {
            eprintln!(
                "usage: paybridge-loadbench overhead N | concurrency BASE_URL PER_LEVEL LEVEL... | floor PORT ANSWER"
            );
            std::process::exit(2);
        }
    };
    println!("{value}");
}
