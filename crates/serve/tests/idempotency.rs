//! Idempotency-Key as a hostile or unlucky client sends it: a key first
//! answered "retry" while the provider was down, a key of bytes that are not
//! ASCII, the same body written another way, one key twenty times at once.

mod common;

use common::{call, sent, start, KEY};
use paybridge_testkit::on_every_database;
use reqwest::Method;
use serde_json::json;

fn payout(order_id: &str) -> serde_json::Value {
    json!({
        "order_id": order_id, "amount": "80.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "Aminah", "account_no": "1234567890",
    })
}

/// A POST of `body` as written, under `key` (raw header bytes).
async fn post_raw(url: &str, key: &[u8], body: &str) -> (u16, serde_json::Value, bool) {
    let response = reqwest::Client::new()
        .post(url)
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(key).unwrap(),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (status, response.json().await.unwrap_or_default(), replayed)
}

async fn a_payout_answered_502_while_the_provider_was_down_is_sent_when_retried_under_its_key(
    url: &str,
) {
    // The provider's address, with nothing listening yet: every connection is refused.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let provider = format!("http://{address}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = common::config(&provider, url, "");
    let running = common::serve(listener, &config, &provider).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let key = [("idempotency-key", "pay-DOWN-1")];
    let (status, first, _) = call(Method::POST, &payouts, Some(&payout("DOWN-1")), &key).await;
    assert_eq!(
        (status, first["error"]["kind"].as_str()),
        (502, Some("transport")),
        "{first}"
    );
    // The provider is back; the client retries as a 502 asks: the same id, the same key.
    let sandbox =
        paybridge_sandbox::Sandbox::start(paybridge_sandbox::SandboxConfig::default(), address)
            .await
            .unwrap();
    let (status, again, headers) =
        call(Method::POST, &payouts, Some(&payout("DOWN-1")), &key).await;
    assert_eq!(
        status, 201,
        "a retry of a 502 is carried out, not the 502 replayed: {again}"
    );
    assert!(headers.get("idempotent-replayed").is_none());
    assert_eq!(
        sent(&provider, "DOWN-1", "withdrawal", "withdraw_orders").await,
        1
    );
    // What was carried out is kept: the key now replays it.
    let (status, replayed, headers) =
        call(Method::POST, &payouts, Some(&payout("DOWN-1")), &key).await;
    assert_eq!((status, &replayed), (201, &again));
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    running.stop().await;
    drop(sandbox);
}
on_every_database!(
    down_then_back,
    a_payout_answered_502_while_the_provider_was_down_is_sent_when_retried_under_its_key
);

async fn an_idempotency_key_of_utf8_bytes_is_refused_not_ignored(url: &str) {
    let running = start(url, None).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let body = payout("UTF8-KEY-1").to_string();
    let (status, answer, _) = post_raw(&payouts, "clé-1".as_bytes(), &body).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("Idempotency-Key")),
        "{answer}"
    );
    assert_eq!(
        sent(
            &running.sandbox_url,
            "UTF8-KEY-1",
            "withdrawal",
            "withdraw_orders"
        )
        .await,
        0,
        "a request whose key cannot be honoured is not carried out without it"
    );
    running.stop().await;
}
on_every_database!(
    utf8_key,
    an_idempotency_key_of_utf8_bytes_is_refused_not_ignored
);

async fn the_same_payout_with_its_fields_reordered_and_spaced_replays_under_its_key(url: &str) {
    let running = start(url, None).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let first = r#"{"order_id":"REORDER-1","amount":"80.00","currency":"MYR","bank_id":"101","holder_name":"Aminah","account_no":"1234567890"}"#;
    let again = "{ \"account_no\": \"1234567890\",\n  \"holder_name\": \"Aminah\", \"bank_id\": \"101\",\n  \"currency\": \"MYR\", \"amount\": \"80.00\", \"order_id\": \"REORDER-1\" }";
    let (status, answer, replayed) = post_raw(&payouts, b"reorder-1", first).await;
    assert_eq!(status, 201, "{answer}");
    assert!(!replayed);
    let (status, second, replayed) = post_raw(&payouts, b"reorder-1", again).await;
    assert_eq!(
        (status, &second, replayed),
        (201, &answer, true),
        "the same fields and values are the same body"
    );
    // Another value is another body still.
    let other = first.replace("80.00", "81.00");
    let (status, refused, _) = post_raw(&payouts, b"reorder-1", &other).await;
    assert_eq!(
        (status, refused["error"]["kind"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    running.stop().await;
}
on_every_database!(
    reordered,
    the_same_payout_with_its_fields_reordered_and_spaced_replays_under_its_key
);

async fn one_key_sent_twenty_times_at_once_reaches_the_provider_once(url: &str) {
    let running = start(url, None).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let body = payout("TWENTY-1");
    let key = [("idempotency-key", "twenty-1")];
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (payouts, body) = (payouts.clone(), body.clone());
        calls.spawn(async move { call(Method::POST, &payouts, Some(&body), &key).await });
    }
    let answers = calls.join_all().await;
    for (status, answer, _) in &answers {
        assert!(
            [201, 202, 409].contains(status),
            "the payout, open, or its key in flight: {status} {answer}"
        );
    }
    assert!(answers.iter().any(|(status, _, _)| *status == 201));
    assert_eq!(
        sent(
            &running.sandbox_url,
            "TWENTY-1",
            "withdrawal",
            "withdraw_orders"
        )
        .await,
        1
    );
    running.stop().await;
}
on_every_database!(
    twenty_at_once,
    one_key_sent_twenty_times_at_once_reaches_the_provider_once
);
