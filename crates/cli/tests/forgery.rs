//! A corpus of forged and altered callbacks: every one must be rejected, by
//! verification or, for the fields the Vpay88/One1Pay token does not cover, by
//! confirmation against the provider's status API.

use paybridge::{CallbackRequest, Money, OrderStatus};
use paybridge_cli::harness::{pay, Harness};
use paybridge_sandbox::SandboxConfig;
use paybridge_signing::{
    form_callback_token, md5_hex, onepunch_notification_signature, OnepunchNotificationFields,
};
use serde_json::{json, Value};

const SECRET: &str = "demo-secret-key";
const MONSTER_KEY: &str = "demo-monster-key";

fn form_body(order_id: &str, amount: &str, status: &str, token: &str) -> String {
    json!({
        "order_id": order_id, "amount": amount, "currency": "MYR", "order_status": status,
        "status": true, "charge": "0", "token": token, "name": "john", "type": "deposit",
    })
    .to_string()
}

#[tokio::test]
async fn every_forged_or_altered_callback_is_rejected() {
    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap().clone();
    // A real, paid order the forger knows about.
    let request =
        paybridge::DepositRequest::builder("FORGE-1", Money::parse("100", "MYR").unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
            .build()
            .unwrap();
    let order = vpay.create_deposit(&request).await.unwrap();
    pay(&order.payment_url, "completed").await.unwrap();
    let genuine = h.receiver.next("FORGE-1").await.unwrap();
    assert_eq!(genuine.event.status, OrderStatus::Completed);

    let good_token = form_callback_token(SECRET, "FORGE-1");
    let genuine_body = form_body("FORGE-1", "100.0000", "completed", &good_token);
    // Sanity: the genuine body verifies and confirms, so the rejections below are real.
    let event = vpay
        .verify(&CallbackRequest::new(genuine_body.as_bytes()))
        .unwrap();
    vpay.confirm(&event).await.unwrap();

    let oversized = format!(
        "{},\"pad\":\"{}\"}}",
        &genuine_body[..genuine_body.len() - 1],
        "x".repeat(70_000)
    );
    let renamed = genuine_body.replace("\"order_id\"", "\"orderid\"");
    let renamed_token = genuine_body.replace("\"token\"", "\"sign\"");
    let verification_corpus: Vec<(&str, String)> = vec![
        (
            "bad token",
            form_body("FORGE-1", "100", "completed", &"0".repeat(32)),
        ),
        (
            "token of another order",
            form_body(
                "FORGE-1",
                "100",
                "completed",
                &form_callback_token(SECRET, "FORGE-2"),
            ),
        ),
        (
            "token over order_id + secret",
            form_body(
                "FORGE-1",
                "100",
                "completed",
                &md5_hex(&["FORGE-1", SECRET]),
            ),
        ),
        (
            "token over secret + order_id + amount",
            form_body(
                "FORGE-1",
                "100",
                "completed",
                &md5_hex(&[SECRET, "FORGE-1", "100"]),
            ),
        ),
        (
            "token with the wrong secret",
            form_body(
                "FORGE-1",
                "100",
                "completed",
                &form_callback_token("guess", "FORGE-1"),
            ),
        ),
        (
            "token one character short",
            form_body("FORGE-1", "100", "completed", &good_token[..31]),
        ),
        ("empty token", form_body("FORGE-1", "100", "completed", "")),
        ("renamed order_id", renamed),
        ("renamed token", renamed_token),
        (
            "truncated",
            genuine_body[..genuine_body.len() / 2].to_owned(),
        ),
        ("oversized", oversized),
        ("not JSON", "<xml>order_id=FORGE-1</xml>".to_owned()),
        (
            "binary",
            String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x7b]).into_owned(),
        ),
        ("empty", String::new()),
        ("JSON array", format!("[{genuine_body}]")),
        (
            "unknown type",
            genuine_body.replace("\"deposit\"", "\"refund\""),
        ),
        (
            "unknown status",
            form_body("FORGE-1", "100", "paid", &good_token),
        ),
        (
            "amount written 1e999",
            form_body("FORGE-1", "-100", "completed", &good_token).replace("\"-100\"", "\"1e999\""),
        ),
    ];
    for (name, body) in &verification_corpus {
        match vpay.verify(&CallbackRequest::new(body.as_bytes())) {
            Err(paybridge::Error::CallbackRejected(_)) => {}
            other => panic!("{name}: not rejected by verification: {other:?}"),
        }
    }

    // The token does not cover these: they verify, and confirmation must catch them.
    let confirmation_corpus = [
        (
            "altered amount",
            form_body("FORGE-1", "100000", "completed", &good_token),
        ),
        (
            "altered amount, same digits",
            form_body("FORGE-1", "10.0", "completed", &good_token),
        ),
        (
            "altered status",
            form_body("FORGE-1", "100", "fail", &good_token),
        ),
        (
            "altered currency",
            form_body("FORGE-1", "100", "completed", &good_token).replace("MYR", "SGD"),
        ),
    ];
    for (name, body) in &confirmation_corpus {
        let event = vpay
            .verify(&CallbackRequest::new(body.as_bytes()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match vpay.confirm(&event).await {
            Err(paybridge::Error::CallbackRejected(_)) => {}
            other => panic!("{name}: not caught by confirm: {other:?}"),
        }
    }

    // ONE-PUNCH: its signature covers amount and status, so verification alone catches changes.
    let punch = h.gateway(paybridge::providers::ONEPUNCH).unwrap().clone();
    let sign = |status: bool, fen: u64, token: &str| {
        onepunch_notification_signature(
            &OnepunchNotificationFields {
                transaction_status: status,
                message: "TRANSACTION SUCCEED",
                payment_token: token,
                amount_fen: fen,
                monster_token: "MON-demo",
                order_num: Some("P-1"),
            },
            MONSTER_KEY,
        )
    };
    let notification = |status: bool, fen: u64, monster: &str, signature: String| -> Value {
        json!({ "monster_token": monster, "transaction_status": status, "message": "TRANSACTION SUCCEED",
                "amount": fen, "order_num": "P-1", "signature": signature })
    };
    let punch_corpus = [
        (
            "flipped status",
            notification(true, 1000, "MON-demo", sign(false, 1000, "OPT")),
        ),
        (
            "altered amount",
            notification(true, 100000, "MON-demo", sign(true, 1000, "OPT")),
        ),
        (
            "other payment token",
            notification(true, 1000, "MON-demo", sign(true, 1000, "OPOTHER")),
        ),
        (
            "other sub-account",
            notification(true, 1000, "MON-evil", sign(true, 1000, "OPT")),
        ),
        (
            "bad signature",
            notification(true, 1000, "MON-demo", "f".repeat(32)),
        ),
    ];
    for (name, body) in &punch_corpus {
        let body = body.to_string();
        let request = CallbackRequest::new(body.as_bytes()).with_provider_ref(Some("OPT"));
        match punch.verify_callback(&request) {
            Err(paybridge::Error::CallbackRejected(_)) => {}
            other => panic!("{name}: not rejected: {other:?}"),
        }
    }
    let genuine = notification(true, 1000, "MON-demo", sign(true, 1000, "OPT")).to_string();
    assert!(punch
        .verify_callback(&CallbackRequest::new(genuine.as_bytes()).with_provider_ref(Some("OPT")))
        .is_ok());

    // Each case above panics unless rejected; this only reports the corpus's size.
    println!(
        "forgery corpus: {} by verification, {} by confirmation, {} ONE-PUNCH, every one rejected",
        verification_corpus.len(),
        confirmation_corpus.len(),
        punch_corpus.len()
    );
}
