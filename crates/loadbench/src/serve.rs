//! `serve COUNT`: what `paybridge serve` adds over the library in-process.
//! The same Vpay88 deposit creation and status query (refreshed from the
//! provider, through the ledger) sent COUNT times through a `Gateway` with
//! its ledger and through the service on loopback, each over a ledger of its
//! own with the same settings, against one local provider: one at a time,
//! the two alternating call by call; then 64 at a time, each path in turn.
//! p50 and p99 per call, calls per second and per CPU-second.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paybridge::{Config, Gateway, OrderId, StatusQuery};
use serde_json::{json, Value};

use crate::overhead::{deposit, local_provider};
use crate::{nanos, spread};

const KEY: &str = "loadbench-serve-key";

fn config(provider: &str, ledger: &str) -> Config {
    Config::from_toml(
        &format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{provider}\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n\
             [ledger]\nurl = \"{ledger}\"\nsqlite_synchronous = \"normal\"\n[serve]\napi_keys = [\"{}\"]\n",
            paybridge_serve::hash_key(KEY)
        ),
        "loadbench serve",
    )
    .expect("valid configuration")
}

fn ledger_url(name: &str) -> String {
    let dir = paybridge_testkit::temp_dir(&format!("paybridge-serve-bench-{name}"));
    format!("sqlite://{}", dir.join("ledger.db").display())
}

/// One way of making the calls.
#[derive(Clone)]
enum Path {
    Library(Gateway),
    Serve {
        client: reqwest::Client,
        api: String,
    },
}

impl Path {
    async fn deposit(&self, order_id: &str) -> bool {
        match self {
            Path::Library(gateway) => gateway.create_deposit(&deposit(order_id)).await.is_ok(),
            Path::Serve { client, api } => client
                .post(format!("{api}/v1/deposits"))
                .bearer_auth(KEY)
                .json(&json!({
                    "order_id": order_id, "amount": "100.50", "currency": "MYR",
                    "customer": {"name": "john", "email": "john@example.com", "phone": "601012456789"},
                }))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 201),
        }
    }

    async fn status(&self, order_id: &str) -> bool {
        match self {
            Path::Library(gateway) => gateway
                .deposit_status(&StatusQuery::new(
                    OrderId::new(order_id).expect("an order id"),
                ))
                .await
                .is_ok(),
            Path::Serve { client, api } => client
                .get(format!("{api}/v1/deposits/{order_id}?refresh=true"))
                .bearer_auth(KEY)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success()),
        }
    }
}

/// `count` calls of `operation` at `concurrency`: the spread and throughput.
async fn measure(
    path: &Path,
    operation: &str,
    count: usize,
    concurrency: usize,
    tag: &str,
) -> Value {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let errors = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_ticks();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (path, next, latencies, errors) = (
            path.clone(),
            next.clone(),
            latencies.clone(),
            errors.clone(),
        );
        let operation = operation.to_owned();
        let tag = tag.to_owned();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let t = Instant::now();
                let ok = match operation.as_str() {
                    "deposit" => path.deposit(&format!("SB-{tag}-{concurrency}-{i}")).await,
                    _ => path.status(&format!("SB-STATUS-{tag}")).await,
                };
                if ok {
                    latencies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(nanos(t.elapsed()));
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let cpu = cpu_ticks()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let samples = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    let done = samples.len();
    let per_second = (done as u128 * 1_000_000_000) / elapsed.as_nanos().max(1);
    json!({
        "spread": spread(samples),
        "errors": errors.load(Ordering::Relaxed),
        "per_second": per_second as u64,
        // Client, service and provider all run in this process: calls per
        // second of CPU spent by all three, the cost of a call on one core.
        "per_cpu_second": cpu.filter(|ticks| *ticks > 0).map(|ticks| done as u64 * TICKS_PER_SECOND / ticks),
    })
}

/// Clock ticks per second in `/proc/self/stat` (Linux's `USER_HZ`).
const TICKS_PER_SECOND: u64 = 100;

/// `count` calls of `operation` through each of `first` and `second`, one
/// at a time, alternating: each path's spread, throughput and CPU cost.
async fn alternate(first: &Path, second: &Path, operation: &str, count: usize) -> [Value; 2] {
    let mut samples: [Vec<u64>; 2] = [Vec::with_capacity(count), Vec::with_capacity(count)];
    let mut errors = [0usize; 2];
    let mut spent = [std::time::Duration::ZERO; 2];
    let mut ticks = [0u64; 2];
    for i in 0..count {
        for (side, path) in [first, second].into_iter().enumerate() {
            let before = cpu_ticks();
            let started = Instant::now();
            let ok = match operation {
                "deposit" => path.deposit(&format!("SB-ALT-{side}-{i}")).await,
                _ => {
                    path.status(&format!("SB-STATUS-{}", ["library", "serve"][side]))
                        .await
                }
            };
            let took = started.elapsed();
            ticks[side] += cpu_ticks()
                .zip(before)
                .map_or(0, |(after, before)| after.saturating_sub(before));
            spent[side] += took;
            match ok {
                true => samples[side].push(nanos(took)),
                false => errors[side] += 1,
            }
        }
    }
    [0, 1].map(|side| {
        let done = samples[side].len();
        json!({
            "spread": spread(std::mem::take(&mut samples[side])),
            "errors": errors[side],
            "per_second": (done as u128 * 1_000_000_000 / spent[side].as_nanos().max(1)) as u64,
            "per_cpu_second": (ticks[side] > 0).then(|| done as u64 * TICKS_PER_SECOND / ticks[side]),
        })
    })
}

/// CPU time (user and system) this process has spent, from `/proc/self/stat`,
/// in clock ticks; `None` where there is no such file.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name in parentheses may hold spaces: count fields after it.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields; the 3rd is first here.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Runs the comparison and returns its JSON report.
pub(crate) async fn serve(count: usize) -> Value {
    let (provider, _seen) = local_provider().await;
    let library_config = config(&provider, &ledger_url("library"));
    let ledger = library_config
        .open_ledger()
        .await
        .expect("a ledger")
        .expect("configured");
    let gateway =
        Gateway::for_provider(&library_config, paybridge::providers::VPAY88).expect("a gateway");
    let library = Path::Library(gateway.with_ledger(ledger));
    let serve_config = config(&provider, &ledger_url("serve"));
    let serve_ledger = serve_config
        .open_ledger()
        .await
        .expect("a ledger")
        .expect("configured");
    let service = paybridge_serve::Service::new(&serve_config, serve_ledger).expect("a service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let api = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let _ = paybridge_serve::run(
            &service,
            listener,
            std::future::pending(),
            std::time::Duration::from_secs(1),
        )
        .await;
    });
    let served = Path::Serve {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(128)
            .build()
            .expect("a client"),
        api,
    };
    let paths = [("library", &library), ("serve", &served)];
    for (name, path) in paths {
        // The order every status query asks about, and a warm pool.
        path.deposit(&format!("SB-STATUS-{name}")).await;
    }
    let mut levels: Vec<serde_json::Map<String, Value>> = vec![Default::default(); 2];
    // One at a time, the two paths alternate call by call, so that whatever
    // the machine does meanwhile (a WAL checkpoint, another process) falls
    // on both alike.
    for operation in ["deposit", "status"] {
        let [alone, through] = alternate(&library, &served, operation, count).await;
        levels[0].insert(format!("1/{operation}"), alone);
        levels[1].insert(format!("1/{operation}"), through);
    }
    let mut out = serde_json::Map::new();
    for ((name, path), mut level) in paths.into_iter().zip(levels) {
        let mut by_level = serde_json::Map::new();
        by_level.insert(
            "1".into(),
            json!({
                "deposit": level.remove("1/deposit").unwrap_or_default(),
                "status": level.remove("1/status").unwrap_or_default(),
            }),
        );
        by_level.insert(
            "64".into(),
            json!({
                "deposit": measure(path, "deposit", count, 64, name).await,
                "status": measure(path, "status", count, 64, name).await,
            }),
        );
        out.insert(name.to_owned(), Value::Object(by_level));
    }
    out.insert("count".into(), json!(count));
    Value::Object(out)
}
