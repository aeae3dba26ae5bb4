//! `cargo xtask bench [--quick]`: every benchmark, then `docs/benchmarks.md`.
//! `--quick` runs each at smaller sizes to prove the benches work, and writes
//! its report to `benchmarks-quick.md` in the target directory instead, so
//! that the full run's figures are never replaced by a quick run's.
//!
//! 1. criterion micro-benchmarks (`crates/paybridge/benches/micro.rs`);
//! 2. SDK overhead against plain reqwest, the fastest hand-written reqwest
//!    client and hyper-util's client, three runs (`paybridge-loadbench overhead`);
//! 3. concurrency through one gateway against the sandbox (`paybridge-loadbench concurrency`),
//!    and `paybridge serve` against the library in-process (`paybridge-loadbench serve`);
//! 4. sandbox throughput under `wrk` for auth, create deposit and status;
//! 5. the ledger's cost per order under durable settings (and what the outbox
//!    adds to a transition), the whole callback path on one core, webhook
//!    deliveries per second, and `paybridge reconcile` at two sizes (`ledger_bench.rs`);
//! 6. the scale section, worked from those figures (`scale.rs`).
//!
//! The sections are written by `bench_report.rs`, `ledger_bench.rs` and `scale.rs`.

// Reporting only: turning nanoseconds into readable figures. No money here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::bench_report::FLOOR;
use crate::{cargo, root, run};

struct Settings {
    criterion: [&'static str; 4],
    overhead_iterations: &'static str,
    per_level: &'static str,
    wrk_seconds: &'static str,
    /// Two sizes, smaller first: memory must not grow from one to the other.
    reconcile_orders: [usize; 2],
    /// Callbacks per pass of the callback path, at two sizes of the ledger.
    callback_orders: [usize; 2],
    /// Calls per operation and level of the serve comparison.
    serve_count: &'static str,
    /// Events per pass of the webhook delivery bench.
    outbox_events: usize,
}

const QUICK: Settings = Settings {
    criterion: ["--warm-up-time", "0.3", "--measurement-time", "0.7"],
    overhead_iterations: "400",
    per_level: "1000",
    wrk_seconds: "3s",
    reconcile_orders: [10_000, 50_000],
    callback_orders: [50, 200],
    serve_count: "200",
    outbox_events: 200,
};

const FULL: Settings = Settings {
    criterion: ["--warm-up-time", "2", "--measurement-time", "5"],
    overhead_iterations: "3000",
    per_level: "4000",
    wrk_seconds: "10s",
    reconcile_orders: [100_000, 1_000_000],
    callback_orders: [500, 2_000],
    serve_count: "2000",
    outbox_events: 2000,
};

pub(crate) fn output(command: &mut Command) -> Result<String, String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{command:?} failed with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_wrk() -> Result<(), String> {
    if Path::new("/usr/bin/wrk").exists() {
        return Ok(());
    }
    eprintln!("xtask: installing wrk (Debian) for the sandbox load test");
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "wrk"]))
}

/// Median and 95% interval of one criterion benchmark, in nanoseconds.
pub(crate) fn criterion_estimate(id: &str) -> Option<(f64, f64, f64)> {
    // criterion stores `group/function/name` as `group/function_name`.
    let (group, function) = id.split_once('/')?;
    let path = crate::target_dir()
        .ok()?
        .join("criterion")
        .join(group)
        .join(function.replace('/', "_"))
        .join("new/estimates.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let m = &v["median"];
    Some((
        m["point_estimate"].as_f64()?,
        m["confidence_interval"]["lower_bound"].as_f64()?,
        m["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

pub(crate) fn ns(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{:.2} ms", value / 1_000_000.0)
    } else if value >= 1_000.0 {
        format!("{:.2} µs", value / 1_000.0)
    } else {
        format!("{value:.1} ns")
    }
}

/// A server process of the bench's own, killed when dropped.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start_sandbox() -> Result<(ServerProcess, String), String> {
    let port = free_port()?;
    // Every order the run creates is kept (the default keeps 10,000): the
    // reconcile run needs each of its seeded orders to still be there.
    let config = std::env::temp_dir().join(format!("paybridge-bench-{}.toml", std::process::id()));
    std::fs::write(&config, "max_orders = 5000000\n").map_err(|e| e.to_string())?;
    let child = Command::new(crate::release_binary("paybridge")?)
        .args([
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .env("PAYBRIDGE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the sandbox: {e}"))?;
    let process = ServerProcess(child);
    let started = wait_for_port(port).map_err(|e| format!("the sandbox did not start: {e}"));
    // Read at start-up: not needed once the sandbox listens.
    let _ = std::fs::remove_file(&config);
    started?;
    Ok((process, format!("http://127.0.0.1:{port}")))
}

/// One wrk run: requests per second, p50 and p99 as wrk prints them.
fn wrk(
    base: &str,
    path: &str,
    script: &str,
    duration: &str,
) -> Result<(String, String, String), String> {
    let file = std::env::temp_dir().join(format!("paybridge-wrk-{}.lua", std::process::id()));
    std::fs::write(&file, script).map_err(|e| e.to_string())?;
    let text = output(
        Command::new("wrk")
            .args(["-t2", "-c64", "-d", duration, "--latency", "-s"])
            .arg(&file)
            .arg(format!("{base}{path}")),
    )?;
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw failures on {path}:\n{text}"));
    }
    Ok((field("Requests/sec:"), field("50%"), field("99%")))
}

/// The same status load against a bare axum server (`paybridge-loadbench
/// floor`) that answers the sandbox's own status answer, byte for byte, and
/// does nothing else: what the HTTP stack alone allows on this machine.
fn floor_status(
    loadbench: &Path,
    sandbox: &str,
    script: &str,
    duration: &str,
) -> Result<(String, String, String), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let answer = runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{sandbox}/vpay88/merchant/check_status"))
            .form(&[("username", "demo"), ("id", "BENCH-STATUS")])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response.text().await.map_err(|e| e.to_string())
    })?;
    let port = free_port()?;
    let child = Command::new(loadbench)
        .args(["floor", &port.to_string(), &answer])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the floor server: {e}"))?;
    let _floor = ServerProcess(child);
    wait_for_port(port)?;
    wrk(
        &format!("http://127.0.0.1:{port}"),
        "/vpay88/merchant/check_status",
        script,
        duration,
    )
}

fn wait_for_port(port: u16) -> Result<(), String> {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listens on port {port}"))
}

/// An auth token for the create-deposit script, and an order for the status script.
fn prepare(base: &str) -> Result<String, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let auth = post_form(
            &client,
            &format!("{base}/vpay88/merchant/auth"),
            &[("username", "demo"), ("api_key", "demo-api-key")],
        )
        .await?;
        let token = auth["auth"]
            .as_str()
            .ok_or("no auth token from the sandbox")?
            .to_owned();
        create_deposit(&client, base, &token, "BENCH-STATUS").await?;
        Ok(token)
    })
}

/// Posts `form` urlencoded and reads the JSON answer.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Value, String> {
    let response = client.post(url).form(form).send().await;
    let response = response.map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

/// Creates a Vpay88 deposit of 100 MYR with id `order_id` in the sandbox at
/// `base`, as a hand-written client would.
pub(crate) async fn create_deposit(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    order_id: &str,
) -> Result<(), String> {
    let form = [
        ("auth", token),
        ("username", "john"),
        ("amount", "100"),
        ("currency", "MYR"),
        ("orderid", order_id),
        ("email", "john@example.com"),
        ("phone_number", "601012456789"),
    ];
    let url = format!("{base}/vpay88/merchant/generate_orders");
    let created = post_form(client, &url, &form).await?;
    match created["status"].as_bool() {
        Some(true) => Ok(()),
        _ => Err(format!("the sandbox refused {order_id}: {created}")),
    }
}

pub fn bench(quick: bool) -> Result<(), String> {
    let s = if quick { &QUICK } else { &FULL };
    ensure_wrk()?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "paybridge-cli",
        "-p",
        "paybridge-loadbench",
    ]))?;
    run(cargo()
        .args(["bench", "-p", "paybridge", "--bench", "micro", "--"])
        .args(s.criterion))?;

    let loadbench = crate::release_binary("paybridge-loadbench")?;
    let mut overheads = Vec::new();
    for _ in 0..3 {
        let text = output(Command::new(&loadbench).args(["overhead", s.overhead_iterations]))?;
        overheads.push(serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())?);
    }

    let serve_text = output(Command::new(&loadbench).args(["serve", s.serve_count]))?;
    let serve: Value = serde_json::from_str(&serve_text).map_err(|e| e.to_string())?;

    let (sandbox, base) = start_sandbox()?;
    let text = output(Command::new("sh").arg("-c").arg(format!(
        "ulimit -n 16384 2>/dev/null; exec '{}' concurrency '{base}' {} 1 16 256 1024",
        loadbench.display(),
        s.per_level
    )))?;
    let concurrency: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;

    // wrk: a token for create-deposit, and an order for status.
    let token = prepare(&base)?;
    let auth_script = r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=demo&api_key=demo-api-key""#
        .to_owned();
    let status_script = r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=demo&id=BENCH-STATUS""#
        .to_owned();
    let create_script = format!(
        r#"local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function request()
  counter = counter + 1
  local body = "auth={token}&username=john&amount=100&currency=MYR&email=john%40example.com&phone_number=601012456789&orderid=WRK-" .. thread_id .. "-" .. counter
  return wrk.format("POST", nil, {{["Content-Type"] = "application/x-www-form-urlencoded"}}, body)
end"#,
        token = token
    );
    let auth = wrk(&base, "/vpay88/merchant/auth", &auth_script, s.wrk_seconds)?;
    let create = wrk(
        &base,
        "/vpay88/merchant/generate_orders",
        &create_script,
        s.wrk_seconds,
    )?;
    let status = wrk(
        &base,
        "/vpay88/merchant/check_status",
        &status_script,
        s.wrk_seconds,
    )?;
    let floor = floor_status(&loadbench, &base, &status_script, s.wrk_seconds)?;
    let (reconcile_text, reconcile) =
        crate::ledger_bench::reconcile_section(&base, &token, s.reconcile_orders)?;
    drop(sandbox);
    let (ledger_text, ledger) = crate::ledger_bench::ledger_section(&s.criterion)?;
    let (callback_text, callbacks) = crate::ledger_bench::callback_section(s.callback_orders)?;
    let outbox_text = crate::ledger_bench::outbox_section(s.outbox_events)?;
    let wrk_rows = [
        ("auth", auth),
        ("create deposit", create),
        ("status", status),
        (FLOOR, floor),
    ];

    let mut doc = String::new();
    header(&mut doc, quick);
    crate::bench_report::micro_section(&mut doc);
    crate::bench_report::overhead_section(&mut doc, &overheads);
    crate::bench_report::concurrency_section(&mut doc, &concurrency);
    let serve_met = crate::bench_report::serve_section(&mut doc, &serve);
    crate::bench_report::sandbox_section(&mut doc, &wrk_rows);
    doc.push('\n');
    doc.push_str(&ledger_text);
    doc.push('\n');
    doc.push_str(&callback_text);
    doc.push_str(&outbox_text);
    doc.push_str(&reconcile_text);
    doc.push_str(&crate::scale::scale_section(&crate::scale::Figures {
        concurrency: &concurrency,
        ledger: &ledger,
        callbacks: &callbacks,
        reconcile: &reconcile,
    }));
    let _ = writeln!(doc, "## Targets of the HTTP path\n");
    crate::bench_report::targets(&mut doc, &overheads, &wrk_rows);
    let _ = writeln!(
        doc,
        "- `paybridge serve` adds at most 0.5 ms at p99 at concurrency 1, with no errors: {}.",
        crate::bench_report::verdict(serve_met)
    );
    let _ = writeln!(doc, "- No per-call client or TLS configuration: one pooled HTTP client per gateway, shared by clones; the overhead runs show thousands of calls over a handful of connections.");
    let path = if quick {
        crate::target_dir()?.join("benchmarks-quick.md")
    } else {
        root().join("docs/benchmarks.md")
    };
    std::fs::write(&path, doc).map_err(|e| e.to_string())?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The document's title, what wrote it, and the machine.
fn header(d: &mut String, quick: bool) {
    let _ = writeln!(d, "# Benchmarks\n");
    let _ = writeln!(
        d,
        "{}\n",
        if quick {
            "Written by `cargo xtask bench --quick`: every bench at smaller sizes, to prove \
             they run; its figures are not the project's (`cargo xtask bench` writes those, \
             into `docs/benchmarks.md`)."
        } else {
            "Written by `cargo xtask bench`; re-run it to refresh every figure here. \
             `cargo xtask bench --quick` runs every bench at smaller sizes, to prove they \
             run, and writes its report to `benchmarks-quick.md` in the target directory \
             (`cargo metadata`'s `target_directory`, which honours `CARGO_TARGET_DIR`), \
             never here."
        }
    );
    let _ = writeln!(d, "Machine: {}.\n", machine());
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), Linux, {rustc}, release builds")
}
