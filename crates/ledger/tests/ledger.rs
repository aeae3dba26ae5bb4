//! The ledger against real databases: SQLite in a temporary directory and a
//! PostgreSQL server started for the test (skipped loudly when PostgreSQL is
//! not installed; `cargo xtask test` requires it).

use std::sync::Arc;

use paybridge_core::{Money, OrderId, OrderKind, Provider};
use paybridge_ledger::{
    Begin, Claim, Ledger, LedgerState, ListFilter, Observation, OrderKey, OwedQuery, ReconcilePage,
    Source, SqlLedger, Step, UnconfirmedFields, Which,
};
use paybridge_testkit::on_every_database;

fn key(order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("vpay88"),
        None,
        OrderKind::Withdrawal,
        &OrderId::new(order_id).unwrap(),
    )
}

fn myr(amount: &str) -> Money {
    Money::parse(amount, "MYR").unwrap()
}

fn seen(state: LedgerState) -> Observation {
    Observation::new(Source::Callback, state).amount(Some(myr("100.50")))
}

async fn an_order_is_recorded_before_it_is_sent_and_never_begun_twice(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    assert_eq!(
        ledger.begin(&key("W1"), &myr("100.50")).await.unwrap(),
        Begin::Fresh
    );
    // Opened again (a restart): the migrations are not applied twice, the order is there.
    let reopened = SqlLedger::open(url).await.unwrap();
    match reopened.begin(&key("W1"), &myr("100.50")).await.unwrap() {
        Begin::Existing(record) => {
            assert_eq!(record.state, LedgerState::Sending);
            assert_eq!(record.amount, myr("100.50"));
            assert_eq!(
                record.amount.amount().to_string(),
                "100.50",
                "exact decimals"
            );
        }
        Begin::Fresh => panic!("a recorded order must not be begun twice"),
        other => panic!("{other:?}"),
    }
    reopened.forget_unsent(&key("W1")).await.unwrap();
    assert_eq!(reopened.get(&key("W1")).await.unwrap(), None);
}
on_every_database!(
    begin,
    an_order_is_recorded_before_it_is_sent_and_never_begun_twice
);

async fn a_late_fail_after_completed_is_a_conflict_not_a_downgrade(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    ledger.begin(&key("W2"), &myr("100.50")).await.unwrap();
    let steps = [
        (
            LedgerState::Processing,
            Step::Advance(LedgerState::Processing),
        ),
        (LedgerState::Pending, Step::Stale),
        (
            LedgerState::Completed,
            Step::Advance(LedgerState::Completed),
        ),
        (LedgerState::Completed, Step::Same),
        (LedgerState::Failed, Step::Conflict),
    ];
    for (observed, expected) in steps {
        let applied = ledger.observe(&key("W2"), &seen(observed)).await.unwrap();
        assert_eq!(applied.step, expected, "observed {observed}");
    }
    let record = ledger.get(&key("W2")).await.unwrap().unwrap();
    assert_eq!(record.state, LedgerState::Completed, "never downgraded");
    assert_eq!(
        record.conflict.as_deref(),
        Some("callback said failed after completed")
    );
    let conflicts = ledger
        .list(&ListFilter::new(Which::Conflict, None))
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].key, key("W2"));
    // Another amount under the id is a conflict too, and changes nothing.
    ledger.begin(&key("W3"), &myr("100.50")).await.unwrap();
    let other = Observation::new(Source::Status, LedgerState::Completed).amount(Some(myr("999")));
    let applied = ledger.observe(&key("W3"), &other).await.unwrap();
    assert_eq!(applied.step, Step::Conflict);
    assert_eq!(applied.record.state, LedgerState::Sending);
    assert_eq!(
        applied.record.conflict.as_deref(),
        Some("status said 999 MYR where 100.5 MYR was asked")
    );
}
on_every_database!(
    late_fail,
    a_late_fail_after_completed_is_a_conflict_not_a_downgrade
);

async fn lists_split_open_final_and_conflicting_orders(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    for (id, state) in [
        ("L-OPEN", LedgerState::Processing),
        ("L-DONE", LedgerState::Completed),
        ("L-SENDING", LedgerState::Sending),
    ] {
        ledger.begin(&key(id), &myr("100.50")).await.unwrap();
        if state != LedgerState::Sending {
            ledger.observe(&key(id), &seen(state)).await.unwrap();
        }
    }
    let ids = |records: Vec<paybridge_ledger::OrderRecord>| {
        let mut ids: Vec<String> = records.into_iter().map(|r| r.key.order_id).collect();
        ids.sort();
        ids
    };
    let (open, done, all) = (
        ListFilter::new(Which::Open, None),
        ListFilter::new(Which::Final, None),
        ListFilter::new(Which::All, None),
    );
    assert_eq!(
        ids(ledger.list(&open).await.unwrap()),
        ["L-OPEN", "L-SENDING"]
    );
    assert_eq!(ids(ledger.list(&done).await.unwrap()), ["L-DONE"]);
    assert_eq!(ids(ledger.list(&all).await.unwrap()).len(), 3);
    let future = paybridge_ledger::now_ms() + 60_000;
    let later = ledger
        .list(&ListFilter::new(Which::All, Some(future)))
        .await
        .unwrap();
    assert!(later.is_empty(), "nothing changed after {future}");
}
on_every_database!(lists, lists_split_open_final_and_conflicting_orders);

/// Two instances (two connections pools on one database) apply one callback
/// 100 times at once: it advances the order once, and exactly one caller
/// claims its handler.
async fn one_callback_applied_100_times_at_once_advances_once_and_is_claimed_once(url: &str) {
    let first: Arc<dyn Ledger> = Arc::new(SqlLedger::open(url).await.unwrap());
    let second: Arc<dyn Ledger> = Arc::new(SqlLedger::open(url).await.unwrap());
    first.begin(&key("C1"), &myr("100.50")).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..100 {
        let ledger = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let applied = ledger
                .observe(&key("C1"), &seen(LedgerState::Completed))
                .await
                .unwrap();
            let transition = match applied.transition {
                Some(id) => Some(id),
                None => ledger
                    .transition_into(&key("C1"), LedgerState::Completed)
                    .await
                    .unwrap()
                    .map(|transition| transition.id),
            };
            let claim = match transition {
                Some(id) => ledger.claim_handler(id, 60_000).await.unwrap(),
                None => Claim::Done,
            };
            (applied.step, claim)
        }));
    }
    let mut advanced = 0;
    let mut claimed = 0;
    for task in tasks {
        let (step, claim) = task.await.unwrap();
        advanced += usize::from(step == Step::Advance(LedgerState::Completed));
        claimed += usize::from(matches!(claim, Claim::Claimed { .. }));
    }
    assert_eq!((advanced, claimed), (1, 1));
    let record = first.get(&key("C1")).await.unwrap().unwrap();
    assert_eq!(record.state, LedgerState::Completed);
}
on_every_database!(
    concurrent,
    one_callback_applied_100_times_at_once_advances_once_and_is_claimed_once
);

async fn a_failed_handler_is_due_again_and_a_dead_claim_is_taken_over(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    ledger.begin(&key("H1"), &myr("100.50")).await.unwrap();
    let applied = ledger
        .observe(&key("H1"), &seen(LedgerState::Completed))
        .await
        .unwrap();
    let id = applied.transition.expect("a transition into completed");
    let first = claimed(ledger.claim_handler(id, 60_000).await.unwrap());
    assert_eq!(
        ledger.claim_handler(id, 60_000).await.unwrap(),
        Claim::Running
    );
    let owed = |ledger: SqlLedger, lease_ms: i64| async move {
        let owed = ledger
            .owed_transitions(&OwedQuery {
                provider: "vpay88",
                account: "",
                lease_ms,
                limit: 100,
            })
            .await
            .unwrap();
        owed.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    assert_eq!(
        owed(ledger.clone(), 60_000).await,
        Vec::<i64>::new(),
        "claimed"
    );
    ledger.finish_handler(id, first, false).await.unwrap();
    assert_eq!(
        owed(ledger.clone(), 60_000).await,
        [id],
        "failed: due again"
    );
    claimed(ledger.claim_handler(id, 60_000).await.unwrap());
    // Its holder died: a claim older than the lease is owed, and taken over.
    assert_eq!(owed(ledger.clone(), -1).await, [id], "lease expired");
    let taken_over = claimed(ledger.claim_handler(id, -1).await.unwrap());
    ledger.finish_handler(id, taken_over, true).await.unwrap();
    assert_eq!(ledger.claim_handler(id, -1).await.unwrap(), Claim::Done);
    assert_eq!(owed(ledger.clone(), -1).await, Vec::<i64>::new(), "done");
    let transition = ledger
        .transition_into(&key("H1"), LedgerState::Completed)
        .await
        .unwrap()
        .expect("the transition stays recorded");
    assert_eq!(
        (
            transition.id,
            transition.from,
            transition.to,
            transition.source
        ),
        (
            id,
            Some(LedgerState::Sending),
            LedgerState::Completed,
            Source::Callback
        )
    );
}
on_every_database!(
    handlers,
    a_failed_handler_is_due_again_and_a_dead_claim_is_taken_over
);

fn deposit_key(order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("onepunch"),
        None,
        OrderKind::Deposit,
        &OrderId::new(order_id).unwrap(),
    )
}

/// The callback came before the create call's answer was recorded (the order
/// still `sending`): the late answer is stale, not a conflict, and the payment
/// token and page it carries are kept.
async fn a_create_answer_recorded_after_a_callback_completed_the_order_is_stale(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let key = deposit_key("P1");
    ledger.begin(&key, &myr("100.50")).await.unwrap();
    ledger
        .observe(&key, &seen(LedgerState::Completed))
        .await
        .unwrap();
    let answer = Observation::new(Source::Create, LedgerState::Pending)
        .provider_ref(Some("OPT-1".into()))
        .payment_url("https://pay.example/OPT-1");
    let applied = ledger.observe(&key, &answer).await.unwrap();
    assert_eq!(applied.step, Step::Stale);
    let record = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(record.state, LedgerState::Completed);
    assert_eq!(record.conflict, None);
    assert_eq!(record.provider_ref.as_deref(), Some("OPT-1"));
    assert_eq!(
        record.payment_url.as_deref(),
        Some("https://pay.example/OPT-1")
    );
}
on_every_database!(
    late_create_answer,
    a_create_answer_recorded_after_a_callback_completed_the_order_is_stale
);

/// Transitions learned without a callback are owed to the handler too: a
/// status query's, and a create answer that was already final (a payout the
/// provider held as completed when its lost answer was resolved by status).
async fn transitions_from_a_status_query_and_a_final_create_answer_are_owed(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    ledger.begin(&key("S1"), &myr("100.50")).await.unwrap();
    ledger.begin(&key("S2"), &myr("100.50")).await.unwrap();
    let status =
        Observation::new(Source::Status, LedgerState::Completed).amount(Some(myr("100.5")));
    ledger.observe(&key("S1"), &status).await.unwrap();
    let create = Observation::new(Source::Create, LedgerState::Completed);
    ledger.observe(&key("S2"), &create).await.unwrap();
    let owed = ledger
        .owed_transitions(&OwedQuery {
            provider: "vpay88",
            account: "",
            lease_ms: 60_000,
            limit: 100,
        })
        .await
        .unwrap();
    let seen: Vec<_> = owed
        .iter()
        .map(|t| (t.key.order_id.as_str(), t.from, t.to, t.source))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "S1",
                Some(LedgerState::Sending),
                LedgerState::Completed,
                Source::Status
            ),
            (
                "S2",
                Some(LedgerState::Sending),
                LedgerState::Completed,
                Source::Create
            ),
        ]
    );
    let other_account = ledger
        .owed_transitions(&OwedQuery {
            provider: "vpay88",
            account: "main",
            lease_ms: 60_000,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(other_account.is_empty(), "{other_account:?}");
}
on_every_database!(
    owed,
    transitions_from_a_status_query_and_a_final_create_answer_are_owed
);

async fn the_first_unconfirmed_fields_of_a_transition_are_kept_and_handed_back(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    ledger.begin(&key("U1"), &myr("100.50")).await.unwrap();
    let applied = ledger
        .observe(&key("U1"), &seen(LedgerState::Completed))
        .await
        .unwrap();
    let id = applied.transition.unwrap();
    let fields = |charge: &str| {
        UnconfirmedFields::from([
            ("charge".to_owned(), charge.to_owned()),
            ("name".to_owned(), "<script>".to_owned()),
        ])
    };
    assert_eq!(
        ledger.keep_unconfirmed(id, &fields("-500")).await.unwrap(),
        None
    );
    assert_eq!(
        ledger.keep_unconfirmed(id, &fields("5")).await.unwrap(),
        Some(fields("-500")),
        "the first ones stay"
    );
}
on_every_database!(
    unconfirmed,
    the_first_unconfirmed_fields_of_a_transition_are_kept_and_handed_back
);

#[tokio::test]
async fn a_url_of_another_database_is_a_configuration_error() {
    let err = SqlLedger::open("mysql://x").await.unwrap_err();
    assert_eq!(err.kind(), "config", "{err}");
}

/// The token of a claim that was granted.
fn claimed(claim: Claim) -> i64 {
    match claim {
        Claim::Claimed { token } => token,
        other => panic!("not claimed: {other:?}"),
    }
}

/// A run that outlived its lease and failed late never undoes the claim that
/// took it over, nor a success recorded since: the handler is not run again.
async fn a_late_failure_of_a_taken_over_claim_changes_nothing(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    ledger.begin(&key("L1"), &myr("100.50")).await.unwrap();
    let id = ledger
        .observe(&key("L1"), &seen(LedgerState::Completed))
        .await
        .unwrap()
        .transition
        .unwrap();
    let slow = claimed(ledger.claim_handler(id, 60_000).await.unwrap());
    let second = claimed(ledger.claim_handler(id, -1).await.unwrap());
    assert_ne!(slow, second, "a take-over is a new claim");
    // The slow run fails while the second still holds its claim.
    ledger.finish_handler(id, slow, false).await.unwrap();
    assert_eq!(
        ledger.claim_handler(id, 60_000).await.unwrap(),
        Claim::Running,
        "the second run's claim stands"
    );
    ledger.finish_handler(id, second, true).await.unwrap();
    // And a failure even later does not undo the recorded success.
    ledger.finish_handler(id, slow, false).await.unwrap();
    assert_eq!(ledger.claim_handler(id, -1).await.unwrap(), Claim::Done);
}
on_every_database!(
    late_failure,
    a_late_failure_of_a_taken_over_claim_changes_nothing
);

/// A reconcile run's orders and rows read a page at a time: each once, in key
/// order, the last page short; the run's count and accounts from its start.
async fn a_reconcile_run_is_read_a_page_at_a_time(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let mut keys = Vec::new();
    for n in 0..11 {
        for (account, kind) in [
            (None, OrderKind::Withdrawal),
            (Some("shop-b"), OrderKind::Deposit),
        ] {
            let id = OrderId::new(&format!("P-{n:02}")).unwrap();
            let key = OrderKey::new(Provider::new("vpay88"), account, kind, &id);
            ledger.begin(&key, &myr("100.50")).await.unwrap();
            ledger
                .observe(&key, &seen(LedgerState::Processing))
                .await
                .unwrap();
            keys.push(key);
        }
    }
    let word = |key: &OrderKey| {
        (
            key.provider.clone(),
            key.account.clone(),
            key.kind.as_str(),
            key.order_id.clone(),
        )
    };
    keys.sort_by_key(word);
    let run = ledger.resume_reconcile().await.unwrap();
    assert_eq!(run.orders, 22);
    let mut accounts = run.accounts.clone();
    accounts.sort();
    assert_eq!(
        accounts,
        [
            ("vpay88".to_owned(), String::new()),
            ("vpay88".to_owned(), "shop-b".to_owned())
        ]
    );
    let mut read = Vec::new();
    loop {
        let page = ledger
            .reconcile_orders(&ReconcilePage {
                run: run.id,
                after: read.last(),
                limit: 4,
            })
            .await
            .unwrap();
        assert!(page.len() <= 4);
        let last = page.len() < 4;
        read.extend(page.into_iter().map(|order| order.key));
        if last {
            break;
        }
    }
    assert_eq!(read, keys, "every order once, in key order");
    for key in keys.iter().step_by(3) {
        ledger
            .reconciled(run.id, key, &format!("{{\"id\":\"{}\"}}", key.order_id))
            .await
            .unwrap();
    }
    let mut rows = Vec::new();
    loop {
        let after = rows.last().map(|(key, _): &(OrderKey, String)| key.clone());
        let page = ledger
            .reconcile_rows(&ReconcilePage {
                run: run.id,
                after: after.as_ref(),
                limit: 3,
            })
            .await
            .unwrap();
        let last = page.len() < 3;
        rows.extend(page);
        if last {
            break;
        }
    }
    let expected: Vec<(OrderKey, String)> = keys
        .iter()
        .step_by(3)
        .map(|key| (key.clone(), format!("{{\"id\":\"{}\"}}", key.order_id)))
        .collect();
    assert_eq!(rows, expected);
    // The run is the same one when resumed: nothing is read into it again.
    let again = ledger.resume_reconcile().await.unwrap();
    assert_eq!((again.id, again.orders), (run.id, 22));
}
on_every_database!(reconcile_pages, a_reconcile_run_is_read_a_page_at_a_time);

/// A payout refused at creation, then seen held by the provider (a verified
/// `completed`, recorded as a conflict): the refusal was wrong, the provider
/// holds it, so it is no longer "nothing held" and is not begun afresh (sent
/// again) under its id.
async fn a_refused_order_the_provider_was_seen_holding_is_not_begun_again(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let w = key("W-REFUSED");
    assert_eq!(
        ledger.begin(&w, &myr("100.50")).await.unwrap(),
        Begin::Fresh
    );
    let refused =
        Observation::new(Source::Create, LedgerState::Refused).detail("Balance not enough!");
    ledger.observe(&w, &refused).await.unwrap();
    let applied = ledger
        .observe(&w, &seen(LedgerState::Completed))
        .await
        .unwrap();
    assert_eq!(applied.step, Step::Conflict);
    match ledger.begin(&w, &myr("100.50")).await.unwrap() {
        Begin::Existing(record) => {
            assert_eq!(record.state, LedgerState::Refused);
            assert!(record.conflict.is_some());
        }
        Begin::Fresh => panic!("a refused payout the provider was seen holding is sent again"),
        other => panic!("{other:?}"),
    }
}
on_every_database!(
    refused_then_held,
    a_refused_order_the_provider_was_seen_holding_is_not_begun_again
);
