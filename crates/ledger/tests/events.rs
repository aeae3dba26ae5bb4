//! The outbox against real databases: each transition a merchant hears of
//! writes one event in its own transaction, numbered within its order; the
//! same news twice writes none; a conflict writes one, once.

use std::sync::Arc;

use paybridge_core::{Money, OrderId, OrderKind, Provider};
use paybridge_ledger::{
    DeliveryState, Event, EventFilter, EventType, Ledger, LedgerState, Observation, OrderKey,
    Source, SqlLedger,
};
use paybridge_testkit::on_every_database;
use serde_json::Value;

fn key(kind: OrderKind, order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("vpay88"),
        None,
        kind,
        &OrderId::new(order_id).unwrap(),
    )
}

fn myr(amount: &str) -> Money {
    Money::parse(amount, "MYR").unwrap()
}

async fn of(ledger: &SqlLedger, key: &OrderKey) -> Vec<Event> {
    ledger
        .events(&EventFilter::all().key(key.clone()))
        .await
        .unwrap()
}

fn data(event: &Event) -> Value {
    let body: Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(body["type"], event.event_type.as_str());
    assert_eq!(body["id"], event.id.as_str());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    body["data"].clone()
}

async fn a_payouts_life_writes_processing_completed_and_one_conflict_in_sequence(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let payout = key(OrderKind::Withdrawal, "EV-W1");
    ledger.begin(&payout, &myr("250.00")).await.unwrap();
    assert!(
        of(&ledger, &payout).await.is_empty(),
        "sending makes no event"
    );
    // The create call's answer: in the provider's hands.
    ledger
        .observe(
            &payout,
            &Observation::new(Source::Create, LedgerState::Processing)
                .provider_ref(Some("REF-1".into())),
        )
        .await
        .unwrap();
    // The provider's callback, confirmed, twice (a duplicate delivery).
    let completed =
        Observation::new(Source::Callback, LedgerState::Completed).amount(Some(myr("250.00")));
    ledger.observe(&payout, &completed).await.unwrap();
    ledger.observe(&payout, &completed).await.unwrap();
    // A late, contradicting status: a conflict, recorded once however often said.
    let failed = Observation::new(Source::Status, LedgerState::Failed);
    ledger.observe(&payout, &failed).await.unwrap();
    ledger.observe(&payout, &failed).await.unwrap();

    let events = of(&ledger, &payout).await;
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::PayoutProcessing,
            EventType::PayoutCompleted,
            EventType::OrderConflict
        ]
    );
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3]);
    let first = data(&events[0]);
    assert_eq!(first["order_id"], "EV-W1");
    assert_eq!(first["kind"], "payout");
    assert_eq!(first["provider"], "vpay88");
    assert_eq!(first["account"], "");
    assert_eq!(first["amount"], "250.00", "exact decimals, as text");
    assert_eq!(first["currency"], "MYR");
    assert_eq!(first["status"], "processing");
    assert_eq!(first["previous_status"], "sending");
    assert_eq!(first["provider_ref"], "REF-1");
    assert_eq!(first["confirmed"], true);
    assert_eq!(first["sequence"], 1);
    let second = data(&events[1]);
    assert_eq!(second["status"], "completed");
    assert_eq!(second["previous_status"], "processing");
    let conflict = data(&events[2]);
    assert_eq!(
        conflict["status"], "completed",
        "a conflict changes nothing"
    );
    assert!(
        conflict["conflict"].as_str().unwrap().contains("failed"),
        "{conflict}"
    );
    for event in &events {
        assert_eq!(event.state, DeliveryState::Pending);
        assert_eq!(event.attempts, 0);
        assert!(
            event.id.starts_with("evt_") && !event.id.contains('.'),
            "{}",
            event.id
        );
    }
    let ids: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "every event has its own id");
}
on_every_database!(
    payout_life,
    a_payouts_life_writes_processing_completed_and_one_conflict_in_sequence
);

async fn a_deposit_created_pending_writes_nothing_until_it_is_paid(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let deposit = key(OrderKind::Deposit, "EV-D1");
    ledger.begin(&deposit, &myr("10")).await.unwrap();
    ledger
        .observe(
            &deposit,
            &Observation::new(Source::Create, LedgerState::Pending)
                .payment_url("https://pay.example/1"),
        )
        .await
        .unwrap();
    assert!(of(&ledger, &deposit).await.is_empty(), "pending is no news");
    // Verified but not confirmed by status: the event says so.
    ledger
        .observe(
            &deposit,
            &Observation::new(Source::Callback, LedgerState::Completed)
                .amount(Some(myr("10")))
                .confirmed(false),
        )
        .await
        .unwrap();
    let events = of(&ledger, &deposit).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::DepositCompleted);
    let data = data(&events[0]);
    assert_eq!(data["kind"], "deposit");
    assert_eq!(data["previous_status"], "pending");
    assert_eq!(data["confirmed"], false);
}
on_every_database!(
    deposit_paid,
    a_deposit_created_pending_writes_nothing_until_it_is_paid
);

async fn an_order_first_seen_in_a_callback_writes_its_event_with_no_previous_status(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let deposit = key(OrderKind::Deposit, "EV-D2");
    ledger
        .observe(
            &deposit,
            &Observation::new(Source::Callback, LedgerState::Failed).amount(Some(myr("5"))),
        )
        .await
        .unwrap();
    let events = of(&ledger, &deposit).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::DepositFailed);
    assert_eq!(data(&events[0])["previous_status"], Value::Null);
}
on_every_database!(
    first_seen,
    an_order_first_seen_in_a_callback_writes_its_event_with_no_previous_status
);

async fn concurrent_news_of_one_order_numbers_its_events_without_gaps_or_repeats(url: &str) {
    let ledger = Arc::new(SqlLedger::open(url).await.unwrap());
    let payout = key(OrderKind::Withdrawal, "EV-W2");
    ledger.begin(&payout, &myr("1")).await.unwrap();
    // Every writer at once: processing, then each of the final states (one
    // wins, the others are conflicts, of which only the first is news).
    let mut writers = Vec::new();
    for (source, state) in [
        (Source::Status, LedgerState::Processing),
        (Source::Callback, LedgerState::Completed),
        (Source::Status, LedgerState::Failed),
        (Source::Reconcile, LedgerState::Rejected),
        (Source::Callback, LedgerState::Processing),
    ] {
        let ledger = ledger.clone();
        let payout = payout.clone();
        writers.push(tokio::spawn(async move {
            ledger
                .observe(&payout, &Observation::new(source, state))
                .await
                .unwrap()
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let events = of(&ledger, &payout).await;
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(sequences, expected, "{events:#?}");
    let finals = events
        .iter()
        .filter(|e| {
            matches!(
                e.event_type,
                EventType::PayoutCompleted | EventType::PayoutFailed | EventType::PayoutRejected
            )
        })
        .count();
    assert_eq!(finals, 1, "one final state wins: {events:#?}");
    let conflicts = events
        .iter()
        .filter(|e| e.event_type == EventType::OrderConflict)
        .count();
    assert!(conflicts <= 1, "{events:#?}");
}
on_every_database!(
    concurrent,
    concurrent_news_of_one_order_numbers_its_events_without_gaps_or_repeats
);

async fn the_filter_reads_by_state_time_order_and_count(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    for id in ["EV-F1", "EV-F2", "EV-F3"] {
        ledger
            .observe(
                &key(OrderKind::Deposit, id),
                &Observation::new(Source::Callback, LedgerState::Completed).amount(Some(myr("1"))),
            )
            .await
            .unwrap();
    }
    let all = ledger.events(&EventFilter::all()).await.unwrap();
    assert!(all.len() >= 3);
    let pending = ledger
        .events(&EventFilter::all().state(DeliveryState::Pending))
        .await
        .unwrap();
    assert_eq!(pending.len(), all.len());
    assert!(ledger
        .events(&EventFilter::all().state(DeliveryState::Dead))
        .await
        .unwrap()
        .is_empty());
    let two = ledger.events(&EventFilter::all().limit(2)).await.unwrap();
    assert_eq!(two, all[..2]);
    let later = ledger
        .events(&EventFilter::all().since(all[0].created_at + 3_600_000))
        .await
        .unwrap();
    assert!(later.is_empty());
}
on_every_database!(filter, the_filter_reads_by_state_time_order_and_count);
