//! The merchants' own stacks against the service: the PHP client (php-cli with
//! curl) and the Node client (fetch) of `examples/serve`, each through a
//! deposit paid, a payout settled, statuses read, an idempotent retry and an
//! ambiguous answer handled. Skipped loudly where php or node is missing;
//! `cargo xtask test` installs both and requires them.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn client(program: &str, script: &str, run_id: &str) {
    if !runs(program) {
        let required = std::env::var("PAYBRIDGE_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
        assert!(!required, "{program} is not installed");
        eprintln!("SKIPPED: {program} is not installed, so examples/serve/{script} did not run (cargo xtask test installs it)");
        return;
    }
    let url = paybridge_testkit::postgres::sqlite_url();
    let running = common::start(&url, None).await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/serve")
        .join(script);
    let api = running.api.clone();
    let sandbox = running.sandbox_url.clone();
    let run_id = run_id.to_owned();
    let program = program.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .arg(path)
            .env("PAYBRIDGE_URL", api)
            .env("PAYBRIDGE_KEY", common::KEY)
            .env("SANDBOX_URL", sandbox)
            .env("RUN_ID", run_id)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("10 passed, 0 failed"), "{stdout}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_php_client_runs_a_merchants_whole_life_over_curl() {
    client("php", "client.php", "php-test").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_client_runs_a_merchants_whole_life_over_fetch() {
    client("node", "client.mjs", "node-test").await;
}
