//! Delivering the outbox against real databases: claims under a lease,
//! disjoint between deliverers; every attempt kept; a stale claim moves
//! nothing; retries wait their time; dead events are kept and replayed.

use std::collections::HashSet;
use std::sync::Arc;

use paybridge_core::{Money, OrderId, OrderKind, Provider};
use paybridge_ledger::{
    AfterAttempt, Attempt, DeliveryState, EventClaim, EventFilter, Ledger, LedgerState,
    Observation, OrderKey, Source, SqlLedger,
};
use paybridge_testkit::on_every_database;

fn key(order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("vpay88"),
        None,
        OrderKind::Deposit,
        &OrderId::new(order_id).unwrap(),
    )
}

/// `count` paid deposits, each one event; their ids.
async fn paid(ledger: &SqlLedger, prefix: &str, count: usize) -> Vec<String> {
    for i in 0..count {
        ledger
            .observe(
                &key(&format!("{prefix}-{i}")),
                &Observation::new(Source::Callback, LedgerState::Completed)
                    .amount(Some(Money::parse("10", "MYR").unwrap())),
            )
            .await
            .unwrap();
    }
    ledger
        .events(&EventFilter::all())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.key.order_id.starts_with(prefix))
        .map(|e| e.id)
        .collect()
}

fn claim(now: i64, limit: i64) -> EventClaim {
    EventClaim {
        now,
        limit,
        lease_ms: 30_000,
    }
}

/// A time after every event written so far.
fn later() -> i64 {
    paybridge_ledger::now_ms() + 1
}

async fn a_claim_holds_its_events_for_its_lease_then_lets_them_be_taken_over(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let ids = paid(&ledger, "CL", 3).await;
    let now = later();
    let first = ledger.claim_events(&claim(now, 2)).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(
        first.iter().map(|c| c.event.id.clone()).collect::<Vec<_>>(),
        ids[..2],
        "oldest first"
    );
    let second = ledger.claim_events(&claim(now, 10)).await.unwrap();
    assert_eq!(
        second
            .iter()
            .map(|c| c.event.id.clone())
            .collect::<Vec<_>>(),
        ids[2..],
        "held events are skipped"
    );
    // The first deliverer died: past its lease, its events are due again.
    let taken_over = ledger.claim_events(&claim(now + 30_001, 10)).await.unwrap();
    let taken: HashSet<String> = taken_over.iter().map(|c| c.event.id.clone()).collect();
    assert_eq!(taken, ids.iter().cloned().collect::<HashSet<_>>());
    // The dead deliverer's late record keeps its attempt but moves nothing.
    let stale = &first[0];
    ledger
        .record_attempt(
            stale,
            &Attempt::new(now, 5).answered(200, b"ok"),
            AfterAttempt::Delivered,
        )
        .await
        .unwrap();
    let held = ledger
        .events(&EventFilter::all().state(DeliveryState::Delivered))
        .await
        .unwrap();
    assert!(
        held.iter().all(|e| e.id != stale.event.id),
        "a stale claim moved its event"
    );
    assert_eq!(
        ledger.event_attempts(&stale.event.id).await.unwrap().len(),
        1
    );
}
on_every_database!(
    lease,
    a_claim_holds_its_events_for_its_lease_then_lets_them_be_taken_over
);

async fn attempts_are_kept_retries_wait_and_dead_events_are_replayed_under_their_ids(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let ids = paid(&ledger, "AT", 1).await;
    let now = later();
    let claimed = ledger.claim_events(&claim(now, 1)).await.unwrap().remove(0);
    let long_answer = vec![b'x'; 1000];
    ledger
        .record_attempt(
            &claimed,
            &Attempt::new(now, 12).answered(500, &long_answer),
            AfterAttempt::RetryAt(now + 5_000),
        )
        .await
        .unwrap();
    assert!(
        ledger
            .claim_events(&claim(now + 4_999, 1))
            .await
            .unwrap()
            .is_empty(),
        "not due before its retry time"
    );
    let again = ledger
        .claim_events(&claim(now + 5_000, 1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(again.event.attempts, 1);
    assert_eq!(again.event.state, DeliveryState::Failed);
    ledger
        .record_attempt(
            &again,
            &Attempt::new(now + 5_000, 15_000).failed("timed out"),
            AfterAttempt::Dead,
        )
        .await
        .unwrap();
    let attempts = ledger.event_attempts(&ids[0]).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(500));
    assert_eq!(
        attempts[0].answer.as_deref().map(str::len),
        Some(256),
        "the first bytes only"
    );
    assert_eq!(attempts[1].error.as_deref(), Some("timed out"));
    let dead = ledger
        .events(&EventFilter::all().state(DeliveryState::Dead))
        .await
        .unwrap();
    assert!(dead.iter().any(|e| e.id == ids[0]));
    assert!(
        ledger
            .claim_events(&claim(now + 99_999_999, 10))
            .await
            .unwrap()
            .iter()
            .all(|c| c.event.id != ids[0]),
        "dead is never claimed"
    );
    let replayed = ledger
        .replay_events(Some(&ids[0]), &EventFilter::all())
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let back = ledger.claim_events(&claim(later(), 10)).await.unwrap();
    let back = back
        .iter()
        .find(|c| c.event.id == ids[0])
        .expect("replayed, due now, same id");
    assert_eq!(back.event.attempts, 0, "a replay starts the schedule again");
    ledger
        .record_attempt(
            back,
            &Attempt::new(later(), 3).answered(204, b""),
            AfterAttempt::Delivered,
        )
        .await
        .unwrap();
    let delivered = ledger
        .events(&EventFilter::all().state(DeliveryState::Delivered))
        .await
        .unwrap();
    assert!(delivered.iter().any(|e| e.id == ids[0]));
}
on_every_database!(
    attempts,
    attempts_are_kept_retries_wait_and_dead_events_are_replayed_under_their_ids
);

async fn two_deliverers_claiming_at_once_never_hold_the_same_event(url: &str) {
    // Two ledgers on one database: two instances of the service.
    let one = Arc::new(SqlLedger::open(url).await.unwrap());
    let two = Arc::new(SqlLedger::open(url).await.unwrap());
    let ids: HashSet<String> = paid(&one, "TW", 40).await.into_iter().collect();
    let now = later();
    let mut claimers = Vec::new();
    for ledger in [one.clone(), two.clone(), one.clone(), two.clone()] {
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = ledger.claim_events(&claim(now, 3)).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.event.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for claimer in claimers {
        for id in claimer.await.unwrap() {
            if ids.contains(&id) {
                assert!(seen.insert(id.clone()), "{id} claimed twice");
            }
        }
    }
    assert_eq!(seen, ids, "every event claimed once");
}
on_every_database!(
    two_deliverers,
    two_deliverers_claiming_at_once_never_hold_the_same_event
);

async fn an_endpoint_disabled_says_why_until_enabled(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let url_gone = "https://merchant.example/hooks";
    assert_eq!(ledger.endpoint_disabled(url_gone).await.unwrap(), None);
    ledger.disable_endpoint(url_gone, "410 Gone").await.unwrap();
    assert_eq!(
        ledger.endpoint_disabled(url_gone).await.unwrap().as_deref(),
        Some("410 Gone")
    );
    assert!(ledger.enable_endpoint(url_gone).await.unwrap());
    assert!(!ledger.enable_endpoint(url_gone).await.unwrap());
    assert_eq!(ledger.endpoint_disabled(url_gone).await.unwrap(), None);
}
on_every_database!(endpoints, an_endpoint_disabled_says_why_until_enabled);

async fn an_idempotency_key_is_won_once_then_replayed_refused_or_in_flight(url: &str) {
    use paybridge_ledger::IdempotencyClaim as C;
    let one = Arc::new(SqlLedger::open(url).await.unwrap());
    let two = Arc::new(SqlLedger::open(url).await.unwrap());
    // Two instances, the same key at the same moment: one wins.
    let claims = futures_join(vec![
        tokio::spawn({
            let one = one.clone();
            async move {
                one.claim_idempotency("k1", "idem-1", "h", 60_000)
                    .await
                    .unwrap()
            }
        }),
        tokio::spawn({
            let two = two.clone();
            async move {
                two.claim_idempotency("k1", "idem-1", "h", 60_000)
                    .await
                    .unwrap()
            }
        }),
    ])
    .await;
    assert_eq!(
        claims.iter().filter(|c| **c == C::Fresh).count(),
        1,
        "{claims:?}"
    );
    assert!(claims.contains(&C::InFlight), "{claims:?}");
    assert_eq!(
        one.claim_idempotency("k1", "idem-1", "other", 60_000)
            .await
            .unwrap(),
        C::Reused
    );
    // Another API key's scope is its own.
    assert_eq!(
        one.claim_idempotency("k2", "idem-1", "other", 60_000)
            .await
            .unwrap(),
        C::Fresh
    );
    one.finish_idempotency("k1", "idem-1", 201, "{\"ok\":1}")
        .await
        .unwrap();
    assert_eq!(
        two.claim_idempotency("k1", "idem-1", "h", 60_000)
            .await
            .unwrap(),
        C::Replay {
            status: 201,
            answer: "{\"ok\":1}".into()
        }
    );
    // A claim whose holder died is taken over after its lease.
    one.claim_idempotency("k1", "idem-2", "h", 60_000)
        .await
        .unwrap();
    assert_eq!(
        two.claim_idempotency("k1", "idem-2", "h", -1)
            .await
            .unwrap(),
        C::Fresh
    );
}
on_every_database!(
    idempotency,
    an_idempotency_key_is_won_once_then_replayed_refused_or_in_flight
);

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
