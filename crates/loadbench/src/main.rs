//! Load drivers for `cargo xtask bench`. Each prints one JSON document.
//!
//! - `overhead ITERATIONS [CLIENT]`: the same deposit creation and status query sent by
//!   plain reqwest, the fastest hand-written reqwest client, hyper-util's own
//!   client and paybridge, alternating, against one local server; medians and
//!   paybridge's ratio over each, plus how many connections the server saw.
//!   With `CLIENT` (plain, fast, hyper or paybridge) only that one runs, to
//!   profile its cost per call.
//! - `concurrency BASE_URL PER_LEVEL LEVELS...`: deposit creations through one
//!   `Gateway` at each concurrency level against a sandbox; throughput, p50/p99,
//!   and resident memory per in-flight request.
//! - `callbacks DATABASE COUNT CONCURRENCY`: the whole callback path (verify,
//!   confirm by status, apply through the ledger, the handler claimed and
//!   finished) of the library's axum route on one core; see `callbacks.rs`.
//! - `outbox DATABASE COUNT`: the ledger's events delivered, signed, to a
//!   local receiver: events per second at two batch sizes; see `outbox.rs`.
//! - `serve COUNT`: the same deposit and status through a `Gateway` with its
//!   ledger and through `paybridge serve` on loopback, at concurrency 1 and
//!   64; see `serve.rs`.
//! - `floor PORT ANSWER`: serves `ANSWER` as JSON to every POST of a Vpay88
//!   status query on loopback, doing nothing else, until killed: the floor the
//!   HTTP stack alone sets under the same load as the sandbox's status query.

mod callbacks;
mod outbox;
mod overhead;
mod serve;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use serde_json::{json, Value};

use overhead::{deposit, gateway};

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Median and the 10th, 90th and 99th percentiles, in nanoseconds (0 with no samples).
fn spread(mut samples: Vec<u64>) -> Value {
    samples.sort_unstable();
    let at = |p: usize| {
        samples
            .get(samples.len().saturating_sub(1) * p / 100)
            .copied()
            .unwrap_or(0)
    };
    json!({ "median_ns": at(50), "p10_ns": at(10), "p90_ns": at(90), "p99_ns": at(99), "samples": samples.len() })
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
            let only = args.get(2).map(String::as_str);
            if only.is_some_and(|name| !overhead::CLIENTS.contains(&name)) {
                eprintln!(
                    "overhead: the client is one of {}",
                    overhead::CLIENTS.join(", ")
                );
                std::process::exit(2);
            }
            runtime.block_on(overhead::overhead(iterations, only))
        }
        Some("concurrency") => {
            let base = args.get(1).cloned().unwrap_or_default();
            let per_level = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
            let levels: Vec<usize> = args.iter().skip(3).filter_map(|n| n.parse().ok()).collect();
            runtime.block_on(concurrency(&base, per_level, &levels))
        }
        Some("callbacks") => {
            let database = args.get(1).cloned().unwrap_or_default();
            let count = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
            let concurrency = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(32);
            runtime.block_on(callbacks::callbacks(&database, count, concurrency))
        }
        Some("outbox") => {
            let database = args.get(1).cloned().unwrap_or_default();
            let count = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
            runtime.block_on(outbox::outbox(&database, count))
        }
        Some("serve") => {
            let count = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
            // On a worker thread, as a merchant's service calls the library
            // and its HTTP client: from the thread blocked on the runtime,
            // every exchange with the service would cross threads twice more.
            runtime.block_on(async move {
                tokio::spawn(serve::serve(count))
                    .await
                    .expect("the serve comparison")
            })
        }
        Some("floor") => {
            let port = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
            let answer = args.get(2).cloned().unwrap_or_default();
            runtime.block_on(floor(port, answer));
            return;
        }
        _ => {
            eprintln!(
                "usage: paybridge-loadbench overhead N [CLIENT] | concurrency BASE_URL PER_LEVEL LEVEL... | callbacks sqlite_full|sqlite_normal|postgres COUNT CONCURRENCY | outbox DATABASE COUNT | serve COUNT | floor PORT ANSWER"
            );
            std::process::exit(2);
        }
    };
    println!("{value}");
}
