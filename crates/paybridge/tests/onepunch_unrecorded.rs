//! A ONE-PUNCH deposit whose create answer the ledger could not record (its
//! database timed out then): the merchant has the payment page and sends the
//! payer, but the ledger holds the order without its payment token. The
//! provider's notification, carrying the token, is then confirmed by status
//! over that token, like on a route without a ledger, and applied once,
//! rather than answered 503 at every delivery and lost.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::Router;
use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::{Ledger, LedgerState, OrderKey, SqlLedger};
use paybridge::{Config, DepositRequest, Gateway, Money, OrderId, OrderKind};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN};
use paybridge_signing::{onepunch_notification_signature, OnepunchNotificationFields};
use paybridge_testkit::faulty_ledger::{FaultyLedger, LedgerCall};
use serde_json::json;

/// The ledger route for `gateway`, served; its URL, and how many times its
/// handler ran.
async fn counting_route(gateway: Gateway) -> (String, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let route = CallbackRoute::new(gateway, move |_: Delivery| {
        counted.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok::<(), String>(()))
    })
    .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, Router::new().nest("/cb", route)).await });
    (callback_url, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_for_a_deposit_whose_token_the_ledger_missed_is_confirmed_and_applied_once()
{
    let real = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let observe_fails = Arc::new(AtomicBool::new(true));
    let failing = observe_fails.clone();
    let ledger = Arc::new(FaultyLedger::new(real.clone(), move |call| {
        call == LedgerCall::Observe && failing.load(Ordering::SeqCst)
    }));
    let sandbox = Sandbox::start(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    // The sandbox's own deliveries go nowhere; this test posts the notification.
    let config = Config::from_toml(
        &format!(
            "[onepunch]\nbase_url = \"{}/onepunch\"\nmonster_token = \"{DEMO_MONSTER_TOKEN}\"\n\
             monster_key = \"{DEMO_MONSTER_KEY}\"\nnotify_url = \"http://127.0.0.1:9/cb\"\n\
             return_url = \"http://127.0.0.1:9/back\"\n[http]\nread_attempts = 1\n",
            sandbox.base_url()
        ),
        "onepunch",
    )
    .unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::ONEPUNCH)
        .unwrap()
        .with_ledger(ledger);
    let (callback_url, runs) = counting_route(gateway.clone()).await;

    let request = DepositRequest::builder("P1", Money::parse("10", "CNY").unwrap())
        .payment_method("ali-person")
        .build()
        .unwrap();
    let order = gateway.create_deposit(&request).await.unwrap();
    let token = order.provider_ref.clone().expect("a payment token");
    let key = OrderKey::new(
        paybridge::providers::ONEPUNCH,
        None,
        OrderKind::Deposit,
        &OrderId::new("P1").unwrap(),
    );
    let held = real.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (held.state, held.provider_ref.as_deref()),
        (LedgerState::Sending, None),
        "the create answer was not recorded"
    );
    observe_fails.store(false, Ordering::SeqCst);

    // The payer pays.
    let settled = reqwest::Client::new()
        .post(format!(
            "{}/onepunch/_sandbox/deposits/{token}/settle",
            sandbox.base_url()
        ))
        .form(&[("outcome", "completed")])
        .send()
        .await
        .unwrap();
    assert!(settled.status().is_success());

    let signature = onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: &token,
            amount_fen: 1000,
            monster_token: DEMO_MONSTER_TOKEN,
            order_num: Some("P1"),
        },
        DEMO_MONSTER_KEY,
    );
    let notification = json!({"monster_token": DEMO_MONSTER_TOKEN, "transaction_status": true,
        "message": "TRANSACTION SUCCEED", "amount": 1000, "order_num": "P1",
        "payment_token": token, "signature": signature})
    .to_string();
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let answer = client
            .post(&callback_url)
            .header("content-type", "application/json")
            .body(notification.clone())
            .send()
            .await
            .unwrap();
        answers.push(answer.status().as_u16());
    }
    assert_eq!(
        answers,
        vec![200, 200, 200],
        "every delivery of the paid deposit's notification"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1, "handled once");
    let held = real.get(&key).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Completed);
    assert_eq!(held.provider_ref.as_deref(), Some(token.as_str()));
}

/// A ONE-PUNCH whose status API says "completed, 1000 fen" for every
/// payment token: the worst case for a token shifted out of a genuine
/// notification, which then names a real payment of the order's amount.
async fn every_token_paid_status_api() -> String {
    use axum::extract::Path;
    use axum::routing::get;
    async fn status(Path((token, _, _, _)): Path<(String, String, String, String)>) -> String {
        json!({"status": true, "message": "OK", "user_info": {}, "payload": {
            "payment_token": token, "amount": 1000, "processed": true, "completed": true}})
        .to_string()
    }
    let app = Router::new().route(
        "/api/v0/payment/status/{token}/{monster}/{magic}/{signature}",
        get(status),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// P1 (10 CNY) held as sent without its token, and a ledgered gateway over
/// the ONE-PUNCH of [`every_token_paid_status_api`].
async fn p1_held_without_its_token() -> (SqlLedger, OrderKey, Gateway) {
    let ledger = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let key = paybridge_testkit::deposit_held(
        &ledger,
        paybridge::providers::ONEPUNCH,
        "P1",
        &Money::parse("10", "CNY").unwrap(),
        None,
    )
    .await;
    let base = every_token_paid_status_api().await;
    let config = Config::from_toml(
        &format!(
            "[onepunch]\nbase_url = \"{base}\"\nmonster_token = \"MON-x\"\n\
             monster_key = \"op-key\"\n[http]\nread_attempts = 1\n"
        ),
        "onepunch",
    )
    .unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::ONEPUNCH)
        .unwrap()
        .with_ledger(Arc::new(ledger.clone()));
    (ledger, key, gateway)
}

/// P1's genuine notification, payment `OPT1` of 1000 fen paid, signed, with
/// its token and amount as `sent` says (shifted, or as signed); the answer's
/// status code.
async fn post_p1_notification(callback_url: &str, sent: (&str, u64)) -> u16 {
    let signature = onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: "OPT1",
            amount_fen: 1000,
            monster_token: "MON-x",
            order_num: Some("P1"),
        },
        "op-key",
    );
    let (token, amount) = sent;
    let body = json!({"monster_token": "MON-x", "transaction_status": true,
        "message": "TRANSACTION SUCCEED", "amount": amount, "order_num": "P1",
        "payment_token": token, "signature": signature})
    .to_string();
    reqwest::Client::new()
        .post(callback_url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The ledger holds `P1` (10 CNY) without its token. A genuine notification
/// for `OPT1`, 1000 fen, shifted to `OPT`, 11000 fen, verifies over its own
/// token; it must not move `P1` through the status of `OPT` before its
/// amount is found wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shifted_notification_for_a_deposit_whose_token_the_ledger_missed_moves_nothing() {
    let (ledger, key, gateway) = p1_held_without_its_token().await;
    let (callback_url, runs) = counting_route(gateway).await;
    assert_ne!(
        post_p1_notification(&callback_url, ("OPT", 11000)).await,
        200
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let held = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (held.state, held.provider_ref.as_deref()),
        (LedgerState::Sending, None),
        "P1 is moved by nothing the shifted notification named"
    );
}

/// The ledger holds `P1` without its token. The merchant asks P1's status by
/// another payment's token, `OPT2`: the answer is given, but it does not
/// bind `OPT2` to P1 nor move it. P1's own notification, for `OPT1`, is then
/// confirmed and applied, and binds `OPT1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_query_by_another_payments_token_binds_nothing_and_the_orders_own_notification_applies(
) {
    let (ledger, key, gateway) = p1_held_without_its_token().await;
    let query = paybridge::StatusQuery::new(OrderId::new("P1").unwrap()).with_provider_ref("OPT2");
    gateway.deposit_status(&query).await.unwrap();
    let held = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (held.state, held.provider_ref.as_deref()),
        (LedgerState::Sending, None),
        "another payment's status moves nothing and binds nothing"
    );
    let (callback_url, runs) = counting_route(gateway).await;
    assert_eq!(
        post_p1_notification(&callback_url, ("OPT1", 1000)).await,
        200
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let held = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (held.state, held.provider_ref.as_deref()),
        (LedgerState::Completed, Some("OPT1"))
    );
}
