//! Drives the `paybridge` binary against mock providers: every command, every
//! provider, output and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use httpmock::prelude::*;
use paybridge_testkit::fixture;
use serde_json::{json, Value};

const SECRET: &str = "cli-secret-key";
const MONSTER_KEY: &str = "cli-monster-key";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts the exit code and that stderr says `text`.
    fn assert_fails_saying(&self, code: i32, text: &str) {
        assert_eq!(self.code, code, "{}", self.stderr);
        assert!(
            self.stderr.contains(text),
            "{text:?} missing: {}",
            self.stderr
        );
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn temp_dir() -> PathBuf {
    paybridge_testkit::temp_dir("paybridge-cli")
}

/// The documents' example deposit (100 MYR) is below their own example limits
/// (MYR from 420), so the commands that replay the documents turn the check off.
const LIMITS_OFF: &str = "limits_ttl_secs = 0";

fn config(base_url: &str, provider: &str) -> PathBuf {
    let path = temp_dir().join("paybridge.toml");
    std::fs::write(
        &path,
        format!(
            r#"provider = "{provider}"
[vpay88]
base_url = "{base_url}"
username = "vpay88-test"
api_key = "EPSOWM0eewwrwer0OfUo"
secret_key = "{SECRET}"
{LIMITS_OFF}
[one1pay]
base_url = "{base_url}"
username = "Payment-test"
api_key = "EPSOWM0eewwrwer0OfUo"
secret_keys = ["other-channel-secret", "{SECRET}"]
{LIMITS_OFF}
[onepunch]
base_url = "{base_url}"
monster_token = "MON-demo"
monster_key = "{MONSTER_KEY}"
notify_url = "http://merchant.example/notify"
return_url = "http://merchant.example/return"
[http]
read_attempts = 1
resolve_attempts = 1
resolve_delay_ms = 10
"#
        ),
    )
    .unwrap();
    path
}

fn paybridge(config: &PathBuf, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PAYBRIDGE_PROVIDER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(body) = stdin {
        pipe.write_all(body).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(config: &PathBuf, args: &[&str]) -> Run {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    paybridge(config, &all, None)
}

/// Answers every form-API path with the provider's documented success body.
fn mock_form_api(server: &MockServer, provider: &str) {
    let routes = [
        ("/merchant/auth", "auth/ok.json"),
        ("/merchant/currency", "currencies/ok.json"),
        ("/merchant/generate_orders", "create_deposit/ok.json"),
        ("/merchant/withdraw_orders", "create_withdrawal/ok.json"),
        ("/merchant/check_status", "deposit_status/completed.json"),
        ("/wallet/withdraw_bank_list", "withdrawal_banks/ok.json"),
    ];
    for (path, file) in routes {
        let body = fixture(&format!("{provider}/{file}"));
        server.mock(|when, then| {
            when.method(POST).path(path);
            then.status(200).body(body);
        });
    }
    if provider == "one1pay" {
        for (path, file) in [
            ("/wallet/bank_list", "deposit_banks/ok.json"),
            ("/wallet/get_balance", "balance/ok.json"),
            (
                "/merchant/check_withdraw_status",
                "withdrawal_status/proccess.json",
            ),
        ] {
            let body = fixture(&format!("one1pay/{file}"));
            server.mock(|when, then| {
                when.method(POST).path(path);
                then.status(200).body(body);
            });
        }
    }
}

fn mock_onepunch(server: &MockServer) {
    for (prefix, file) in [
        ("/api/v0/payment/all/methods/", "payment_methods/ok.json"),
        ("/api/v0/payment/all/prices/", "currencies/ok.json"),
        ("/api/v0/payment/status/", "deposit_status/completed.json"),
    ] {
        let body = fixture(&format!("onepunch/{file}"));
        server.mock(|when, then| {
            when.method(GET).path_prefix(prefix);
            then.status(200).body(body);
        });
    }
    let body = fixture("onepunch/create_deposit/ok.json");
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v0/payment/")
            .header("content-type", "application/json");
        then.status(200).body(body);
    });
}

#[test]
fn switching_provider_in_the_file_switches_the_wire_protocol() {
    let server = MockServer::start();
    mock_form_api(&server, "vpay88");
    mock_onepunch(&server);
    let vpay = json(&config(&server.base_url(), "vpay88"), &["currencies"]);
    assert_eq!(vpay.code, 0, "{}", vpay.stderr);
    assert_eq!(vpay.json()[0]["currency"], "MYR");
    assert_eq!(vpay.json()[0]["min"], "420.0000");
    let punch = json(&config(&server.base_url(), "onepunch"), &["currencies"]);
    assert_eq!(punch.code, 0, "{}", punch.stderr);
    assert_eq!(punch.json()[0]["currency"], "CNY");
    assert_eq!(punch.json()[0]["allowed_amounts"][0], "1");
    // --provider overrides the file too.
    let over = json(
        &config(&server.base_url(), "onepunch"),
        &["--provider", "vpay88", "currencies"],
    );
    assert_eq!(over.json()[0]["currency"], "MYR");
}

/// `deposit create` or `withdrawal create` of the documents' example order:
/// `Example_123`, 100 in `currency`.
fn documents_order<'a>(command: &'a str, currency: &'a str) -> Vec<&'a str> {
    let order = ["--order-id", "Example_123", "--amount", "100", "--currency"];
    let mut args = vec![command, "create"];
    args.extend(order);
    args.push(currency);
    args
}

/// `deposit create` with the documents' example customer, 100 in `currency`.
fn documents_deposit(currency: &str) -> Vec<&str> {
    let mut args = documents_order("deposit", currency);
    args.extend([
        "--customer",
        "john",
        "--email",
        "john@example.com",
        "--phone",
        "601012456789",
    ]);
    args
}

#[test]
fn a_deposit_below_the_published_minimum_is_refused_naming_it_and_never_sent() {
    let server = MockServer::start();
    for (path, file) in [
        ("/merchant/auth", "auth/ok.json"),
        ("/merchant/currency", "currencies/ok.json"),
    ] {
        server.mock(|when, then| {
            when.method(POST).path(path);
            then.status(200).body(fixture(&format!("vpay88/{file}")));
        });
    }
    let orders = server.mock(|when, then| {
        when.method(POST).path("/merchant/generate_orders");
        then.status(200)
            .body(fixture("vpay88/create_deposit/ok.json"));
    });
    let cfg = config(&server.base_url(), "vpay88");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(LIMITS_OFF, "");
    std::fs::write(&cfg, text).unwrap();
    let run = json(&cfg, &documents_deposit("MYR"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("the minimum is 420"), "{}", run.stderr);
    assert_eq!(orders.calls(), 0, "nothing was sent");
}

#[test]
fn form_api_commands_for_both_providers() {
    for provider in ["vpay88", "one1pay"] {
        let server = MockServer::start();
        mock_form_api(&server, provider);
        let cfg = config(&server.base_url(), provider);
        let currency = if provider == "vpay88" { "MYR" } else { "THB" };

        let banks = json(&cfg, &["banks", "withdrawal", "--currency", currency]);
        assert_eq!(banks.code, 0, "{provider}: {}", banks.stderr);
        assert_eq!(banks.json()[0]["currency"], currency);

        let mut deposit = documents_deposit(currency);
        if provider == "one1pay" {
            deposit.extend([
                "--bank-id",
                "105",
                "--pay-method",
                "thaiqr",
                "--redirect-url",
                "https://www.google.com",
                "--holder-name",
                "tang",
                "--account-no",
                "1234",
            ]);
        }
        let created = json(&cfg, &deposit);
        assert_eq!(created.code, 0, "{provider}: {}", created.stderr);
        assert!(created.json()["payment_url"]
            .as_str()
            .unwrap()
            .starts_with("https://xxxxx.com/"));
        // One1Pay answers a `payment_id`; Vpay88 gives no reference.
        let reference = match provider {
            "one1pay" => serde_json::json!("123456_1_123"),
            _ => serde_json::Value::Null,
        };
        assert_eq!(created.json()["provider_ref"], reference, "{provider}");

        let status = json(&cfg, &["deposit", "status", "--order-id", "Example_123"]);
        assert_eq!(status.code, 0, "{provider}: {}", status.stderr);
        let s = status.json();
        assert_eq!(s["status"], "completed");
        assert_eq!(s["amount"], "300.0000");
        assert_eq!(s["currency"], currency);
        assert_eq!(s["provider_status"], "completed");

        let payout = json(
            &cfg,
            &[
                documents_order("withdrawal", currency).as_slice(),
                &[
                    "--bank-id",
                    "12",
                    "--holder-name",
                    "John Doe",
                    "--account-no",
                    "12332343432",
                ],
            ]
            .concat(),
        );
        assert_eq!(payout.code, 0, "{provider}: {}", payout.stderr);
        assert_eq!(payout.json()["order_id"], "Example_123");

        let table = paybridge(
            &cfg,
            &["deposit", "status", "--order-id", "Example_123"],
            None,
        );
        assert_eq!(table.code, 0);
        assert!(
            table.stdout.contains("status") && table.stdout.contains("completed"),
            "{}",
            table.stdout
        );
    }
}

#[test]
fn one1pay_only_commands() {
    let server = MockServer::start();
    mock_form_api(&server, "one1pay");
    let cfg = config(&server.base_url(), "one1pay");
    let balance = json(&cfg, &["balance", "--currency", "THB"]);
    assert_eq!(balance.code, 0, "{}", balance.stderr);
    assert_eq!(balance.json()["available"], "0.00");
    let banks = json(&cfg, &["banks", "deposit", "--currency", "THB"]);
    assert_eq!(banks.json()[0]["name"], "Siam Commercial Bank");
    let status = json(&cfg, &["withdrawal", "status", "--order-id", "Example_123"]);
    assert_eq!(status.json()["status"], "processing");
    assert_eq!(status.json()["provider_status"], "proccess");
    // Vpay88 has no balance: refused with exit 2 before any request.
    let vpay = json(
        &config(&server.base_url(), "vpay88"),
        &["balance", "--currency", "MYR"],
    );
    assert_eq!(vpay.code, 2, "{}", vpay.stderr);
    assert_eq!(vpay.json()["error"], "unsupported");
}

#[test]
fn onepunch_commands() {
    let server = MockServer::start();
    mock_onepunch(&server);
    let cfg = config(&server.base_url(), "onepunch");
    let methods = json(&cfg, &["methods"]);
    assert_eq!(methods.code, 0, "{}", methods.stderr);
    assert_eq!(methods.json()[0]["code"], "ali-person");
    let created = json(
        &cfg,
        &[
            "deposit",
            "create",
            "--order-id",
            "A1",
            "--amount",
            "100.00",
            "--currency",
            "CNY",
            "--pay-method",
            "ali-person",
        ],
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(
        created.json()["provider_ref"],
        "OP9f2dca32af10cd12ab5f6d0123456789"
    );
    let missing_ref = json(&cfg, &["deposit", "status", "--order-id", "A1"]);
    assert_eq!(missing_ref.code, 2);
    let status = json(
        &cfg,
        &[
            "deposit",
            "status",
            "--order-id",
            "A1",
            "--provider-ref",
            "OP9cdb705b61b144529c9690123456789",
        ],
    );
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["status"], "completed");
    assert_eq!(status.json()["amount"], "1");
    for args in [
        vec!["balance", "--currency", "CNY"],
        vec!["banks", "withdrawal"],
        vec!["withdrawal", "status", "--order-id", "A1"],
        vec![
            "withdrawal",
            "create",
            "--order-id",
            "W1",
            "--amount",
            "1",
            "--currency",
            "CNY",
            "--bank-id",
            "1",
            "--holder-name",
            "J",
            "--account-no",
            "1",
        ],
    ] {
        let run = json(&cfg, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.json()["error"], "unsupported");
    }
    // Sub-fen amounts never leave the machine.
    let sub_fen = json(
        &cfg,
        &[
            "deposit",
            "create",
            "--order-id",
            "A2",
            "--amount",
            "1.001",
            "--currency",
            "CNY",
            "--pay-method",
            "ali-person",
        ],
    );
    assert_eq!(sub_fen.code, 2);
}

#[test]
fn refusals_exit_3_and_keep_the_message() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/merchant/auth");
        then.status(200).body(fixture("vpay88/auth/ok.json"));
    });
    server.mock(|when, then| {
        when.method(POST).path("/merchant/withdraw_orders");
        then.status(200)
            .body(fixture("vpay88/create_withdrawal/balance_not_enough.json"));
    });
    let run = json(
        &config(&server.base_url(), "vpay88"),
        &[
            "withdrawal",
            "create",
            "--order-id",
            "W1",
            "--amount",
            "5",
            "--currency",
            "MYR",
            "--bank-id",
            "1",
            "--holder-name",
            "J",
            "--account-no",
            "1",
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.json()["provider_message"], "Balance not enough!");
    assert_eq!(run.json()["refusal"], "insufficient_balance");
}

#[test]
fn transport_failures_exit_4_and_unresolved_payouts_are_ambiguous() {
    // Nothing listens on port 9 of loopback.
    let cfg = config("http://127.0.0.1:9", "vpay88");
    let run = json(&cfg, &["currencies"]);
    assert_eq!(run.code, 4, "{}", run.stderr);

    // The payout request reaches a server that fails with 502; status cannot confirm it.
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/merchant/auth");
        then.status(200).body(fixture("vpay88/auth/ok.json"));
    });
    let payout = server.mock(|when, then| {
        when.method(POST).path("/merchant/withdraw_orders");
        then.status(502).body("Bad Gateway");
    });
    let run = json(
        &config(&server.base_url(), "vpay88"),
        &[
            "withdrawal",
            "create",
            "--order-id",
            "W9",
            "--amount",
            "5",
            "--currency",
            "MYR",
            "--bank-id",
            "1",
            "--holder-name",
            "J",
            "--account-no",
            "1",
        ],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.json()["error"], "ambiguous");
    assert_eq!(run.json()["order_id"], "W9");
    payout.assert_calls(1);
}

#[test]
fn configuration_errors_name_the_key_and_the_file() {
    let path = temp_dir().join("paybridge.toml");
    std::fs::write(
        &path,
        "provider = \"vpay88\"\n[vpay88]\nbase_url = \"http://x.example\"\nusername = \"m\"\n",
    )
    .unwrap();
    let run = paybridge(&path, &["currencies"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("vpay88.api_key") && run.stderr.contains(path.to_str().unwrap()),
        "{}",
        run.stderr
    );
    std::fs::write(&path, "provider = \"paypal\"\n").unwrap();
    let run = paybridge(&path, &["currencies"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("provider"), "{}", run.stderr);
    let run = paybridge(&path, &["no-such-command"], None);
    assert_eq!(run.code, 2);
}

fn vpay88_callback(order_id: &str, amount: &str, status: &str) -> String {
    let token = paybridge_signing::form_callback_token(SECRET, order_id);
    format!(
        "{{\n \"order_id\": \"{order_id}\",\n \"amount\": {amount},\n \"currency\": \"MYR\",\n \"order_status\":\"{status}\",\n \"status\": true,\n \"charge\": \"9.0000\",\n \"token\":\"{token}\",\n \"type\":\"deposit\",\n}}"
    )
}

#[test]
fn callback_verify_explain_names_the_mistake_and_shows_no_secret() {
    let cfg = config("http://127.0.0.1:9", "vpay88");
    let genuine = vpay88_callback("Example_123", "300", "completed");
    let right = paybridge_signing::form_callback_token(SECRET, "Example_123");
    // The sender used the api_key where the callback secret belongs.
    let api_key = "EPSOWM0eewwrwer0OfUo";
    let wrong = paybridge_signing::form_callback_token(api_key, "Example_123");
    let body = genuine.replace(&right, &wrong);
    let run = paybridge(
        &cfg,
        &["callback", "verify", "--explain"],
        Some(body.as_bytes()),
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
    for shown in [
        "<secret_key>",
        "Example_123",
        wrong.as_str(),
        right.as_str(),
        "the api_key was used as the secret",
    ] {
        assert!(
            run.stderr.contains(shown),
            "{shown} missing: {}",
            run.stderr
        );
    }
    for secret in [SECRET, api_key] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} shown: {}",
            run.stderr
        );
    }
    // Without --explain the expected digest stays out of the output.
    let run = paybridge(&cfg, &["callback", "verify"], Some(body.as_bytes()));
    run.assert_fails_saying(5, "likely: the api_key was used");
    assert!(!run.stderr.contains(right.as_str()), "{}", run.stderr);
}

#[test]
fn callback_verify_accepts_valid_and_rejects_forged() {
    let cfg = config("http://127.0.0.1:9", "vpay88");
    // Trailing commas and a string amount are fine.
    let body = vpay88_callback("Example_123", "\"300.0000\"", "completed");
    let run = paybridge(
        &cfg,
        &["--output", "json", "callback", "verify"],
        Some(body.as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        (
            v["kind"].as_str(),
            v["order_id"].as_str(),
            v["status"].as_str()
        ),
        (Some("deposit"), Some("Example_123"), Some("completed"))
    );
    assert_eq!(v["amount"], "300.0000");
    // Unconfirmed, and said so plainly, on stderr (no colour codes: not a terminal)
    // and in the JSON.
    assert_eq!(v["confirmed"], false);
    assert_eq!(v["unconfirmed"], json!(["amount", "status"]));
    assert!(
        run.stderr.contains("amount and status are unconfirmed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "ANSI codes: {:?}",
        run.stderr
    );

    let forged = body.replace(
        &paybridge_signing::form_callback_token(SECRET, "Example_123"),
        &"0".repeat(32),
    );
    let other_order =
        vpay88_callback("Other_1", "300", "completed").replace("Other_1", "Example_123");
    let truncated = &body[..body.len() / 2];
    let oversized = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    for (name, bad) in [
        ("forged", forged.as_str()),
        ("token of another order", other_order.as_str()),
        ("truncated", truncated),
        ("oversized", oversized.as_str()),
    ] {
        let run = paybridge(&cfg, &["callback", "verify"], Some(bad.as_bytes()));
        assert_eq!(run.code, 5, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("callback rejected"),
            "{name}: {}",
            run.stderr
        );
        // The warn log line too carries no colour codes when stderr is a pipe.
        assert!(!run.stderr.contains('\u{1b}'), "{name}: {:?}", run.stderr);
    }
    // The second of several configured secrets verifies (One1Pay section).
    let one1 = config("http://127.0.0.1:9", "one1pay");
    let run = paybridge(
        &one1,
        &["callback", "verify"],
        Some(body.replace("MYR", "THB").as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // --file reads the body from a file.
    let file = temp_dir().join("body.json");
    std::fs::write(&file, &body).unwrap();
    let run = paybridge(
        &cfg,
        &["callback", "verify", "--file", file.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn callback_confirm_refuses_an_amount_the_provider_does_not_hold() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/merchant/check_status");
        then.status(200)
            .body(fixture("vpay88/deposit_status/completed.json"));
    });
    let cfg = config(&server.base_url(), "vpay88");
    // The provider holds 300.0000 MYR, completed.
    let honest = vpay88_callback("Example_123", "300", "completed");
    let run = paybridge(
        &cfg,
        &["callback", "verify", "--confirm"],
        Some(honest.as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("unconfirmed"), "{}", run.stderr);
    let altered = vpay88_callback("Example_123", "30000", "completed");
    let run = paybridge(
        &cfg,
        &["callback", "verify", "--confirm"],
        Some(altered.as_bytes()),
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("amount"), "{}", run.stderr);
    // Without --confirm the token alone verifies it: which is why --confirm exists.
    let run = paybridge(&cfg, &["callback", "verify"], Some(altered.as_bytes()));
    assert_eq!(run.code, 0);
}

#[test]
fn the_sandbox_command_serves_every_provider() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .args([
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--callback-url",
            "http://127.0.0.1:9/cb",
            "--profile",
            "observed",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "the sandbox listens");
    let cfg = config(&format!("http://127.0.0.1:{port}/vpay88"), "vpay88");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("username = \"vpay88-test\"", "username = \"demo\"")
        .replace(
            "api_key = \"EPSOWM0eewwrwer0OfUo\"",
            "api_key = \"demo-api-key\"",
        );
    std::fs::write(&cfg, text).unwrap();
    let run = json(&cfg, &["currencies"]);
    let _ = child.kill();
    let log = child.wait_with_output().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stderr = String::from_utf8_lossy(&log.stderr);
    assert!(
        stderr.contains("POST /vpay88/merchant/currency 200"),
        "one line per request: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "listening on http://127.0.0.1:{port}, profile observed"
        )),
        "the startup line names the profile: {stderr}"
    );
    assert_eq!(
        run.json().as_array().unwrap().len(),
        6,
        "observed lists USDT beside Vpay88's five"
    );
}

#[test]
fn the_sandbox_command_refuses_an_unknown_profile_by_name() {
    let run = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--profile", "live"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("unknown sandbox profile \"live\": expected one of documented, observed"),
        "{stderr}"
    );
    let file = std::env::temp_dir().join(format!("sandbox-profile-{}.toml", std::process::id()));
    std::fs::write(&file, "profile = \"live\"\n").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .args([
            "--config",
            file.to_str().unwrap(),
            "sandbox",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert_ne!(run.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("unknown sandbox profile \"live\""),
        "{stderr}"
    );
}

/// Two Vpay88 accounts beside the shorthand section, for `--account`.
fn accounts_config(base_url: &str) -> PathBuf {
    let path = config(base_url, "one1pay");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (name, secret) in [("main", "main-secret"), ("duitnow", "duitnow-secret")] {
        text.push_str(&format!(
            "[accounts.{name}]\nprovider = \"vpay88\"\nbase_url = \"{base_url}\"\nusername = \"{name}-user\"\napi_key = \"{name}-api-key\"\nsecret_key = \"{secret}\"\n{LIMITS_OFF}\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn account_selects_the_named_account_and_its_provider() {
    let server = MockServer::start();
    // Registered first, so it is the mock an auth of this account meets.
    let duitnow_status = server.mock(|when, then| {
        when.method(POST)
            .path("/merchant/check_status")
            .body_includes("duitnow-user");
        then.status(200)
            .body(fixture("vpay88/deposit_status/completed.json"));
    });
    mock_form_api(&server, "vpay88");
    let cfg = accounts_config(&server.base_url());
    // The file's provider is one1pay; the account implies vpay88.
    let args: Vec<&str> = "--account duitnow deposit status --order-id Example_123"
        .split(' ')
        .collect();
    let status = json(&cfg, &args);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["provider_status"], "completed");
    duitnow_status.assert_calls(1);

    let clash = json(
        &cfg,
        &["--account", "main", "--provider", "one1pay", "currencies"],
    );
    clash.assert_fails_saying(2, "account main is a vpay88 account");
    let unknown = json(&cfg, &["--account", "nosuch", "currencies"]);
    unknown.assert_fails_saying(2, "duitnow, main");
}

#[test]
fn a_callback_signed_for_one_account_is_refused_by_the_other_naming_it() {
    let cfg = accounts_config("http://127.0.0.1:9");
    let body = vpay88_callback("Example_123", "300", "completed").replace(
        &paybridge_signing::form_callback_token(SECRET, "Example_123"),
        &paybridge_signing::form_callback_token("main-secret", "Example_123"),
    );
    let own = paybridge(
        &cfg,
        &[
            "--output",
            "json",
            "--account",
            "main",
            "callback",
            "verify",
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert_eq!(own.json()["account"], "main");
    let other = paybridge(
        &cfg,
        &["--account", "duitnow", "callback", "verify", "--explain"],
        Some(body.as_bytes()),
    );
    let named = "the secret of another configured account (main) was used";
    assert_eq!(
        (
            other.code,
            other.stderr.contains(named),
            other.stderr.contains("main-secret")
        ),
        (5, true, false),
        "exit 5, naming main's secret without showing it: {}",
        other.stderr
    );
}

#[test]
fn fields_says_what_a_provider_takes_before_any_request() {
    // Nothing answers at this address: the command asks the provider nothing.
    let vpay = json(
        &config("http://127.0.0.1:9", "vpay88"),
        &["fields", "--currency", "THB"],
    );
    assert_eq!(vpay.code, 0, "{}", vpay.stderr);
    let rows = vpay.json();
    let row = |field: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == field)
            .cloned()
            .unwrap_or_else(|| panic!("no {field} row in {rows}"))
    };
    assert_eq!(row("bank_id")["use"], "required");
    assert_eq!(row("callback_url")["use"], "refused");
    assert!(row("callback_url")["reason"]
        .as_str()
        .unwrap()
        .contains("account page"));
    assert_eq!(row("ip_addr")["use"], "not sent");
    let punch = json(
        &config("http://127.0.0.1:9", "onepunch"),
        &["fields", "--kind", "deposit", "--currency", "CNY"],
    );
    assert_eq!(punch.json()[1]["sent_as"], "amount");
    let table = paybridge(
        &config("http://127.0.0.1:9", "one1pay"),
        &["fields", "--kind", "withdrawal", "--currency", "THB"],
        None,
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("holder_name"), "{}", table.stdout);
}

/// A brand configured in the file alone is selected, checked and reported by
/// its own name, like a built-in provider.
#[test]
fn a_brand_configured_in_the_file_is_a_provider_of_the_cli() {
    let server = MockServer::start();
    mock_form_api(&server, "vpay88");
    let base_url = server.base_url();
    let path = temp_dir().join("paybridge-brand.toml");
    let brand = paybridge_testkit::FPAY_BRAND;
    std::fs::write(
        &path,
        format!(
            r#"{brand}
[fpay]
base_url = "{base_url}"
username = "fpay-test"
api_key = "EPSOWM0eewwrwer0OfUo"
secret_key = "{SECRET}"
{LIMITS_OFF}
"#
        ),
    )
    .unwrap();
    let fields = json(
        &path,
        &["--provider", "fpay", "fields", "--currency", "THB"],
    );
    assert_eq!(fields.code, 0, "{}", fields.stderr);
    let bank = fields
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "bank_id")
        .cloned();
    assert_eq!(bank.unwrap()["use"], "required");
    let mut deposit = vec!["--provider", "fpay"];
    deposit.extend(documents_deposit("MYR"));
    let created = json(&path, &deposit);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(created.json()["payment_url"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    let mut no_bank = vec!["--provider", "fpay"];
    no_bank.extend(documents_deposit("THB"));
    let refused = paybridge(&path, &no_bank, None);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("fpay THB deposits"),
        "{}",
        refused.stderr
    );
    let unknown = paybridge(&path, &["--provider", "gpay", "currencies"], None);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("fpay"),
        "the brands are listed: {}",
        unknown.stderr
    );
}
