//! `paybridge serve` as a process: without `[ledger]` it keeps orders in
//! `paybridge.db` beside its configuration and says so; on SIGTERM it stops
//! accepting, lets the request in flight finish, and exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};

const KEY: &str = "serve-process-key";

#[tokio::test]
async fn sigterm_lets_the_deposit_in_flight_finish_then_exits_0_and_the_ledger_is_beside_the_config(
) {
    // Every deposit creation takes 1.5 s at the provider.
    let sandbox = Sandbox::start(
        SandboxConfig {
            faults: FaultConfig {
                seed: 1,
                rules: vec![FaultRule {
                    provider: "vpay88".into(),
                    endpoint: "generate_orders".into(),
                    kind: FaultKind::Latency,
                    percent: 100,
                    latency_ms: 1500,
                }],
                duplicate_callbacks_percent: 0,
                callback_jitter_ms: 0,
            },
            ..SandboxConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let dir = paybridge_testkit::temp_dir("paybridge-serve-process");
    let config = dir.join("paybridge.toml");
    std::fs::write(
        &config,
        format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{}/vpay88\"\nusername = \"{DEMO_USERNAME}\"\n\
             api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n[serve]\napi_keys = [\"{}\"]\n",
            sandbox.base_url(),
            paybridge_serve::hash_key(KEY)
        ),
    )
    .unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(serve.stderr.take().unwrap());
    let mut said = String::new();
    let api = loop {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "serve ended: {said}"
        );
        said.push_str(&line);
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let beside = dir.join("paybridge.db");
    assert!(
        said.contains("has no [ledger]") && said.contains(&beside.display().to_string()),
        "{said}"
    );
    assert!(
        beside.exists(),
        "the ledger is created beside the configuration"
    );

    let deposit = {
        let api = api.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{api}/v1/deposits"))
                .bearer_auth(KEY)
                .json(&serde_json::json!({
                    "order_id": "TERM-1", "amount": "10.00", "currency": "MYR",
                    "customer": {"name": "Aminah", "email": "aminah@example.com", "phone": "60123456789"},
                }))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    // The deposit is at the provider when the signal comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        reqwest::get(format!("{api}/healthz")).await.is_err(),
        "no new request is taken once SIGTERM came, while one is still in flight"
    );
    assert!(
        !deposit.is_finished(),
        "the deposit is still at the provider"
    );
    assert_eq!(
        deposit.await.unwrap().unwrap(),
        201,
        "the request in flight is answered"
    );
    let exited = tokio::task::spawn_blocking(move || serve.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exited.code(), Some(0), "exit 0 after SIGTERM");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert!(rest.contains("stopped"), "{rest}");
    assert!(
        reqwest::get(format!("{api}/healthz")).await.is_err(),
        "nothing listens after exit"
    );

    // The ledger commands read the same ledger without being told where it is.
    let listed = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .arg("--config")
        .arg(&config)
        .args(["--output", "json", "ledger", "list"])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let orders: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(orders[0]["order_id"], "TERM-1", "{orders}");
}
