//! One1Pay on the wire: its request fields asserted against the document's
//! examples, every documented response normalized and snapshotted, plus the
//! behaviour the shared protocol gives it (cached auth, garbage bodies).

use httpmock::prelude::*;
use paybridge_core::{
    CallbackRequest, Currency, DepositRequest, Error, Money, OrderId, OrderStatus, PaymentGateway,
    StatusQuery, WithdrawalRequest,
};
use paybridge_one1pay::{AuthPolicy, FormApiGateway, One1Pay};
use paybridge_testkit::{fixture, mock_capture, replay_form_operation, BoxFuture, Replay};

const USERNAME: &str = "Payment-test";
const API_KEY: &str = "EPSOWM0eewwrwer0OfUo";
const SECRET: &str = "test-secret";

fn gateway(base_url: &str) -> FormApiGateway {
    One1Pay::builder(base_url, USERNAME, API_KEY)
        .secret_key(SECRET)
        .build()
        .unwrap()
}

fn op<T, F>(f: F) -> impl Fn(String) -> BoxFuture<Result<T, Error>>
where
    F: Fn(FormApiGateway) -> BoxFuture<Result<T, Error>>,
{
    move |base| f(gateway(&base))
}

fn snapshot(operation: &str, replay: Replay) {
    insta::assert_json_snapshot!(format!("{operation}__request"), replay.request);
    insta::assert_json_snapshot!(format!("{operation}__outcomes"), replay.outcomes);
}

fn thb(amount: &str) -> Money {
    Money::parse(amount, "THB").unwrap()
}

fn documented_deposit() -> Result<DepositRequest, Error> {
    DepositRequest::builder("Example_123", thb("100"))
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .redirect_url("https://www.google.com")
        .customer_bank_holder_name("tang")
        .customer_bank_account("1234")
        .bank_id("105")
        .payment_method("thaiqr")
        .callback_url("https://abc.com/deposit/callback")
        .build()
}

#[tokio::test]
async fn currencies() {
    let replay = replay_form_operation(
        "one1pay",
        "currencies",
        op(|g| Box::pin(async move { g.currencies().await })),
    )
    .await;
    snapshot("currencies", replay);
}

#[tokio::test]
async fn create_deposit() {
    let replay = replay_form_operation(
        "one1pay",
        "create_deposit",
        op(|g| Box::pin(async move { g.create_deposit(&documented_deposit()?).await })),
    )
    .await;
    assert_eq!(replay.outcomes["ok"]["ok"]["provider_ref"], "123456_1_123");
    // The document's own example lacks a comma; nothing is guessed from it.
    assert_eq!(replay.outcomes["ok_as_documented"]["error"], "ambiguous");
    snapshot("create_deposit", replay);
}

#[tokio::test]
async fn create_withdrawal() {
    let replay = replay_form_operation(
        "one1pay",
        "create_withdrawal",
        op(|g| {
            Box::pin(async move {
                let request = WithdrawalRequest::builder(
                    "Example_123",
                    thb("100"),
                    "12",
                    "John Doe",
                    "12332343432",
                )
                .bank_branch("Kentucky")
                .callback_url("https://abc.com/withdraw/callback")
                .build()?;
                g.create_withdrawal(&request).await
            })
        }),
    )
    .await;
    assert_eq!(
        replay.outcomes["ok"]["ok"]["provider_ref"],
        "015459_330_164"
    );
    snapshot("create_withdrawal", replay);
}

#[tokio::test]
async fn banks() {
    let thb = Currency::new("THB").unwrap();
    let deposit = replay_form_operation("one1pay", "deposit_banks", {
        let thb = thb.clone();
        op(move |g| {
            let thb = thb.clone();
            Box::pin(async move { g.deposit_banks(Some(&thb)).await })
        })
    })
    .await;
    assert_eq!(
        deposit.outcomes["ok"]["ok"][0]["name"],
        "Siam Commercial Bank"
    );
    snapshot("deposit_banks", deposit);
    let withdrawal = replay_form_operation(
        "one1pay",
        "withdrawal_banks",
        op(move |g| {
            let thb = thb.clone();
            Box::pin(async move { g.withdrawal_banks(Some(&thb)).await })
        }),
    )
    .await;
    snapshot("withdrawal_banks", withdrawal);
}

#[tokio::test]
async fn statuses() {
    let query = || StatusQuery::new(OrderId::new("Example_123").unwrap());
    let deposit = replay_form_operation(
        "one1pay",
        "deposit_status",
        op(move |g| Box::pin(async move { g.deposit_status(&query()).await })),
    )
    .await;
    snapshot("deposit_status", deposit);
    let withdrawal = replay_form_operation(
        "one1pay",
        "withdrawal_status",
        op(move |g| Box::pin(async move { g.withdrawal_status(&query()).await })),
    )
    .await;
    assert_eq!(
        withdrawal.outcomes["proccess"]["ok"]["status"],
        "processing"
    );
    assert_eq!(
        withdrawal.outcomes["proccess"]["ok"]["provider_status"],
        "proccess"
    );
    assert_eq!(withdrawal.outcomes["rejected"]["ok"]["status"], "rejected");
    snapshot("withdrawal_status", withdrawal);
}

#[tokio::test]
async fn balance() {
    let replay = replay_form_operation(
        "one1pay",
        "balance",
        op(|g| Box::pin(async move { g.balance(&Currency::new("THB")?).await })),
    )
    .await;
    assert_eq!(replay.outcomes["ok"]["ok"]["available"]["amount"], "0.00");
    snapshot("balance", replay);
}

#[tokio::test]
async fn missing_fields_are_named_before_sending() {
    let g = gateway("http://127.0.0.1:9");
    let base = || {
        DepositRequest::builder("A1", thb("100"))
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    };
    let documented_with = |change: fn(&mut DepositRequest)| {
        documented_deposit()
            .map(|mut r| {
                change(&mut r);
                r
            })
            .unwrap()
    };
    let cases = [
        // Presence first, in the order the request lists its fields.
        (base().build().unwrap(), "redirect_url"),
        (
            base().redirect_url("https://r.example/").build().unwrap(),
            "payment_method",
        ),
        (
            documented_with(|r| r.payment_method = None),
            "payment_method",
        ),
        (documented_with(|r| r.bank_id = None), "bank_id"),
        // Then values.
        (
            documented_with(|r| r.payment_method = Some("alipay".into())),
            "payment_method",
        ),
        (documented_with(|r| r.mode = Some("DIGI".into())), "mode"),
    ];
    for (request, field) in cases {
        match g.create_deposit(&request).await.unwrap_err() {
            Error::InvalidRequest { field: named, .. } => assert_eq!(named, field),
            other => panic!("expected {field} to be named, got {other}"),
        }
    }
}

#[tokio::test]
async fn html_body_is_a_decode_error_keeping_a_bounded_body_its_status_and_parser_error() {
    let server = MockServer::start_async().await;
    let garbage = format!("<html>{}</html>", "x".repeat(5000));
    let (_m, _c) = mock_capture(&server, POST, "/merchant/check_status", 200, &garbage);
    let err = gateway(&server.base_url())
        .deposit_status(&StatusQuery::new(OrderId::new("A1").unwrap()))
        .await
        .unwrap_err();
    let Error::Decode {
        body,
        http_status,
        source,
        ..
    } = &err
    else {
        panic!("expected decode, got {err}")
    };
    assert!(body.starts_with("<html>xxx"), "{body}");
    assert_eq!(
        body.chars().count(),
        paybridge_wire::BODY_KEPT + 1,
        "the body is cut, with an ellipsis"
    );
    assert_eq!(*http_status, Some(200));
    assert!(source.is_some(), "the JSON parser's error is kept");
}

#[tokio::test]
async fn cached_auth_reuses_the_token_and_refreshes_once_when_refused() {
    let server = MockServer::start_async().await;
    let (auth, auth_calls) = mock_capture(
        &server,
        POST,
        "/merchant/auth",
        200,
        &fixture("one1pay/auth/ok.json"),
    );
    let (_b, balance_calls) = mock_capture(
        &server,
        POST,
        "/wallet/get_balance",
        200,
        &fixture("one1pay/balance/ok.json"),
    );
    let g = One1Pay::builder(server.base_url(), USERNAME, API_KEY)
        .auth_policy(AuthPolicy::Cached)
        .build()
        .unwrap();
    let thb = Currency::new("THB").unwrap();
    g.balance(&thb).await.unwrap();
    g.balance(&thb).await.unwrap();
    assert_eq!(auth.calls_async().await, 1, "token reused");
    assert_eq!(balance_calls.lock().unwrap().len(), 2);
    drop(auth_calls);

    // Now the provider refuses the token: one refresh, one retry, then the answer.
    let server = MockServer::start_async().await;
    let (auth, _) = mock_capture(
        &server,
        POST,
        "/merchant/auth",
        200,
        &fixture("one1pay/auth/ok.json"),
    );
    let (refused, _) = mock_capture(
        &server,
        POST,
        "/wallet/get_balance",
        200,
        &fixture("one1pay/create_withdrawal/params_incorrect.json"),
    );
    let g = One1Pay::builder(server.base_url(), USERNAME, API_KEY)
        .auth_policy(AuthPolicy::Cached)
        .build()
        .unwrap();
    let err = g.balance(&thb).await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err}");
    assert_eq!(auth.calls_async().await, 2, "one refresh");
    assert_eq!(refused.calls_async().await, 2, "one retry, not more");
}

#[test]
fn rejected_withdrawal_callback_verifies() {
    let g = gateway("http://127.0.0.1:9");
    let body = fixture("one1pay/callback/withdrawal_rejected.json").replace(
        "7fd1297bfc1bd843e9627d09afce0893",
        &paybridge_signing::form_callback_token(SECRET, "Testpayout008"),
    );
    let event = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()))
        .unwrap();
    assert_eq!(event.status, OrderStatus::Rejected);
    assert_eq!(event.amount, thb("1"));
    assert!(event
        .remarks
        .unwrap()
        .starts_with("Account Holder Name Mismatch"));
}
