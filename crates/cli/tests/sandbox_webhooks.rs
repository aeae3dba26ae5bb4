//! The sandbox as the merchant's webhook receiver, end to end: the ledger's
//! events sent by paybridge's own outbox and `HttpReceiver` to a running
//! sandbox, verified there and shown in its JSON API and on its dashboard;
//! and `paybridge sandbox --webhook-secret`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use paybridge::ledger::{DeliveryState, EventFilter, Ledger, LedgerState, Observation, OrderKey};
use paybridge::ledger::{Source, SqlLedger};
use paybridge::webhooks::{HttpReceiver, Outbox, WebhookEndpoint, WebhookSecret};
use paybridge::{Money, OrderId, OrderKind, Provider};
use paybridge_sandbox::webhooks::Secret;
use paybridge_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A sandbox verifying with `SECRET`, and its webhook URL.
async fn sandbox() -> (Sandbox, String) {
    let config = SandboxConfig::default().with_webhook_secret(Secret::parse(SECRET).unwrap());
    let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let url = format!("{}/merchant/webhooks", sandbox.base_url());
    (sandbox, url)
}

/// A ledger holding one completed payout, `order_id`.
async fn ledger_with_a_completed_payout(order_id: &str) -> Arc<SqlLedger> {
    let ledger = Arc::new(
        SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
            .await
            .unwrap(),
    );
    let key = OrderKey::new(
        Provider::new("vpay88"),
        None,
        OrderKind::Withdrawal,
        &OrderId::new(order_id).unwrap(),
    );
    ledger
        .observe(
            &key,
            &Observation::new(Source::Callback, LedgerState::Completed)
                .amount(Some(Money::parse("42.10", "MYR").unwrap())),
        )
        .await
        .unwrap();
    ledger
}

/// paybridge's own sender to `url`, signing with `secrets`.
fn outbox(ledger: &Arc<SqlLedger>, url: &str, secrets: Vec<WebhookSecret>) -> Outbox {
    let endpoint = WebhookEndpoint::new("serve.webhooks.url", url, secrets).unwrap();
    Outbox::new(
        ledger.clone(),
        Arc::new(HttpReceiver::new(endpoint).unwrap()),
    )
}

async fn listed(sandbox: &Sandbox) -> Vec<Value> {
    reqwest::get(format!("{}/_sandbox/webhooks", sandbox.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_payout_event_sent_by_the_outbox_while_secrets_rotate_is_verified_by_the_sandbox_and_its_replay_marked_duplicate(
) {
    let (sandbox, url) = sandbox().await;
    let ledger = ledger_with_a_completed_payout("P-SBX-1").await;
    // The sender's new secret first, the one the sandbox knows second.
    let secrets = vec![
        WebhookSecret::from_bytes(&[9u8; 32]).unwrap(),
        WebhookSecret::parse(SECRET).unwrap(),
    ];
    let outbox = outbox(&ledger, &url, secrets);
    let round = outbox.deliver_due().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (1, 1), "{round:?}");
    let event = ledger.events(&EventFilter::all()).await.unwrap().remove(0);
    assert_eq!(event.state, DeliveryState::Delivered);

    let got = listed(&sandbox).await;
    assert_eq!(got.len(), 1);
    let w = &got[0];
    assert_eq!(w["webhook_id"], event.id.as_str());
    assert_eq!(w["type"], "payout.completed");
    assert_eq!(w["order_id"], "P-SBX-1");
    assert_eq!(w["provider"], "vpay88");
    assert_eq!(w["sequence"], event.sequence);
    assert_eq!(w["status"], "completed");
    assert_eq!(w["verdict"], "verified");
    assert_eq!(w["duplicate"], false);

    // A replay goes under the same webhook-id: taken again, marked a duplicate.
    ledger
        .replay_events(Some(&event.id), &EventFilter::all())
        .await
        .unwrap();
    assert_eq!(outbox.deliver_due().await.unwrap().delivered, 1);
    let got = listed(&sandbox).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        (&got[0]["webhook_id"], &got[0]["duplicate"]),
        (&Value::from(event.id.as_str()), &Value::Bool(true))
    );

    let page = reqwest::get(format!("{}/", sandbox.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = format!(
        "<td>{}</td><td>payout.completed</td><td>P-SBX-1</td>",
        event.id
    );
    assert!(page.contains(&row), "{page}");
    assert!(page.contains("<tr class=\"webhook verified\">"), "{page}");
}

#[tokio::test]
async fn an_outbox_signing_with_a_secret_the_sandbox_does_not_know_is_refused_and_retries() {
    let (sandbox, url) = sandbox().await;
    let ledger = ledger_with_a_completed_payout("P-SBX-2").await;
    let outbox = outbox(
        &ledger,
        &url,
        vec![WebhookSecret::from_bytes(&[7u8; 32]).unwrap()],
    );
    let round = outbox.deliver_due().await.unwrap();
    assert_eq!((round.attempted, round.retrying), (1, 1), "{round:?}");
    let w = &listed(&sandbox).await[0];
    assert_eq!(w["outcome"], "no_signature_matches");
    assert_eq!(w["http_status"], 400);
    assert_eq!(w["order_id"], "P-SBX-2");
}

/// Starts `paybridge sandbox` with `args` and `env`; the child and the
/// lines it printed up to its demo credentials.
fn sandbox_command(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .arg("sandbox")
        .args(args)
        .env_remove("PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in stderr.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("demo credentials");
        lines.push(line);
        if last {
            break;
        }
    }
    // The rest is read, and shown, so that the sandbox never writes to a closed pipe.
    std::thread::spawn(move || {
        stderr.for_each(|line| eprintln!("sandbox: {}", line.unwrap_or_default()))
    });
    (child, lines)
}

#[tokio::test]
async fn the_sandbox_command_takes_webhook_secrets_from_the_environment_without_a_flag_and_never_prints_them(
) {
    let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let both = format!("{other},{SECRET}");
    let (mut child, lines) = sandbox_command(
        &["--listen", "127.0.0.1:0"],
        &[("PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS", &both)],
    );
    let printed = lines.join("\n");
    let webhooks = lines
        .iter()
        .find(|l| l.trim_start().starts_with("webhooks"))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(webhooks.contains("(verified with 2 secrets)"), "{printed}");
    assert!(
        !printed.contains("MfKQ9r8") && !printed.contains("AAAAAAAA"),
        "{printed}"
    );
    let url = webhooks
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("{printed}"))
        .to_owned();
    assert!(url.ends_with("/merchant/webhooks"), "{url}");

    // The second secret of the environment's verifies a delivery.
    let ledger = ledger_with_a_completed_payout("P-SBX-3").await;
    let round = outbox(&ledger, &url, vec![WebhookSecret::parse(SECRET).unwrap()])
        .deliver_due()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(round.delivered, 1, "{round:?}");
}

#[test]
fn the_sandbox_command_refuses_a_bad_webhook_secret_flag_by_its_number_without_printing_it() {
    let run = Command::new(env!("CARGO_BIN_EXE_paybridge"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .args(["--webhook-secret", SECRET])
        .args(["--webhook-secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        .env_remove("PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS")
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("secret number 2: a webhook secret starts with whsec_"),
        "{stderr}"
    );
    assert!(!stderr.contains("MfKQ9r8"), "{stderr}");
}
