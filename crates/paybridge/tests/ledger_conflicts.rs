//! A payout the ledger holds as failed, whose provider later said
//! `completed` (a confirmed callback or status, recorded as a conflict, never
//! applied). Asked to send it again under its id, the ledger-backed gateway
//! must not answer "held as failed: no money moved; a new attempt needs a new
//! order id": the money may well have moved, and a resend under a new id
//! would pay twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::Router;
use paybridge::ledger::{Ledger, LedgerState, Observation, OrderKey, Source, SqlLedger};
use paybridge::{Config, Error, Gateway, Money, OrderId, OrderKind, WithdrawalRequest};

/// A provider that counts every request it gets and answers none usefully.
async fn counting_provider() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

/// A Vpay88 gateway over `ledger` whose provider counts every request it gets.
async fn vpay88_counted(ledger: SqlLedger) -> (Gateway, Arc<AtomicUsize>) {
    let (base, hits) = counting_provider().await;
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base}\"\nusername = \"m\"\napi_key = \"k\"\n\
             secret_key = \"s\"\n[http]\nread_attempts = 1\n"
        ),
        "conflicts",
    )
    .unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::VPAY88)
        .unwrap()
        .with_ledger(Arc::new(ledger));
    (gateway, hits)
}

#[tokio::test]
async fn a_payout_held_failed_then_confirmed_completed_is_not_reported_as_no_money_moved() {
    let ledger = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let amount = Money::parse("100", "MYR").unwrap();
    let key = OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Withdrawal,
        &OrderId::new("W1").unwrap(),
    );
    ledger.begin(&key, &amount).await.unwrap();
    let failed = Observation::new(Source::Status, LedgerState::Failed).amount(Some(amount.clone()));
    ledger.observe(&key, &failed).await.unwrap();
    let completed =
        Observation::new(Source::Callback, LedgerState::Completed).amount(Some(amount.clone()));
    ledger.observe(&key, &completed).await.unwrap();
    let held = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Failed);
    assert!(held.conflict.is_some(), "the contradiction is recorded");

    let (gateway, hits) = vpay88_counted(ledger).await;
    let payout = WithdrawalRequest::builder("W1", amount, "101", "John", "123")
        .build()
        .unwrap();
    let result = gateway.create_withdrawal(&payout).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing is sent");
    match result {
        Err(Error::Ambiguous { reason, .. }) => {
            assert!(reason.contains("completed"), "{reason}");
        }
        other => panic!("the provider said completed after failed; told: {other:?}"),
    }
}

/// A payout refused with a documented message, then confirmed `completed`
/// (recorded as a conflict): asked again under its id, it is neither sent
/// again as "nothing held" nor reported accepted; it is ambiguous.
#[tokio::test]
async fn a_payout_refused_then_confirmed_completed_is_not_sent_again() {
    let ledger = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let amount = Money::parse("100", "MYR").unwrap();
    let key = OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        OrderKind::Withdrawal,
        &OrderId::new("W2").unwrap(),
    );
    ledger.begin(&key, &amount).await.unwrap();
    let refused =
        Observation::new(Source::Create, LedgerState::Refused).detail("Balance not enough!");
    ledger.observe(&key, &refused).await.unwrap();
    let completed =
        Observation::new(Source::Callback, LedgerState::Completed).amount(Some(amount.clone()));
    ledger.observe(&key, &completed).await.unwrap();

    let (gateway, hits) = vpay88_counted(ledger).await;
    let payout = WithdrawalRequest::builder("W2", amount, "101", "John", "123")
        .build()
        .unwrap();
    let result = gateway.create_withdrawal(&payout).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing is sent");
    match result {
        Err(Error::Ambiguous { reason, .. }) => assert!(reason.contains("completed"), "{reason}"),
        other => panic!("the provider said completed after a refusal; told: {other:?}"),
    }
}

/// A ONE-PUNCH whose status API says "completed, 1000 fen" for every token.
async fn every_token_paid_status_api() -> String {
    use axum::extract::Path;
    use axum::routing::get;
    async fn status(Path((token, _, _, _)): Path<(String, String, String, String)>) -> String {
        serde_json::json!({"status": true, "message": "OK", "user_info": {}, "payload": {
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

/// The ledger holds ONE-PUNCH deposit `P1` (10 CNY, pending) with payment
/// token `OPT-P1`. The merchant asks P1's status naming another payment's
/// token, `OPT-P2` (paid): P2's status must not complete P1 in the ledger,
/// nor replace the token P1's notifications are verified over.
#[tokio::test]
async fn a_status_query_naming_another_payments_token_does_not_move_the_order() {
    let ledger = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let p1 = paybridge_testkit::deposit_held(
        &ledger,
        paybridge::providers::ONEPUNCH,
        "P1",
        &Money::parse("10", "CNY").unwrap(),
        Some("OPT-P1"),
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
    let query =
        paybridge::StatusQuery::new(OrderId::new("P1").unwrap()).with_provider_ref("OPT-P2");
    let _ = gateway.deposit_status(&query).await;
    let held = ledger.get(&p1).await.unwrap().unwrap();
    assert_eq!(
        (held.state, held.provider_ref.as_deref()),
        (LedgerState::Pending, Some("OPT-P1")),
        "P1 moved by P2's status"
    );
}
