//! ONE-PUNCH notifications that cannot be bound to the payment token the
//! merchant stored, on routes that do not confirm by status. Its signature is
//! a plain concatenation, so a genuine notification for `OPT1`, 1000 fen also
//! signs `OPT`, 11000 fen: only the stored token, or the status API, tells
//! them apart. A route that has neither for a notification must not run the
//! handler on it.

use std::sync::{Arc, Mutex};

use axum::Router;
use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::SqlLedger;
use paybridge::{Config, Gateway};
use paybridge_signing::{onepunch_notification_signature, OnepunchNotificationFields};
use serde_json::json;

type Seen = Arc<Mutex<Vec<String>>>;

fn onepunch() -> Gateway {
    // Nothing listens here: a route that does not confirm never asks.
    let config = Config::from_toml(
        "[onepunch]\nbase_url = \"http://127.0.0.1:9\"\nmonster_token = \"MON-x\"\n\
         monster_key = \"op-key\"\n[http]\nread_attempts = 1\n",
        "onepunch",
    )
    .unwrap();
    Gateway::for_provider(&config, paybridge::providers::ONEPUNCH).unwrap()
}

/// A genuine notification's signature for payment `OPT1` of 1000 fen,
/// naming `order_num` (or none).
fn genuine_signature(order_num: Option<&str>) -> String {
    onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: "OPT1",
            amount_fen: 1000,
            monster_token: "MON-x",
            order_num,
        },
        "op-key",
    )
}

/// That notification with one character moved from the token to the
/// amount: `OPT`, 11000 fen (110 CNY), the same signature.
fn shifted(order_num: Option<&str>) -> String {
    let mut body = json!({"monster_token": "MON-x", "transaction_status": true,
        "message": "TRANSACTION SUCCEED", "amount": 11000, "payment_token": "OPT",
        "signature": genuine_signature(order_num)});
    if let Some(order_num) = order_num {
        body["order_num"] = json!(order_num);
    }
    body.to_string()
}

fn handler(seen: Seen) -> impl Fn(Delivery) -> std::future::Ready<Result<(), String>> + Clone {
    move |delivery: Delivery| {
        seen.lock().unwrap().push(format!(
            "{:?} {}",
            delivery.event.order_id.map(|o| o.to_string()),
            delivery.event.amount
        ));
        std::future::ready(Ok(()))
    }
}

async fn post_to(route: Router, body: String) -> (u16, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().nest("/cb", route)).await });
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/cb"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The merchant's lookup knows no token for `A1` yet (its create answer not
/// stored): the shifted notification, order `A1`, 110 CNY, reaches the handler
/// verified over the body's own token, and unconfirmed.
#[tokio::test]
async fn a_shifted_notification_whose_order_the_merchants_lookup_does_not_know_is_not_handled() {
    let seen = Seen::default();
    let route = CallbackRoute::new(onepunch(), handler(seen.clone()))
        .provider_ref_lookup(|_| None)
        .confirm(false)
        .into_router();
    let answer = post_to(route, shifted(Some("A1"))).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "handled unbound and unconfirmed: {:?}, answered {answer:?}",
        seen.lock().unwrap()
    );
    assert_eq!(answer, (503, "try later".into()));
}

/// A ledger route that does not confirm: a notification naming no order
/// (a payment registered without `order_num`) has no stored token to be
/// verified over, and reached the handler, 110 CNY, unconfirmed.
#[tokio::test]
async fn a_shifted_notification_naming_no_order_on_a_ledger_route_is_not_handled() {
    let ledger = SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap();
    let seen = Seen::default();
    let route = CallbackRoute::new(
        onepunch().with_ledger(Arc::new(ledger)),
        handler(seen.clone()),
    )
    .confirm(false)
    .into_router();
    let answer = post_to(route, shifted(None)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "handled unbound and unconfirmed: {:?}, answered {answer:?}",
        seen.lock().unwrap()
    );
    assert_eq!(answer, (503, "try later".into()));
}
