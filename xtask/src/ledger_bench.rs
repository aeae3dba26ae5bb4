//! The ledger's part of `cargo xtask bench`: its cost per order against a bare
//! INSERT + COMMIT under the same durability settings (criterion,
//! `crates/ledger/benches/ledger.rs`), the whole callback path on one core
//! (`paybridge-loadbench callbacks`), and `paybridge reconcile` over a CSV at
//! two sizes against the sandbox (orders per second and peak memory, measured
//! on the command itself).

// Reporting only: turning nanoseconds into readable figures. No money here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::{cargo, run};

/// Median of one criterion benchmark, in nanoseconds.
fn median(id: &str) -> Option<f64> {
    crate::bench::criterion_estimate(id).map(|(m, _, _)| m)
}

/// The ledger's settings the bench measures, as criterion's groups name them.
const DATABASES: [(&str, &str); 3] = [
    ("sqlite_full", "SQLite, `synchronous = FULL` (the default)"),
    ("sqlite_normal", "SQLite, `synchronous = NORMAL`"),
    (
        "postgres",
        "PostgreSQL, its defaults (`fsync`, `synchronous_commit` on)",
    ),
];

/// The most `record` may cost over a bare INSERT + COMMIT.
const RECORD_LIMIT: f64 = 1.5;

/// One database's medians, in nanoseconds.
pub(crate) struct LedgerCost {
    pub database: &'static str,
    pub bare: f64,
    pub record: f64,
    pub record_and_outcome: f64,
}

/// Runs the ledger's criterion benchmarks and describes them.
pub fn ledger_section(criterion: &[&str]) -> Result<(String, Vec<LedgerCost>), String> {
    run(cargo()
        .env("PAYBRIDGE_REQUIRE_POSTGRES", "1")
        .args(["bench", "-p", "paybridge-ledger", "--bench", "ledger", "--"])
        .args(criterion))?;
    let mut d = String::new();
    let _ = writeln!(d, "## The ledger's cost per order, durable\n");
    let _ = writeln!(d, "`cargo bench -p paybridge-ledger --bench ledger`: medians, against a bare INSERT + COMMIT of the same row (the same columns, in a table of their own) with the same driver, pool and durability settings. `record` is what the ledger writes before an order leaves (`Ledger::begin`); `record + outcome` adds the create answer (the order moved to `processing`). SQLite is a file on the machine's disk (ext4), in WAL mode; PostgreSQL a server started for the run on loopback with its own defaults, so every commit waits for its WAL to reach the disk, as a merchant runs it. Target: `record` at most {RECORD_LIMIT}x the bare INSERT + COMMIT.\n");
    let _ = writeln!(d, "| database | bare INSERT + COMMIT | record | ratio | record + outcome | ratio |\n|---|---|---|---|---|---|");
    let mut costs = Vec::new();
    for (database, described) in DATABASES {
        let id = |name: &str| format!("ledger_{database}/{name}");
        let (Some(bare), Some(record), Some(life)) = (
            median(&id("bare_insert_commit")),
            median(&id("record")),
            median(&id("record_and_outcome")),
        ) else {
            let _ = writeln!(d, "| {described} | not measured | | | | |");
            continue;
        };
        let _ = writeln!(
            d,
            "| {described} | {} | {} | **{:.2}x** | {} | **{:.2}x** |",
            crate::bench::ns(bare),
            crate::bench::ns(record),
            record / bare,
            crate::bench::ns(life),
            life / bare
        );
        costs.push(LedgerCost {
            database,
            bare,
            record,
            record_and_outcome: life,
        });
    }
    let _ = writeln!(d);
    for cost in &costs {
        let ratio = cost.record / cost.bare;
        let _ = writeln!(
            d,
            "- `record` on {}: {ratio:.2}x a bare INSERT + COMMIT — at most {RECORD_LIMIT}x: {}.",
            cost.database,
            crate::bench_report::verdict(ratio <= RECORD_LIMIT)
        );
    }
    if costs.len() < DATABASES.len() {
        let _ = writeln!(
            d,
            "- Not every database was measured: the table says which."
        );
    }
    outbox_table(&mut d);
    Ok((d, costs))
}

/// What writing an event in the transition's own transaction costs.
fn outbox_table(d: &mut String) {
    let _ = writeln!(d, "\n### What the outbox adds to a transition\n");
    let _ = writeln!(d, "The same benchmark run, on a payout the ledger already holds (recorded outside the timing), two transitions measured each without and with the event the merchant is owed. A create answer, the ledger's shortest path: answered `unknown` (the answer lost; no event; one statement) against `processing` (the move, its `payout.processing` event numbered and written, in one transaction). A status query, the general path a callback takes too (the observation and the transition recorded): found `pending` (no event) against `processing` (the same and its event). One commit in each.\n");
    let _ = writeln!(
        d,
        "| database | transition | alone | with its event | ratio |\n|---|---|---|---|---|"
    );
    for (database, described) in DATABASES {
        for (transition, bench) in [
            ("create answer", "transition"),
            ("status query", "status_transition"),
        ] {
            let id = |with: &str| format!("ledger_{database}/{bench}_{with}_event");
            let row = match (median(&id("without")), median(&id("with"))) {
                (Some(alone), Some(with)) => format!(
                    "{} | {} | **{:.2}x**",
                    crate::bench::ns(alone),
                    crate::bench::ns(with),
                    with / alone
                ),
                _ => "not measured | | ".to_owned(),
            };
            let _ = writeln!(d, "| {described} | {transition} | {row} |");
        }
    }
    let _ = writeln!(d, "\nThe event rides the transition's commit. On PostgreSQL the commit's wait for the disk dominates and the event adds little; on SQLite every page the transaction dirties is written to the WAL at commit (the event adds a row and three index entries), and with `synchronous = FULL` synced there too, so the event's share grows with how slowly the disk syncs.");
}

/// One callback-path run of `paybridge-loadbench callbacks`.
pub(crate) struct CallbackRun {
    pub database: &'static str,
    pub report: Value,
}

impl CallbackRun {
    /// Callbacks per second with `concurrency` in flight.
    pub fn per_second(&self) -> f64 {
        self.report["concurrent"]["per_second"]
            .as_f64()
            .unwrap_or(0.0)
    }
}

/// Callbacks in flight in the loaded pass.
const CALLBACK_CONCURRENCY: &str = "32";

/// The whole callback path on one core, on each database at each size.
pub fn callback_section(sizes: [usize; 2]) -> Result<(String, Vec<CallbackRun>), String> {
    let loadbench = crate::release_binary("paybridge-loadbench")?;
    let mut runs = Vec::new();
    for (database, _) in DATABASES {
        for size in sizes {
            let text = crate::bench::output(
                Command::new(&loadbench)
                    .args([
                        "callbacks",
                        database,
                        &size.to_string(),
                        CALLBACK_CONCURRENCY,
                    ])
                    .env("PAYBRIDGE_LOG", "error"),
            )?;
            let report: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if let Some(why) = report["skipped"].as_str() {
                return Err(format!(
                    "the callback bench on {database} could not run: {why}"
                ));
            }
            let sent = report["callbacks"].as_u64().unwrap_or(0);
            let handled = report["handled_confirmed"].as_u64().unwrap_or(0);
            if handled != sent {
                return Err(format!(
                    "the callback bench on {database}: {sent} callbacks sent, {handled} handled confirmed"
                ));
            }
            runs.push(CallbackRun { database, report });
        }
    }
    let mut d = String::new();
    let _ = writeln!(
        d,
        "## The whole callback path (`paybridge-loadbench callbacks`)\n"
    );
    let _ = writeln!(d, "The library's axum route over a ledger, served on a single-threaded runtime of its own (one core); each callback a genuine Vpay88 deposit callback, over loopback HTTP, for an order of its own that the ledger holds. Per callback: the body read and verified, confirmed by a status query against a local provider, recorded and applied through the ledger, the merchant's handler claimed, run and finished, `success` answered. The sender and the local provider share the other core. First the callbacks one at a time (the latency of one), then {CALLBACK_CONCURRENCY} at a time (what one core sustains). Every callback sent was handled confirmed in every run (the bench fails otherwise).\n");
    let _ = writeln!(d, "| database | orders in the ledger | one at a time: p50 | p99 | {CALLBACK_CONCURRENCY} at a time: callbacks/s | p50 | p99 |\n|---|---|---|---|---|---|---|");
    for run in &runs {
        let (one, loaded) = (&run.report["one_at_a_time"], &run.report["concurrent"]);
        let at = |v: &Value, key: &str| crate::bench::ns(v[key].as_f64().unwrap_or(0.0));
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | **{:.0}** | {} | {} |",
            run.database,
            run.report["callbacks"],
            at(one, "median_ns"),
            at(one, "p99_ns"),
            run.per_second(),
            at(loaded, "median_ns"),
            at(loaded, "p99_ns"),
        );
    }
    let _ = writeln!(d, "\nEach callback commits several transactions (the callback recorded, the transition applied, the handler claimed, then finished), each waiting for the disk where the database syncs: the path's cost is the database's commit cost more than paybridge's.\n");
    Ok((d, runs))
}

/// Creates `count` Vpay88 deposits in the sandbox at `base`; their ids.
fn seed(base: &str, token: &str, count: usize) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        use futures_util::stream::{self, StreamExt};
        let client = reqwest::Client::new();
        stream::iter(0..count)
            .map(|n| {
                let client = client.clone();
                async move {
                    let id = format!("REC-{n:07}");
                    crate::bench::create_deposit(&client, base, token, &id).await?;
                    Ok::<_, String>(id)
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<Result<String, String>>>()
            .await
            .into_iter()
            .collect()
    })
}

/// Writes the merchant's CSV of `ids`, every one `pending` on the merchant's side.
fn write_csv(ids: &[String], csv: &std::path::Path) -> Result<(), String> {
    let mut text = String::from("provider,kind,order_id,amount,currency,merchant_status\n");
    for id in ids {
        let _ = writeln!(text, "vpay88,deposit,{id},100.00,MYR,pending");
    }
    std::fs::write(csv, text).map_err(|e| e.to_string())
}

/// One reconcile run: orders, seconds, peak resident memory in KiB.
pub(crate) struct Measured {
    pub orders: usize,
    pub seconds: f64,
    pub peak_kib: f64,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.orders as f64 / self.seconds
    }

    pub fn peak_mib(&self) -> f64 {
        self.peak_kib / 1024.0
    }
}

/// Status queries in flight in the bench's runs.
const CONCURRENCY: &str = "64";

/// `paybridge reconcile` over the CSV at `csv` with `config`: the whole
/// command timed, and its peak resident memory as the kernel counts it for a
/// child that has ended (getrusage of the children of a small Python parent).
fn measure(
    config: &std::path::Path,
    csv: &std::path::Path,
    orders: usize,
) -> Result<Measured, String> {
    let binary = crate::release_binary("paybridge")?;
    let wrapper = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n\
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let started = Instant::now();
    let out = Command::new("python3")
        .args(["-c", wrapper])
        .arg(&binary)
        .arg("--config")
        .arg(config)
        .args([
            "--output",
            "csv",
            "reconcile",
            "--concurrency",
            CONCURRENCY,
            "--input",
        ])
        .arg(csv)
        .env("PAYBRIDGE_LOG", "error")
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("python3 is needed to measure peak memory: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let code = fields.next().unwrap_or("?").to_owned();
    if code != "0" {
        return Err(format!(
            "paybridge reconcile exited {code} over {orders} seeded orders"
        ));
    }
    let peak_kib = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    Ok(Measured {
        orders,
        seconds,
        peak_kib,
    })
}

/// The most a run may hold, at the larger size.
const PEAK_MIB: f64 = 100.0;
/// How far above the smaller size's figure the larger's may be.
const FLAT: f64 = 0.15;
/// The fewest orders a second, on 2 cores.
const PER_SECOND: f64 = 5_000.0;

/// `paybridge reconcile` against the sandbox at `base` at each of `sizes`
/// (smaller first): orders per second and the command's peak memory, and
/// whether memory stays the same as the input grows.
pub fn reconcile_section(
    base: &str,
    token: &str,
    sizes: [usize; 2],
) -> Result<(String, Vec<Measured>), String> {
    let dir =
        std::env::temp_dir().join(format!("paybridge-reconcile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let ids = seed(base, token, sizes[1])?;
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "[vpay88]\nbase_url = \"{base}/vpay88\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let csv = dir.join("orders.csv");
    let mut runs = Vec::new();
    for size in sizes {
        write_csv(&ids[..size], &csv)?;
        let measured = measure(&config, &csv, size);
        let _ = std::fs::remove_file(&csv);
        runs.push(measured?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (small, large) = (&runs[0], &runs[1]);
    let mut d = String::new();
    let _ = writeln!(
        d,
        "## `paybridge reconcile` at {} and {} orders\n",
        small.orders, large.orders
    );
    let _ = writeln!(d, "Vpay88 deposits created in the sandbox (a separate process on the same machine), then reconciled from a CSV by the release build, `--concurrency {CONCURRENCY}`, no rate limit, the report written as CSV (to nowhere: the figures are the command's own). Orders per second over the whole command (the check of every line, every query, the report); peak resident memory of the command as the kernel counts it. Each row is written as it is decided and the order keys the check must remember are kept in a table on disk, so memory should not grow with the input. Targets: at most {PEAK_MIB:.0} MiB at {} orders and within {:.0}% of the figure at {} orders; at least {PER_SECOND:.0} orders per second on 2 cores.\n", large.orders, FLAT * 100.0, small.orders);
    let _ = writeln!(
        d,
        "| orders | seconds | orders per second | peak memory |\n|---|---|---|---|"
    );
    for run in &runs {
        let _ = writeln!(
            d,
            "| {} | {:.1} | **{:.0}** | **{:.1} MiB** |",
            run.orders,
            run.seconds,
            run.per_second(),
            run.peak_mib()
        );
    }
    let growth = large.peak_kib / small.peak_kib.max(1.0) - 1.0;
    let verdict = crate::bench_report::verdict;
    let _ = writeln!(
        d,
        "\n- Peak memory at {} orders: {:.1} MiB — at most {PEAK_MIB:.0} MiB: {}.",
        large.orders,
        large.peak_mib(),
        verdict(large.peak_mib() <= PEAK_MIB)
    );
    let _ = writeln!(
        d,
        "- Peak memory at {} orders against {}: {:+.1}% — within {:.0}%: {}.",
        large.orders,
        small.orders,
        growth * 100.0,
        FLAT * 100.0,
        verdict(growth <= FLAT)
    );
    let slowest = runs
        .iter()
        .map(Measured::per_second)
        .fold(f64::INFINITY, f64::min);
    let _ = writeln!(d, "- Throughput: at least {slowest:.0} orders per second at either size — at least {PER_SECOND:.0}: {}.\n", verdict(slowest >= PER_SECOND));
    Ok((d, runs))
}

/// The ledger's events delivered to a local receiver (`paybridge-loadbench outbox`).
pub fn outbox_section(count: usize) -> Result<String, String> {
    let loadbench = crate::release_binary("paybridge-loadbench")?;
    let mut d = String::new();
    let _ = writeln!(d, "## Webhook deliveries (`paybridge-loadbench outbox`)\n");
    let _ = writeln!(d, "{count} `payout.completed` events in the ledger (written by their transitions before the timing), then `Outbox::deliver_due` rounds until nothing is due: each event claimed under a lease, signed per Standard Webhooks, POSTed through paybridge's own client to a local axum receiver (a thread of its own, answering 204), its attempt and new state committed. Every event sent was received and recorded delivered in every run (the bench fails otherwise).\n");
    let _ = writeln!(
        d,
        "| database | claimed per round | events delivered per second |\n|---|---|---|"
    );
    for (database, described) in [DATABASES[0], DATABASES[2]] {
        let text = crate::bench::output(
            Command::new(&loadbench)
                .args(["outbox", database, &count.to_string()])
                .env("PAYBRIDGE_LOG", "error"),
        )?;
        let report: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if let Some(why) = report["skipped"].as_str() {
            return Err(format!(
                "the outbox bench on {database} could not run: {why}"
            ));
        }
        for pass in report["passes"].as_array().into_iter().flatten() {
            let (events, delivered, received) = (
                pass["events"].as_u64(),
                pass["delivered"].as_u64(),
                pass["received"].as_u64(),
            );
            if delivered != events || received != events {
                return Err(format!(
                    "the outbox bench on {database}: {events:?} events, {delivered:?} recorded delivered, {received:?} received"
                ));
            }
            let _ = writeln!(
                d,
                "| {described} | {} | **{}** |",
                pass["batch"], pass["per_second"]
            );
        }
    }
    let _ = writeln!(d, "\nEach delivery commits its attempt and the event's new state in a transaction of its own, so the rate follows the database's commit rate; a merchant at 10 million orders a month writes 4 to 8 events a second on average (one or two per order), a small share of either figure.\n");
    Ok(d)
}
