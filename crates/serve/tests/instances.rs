//! Two `serve` instances on one PostgreSQL database (and, as a baseline, on
//! one SQLite file), given the same payout at the same moment: by the same
//! order id, or under the same idempotency key, it reaches the provider once.

mod common;

use common::{call, sent, start};
use paybridge_testkit::on_every_database;
use reqwest::Method;
use serde_json::json;

fn payout(order_id: &str) -> serde_json::Value {
    json!({
        "order_id": order_id, "amount": "55.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "Aminah", "account_no": "1234567890",
    })
}

async fn two_instances_given_one_payout_at_once_send_it_once(url: &str) {
    let one = start(url, None).await;
    // The second instance on the same ledger, in front of the same provider.
    let two = start(url, one.sandbox()).await;
    let (to_one, to_two) = (
        format!("{}/v1/payouts", one.api),
        format!("{}/v1/payouts", two.api),
    );
    for round in 0..5 {
        let order = format!("TWICE-{round}");
        let key = format!("twice-key-{round}");
        let headers: &[(&str, &str)] = if round % 2 == 0 {
            &[]
        } else {
            &[("idempotency-key", key.as_str())]
        };
        let body = payout(&order);
        let (a, b) = tokio::join!(
            call(Method::POST, &to_one, Some(&body), headers),
            call(Method::POST, &to_two, Some(&body), headers),
        );
        let total = sent(&one.sandbox_url, &order, "withdrawal", "withdraw_orders").await;
        assert_eq!(total, 1, "round {round}: {a:?} {b:?}");
        for (status, answer, _) in [&a, &b] {
            assert!(
                [201, 202, 409].contains(status),
                "round {round}: each answer is the payout, 'outcome open' (the other instance's send not answered yet) or 'in flight': {status} {answer}"
            );
        }
        assert!(
            a.0 == 201 || b.0 == 201,
            "round {round}: one of them answered the payout"
        );
    }
    one.stop().await;
    two.stop().await;
}
on_every_database!(
    instances,
    two_instances_given_one_payout_at_once_send_it_once
);
