//! The merchant's webhooks posted to a running sandbox: each delivery named
//! by what it sends, answered 204 or 400 with its reason, and recorded with
//! its verdict in `GET /_sandbox/webhooks` and on the dashboard. Deliveries
//! are signed by paybridge's own signer, so these also show that the two
//! readings of the specification agree.

use paybridge_sandbox::webhooks::Secret;
use paybridge_sandbox::{Sandbox, SandboxConfig};
use paybridge_signing::webhook::{signature_header, WebhookSecret};
use serde_json::Value;

/// The specification's own example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Another secret, which the sandbox does not know.
const OTHER: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn body(order: &str, sequence: i64) -> String {
    serde_json::json!({
        "type": "payout.completed",
        "id": "evt_test",
        "timestamp": "2026-12-02T22:02:19.164Z",
        "data": {
            "order_id": order, "account": "", "provider": "vpay88", "kind": "payout",
            "amount": "80.00", "currency": "MYR", "status": "completed",
            "previous_status": "processing", "provider_ref": "W-1", "confirmed": true,
            "sequence": sequence,
        },
    })
    .to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The three headers of a delivery of `body` signed with `secrets`.
fn signed(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let secrets: Vec<WebhookSecret> = secrets
        .iter()
        .map(|s| WebhookSecret::parse(s).unwrap())
        .collect();
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            signature_header(&secrets, id, timestamp, body),
        ),
    ]
}

async fn start(secrets: &[&str]) -> Sandbox {
    let config = secrets
        .iter()
        .fold(SandboxConfig::default(), |config, secret| {
            config.with_webhook_secret(Secret::parse(secret).unwrap())
        });
    Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

/// What a test sends and expects: its name, the headers, the body, the
/// answer's reason and the outcome recorded.
type Case = (
    &'static str,
    Vec<(&'static str, String)>,
    Vec<u8>,
    &'static str,
    &'static str,
);

/// Posts a delivery; the status and the answer's text.
async fn post(sandbox: &Sandbox, headers: &[(&str, String)], body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/merchant/webhooks", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// `GET /_sandbox/webhooks`: newest first.
async fn listed(sandbox: &Sandbox) -> Vec<Value> {
    let response = reqwest::get(format!("{}/_sandbox/webhooks", sandbox.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Vec<Value>>().await.unwrap()
}

async fn dashboard(sandbox: &Sandbox) -> String {
    reqwest::get(format!("{}/", sandbox.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delivery_signed_now_with_the_secret_is_answered_204_and_shown_verified() {
    let sandbox = start(&[SECRET]).await;
    let text = body("P-77", 2);
    let headers = signed(&[SECRET], "evt_good", now(), text.as_bytes());
    let (status, answer) = post(&sandbox, &headers, text.into_bytes()).await;
    assert_eq!((status, answer.as_str()), (204, ""));
    let got = listed(&sandbox).await;
    assert_eq!(got.len(), 1);
    let w = &got[0];
    assert_eq!(w["webhook_id"], "evt_good");
    assert_eq!(w["type"], "payout.completed");
    assert_eq!(w["order_id"], "P-77");
    assert_eq!(w["provider"], "vpay88");
    assert_eq!(w["sequence"], 2);
    assert_eq!(w["status"], "completed");
    assert_eq!(w["outcome"], "verified");
    assert_eq!(w["verdict"], "verified");
    assert_eq!(w["verified"], true);
    assert_eq!(w["duplicate"], false);
    assert_eq!(w["http_status"], 204);
    let page = dashboard(&sandbox).await;
    assert!(
        page.contains("<h2 id=\"webhooks\">Webhooks received</h2>"),
        "{page}"
    );
    assert!(
        page.contains("<tr class=\"webhook verified\">") && page.contains("<td>evt_good</td>"),
        "{page}"
    );
    assert!(!page.contains("MfKQ9r8"), "the secret is never shown");
}

#[tokio::test]
async fn the_published_test_vector_posted_now_is_refused_as_stale_and_recorded_so() {
    let sandbox = start(&[SECRET]).await;
    let headers = [
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()),
        ("webhook-timestamp", "1614265330".to_owned()),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned(),
        ),
    ];
    let (status, answer) = post(&sandbox, &headers, br#"{"test": 2432232314}"#.to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(answer, "stale timestamp: more than 5 minutes ago");
    let got = listed(&sandbox).await;
    assert_eq!(got[0]["outcome"], "too_old");
    assert_eq!(got[0]["webhook_id"], "msg_p5jXN8AQM9LWM0D4loKWxJek");
    assert_eq!(got[0]["type"], Value::Null, "the body names no type");
}

#[tokio::test]
async fn wrong_secret_tampered_body_stale_future_and_missing_headers_are_each_refused_400_with_their_reason(
) {
    let sandbox = start(&[SECRET]).await;
    let text = body("P-1", 1);
    let bytes = text.as_bytes();
    let tampered = text.replace("80.00", "8000.00");
    let mut missing_signature = signed(&[SECRET], "evt_nosig", now(), bytes);
    missing_signature.pop();
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            signed(&[OTHER], "evt_wrong", now(), bytes),
            bytes.to_vec(),
            "no signature matches",
            "no_signature_matches",
        ),
        (
            "tampered body",
            signed(&[SECRET], "evt_tampered", now(), bytes),
            tampered.into_bytes(),
            "no signature matches",
            "no_signature_matches",
        ),
        (
            "ten minutes old",
            signed(&[SECRET], "evt_stale", now() - 600, bytes),
            bytes.to_vec(),
            "stale timestamp: more than 5 minutes ago",
            "too_old",
        ),
        (
            "ten minutes ahead",
            signed(&[SECRET], "evt_future", now() + 600, bytes),
            bytes.to_vec(),
            "timestamp too new: more than 5 minutes ahead",
            "too_new",
        ),
        (
            "no signature header",
            missing_signature,
            bytes.to_vec(),
            "missing header webhook-signature",
            "missing_header",
        ),
        (
            "no headers at all",
            Vec::new(),
            bytes.to_vec(),
            "missing header webhook-id",
            "missing_header",
        ),
        (
            "a timestamp that is not seconds",
            vec![
                ("webhook-id", "evt_when".to_owned()),
                ("webhook-timestamp", "2026-12-02T22:02:19Z".to_owned()),
                ("webhook-signature", "v1,AAAA".to_owned()),
            ],
            bytes.to_vec(),
            "bad timestamp: webhook-timestamp is not whole seconds since 1970",
            "bad_timestamp",
        ),
    ];
    for (what, headers, sent, reason, _) in &cases {
        let (status, answer) = post(&sandbox, headers, sent.clone()).await;
        assert_eq!((status, answer.as_str()), (400, *reason), "{what}");
    }
    let got = listed(&sandbox).await;
    let outcomes: Vec<&str> = got
        .iter()
        .rev()
        .map(|w| w["outcome"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = cases.iter().map(|case| case.4).collect();
    assert_eq!(outcomes, expected);
    assert!(got
        .iter()
        .all(|w| w["verified"] == false && w["http_status"] == 400));
    let page = dashboard(&sandbox).await;
    assert!(page.contains("<td class=\"verdict\">no signature matches</td>"));
    assert!(page.contains("<td class=\"verdict\">missing header webhook-signature</td>"));
}

#[tokio::test]
async fn two_signatures_one_by_a_retired_secret_verify_and_so_does_either_of_two_configured_secrets(
) {
    // The sender rotates: its new secret first, the one the sandbox knows second.
    let sandbox = start(&[SECRET]).await;
    let text = body("P-2", 1);
    let headers = signed(&[OTHER, SECRET], "evt_rotating", now(), text.as_bytes());
    assert_eq!(headers[2].1.split(' ').count(), 2);
    let (status, _) = post(&sandbox, &headers, text.clone().into_bytes()).await;
    assert_eq!(status, 204);
    assert_eq!(listed(&sandbox).await[0]["outcome"], "verified");

    // The sandbox rotates: it knows both, the sender signs with the second.
    let both = start(&[SECRET, OTHER]).await;
    let headers = signed(&[OTHER], "evt_second", now(), text.as_bytes());
    assert_eq!(post(&both, &headers, text.into_bytes()).await.0, 204);
    assert_eq!(listed(&both).await[0]["verified"], true);
}

#[tokio::test]
async fn the_same_webhook_id_delivered_twice_is_answered_204_both_times_and_the_second_marked_duplicate(
) {
    let sandbox = start(&[SECRET]).await;
    let text = body("P-3", 4);
    // A retry: the same id and body, a later timestamp.
    for timestamp in [now() - 2, now()] {
        let headers = signed(&[SECRET], "evt_twice", timestamp, text.as_bytes());
        assert_eq!(
            post(&sandbox, &headers, text.clone().into_bytes()).await.0,
            204
        );
    }
    let got = listed(&sandbox).await;
    let duplicates: Vec<bool> = got
        .iter()
        .map(|w| w["duplicate"].as_bool().unwrap())
        .collect();
    assert_eq!(duplicates, [true, false], "newest first");
    let page = dashboard(&sandbox).await;
    assert!(page.contains("<td>duplicate</td>"), "{page}");
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_utf8_and_a_huge_odd_signature_header_are_refused_without_harm(
) {
    let sandbox = start(&[SECRET]).await;
    let text = b"order P-4 is paid".to_vec();
    let headers = signed(&[SECRET], "evt_text", now(), &text);
    let (status, answer) = post(&sandbox, &headers, text).await;
    assert_eq!((status, answer.as_str()), (400, "body is not JSON"));

    let binary = vec![0xff, 0xfe, 0x00, 0x80, b'{'];
    let headers = signed(&[SECRET], "evt_binary", now(), &binary);
    let (status, answer) = post(&sandbox, &headers, binary).await;
    assert_eq!((status, answer.as_str()), (400, "body is not JSON"));

    let text = body("P-4", 1);
    let mut headers = signed(&[SECRET], "evt_odd", now(), text.as_bytes());
    headers[2].1 = "v1,!!!! v1, ,,, v1a,x ".repeat(2_000);
    let (status, answer) = post(&sandbox, &headers, text.clone().into_bytes()).await;
    assert_eq!((status, answer.as_str()), (400, "no signature matches"));

    let mut headers = signed(&[SECRET], &"i".repeat(20_000), now(), text.as_bytes());
    headers[1].1 = "9".repeat(5_000);
    let (status, answer) = post(&sandbox, &headers, text.into_bytes()).await;
    assert_eq!(
        (status, answer.as_str()),
        (
            400,
            "bad timestamp: webhook-timestamp is not whole seconds since 1970"
        )
    );
    let got = listed(&sandbox).await;
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0]["webhook_id"].as_str().unwrap().len(),
        200,
        "a long id is kept cut"
    );
    // Still serving.
    assert!(dashboard(&sandbox).await.contains("Webhooks received"));
}

#[tokio::test]
async fn without_a_secret_a_well_formed_delivery_is_taken_and_shown_unverified_and_escaped() {
    let sandbox = start(&[]).await;
    let text = body("<b>P-5</b>", 1);
    let headers = signed(&[OTHER], "evt_<i>x</i>", now(), text.as_bytes());
    let (status, _) = post(&sandbox, &headers, text.into_bytes()).await;
    assert_eq!(status, 204);
    let w = &listed(&sandbox).await[0];
    assert_eq!(w["outcome"], "no_secret");
    assert_eq!(w["verdict"], "unverified: no secret configured");
    assert_eq!(w["verified"], false);
    let page = dashboard(&sandbox).await;
    assert!(page.contains("<td class=\"verdict\">unverified: no secret configured</td>"));
    assert!(page.contains("none is configured"), "{page}");
    assert!(page.contains("evt_&lt;i&gt;x&lt;/i&gt;") && !page.contains("<i>x</i>"));
    assert!(page.contains("&lt;b&gt;P-5&lt;/b&gt;") && !page.contains("<b>P-5</b>"));
    // Still held to the rest of the specification.
    let (status, answer) = post(&sandbox, &[], b"{}".to_vec()).await;
    assert_eq!(
        (status, answer.as_str()),
        (400, "missing header webhook-id")
    );
}

#[tokio::test]
async fn beyond_loopback_the_webhook_list_needs_the_token_and_the_receiving_route_does_not() {
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_webhook_secret(Secret::parse(SECRET).unwrap()),
        ([0, 0, 0, 0], 0).into(),
    )
    .await
    .unwrap();
    let token = sandbox.token().unwrap().to_owned();
    let base = format!("http://127.0.0.1:{}", sandbox.addr().port());
    let text = body("P-6", 1);
    let mut request = reqwest::Client::new()
        .post(format!("{base}/merchant/webhooks"))
        .body(text.clone());
    for (name, value) in signed(&[SECRET], "evt_open", now(), text.as_bytes()) {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status().as_u16(), 204);
    let list = |query: &str| reqwest::get(format!("{base}/_sandbox/webhooks{query}"));
    assert_eq!(list("").await.unwrap().status().as_u16(), 401);
    let shown: Vec<Value> = list(&format!("?token={token}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown[0]["webhook_id"], "evt_open");
    assert_eq!(sandbox.webhooks().len(), 1);
}

#[tokio::test]
async fn the_list_refuses_a_cross_site_request() {
    let sandbox = start(&[]).await;
    let response = reqwest::Client::new()
        .get(format!("{}/_sandbox/webhooks", sandbox.base_url()))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[test]
fn a_sandbox_file_names_its_webhook_secrets_and_a_bad_one_is_refused_without_repeating_it() {
    let config = SandboxConfig::from_toml(&format!("webhook_secrets = [\"{SECRET}\"]\n")).unwrap();
    assert_eq!(config.webhook_secrets.len(), 1);
    assert!(!format!("{config:?}").contains("MfKQ9r8"));
    let err =
        SandboxConfig::from_toml("webhook_secrets = [\"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n")
            .unwrap_err();
    assert_eq!(
        err,
        "webhook_secrets: entry 1: a webhook secret starts with whsec_"
    );
    assert!(!err.contains("MfKQ9r8"), "{err}");
}

/// Posts a multipart form to the sandbox, as the documents' PHP clients do.
async fn form(sandbox: &Sandbox, path: &str, fields: &[(&str, &str)]) -> Value {
    let form = fields
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
            form.text(k.to_string(), v.to_string())
        });
    reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_orders_page_shows_the_webhooks_about_that_order_beside_its_callbacks_and_no_other() {
    let sandbox = start(&[SECRET]).await;
    let auth = form(
        &sandbox,
        "/vpay88/merchant/auth",
        &[
            ("username", paybridge_sandbox::DEMO_USERNAME),
            ("api_key", paybridge_sandbox::DEMO_API_KEY),
        ],
    )
    .await;
    let token = auth["auth"].as_str().unwrap();
    let payout = form(
        &sandbox,
        "/vpay88/merchant/withdraw_orders",
        &[
            ("auth", token),
            ("amount", "80"),
            ("currency", "MYR"),
            ("orderid", "P-PAGE"),
            ("bank_id", "101"),
            ("holder_name", "John"),
            ("account_no", "123"),
        ],
    )
    .await;
    assert_eq!(payout["status"], true, "{payout}");
    for (id, order) in [("evt_this", "P-PAGE"), ("evt_other", "P-ELSE")] {
        let text = body(order, 1);
        let headers = signed(&[SECRET], id, now(), text.as_bytes());
        assert_eq!(post(&sandbox, &headers, text.into_bytes()).await.0, 204);
    }
    let page = reqwest::get(format!(
        "{}/?order=vpay88/withdrawal/P-PAGE",
        sandbox.base_url()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let deliveries = page.find("<table id=\"deliveries\">").expect(&page);
    let start = page.find("<table id=\"order-webhooks\">").expect(&page);
    assert!(start > deliveries, "after the callback deliveries");
    let table = &page[start..start + page[start..].find("</table>").unwrap()];
    assert!(table.contains("<td>evt_this</td>"), "{table}");
    assert!(!table.contains("evt_other"), "{table}");
    // The main section lists both.
    let all = page.find("<table id=\"webhooks-received\">").expect(&page);
    let listed = &page[all..all + page[all..].find("</table>").unwrap()];
    assert!(listed.contains("evt_this") && listed.contains("evt_other"));
}
