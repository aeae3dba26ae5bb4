//! The ledger's part of `cargo xtask bench`: its cost per order against a bare
//! INSERT + COMMIT (criterion, `crates/ledger/benches/ledger.rs`), and
//! `paybridge reconcile` over a large CSV against the sandbox (orders per
//! second and peak memory, measured on the command itself).

// Reporting only: turning nanoseconds into readable figures. No money here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, root, run};

/// Median of one criterion benchmark, in nanoseconds.
fn median(id: &str) -> Option<f64> {
    crate::bench::criterion_estimate(id).map(|(m, _, _)| m)
}

/// Runs the ledger's criterion benchmarks and describes them.
pub fn ledger_section(criterion: &[&str]) -> Result<String, String> {
    run(cargo()
        .env("PAYBRIDGE_REQUIRE_POSTGRES", "1")
        .args(["bench", "-p", "paybridge-ledger", "--bench", "ledger", "--"])
        .args(criterion))?;
    let mut d = String::new();
    let _ = writeln!(d, "## The ledger's cost per order\n");
    let _ = writeln!(d, "`cargo bench -p paybridge-ledger --bench ledger`: medians, against a bare INSERT + COMMIT of the same row (the same columns, in a table of their own) with the same driver and pool. `record` is what the ledger writes before an order leaves (`Ledger::begin`); `record + outcome` adds the create answer (the order moved to `processing`). SQLite is a file in a temporary directory (WAL, `synchronous = NORMAL`); PostgreSQL a server started for the run on loopback (`fsync = off`). Target: at most 1.5x.\n");
    let _ = writeln!(d, "| database | bare INSERT + COMMIT | record | ratio | record + outcome | ratio |\n|---|---|---|---|---|---|");
    for database in ["sqlite", "postgres"] {
        let id = |name: &str| format!("ledger_{database}/{name}");
        let (Some(bare), Some(record), Some(life)) = (
            median(&id("bare_insert_commit")),
            median(&id("record")),
            median(&id("record_and_outcome")),
        ) else {
            let _ = writeln!(d, "| {database} | not measured | | | | |");
            continue;
        };
        let _ = writeln!(
            d,
            "| {database} | {} | {} | **{:.2}x** | {} | **{:.2}x** |",
            crate::bench::ns(bare),
            crate::bench::ns(record),
            record / bare,
            crate::bench::ns(life),
            life / bare
        );
    }
    Ok(d)
}

/// Creates `count` Vpay88 deposits in the sandbox at `base` and writes the
/// merchant's CSV of them (every one `pending` on the merchant's side).
fn seed(base: &str, token: &str, count: usize, csv: &std::path::Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        use futures_util::stream::{self, StreamExt};
        let client = reqwest::Client::new();
        let created = stream::iter(0..count)
            .map(|n| {
                let client = client.clone();
                async move {
                    let id = format!("REC-{n:06}");
                    crate::bench::create_deposit(&client, base, token, &id).await?;
                    Ok::<_, String>(id)
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<Result<String, String>>>()
            .await;
        let mut text = String::from("provider,kind,order_id,amount,currency,merchant_status\n");
        for id in created {
            let _ = writeln!(text, "vpay88,deposit,{},100.00,MYR,pending", id?);
        }
        std::fs::write(csv, text).map_err(|e| e.to_string())
    })
}

/// `paybridge reconcile` over `count` orders against the sandbox at `base`:
/// orders per second and the command's peak memory.
pub fn reconcile_section(base: &str, token: &str, count: usize) -> Result<String, String> {
    let dir =
        std::env::temp_dir().join(format!("paybridge-reconcile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let csv = dir.join("orders.csv");
    seed(base, token, count, &csv)?;
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "[vpay88]\nbase_url = \"{base}/vpay88\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let binary = root().join("target/release/paybridge");
    // The peak resident memory of the command alone, as the kernel counts it
    // for a child that has ended.
    let measure = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n\
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let concurrency = "64";
    let started = Instant::now();
    let out = Command::new("python3")
        .args(["-c", measure])
        .arg(&binary)
        .arg("--config")
        .arg(&config)
        .args([
            "--output",
            "csv",
            "reconcile",
            "--concurrency",
            concurrency,
            "--input",
        ])
        .arg(&csv)
        .env("PAYBRIDGE_LOG", "error")
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("python3 is needed to measure peak memory: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let code = fields.next().unwrap_or("?").to_owned();
    let peak_kib: f64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let _ = std::fs::remove_dir_all(&dir);
    if code != "0" {
        return Err(format!(
            "paybridge reconcile exited {code} over the seeded orders"
        ));
    }
    let mut d = String::new();
    let _ = writeln!(d, "## `paybridge reconcile` over {count} orders\n");
    let _ = writeln!(d, "{count} Vpay88 deposits created in the sandbox (a separate process on the same machine), then reconciled from a CSV by the release build, `--concurrency {concurrency}`, no rate limit, the report written as CSV. Orders per second over the whole command (both passes over the file, every query, the report); peak resident memory of the command as the kernel counts it. Targets: at least 5,000 orders per second on 2 cores, under 100 MiB.\n");
    let _ = writeln!(
        d,
        "- **{:.0} orders per second** ({count} orders in {elapsed:.1} s)\n- **peak memory {:.1} MiB**\n",
        count as f64 / elapsed,
        peak_kib / 1024.0
    );
    Ok(d)
}
