//! The ledger's events delivered to a local receiver over HTTP: signed per
//! Standard Webhooks (checked here, and by the Standard Webhooks libraries for
//! Python and Node when the test set-up installed them), each `webhook-id`
//! stable across retries, failures retried on the schedule, `Retry-After`
//! honoured, `410 Gone` disabling the endpoint, a redirect never followed.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use paybridge::ledger::{
    DeliveryState, EventFilter, Ledger, LedgerState, Observation, OrderKey, Source, SqlLedger,
};
use paybridge::webhooks::{HttpReceiver, Outbox, WebhookEndpoint, WebhookSecret};
use paybridge::{Money, OrderId, OrderKind, Provider};
use paybridge_testkit::on_every_database;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
}

/// A receiver answering each request with the next scripted answer (200
/// once the script is spent), keeping what it got.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    got: Arc<Mutex<Vec<Got>>>,
}

/// A status, and the `Retry-After` sent with it.
type Answer = (u16, Option<&'static str>);

/// A ledger at `url` and a receiver answering `answers` first.
async fn ledger_and_receiver(url: &str, answers: &[Answer]) -> (Arc<SqlLedger>, Script, String) {
    let ledger = Arc::new(SqlLedger::open(url).await.unwrap());
    let script = Script::default();
    script
        .answers
        .lock()
        .unwrap()
        .extend(answers.iter().copied());
    let endpoint = receiver(script.clone()).await;
    (ledger, script, endpoint)
}

async fn receiver(script: Script) -> String {
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post({
            let script = script.clone();
            move |headers: HeaderMap, body: String| async move {
                let text = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                script.got.lock().unwrap().push(Got {
                    id: text("webhook-id"),
                    timestamp: text("webhook-timestamp"),
                    signature: text("webhook-signature"),
                    content_type: text("content-type"),
                    body,
                });
                let (status, retry_after) = script
                    .answers
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((200, None));
                let mut answer = HeaderMap::new();
                if let Some(wait) = retry_after {
                    answer.insert("retry-after", wait.parse().unwrap());
                }
                if status == 307 {
                    answer.insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
                }
                (StatusCode::from_u16(status).unwrap(), answer, "seen").into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn payout(order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("vpay88"),
        None,
        OrderKind::Withdrawal,
        &OrderId::new(order_id).unwrap(),
    )
}

async fn completed(ledger: &SqlLedger, order_id: &str) {
    ledger
        .observe(
            &payout(order_id),
            &Observation::new(Source::Callback, LedgerState::Completed)
                .amount(Some(Money::parse("42.10", "MYR").unwrap())),
        )
        .await
        .unwrap();
}

fn outbox(ledger: &Arc<SqlLedger>, url: &str) -> Outbox {
    let endpoint = WebhookEndpoint::new(
        "serve.webhooks.url",
        url,
        vec![
            WebhookSecret::from_bytes(&[9u8; 32]).unwrap(),
            WebhookSecret::parse(SECRET).unwrap(),
        ],
    )
    .unwrap();
    Outbox::new(
        ledger.clone(),
        Arc::new(HttpReceiver::new(endpoint).unwrap()),
    )
}

/// Every delivery verified by paybridge's own check and, where installed,
/// by the Standard Webhooks libraries themselves.
fn verify_all(got: &[Got]) {
    let secret = [WebhookSecret::parse(SECRET).unwrap()];
    for delivery in got {
        let timestamp: i64 = delivery.timestamp.parse().unwrap();
        assert!(
            paybridge_signing::webhook::verify(
                &secret,
                &delivery.id,
                timestamp,
                delivery.body.as_bytes(),
                &delivery.signature
            ),
            "{delivery:?}"
        );
        assert_eq!(
            delivery.signature.split(' ').count(),
            2,
            "one signature per secret"
        );
        assert_eq!(delivery.content_type, "application/json");
    }
    let lines: String = got
        .iter()
        .map(|d| {
            serde_json::json!({
                "secret": SECRET,
                "headers": {
                    "webhook-id": d.id,
                    "webhook-timestamp": d.timestamp,
                    "webhook-signature": d.signature,
                },
                "body": d.body,
            })
            .to_string()
                + "\n"
        })
        .collect();
    for (language, program, script, path_variable, installed) in [
        ("Python", "python3", "verify.py", "PYTHONPATH", "python"),
        (
            "Node",
            "node",
            "verify.js",
            "NODE_PATH",
            "node/node_modules",
        ),
    ] {
        let library = verifiers().join(installed);
        if !library.exists() {
            let required = std::env::var("PAYBRIDGE_REQUIRE_VERIFIERS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "the {language} Standard Webhooks library is not at {}",
                library.display()
            );
            eprintln!(
                "SKIPPED: the {language} Standard Webhooks library is not installed at {} (cargo xtask test installs it)",
                library.display()
            );
            continue;
        }
        let mut child = Command::new(program)
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/verifiers")
                    .join(script),
            )
            .env(path_variable, &library)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let verdicts = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            verdicts.lines().collect::<Vec<_>>(),
            vec!["ok"; got.len()],
            "{language}'s Standard Webhooks library refused a delivery"
        );
    }
}

/// Where `cargo xtask test` installs the Standard Webhooks libraries.
fn verifiers() -> PathBuf {
    if let Ok(dir) = std::env::var("PAYBRIDGE_VERIFIERS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/verifiers")
}

async fn every_event_is_delivered_signed_and_verified_by_the_standards_libraries(url: &str) {
    let (ledger, script, endpoint) = ledger_and_receiver(url, &[]).await;
    for id in ["WH-1", "WH-2", "WH-3"] {
        completed(&ledger, id).await;
    }
    let round = outbox(&ledger, &endpoint).deliver_due().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (3, 3), "{round:?}");
    let got = script.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    verify_all(&got);
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "payout.completed");
    assert_eq!(body["id"], got[0].id.as_str());
    assert_eq!(body["data"]["amount"], "42.10");
    let delivered = ledger
        .events(&EventFilter::all().state(DeliveryState::Delivered))
        .await
        .unwrap();
    assert_eq!(delivered.len(), 3);
    // Nothing is due again.
    let again = outbox(&ledger, &endpoint).deliver_due().await.unwrap();
    assert_eq!(again.attempted, 0);
}
on_every_database!(
    signed,
    every_event_is_delivered_signed_and_verified_by_the_standards_libraries
);

async fn a_refused_delivery_is_retried_later_under_the_same_webhook_id(url: &str) {
    let (ledger, script, endpoint) = ledger_and_receiver(url, &[(500, None), (307, None)]).await;
    completed(&ledger, "WH-R").await;
    let outbox = outbox(&ledger, &endpoint);
    let first = outbox.deliver_due().await.unwrap();
    assert_eq!((first.attempted, first.retrying), (1, 1));
    // Not due again until its wait (5 s on the schedule) has passed.
    assert_eq!(outbox.deliver_due().await.unwrap().attempted, 0);
    let event = &ledger.events(&EventFilter::all()).await.unwrap()[0];
    assert_eq!(event.state, DeliveryState::Failed);
    assert!(event.next_attempt_at >= paybridge::ledger::now_ms() + 4_000);
    // A redirect is a refusal, never followed.
    ledger
        .replay_events(Some(&event.id), &EventFilter::all())
        .await
        .unwrap();
    assert_eq!(outbox.deliver_due().await.unwrap().retrying, 1);
    ledger
        .replay_events(Some(&event.id), &EventFilter::all())
        .await
        .unwrap();
    assert_eq!(outbox.deliver_due().await.unwrap().delivered, 1);
    let got = script.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "the redirect's target got nothing: {got:?}");
    assert!(
        got.iter().all(|g| g.id == event.id),
        "one webhook-id across retries"
    );
    verify_all(&got);
    let attempts = ledger.event_attempts(&event.id).await.unwrap();
    let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(307), Some(200)]);
    assert_eq!(attempts[0].answer.as_deref(), Some("seen"));
}
on_every_database!(
    retried,
    a_refused_delivery_is_retried_later_under_the_same_webhook_id
);

async fn retry_after_is_honoured_and_gone_disables_the_endpoint(url: &str) {
    let (ledger, script, endpoint) =
        ledger_and_receiver(url, &[(429, Some("3600")), (410, None)]).await;
    completed(&ledger, "WH-G").await;
    let outbox = outbox(&ledger, &endpoint);
    outbox.deliver_due().await.unwrap();
    let event = ledger.events(&EventFilter::all()).await.unwrap().remove(0);
    let wait = event.next_attempt_at - paybridge::ledger::now_ms();
    assert!(
        (3_590_000..=3_600_000).contains(&wait),
        "Retry-After: 3600 waited {wait} ms"
    );
    ledger
        .replay_events(Some(&event.id), &EventFilter::all())
        .await
        .unwrap();
    let gone = outbox.deliver_due().await.unwrap();
    assert!(gone.disabled, "{gone:?}");
    assert_eq!(
        ledger
            .endpoint_disabled(&endpoint)
            .await
            .unwrap()
            .as_deref(),
        Some("answered 410 Gone")
    );
    // Disabled: nothing goes, the event waits.
    ledger
        .replay_events(Some(&event.id), &EventFilter::all())
        .await
        .unwrap();
    let idle = outbox.deliver_due().await.unwrap();
    assert_eq!((idle.attempted, idle.disabled), (0, true));
    assert!(ledger.enable_endpoint(&endpoint).await.unwrap());
    assert_eq!(outbox.deliver_due().await.unwrap().delivered, 1);
    assert_eq!(script.got.lock().unwrap().len(), 3);
}
on_every_database!(
    retry_after_and_gone,
    retry_after_is_honoured_and_gone_disables_the_endpoint
);

/// The PHP verification of docs/serve.md, as written there, behind PHP's
/// own web server: 204 when it verifies, 400 when it does not.
struct PhpVerifier {
    url: String,
    server: std::process::Child,
}

impl Drop for PhpVerifier {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The snippet under "by hand in PHP" in docs/serve.md.
fn documented_php() -> String {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/serve.md"),
    )
    .unwrap();
    let after = doc
        .split_once("by hand in PHP:")
        .expect("docs/serve.md verifies by hand in PHP")
        .1;
    let code = after.split_once("```php\n").unwrap().1;
    code.split_once("\n```").unwrap().0.to_owned()
}

/// PHP's web server running the documented snippet, or `None` (said loudly)
/// where PHP is not installed and the run does not require it.
async fn php_verifier() -> Option<PhpVerifier> {
    if Command::new("php").arg("--version").output().is_err() {
        let required = std::env::var("PAYBRIDGE_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
        assert!(!required, "php is not installed");
        eprintln!("SKIPPED: php is not installed (cargo xtask test installs php-cli)");
        return None;
    }
    let dir = paybridge_testkit::temp_dir("paybridge-php-verifier");
    std::fs::write(
        dir.join("receiver.php"),
        format!("<?php\n{}\nhttp_response_code(204);\n", documented_php()),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new("php")
        .args(["-S", &format!("127.0.0.1:{port}"), "receiver.php"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let verifier = PhpVerifier {
        url: format!("http://127.0.0.1:{port}/hooks"),
        server,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(verifier);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("PHP's web server did not start on port {port}");
}

async fn the_documented_php_verification_takes_every_delivery_and_refuses_forgeries(url: &str) {
    let Some(php) = php_verifier().await else {
        return;
    };
    let ledger = Arc::new(SqlLedger::open(url).await.unwrap());
    for id in ["PHP-1", "PHP-2", "PHP-3"] {
        completed(&ledger, id).await;
    }
    let round = outbox(&ledger, &php.url).deliver_due().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (3, 3), "{round:?}");
    let attempts = ledger
        .event_attempts(&ledger.events(&EventFilter::all()).await.unwrap()[0].id)
        .await
        .unwrap();
    assert_eq!(attempts[0].status, Some(204));

    // What a forger sends: PHP answers 400 to each.
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = r#"{"type":"payout.completed","id":"evt_forged"}"#;
    let signed = |timestamp: i64, body: &str| {
        paybridge_signing::webhook::signature_header(
            std::slice::from_ref(&secret),
            "evt_forged",
            timestamp,
            body.as_bytes(),
        )
    };
    let other = WebhookSecret::from_bytes(&[7u8; 32]).unwrap();
    for (what, timestamp, signature, sent) in [
        (
            "the body changed after signing",
            now,
            signed(now, body),
            body.replace("completed", "failed"),
        ),
        (
            "signed ten minutes ago",
            now - 600,
            signed(now - 600, body),
            body.to_owned(),
        ),
        (
            "signed with another secret",
            now,
            other.sign("evt_forged", now, body.as_bytes()),
            body.to_owned(),
        ),
        ("no signature", now, String::new(), body.to_owned()),
    ] {
        let status = reqwest::Client::new()
            .post(&php.url)
            .header("webhook-id", "evt_forged")
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(sent)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 400, "{what}");
    }
}
on_every_database!(
    php_verified,
    the_documented_php_verification_takes_every_delivery_and_refuses_forgeries
);

/// A receiver that takes every event at once but one, which it holds until
/// released: a merchant's endpoint slow on one request.
#[derive(Debug)]
struct HoldsOne {
    held: String,
    release: tokio::sync::Notify,
    taken: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl paybridge::webhooks::Receiver for HoldsOne {
    fn endpoint(&self) -> &str {
        "memory://holds-one"
    }

    async fn deliver(&self, event: &paybridge::ledger::Event) -> paybridge::webhooks::Delivery {
        if event.id == self.held {
            self.release.notified().await;
        }
        self.taken.lock().unwrap().push(event.id.clone());
        paybridge::webhooks::Delivery::answered(204, Vec::new(), None)
    }
}

async fn one_event_its_receiver_is_slow_to_take_holds_up_no_other(url: &str) {
    let ledger = Arc::new(SqlLedger::open(url).await.unwrap());
    for id in ["SLOW-1", "SLOW-2", "SLOW-3", "SLOW-4", "SLOW-5"] {
        completed(&ledger, id).await;
    }
    let events = ledger.events(&EventFilter::all()).await.unwrap();
    let receiver = Arc::new(HoldsOne {
        held: events[0].id.clone(),
        release: tokio::sync::Notify::new(),
        taken: Mutex::new(Vec::new()),
    });
    // Two in flight at a time: the held event takes one slot for as long as
    // it is held, and the other four go through the other.
    let outbox = Outbox::new(ledger.clone(), receiver.clone()).batch(2);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        outbox
            .run(std::time::Duration::from_millis(20), async move {
                let _ = stopped.await;
            })
            .await;
    });
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.taken.lock().unwrap().len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other events waited behind the held one: {:?}",
            receiver.taken.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !receiver.taken.lock().unwrap().contains(&events[0].id),
        "the held event is still being delivered"
    );
    receiver.release.notify_one();
    // Shutdown lets the delivery in flight finish and be recorded.
    let _ = stop.send(());
    running.await.unwrap();
    let delivered = ledger
        .events(&EventFilter::all().state(DeliveryState::Delivered))
        .await
        .unwrap();
    assert_eq!(delivered.len(), 5, "{delivered:?}");
}
on_every_database!(
    no_head_of_line,
    one_event_its_receiver_is_slow_to_take_holds_up_no_other
);
