//! ONE-PUNCH on the wire: signed paths, the JSON create body, fen amounts, the
//! envelope, and signed notifications. Signatures here are recomputed with the
//! md-5 crate directly from the document's formulas, not with paybridge-signing.

use httpmock::prelude::*;
use md5::{Digest, Md5};
use paybridge_core::{
    CallbackRequest, Currency, DepositRequest, Error, Money, Operation, OrderId, OrderStatus,
    PaymentGateway, StatusQuery, WithdrawalRequest,
};
use paybridge_onepunch::OnePunch;
use paybridge_testkit::{
    fixture, mock_capture, only, outcome, request_fixture, response_cases, CapturedRequest,
};
use serde_json::{Map, Value};

const TOKEN: &str = "MON-demo";
const KEY: &str = "demo-monster-key";

fn md5(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

fn gateway(base_url: &str) -> OnePunch {
    OnePunch::builder(TOKEN, KEY)
        .base_url(base_url)
        .magic_seed(42)
        .build()
        .unwrap()
}

/// Checks a signed GET path against its template and returns its magic_num.
fn check_signed_path(
    sent: &CapturedRequest,
    template: &CapturedRequest,
    payment_token: Option<&str>,
) -> u64 {
    assert_eq!(sent.method, template.method);
    let sent_parts: Vec<&str> = sent.path.split('/').collect();
    let template_parts: Vec<&str> = template.path.split('/').collect();
    assert_eq!(
        sent_parts.len(),
        template_parts.len(),
        "{} vs {}",
        sent.path,
        template.path
    );
    let mut magic = None;
    let mut signature = None;
    for (part, expected) in sent_parts.iter().zip(&template_parts) {
        match *expected {
            "{monster_token}" => assert_eq!(*part, TOKEN),
            "{payment_token}" => assert_eq!(Some(*part), payment_token),
            "{magic_num}" => {
                magic = Some(part.parse::<u64>().expect("magic_num is decimal digits"))
            }
            "{signature}" => signature = Some(part.to_string()),
            literal => assert_eq!(part, &literal),
        }
    }
    let magic = magic.expect("a magic_num segment");
    let want = match payment_token {
        Some(pt) => md5(&format!("{pt}{magic}{TOKEN}{KEY}")),
        None => md5(&format!("{magic}{TOKEN}{KEY}")),
    };
    assert_eq!(
        signature.as_deref(),
        Some(want.as_str()),
        "signature over the document's concatenation"
    );
    magic
}

async fn replay_get<T: serde::Serialize>(
    operation: &str,
    mock_path_prefix: &str,
    payment_token: Option<&str>,
    call: impl Fn(OnePunch) -> paybridge_testkit::BoxFuture<Result<T, Error>>,
) -> Map<String, Value> {
    let template = request_fixture("onepunch", operation);
    let mut outcomes = Map::new();
    for (case, body) in response_cases("onepunch", operation) {
        let server = MockServer::start_async().await;
        let captures: paybridge_testkit::Captures = Default::default();
        let sink = captures.clone();
        let body_for_mock = body.clone();
        server.mock(|when, then| {
            when.method(GET).path_prefix(mock_path_prefix);
            then.respond_with(move |req| {
                sink.lock().unwrap().push(paybridge_testkit::capture(req));
                httpmock::HttpMockResponse::builder()
                    .status(200)
                    .body(body_for_mock.clone())
                    .build()
            });
        });
        let result = call(gateway(&server.base_url())).await;
        outcomes.insert(case, outcome(&result));
        check_signed_path(&only(&captures), &template, payment_token);
    }
    outcomes
}

#[tokio::test]
async fn payment_methods() {
    let outcomes = replay_get(
        "payment_methods",
        "/api/v0/payment/all/methods/",
        None,
        |g| Box::pin(async move { g.payment_methods().await }),
    )
    .await;
    assert_eq!(outcomes["ok"]["ok"][0]["code"], "ali-person");
    assert_eq!(outcomes["ok"]["ok"][1]["name"], "WeChat Pay (personal)");
    insta::assert_json_snapshot!("payment_methods", outcomes);
}

#[tokio::test]
async fn prices_are_fixed_cny_amounts() {
    let outcomes = replay_get("currencies", "/api/v0/payment/all/prices/", None, |g| {
        Box::pin(async move { g.currencies().await })
    })
    .await;
    let limit = &outcomes["ok"]["ok"][0];
    assert_eq!(limit["currency"], "CNY");
    assert_eq!(limit["min"], "1");
    assert_eq!(limit["max"], "200");
    insta::assert_json_snapshot!("currencies", outcomes);
}

#[tokio::test]
async fn deposit_status_by_payment_token() {
    let pt = "OP9cdb705b61b144529c9690123456789";
    let outcomes = replay_get(
        "deposit_status",
        "/api/v0/payment/status/",
        Some(pt),
        move |g| {
            Box::pin(async move {
                g.deposit_status(&StatusQuery::new(OrderId::new("A1")?).with_provider_ref(pt))
                    .await
            })
        },
    )
    .await;
    assert_eq!(outcomes["completed"]["ok"]["status"], "completed");
    assert_eq!(outcomes["completed"]["ok"]["amount"]["amount"], "1");
    assert_eq!(outcomes["pending"]["ok"]["status"], "pending");
    assert_eq!(outcomes["failed"]["ok"]["status"], "failed");
    assert_eq!(outcomes["ok_as_documented"]["error"], "decode");
    insta::assert_json_snapshot!("deposit_status", outcomes);
}

fn documented_deposit() -> DepositRequest {
    DepositRequest::builder("_some_order_num_123_", Money::parse("100", "CNY").unwrap())
        .payment_method("ali-person")
        .callback_url("http://yourcompany.com/notify/wechat")
        .redirect_url("http://yourcompany.com/pay/success")
        .ip_addr("93.242.53.21")
        .mac_addr("00-14-22-01-23-45")
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_deposit_sends_a_signed_json_body_in_fen() {
    let template = request_fixture("onepunch", "create_deposit");
    let mut outcomes = Map::new();
    for (case, body) in response_cases("onepunch", "create_deposit") {
        let server = MockServer::start_async().await;
        let (_m, captures) = mock_capture(&server, POST, "/api/v0/payment/", 200, &body);
        let result = gateway(&server.base_url())
            .create_deposit(&documented_deposit())
            .await;
        outcomes.insert(case.clone(), outcome(&result));
        let sent = only(&captures);
        assert_eq!(sent.method, "POST");
        assert_eq!(sent.path, template.path);
        assert_eq!(sent.content_type.as_deref(), Some("application/json"));
        let magic = sent.field("magic_num").unwrap().to_owned();
        let signature = md5(&format!(
            "{magic}10000ali-person{TOKEN}_some_order_num_123_http://yourcompany.com/notify/wechathttp://yourcompany.com/pay/success{KEY}"
        ));
        let expected: Vec<(String, String)> = template
            .fields
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace("{magic_num}", &magic)
                    .replace("{signature}", &format!("\"{signature}\""));
                (k.clone(), v)
            })
            .collect();
        let mut sent_fields = sent.fields.clone();
        let mut expected_sorted = expected;
        sent_fields.sort();
        expected_sorted.sort();
        assert_eq!(sent_fields, expected_sorted, "{case}");
    }
    assert_eq!(
        outcomes["ok"]["ok"]["provider_ref"],
        "OP9f2dca32af10cd12ab5f6d0123456789"
    );
    // The document writes no refusal: a refused create is left open, never
    // read as "nothing held" (ONE-PUNCH has no status by order number).
    assert_eq!(outcomes["bad_signature"]["error"], "ambiguous");
    // Registered for 10 fen when 10000 were sent: refused, naming what is held.
    assert_eq!(outcomes["other_amount"]["error"], "order_id_conflict");
    insta::assert_json_snapshot!("create_deposit", outcomes);
}

#[tokio::test]
async fn fen_conversion_is_exact_and_refuses_sub_fen() {
    let g = gateway("http://127.0.0.1:9");
    // Built with a valid amount, then given the one under test: the builder
    // refuses a sub-fen amount itself, and the adapter must too.
    let with_amount = |a: &str, c: &str| {
        let mut request = DepositRequest::builder("A1", Money::parse("1", "CNY").unwrap())
            .payment_method("ali-person")
            .callback_url("http://n.example/")
            .redirect_url("http://r.example/")
            .build()
            .unwrap();
        request.amount = Money::parse(a, c).unwrap();
        request
    };
    assert_eq!(
        g.create_body(&with_amount("0.01", "CNY")).unwrap().amount,
        1
    );
    assert_eq!(
        g.create_body(&with_amount("123.45", "CNY")).unwrap().amount,
        12345
    );
    assert_eq!(
        g.create_body(&with_amount("100.0000", "CNY"))
            .unwrap()
            .amount,
        10000
    );
    for (amount, currency, field) in [
        ("0.001", "CNY", "amount"),
        ("1.005", "CNY", "amount"),
        ("1", "MYR", "currency"),
    ] {
        match g.create_body(&with_amount(amount, currency)).unwrap_err() {
            Error::InvalidRequest { field: named, .. } => assert_eq!(named, field),
            other => panic!("{amount} {currency}: {other}"),
        }
    }
    let no_urls = DepositRequest::builder("A1", Money::parse("1", "CNY").unwrap())
        .payment_method("ali-person")
        .build()
        .unwrap();
    assert!(
        matches!(g.create_body(&no_urls).unwrap_err(), Error::InvalidRequest { field, .. } if field == "redirect_url")
    );
}

#[tokio::test]
async fn operations_onepunch_lacks_are_unsupported_without_io() {
    let g = gateway("http://127.0.0.1:9");
    assert!(!g.capabilities().supports(Operation::Balance));
    let cny = Currency::new("CNY").unwrap();
    let w = WithdrawalRequest::builder("W1", Money::parse("1", "CNY").unwrap(), "1", "J", "1")
        .build()
        .unwrap();
    let q = StatusQuery::new(OrderId::new("W1").unwrap());
    let errors = [
        g.balance(&cny).await.unwrap_err(),
        g.create_withdrawal(&w).await.unwrap_err(),
        g.withdrawal_status(&q).await.unwrap_err(),
        g.deposit_banks(None).await.unwrap_err(),
        g.withdrawal_banks(Some(&cny)).await.unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    provider: paybridge_onepunch::PROVIDER,
                    ..
                }
            ),
            "{err}"
        );
    }
}

fn signed_notification(status: bool, message: &str, pt: &str, fen: u64, order_num: &str) -> String {
    let signature = md5(&format!(
        "{status}{message}{pt}{fen}{TOKEN}{order_num}{KEY}"
    ));
    serde_json::json!({
        "monster_token": TOKEN, "transaction_status": status, "message": message,
        "amount": fen, "order_num": order_num, "signature": signature,
    })
    .to_string()
}

#[test]
fn notifications_verify_with_the_stored_payment_token() {
    let g = gateway("http://127.0.0.1:9");
    let pt = "OP9f2dca";
    let body = signed_notification(true, "TRANSACTION SUCCEED", pt, 100, "_some_order_num_");
    let request = CallbackRequest::new(body.as_bytes()).with_provider_ref(Some(pt));
    let event = g.verify_callback(&request).unwrap();
    assert_eq!(event.status, OrderStatus::Completed);
    assert_eq!(event.amount, Money::parse("1.00", "CNY").unwrap());
    assert_eq!(event.order_id.unwrap().as_str(), "_some_order_num_");
    assert_eq!(event.provider_ref.as_deref(), Some(pt));

    // Without the payment token (not in the body, none stored) it cannot be verified.
    let err = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()))
        .unwrap_err();
    assert!(err.to_string().contains("payment_token"), "{err}");

    // A false status, an amount of 0 and no order_num also verify.
    let body = signed_notification(false, "TRANSACTION FAILED", pt, 0, "");
    let event = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()).with_provider_ref(Some(pt)))
        .unwrap();
    assert_eq!(event.status, OrderStatus::Failed);
    assert!(event.order_id.is_none());

    // Altered amount: rejected.
    let body =
        signed_notification(true, "TRANSACTION SUCCEED", pt, 100, "A1").replace("100", "10000");
    let err = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()).with_provider_ref(Some(pt)))
        .unwrap_err();
    assert!(matches!(err, Error::CallbackRejected(_)), "{err}");

    // A form body, when its content type says so.
    let signature = md5(&format!("trueTRANSACTION SUCCEED{pt}100{TOKEN}A1{KEY}"));
    let form = format!("monster_token={TOKEN}&transaction_status=true&message=TRANSACTION+SUCCEED&amount=100&order_num=A1&signature={signature}&payment_token={pt}");
    let request = CallbackRequest::new(form.as_bytes())
        .with_content_type(Some("application/x-www-form-urlencoded"));
    assert_eq!(
        g.verify_callback(&request).unwrap().status,
        OrderStatus::Completed
    );
}

#[test]
fn the_documents_notification_literal_is_refused() {
    let g = gateway("http://127.0.0.1:9");
    let body = fixture("onepunch/callback/notification_as_documented.txt");
    let err = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()).with_provider_ref(Some("OP1")))
        .unwrap_err();
    assert!(matches!(err, Error::CallbackRejected(_)), "{err}");
    let body = fixture("onepunch/callback/notification.json");
    let err = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()).with_provider_ref(Some("OP1")))
        .unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn a_signature_over_a_python_boolean_is_refused_with_the_mistake_named_on_the_error() {
    let g = gateway("http://127.0.0.1:9");
    let pt = "OP9f2dca";
    let signature = md5(&format!("TrueTRANSACTION SUCCEED{pt}100{TOKEN}A1{KEY}"));
    let body = serde_json::json!({
        "monster_token": TOKEN, "transaction_status": true, "message": "TRANSACTION SUCCEED",
        "amount": 100, "order_num": "A1", "signature": signature,
    })
    .to_string();
    let err = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()).with_provider_ref(Some(pt)))
        .unwrap_err();
    match &err {
        Error::CallbackRejected(paybridge_core::CallbackRejection::BadSignature {
            explanation: Some(explanation),
        }) => {
            assert_eq!(
                explanation.mistake,
                Some(paybridge_signing::Mistake::BooleanWrittenAs("True"))
            );
            assert_eq!(explanation.received, signature);
        }
        other => panic!("expected an explained signature refusal, got {other:?}"),
    }
    assert!(err.to_string().contains("`True`"), "{err}");
    assert!(!format!("{err} {err:?}").contains(KEY), "the key leaked");
}

#[tokio::test]
async fn a_refusal_on_any_http_status_keeps_its_message_ambiguous_outcomes_included() {
    // The provider's Express template answers errors with HTTP 500 (404 for a
    // missing parameter) and `{"status":false,"message":...}`.
    for (http, message) in [
        (500, "PAYMENT METHOD NOT AVAILABLE"),
        (404, "MISSING PARAMETER"),
        (200, "SIGNATURE VERIFICATION FAILED"),
    ] {
        let body = format!(r#"{{"status":false,"message":"{message}"}}"#);
        let server = MockServer::start_async().await;
        let (_create, _) = mock_capture(&server, POST, "/api/v0/payment/", http, &body);
        let created = gateway(&server.base_url())
            .create_deposit(&documented_deposit())
            .await
            .unwrap_err();
        assert!(
            matches!(created, Error::Ambiguous { .. }),
            "HTTP {http}: a refused create is left open: {created}"
        );
        assert!(
            created.to_string().contains(message),
            "HTTP {http}: the ambiguous create keeps the provider's message: {created}"
        );
        let server = MockServer::start_async().await;
        let _status = server.mock(|when, then| {
            when.method(GET).path_includes("/api/v0/payment/status/");
            then.status(http).body(&body);
        });
        let query = StatusQuery::new(OrderId::new("A1").unwrap()).with_provider_ref("OPx1");
        match gateway(&server.base_url())
            .deposit_status(&query)
            .await
            .unwrap_err()
        {
            Error::Provider {
                message: kept,
                operation,
                ..
            } => {
                assert_eq!(kept, message, "HTTP {http}");
                assert_eq!(operation, Operation::DepositStatus);
            }
            other => panic!("HTTP {http}: a refused status query is a refusal: {other}"),
        }
    }
}
