//! `paybridge reconcile` and `paybridge ledger` against the sandbox: every
//! verdict from a merchant's CSV, a bad CSV refused before any query, a run
//! interrupted by Ctrl-C and resumed that asks each order once, and the
//! ledger's open orders resolved on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use paybridge::{Gateway, Provider};
use paybridge_cli::harness::{demo_config, myr_deposit, pay};
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
    let vpay = Gateway::for_provider(&config, Provider::Vpay88).unwrap();
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
            "line 3: configuration: `provider` \"paypal\" is not one of",
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
    let done = lines(&state);
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
    let asked = sandbox.status_requests();
    for id in &ids {
        let times: u32 = asked
            .iter()
            .filter(|((_, _, order), _)| order == id)
            .map(|(_, n)| *n)
            .sum();
        assert_eq!(times, 1, "{id} asked {times} times");
    }
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

mod ledger {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = paybridge_testkit::temp_dir("paybridge-reconcile-sqlite");
        let url = format!("sqlite://{}", dir.join("ledger.db").display());
        super::the_ledgers_open_orders_are_resolved_listed_and_exported(&url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(server) = super::TestPostgres::start("reconcile::ledger::postgres") {
            super::the_ledgers_open_orders_are_resolved_listed_and_exported(&server.url()).await;
        }
    }
}
