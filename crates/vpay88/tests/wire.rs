//! Vpay88 on the wire: every operation's request asserted field by field against
//! the document's example, and every documented response normalized and snapshotted.

use paybridge_core::{
    CallbackRequest, Currency, DepositRequest, Error, Money, Operation, OrderId, OrderStatus,
    PaymentGateway, StatusQuery, WithdrawalRequest,
};
use paybridge_testkit::{fixture, outcome, replay_form_operation, BoxFuture, Replay};
use paybridge_vpay88::{FormApiGateway, Vpay88};

const USERNAME: &str = "vpay88-test";
const API_KEY: &str = "EPSOWM0eewwrwer0OfUo";
const SECRET: &str = "test-secret";

fn gateway(base_url: &str) -> FormApiGateway {
    Vpay88::builder(base_url, USERNAME, API_KEY)
        .secret_key(SECRET)
        .build()
        .unwrap()
}

fn snapshot(operation: &str, replay: Replay) {
    insta::assert_json_snapshot!(format!("{operation}__request"), replay.request);
    insta::assert_json_snapshot!(format!("{operation}__outcomes"), replay.outcomes);
}

fn op<T, F>(f: F) -> impl Fn(String) -> BoxFuture<Result<T, Error>>
where
    F: Fn(FormApiGateway) -> BoxFuture<Result<T, Error>>,
{
    move |base| f(gateway(&base))
}

#[tokio::test]
async fn currencies() {
    let replay = replay_form_operation(
        "vpay88",
        "currencies",
        op(|g| Box::pin(async move { g.currencies().await })),
    )
    .await;
    assert_eq!(replay.outcomes["ok"]["ok"][0]["min"], "420.0000");
    snapshot("currencies", replay);
}

#[tokio::test]
async fn create_deposit() {
    let replay = replay_form_operation(
        "vpay88",
        "create_deposit",
        op(|g| {
            Box::pin(async move {
                let request = DepositRequest::builder("Example_123", Money::parse("100", "MYR")?)
                    .customer_name("john")
                    .email("john@example.com")
                    .phone("601012456789")
                    .mode("DIGI")
                    .redirect_url("https://www.google.com")
                    .build()?;
                g.create_deposit(&request).await
            })
        }),
    )
    .await;
    assert_eq!(
        replay.outcomes["ok"]["ok"]["payment_url"],
        "https://xxxxx.com/checkout/order-pay/92/?pay_for_order=true&key=1234"
    );
    // The fixture server has no status for it: held or not cannot be told.
    assert_eq!(replay.outcomes["order_id_exist"]["error"], "ambiguous");
    assert_eq!(
        replay.outcomes["params_incorrect"]["error"],
        "provider/Unauthorized"
    );
    snapshot("create_deposit", replay);
}

#[tokio::test]
async fn create_withdrawal() {
    let replay = replay_form_operation(
        "vpay88",
        "create_withdrawal",
        op(|g| {
            Box::pin(async move {
                let request = WithdrawalRequest::builder(
                    "Example_123",
                    Money::parse("100", "MYR")?,
                    "12",
                    "John Doe",
                    "12332343432",
                )
                .bank_branch("Kentucky")
                .build()?;
                g.create_withdrawal(&request).await
            })
        }),
    )
    .await;
    assert_eq!(
        replay.outcomes["balance_not_enough"]["error"],
        "provider/InsufficientBalance"
    );
    assert_eq!(replay.outcomes["ok"]["ok"]["learned_from"], "create_answer");
    assert_eq!(replay.outcomes["ok"]["ok"]["status"], "processing");
    snapshot("create_withdrawal", replay);
}

#[tokio::test]
async fn withdrawal_banks() {
    let replay = replay_form_operation(
        "vpay88",
        "withdrawal_banks",
        op(|g| {
            Box::pin(async move {
                let myr = Currency::new("MYR")?;
                g.withdrawal_banks(Some(&myr)).await
            })
        }),
    )
    .await;
    assert_eq!(replay.outcomes["ok"]["ok"][1]["id"], "2");
    snapshot("withdrawal_banks", replay);
}

#[tokio::test]
async fn deposit_status() {
    let replay = replay_form_operation(
        "vpay88",
        "deposit_status",
        op(|g| {
            Box::pin(async move {
                g.deposit_status(&StatusQuery::new(OrderId::new("Example_123")?))
                    .await
            })
        }),
    )
    .await;
    assert_eq!(replay.outcomes["completed"]["ok"]["status"], "completed");
    assert_eq!(replay.outcomes["fail"]["ok"]["status"], "failed");
    assert_eq!(replay.outcomes["pending"]["ok"]["status"], "pending");
    snapshot("deposit_status", replay);
}

#[tokio::test]
async fn withdrawal_status() {
    let replay = replay_form_operation(
        "vpay88",
        "withdrawal_status",
        op(|g| {
            Box::pin(async move {
                g.withdrawal_status(&StatusQuery::new(OrderId::new("Example_123")?))
                    .await
            })
        }),
    )
    .await;
    assert_eq!(
        replay.outcomes["completed"]["ok"]["amount"]["amount"],
        "300.0000"
    );
    snapshot("withdrawal_status", replay);
}

#[tokio::test]
async fn unsupported_operations_send_nothing() {
    // An unroutable address: any attempt to send would fail with a transport error.
    let g = gateway("http://127.0.0.1:9");
    let err = g.balance(&Currency::new("MYR").unwrap()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                operation: Operation::Balance,
                ..
            }
        ),
        "{err}"
    );
    let err = g.payment_methods().await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn per_currency_rules_refuse_before_sending() {
    let g = gateway("http://127.0.0.1:9");
    let base = |currency: &str| {
        DepositRequest::builder("A1", Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    };
    let cases = [
        (base("THB").build().unwrap(), "bank_id"),
        (base("IDR").build().unwrap(), "bank_id"),
        (
            base("VND")
                .callback_url("https://x.example/cb")
                .build()
                .unwrap(),
            "callback_url",
        ),
        (
            base("THB").bank_id("1").mode("DIGI").build().unwrap(),
            "mode",
        ),
        (base("MYR").mode("OTHER").build().unwrap(), "mode"),
        (base("SGD").mode("DIGI").build().unwrap(), "mode"),
        (
            base("MYR").payment_method("thaiqr").build().unwrap(),
            "payment_method",
        ),
        (
            DepositRequest::builder("A1", Money::parse("100", "MYR").unwrap())
                .email("john@example.com")
                .build()
                .unwrap(),
            "customer_name",
        ),
    ];
    for (request, field) in cases {
        let err = g.create_deposit(&request).await.unwrap_err();
        match &err {
            Error::InvalidRequest { field: named, .. } => assert_eq!(named, field, "{err}"),
            other => panic!("expected an invalid request naming {field}, got {other}"),
        }
    }
    let withdrawal =
        WithdrawalRequest::builder("W1", Money::parse("1", "MYR").unwrap(), "1", "J", "1")
            .callback_url("https://x.example/cb")
            .build()
            .unwrap();
    let err = g.create_withdrawal(&withdrawal).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { field, .. } if field == "callback_url"),
        "{err}"
    );
}

fn resign(body: &str, order_id: &str, documented_token: &str) -> String {
    body.replace(
        documented_token,
        &paybridge_signing::form_callback_token(SECRET, order_id),
    )
}

#[test]
fn documented_callbacks_verify_once_signed_with_our_secret() {
    let g = gateway("http://127.0.0.1:9");
    let cases = [
        (
            "deposit_completed",
            "20073",
            "cb2a91e02770eda1c42d7485f9048913",
        ),
        ("deposit_fail", "Example_123", "aZ3423432CWWSDFssdf"),
        (
            "withdrawal_completed",
            "Testpayout008",
            "5bf30f18349ce1211fdb0c7aff4d439b",
        ),
        (
            "withdrawal_fail",
            "Testpayout008",
            "7fd1297bfc1bd843e9627d09afce0893",
        ),
    ];
    let mut events = serde_json::Map::new();
    for (case, order_id, token) in cases {
        let documented = fixture(&format!("vpay88/callback/{case}.json"));
        // As published, the token was made with Vpay88's secret, not ours.
        let err = g
            .verify_callback(&CallbackRequest::new(documented.as_bytes()))
            .unwrap_err();
        assert!(matches!(err, Error::CallbackRejected(_)), "{case}: {err}");
        let body = resign(&documented, order_id, token);
        let event = g.verify_callback(&CallbackRequest::new(body.as_bytes()));
        events.insert(case.into(), outcome(&event));
        let event = event.unwrap();
        assert_eq!(event.raw_body, body, "raw body kept verbatim");
    }
    assert_eq!(events["withdrawal_fail"]["ok"]["status"], "failed");
    insta::assert_json_snapshot!("callbacks", events);
}

#[test]
fn callback_status_words_map() {
    let g = gateway("http://127.0.0.1:9");
    let body = resign(
        &fixture("vpay88/callback/deposit_completed.json"),
        "20073",
        "cb2a91e02770eda1c42d7485f9048913",
    );
    let event = g
        .verify_callback(&CallbackRequest::new(body.as_bytes()))
        .unwrap();
    assert_eq!(event.status, OrderStatus::Completed);
    assert_eq!(event.amount, Money::parse("300", "MYR").unwrap());
    assert_eq!(event.charge, Some(rust_decimal::Decimal::new(9, 0)));
}

/// A channel's secret verifies its callbacks, and confirmation asks the status
/// API as that channel's merchant account, not the gateway's own.
#[tokio::test]
async fn a_callback_verified_by_a_channel_secret_is_confirmed_as_that_channel() {
    use httpmock::prelude::*;
    let server = MockServer::start_async().await;
    let as_channel = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/merchant/check_status")
                .body_includes("duitnow-merchant");
            then.status(200)
                .body(fixture("vpay88/deposit_status/completed.json"));
        })
        .await;
    let gateway = Vpay88::builder(server.base_url(), USERNAME, API_KEY)
        .secret_key(SECRET)
        .channel_secret("duitnow-merchant", "duitnow-secret")
        .build()
        .unwrap();
    let token = paybridge_signing::form_callback_token("duitnow-secret", "Example_123");
    let body = format!(
        r#"{{"order_id":"Example_123","amount":300.0000,"currency":"MYR","order_status":"completed","status":true,"token":"{token}","type":"deposit"}}"#
    );
    let event = gateway
        .verify_callback(&CallbackRequest::new(body.as_bytes()))
        .unwrap();
    assert_eq!(event.account.as_deref(), Some("duitnow-merchant"));
    assert_eq!(event.secret_index, 1);
    let report = paybridge_core::confirm(&gateway, &event).await.unwrap();
    assert_eq!(report.status, OrderStatus::Completed);
    as_channel.assert_async().await;
}

/// An amount with more decimals than MYR has (0.001) is refused naming
/// `amount` before anything is sent, deposit and payout, even set on a request
/// after it was built; 0.01 MYR is sent.
#[tokio::test]
async fn an_amount_finer_than_its_currency_is_refused_before_anything_is_sent() {
    let server = httpmock::MockServer::start_async().await;
    let anything = server
        .mock_async(|_, then| {
            then.status(200)
                .body(r#"{"status":false,"message":"Params missing."}"#);
        })
        .await;
    let vpay = gateway(&server.base_url());
    let sub_sen = Money::parse("0.001", "MYR").unwrap();
    let mut deposit = DepositRequest::builder("A-FINE", Money::parse("0.01", "MYR").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .unwrap();
    let mut payout = WithdrawalRequest::builder(
        "W-FINE",
        Money::parse("0.01", "MYR").unwrap(),
        "12",
        "John Doe",
        "12332343432",
    )
    .build()
    .unwrap();
    let sendable = (deposit.clone(), payout.clone());
    deposit.amount = sub_sen.clone();
    payout.amount = sub_sen;
    for refused in [
        vpay.create_deposit(&deposit).await.map(|_| ()),
        vpay.create_withdrawal(&payout).await.map(|_| ()),
    ] {
        match refused {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "amount");
                assert!(reason.contains("MYR has 2"), "{reason}");
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    assert_eq!(anything.calls_async().await, 0, "nothing was sent");
    let sent = vpay.create_deposit(&sendable.0).await;
    assert!(
        !matches!(sent, Err(Error::InvalidRequest { .. })),
        "{sent:?}"
    );
    assert!(anything.calls_async().await > 0, "0.01 MYR was sent");
}

/// The currencies an account takes are the ones the provider publishes for it
/// (`/merchant/currency`), not the documents' list: `USDT`, which no Vpay88
/// document names, is sent when published; `MYR`, which the documents name, is
/// refused naming `currency` when the account's list leaves it out, with
/// nothing sent.
#[tokio::test]
async fn the_published_currency_list_decides_what_is_sent() {
    let server = httpmock::MockServer::start_async().await;
    let published = server
        .mock_async(|when, then| {
            when.path("/merchant/currency");
            then.status(200).body(
                r#"{"status":true,"rate":[{"currency":"USDT","min":10,"max":5000},{"currency":"THB","min":100,"max":50000}]}"#,
            );
        })
        .await;
    let auth = server
        .mock_async(|when, then| {
            when.path("/merchant/auth");
            then.status(200)
                .body(r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv"}"#);
        })
        .await;
    let created = server
        .mock_async(|when, then| {
            when.path("/merchant/generate_orders").body_includes("USDT");
            then.status(200)
                .body(r#"{"status":true,"p_url":"https://pay.example/usdt"}"#);
        })
        .await;
    let vpay = gateway(&server.base_url());
    let deposit = |currency: &str| {
        DepositRequest::builder("A-CUR", Money::parse("20.5", currency).unwrap())
            .customer_name("john")
            .build()
            .unwrap()
    };
    let order = vpay.create_deposit(&deposit("USDT")).await.unwrap();
    assert_eq!(order.payment_url, "https://pay.example/usdt");
    assert_eq!(created.calls_async().await, 1);
    match vpay.create_deposit(&deposit("MYR")).await {
        Err(Error::InvalidRequest { field, reason }) => {
            assert_eq!(field, "currency");
            assert!(
                reason.contains("USDT, THB"),
                "names the published list: {reason}"
            );
        }
        other => panic!("MYR is not published for this account: {other:?}"),
    }
    assert_eq!(
        auth.calls_async().await,
        1,
        "MYR was refused before any token"
    );
    assert_eq!(
        published.calls_async().await,
        1,
        "the list is kept between orders"
    );
}

/// Live servers answer auth with an `order_id`, which public integrations keep
/// as the provider's reference: a deposit whose own answer names none carries
/// it; a payout's own `withdraw_order_id` comes first.
#[tokio::test]
async fn the_auth_answer_s_order_id_is_the_reference_when_the_order_s_answer_has_none() {
    let server = httpmock::MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/merchant/auth");
            then.status(200)
                .body(r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv","order_id":8812}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/merchant/generate_orders");
            then.status(200)
                .body(r#"{"status":true,"p_url":"https://pay.example/92"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/merchant/withdraw_orders")
                .body_includes("W-OWN");
            then.status(200)
                .body(r#"{"status":true,"withdraw_order_id":"W77"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/merchant/withdraw_orders")
                .body_includes("W-BARE");
            then.status(200).body(r#"{"status":true}"#);
        })
        .await;
    let vpay = Vpay88::builder(server.base_url(), USERNAME, API_KEY)
        .secret_key(SECRET)
        .limits_ttl(None)
        .build()
        .unwrap();
    let deposit = DepositRequest::builder("A-REF", Money::parse("100", "MYR").unwrap())
        .customer_name("john")
        .build()
        .unwrap();
    let order = vpay.create_deposit(&deposit).await.unwrap();
    assert_eq!(order.provider_ref.as_deref(), Some("8812"));
    let payout = |id: &str| {
        WithdrawalRequest::builder(id, Money::parse("10", "MYR").unwrap(), "12", "J D", "1")
            .build()
            .unwrap()
    };
    let own = vpay.create_withdrawal(&payout("W-OWN")).await.unwrap();
    assert_eq!(own.provider_ref.as_deref(), Some("W77"));
    let bare = vpay.create_withdrawal(&payout("W-BARE")).await.unwrap();
    assert_eq!(bare.provider_ref.as_deref(), Some("8812"));
}
