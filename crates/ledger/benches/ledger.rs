//! The ledger's cost per order, against a bare INSERT + COMMIT of the same row
//! with the same driver and the same durability settings: SQLite with
//! `synchronous = FULL` (the ledger's default) and `NORMAL`, and PostgreSQL
//! with its own defaults, `fsync` and `synchronous_commit` on (a server started
//! for the run; skipped, saying so, where PostgreSQL is not installed).
//!
//! - `bare_insert_commit`: the order's row inserted in a transaction of its own.
//! - `record`: `Ledger::begin`, what the ledger writes before an order leaves.
//! - `record_and_outcome`: `begin` then the create answer observed (the order
//!   moves to `processing`, its transition and observation written): the
//!   ledger's whole work around one create call.
//! - `transition_without_event` and `transition_with_event`: one payout's
//!   create answer observed on an order already recorded (not timed): lost
//!   (`unknown`, of which the merchant hears no event) and `processing`
//!   (which writes its `payout.processing` event in the same transaction).
//!   The same statements but the event's: what the outbox adds to a transition.
//!   The create answer takes the ledger's shortest path (one statement when
//!   no event is owed); `status_transition_*` measure the general path a
//!   status query or callback takes (the observation and the transition
//!   recorded): the payout found `pending` (no event) or `processing`.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use paybridge_core::{Money, OrderId, OrderKind, Provider};
use paybridge_ledger::{
    Ledger, LedgerOptions, LedgerState, Observation, OrderKey, Source, SqlLedger, SqliteSynchronous,
};
use paybridge_testkit::postgres::TestPostgres;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_key() -> OrderKey {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    OrderKey::new(
        Provider::new("vpay88"),
        None,
        OrderKind::Withdrawal,
        &OrderId::new(&format!("BENCH-{n}")).unwrap(),
    )
}

fn bench_database(c: &mut Criterion, name: &str, url: &str, options: &LedgerOptions) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ledger = runtime
        .block_on(SqlLedger::open_with(url, options))
        .unwrap();
    // The same columns as the ledger's orders, in a table of their own.
    runtime
        .block_on(
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS bench_bare (provider TEXT NOT NULL, account TEXT NOT NULL, \
                 kind TEXT NOT NULL, order_id TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT NOT NULL, \
                 state TEXT NOT NULL, provider_status TEXT, provider_ref TEXT, payment_url TEXT, \
                 conflict TEXT, detail TEXT, version BIGINT NOT NULL, created_at BIGINT NOT NULL, \
                 updated_at BIGINT NOT NULL, PRIMARY KEY (provider, account, kind, order_id))",
            )
            .execute(ledger.pool()),
        )
        .unwrap();
    let amount = Money::parse("100.50", "MYR").unwrap();
    let mut group = c.benchmark_group(format!("ledger_{name}"));
    group.bench_function("bare_insert_commit", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let key = next_key();
                let mut tx = ledger.pool().begin().await.unwrap();
                sqlx::query(
                    "INSERT INTO bench_bare (provider, account, kind, order_id, amount, currency, state, \
                     provider_status, provider_ref, payment_url, detail, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12)",
                )
                .bind(key.provider)
                .bind(key.account)
                .bind(key.kind.as_str())
                .bind(key.order_id)
                .bind(amount.amount().to_string())
                .bind(amount.currency().as_str().to_owned())
                .bind("sending")
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(paybridge_ledger::now_ms())
                .execute(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
            })
        })
    });
    group.bench_function("record", |b| {
        b.iter(|| {
            runtime
                .block_on(ledger.begin(&next_key(), &amount))
                .unwrap()
        })
    });
    let processing = Observation::new(Source::Create, LedgerState::Processing);
    group.bench_function("record_and_outcome", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let key = next_key();
                ledger.begin(&key, &amount).await.unwrap();
                ledger.observe(&key, &processing).await.unwrap();
            })
        })
    });
    for (name, source, state) in [
        (
            "transition_without_event",
            Source::Create,
            LedgerState::Unknown,
        ),
        (
            "transition_with_event",
            Source::Create,
            LedgerState::Processing,
        ),
        (
            "status_transition_without_event",
            Source::Status,
            LedgerState::Pending,
        ),
        (
            "status_transition_with_event",
            Source::Status,
            LedgerState::Processing,
        ),
    ] {
        let observation = Observation::new(source, state);
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let key = next_key();
                    runtime.block_on(ledger.begin(&key, &amount)).unwrap();
                    key
                },
                |key| {
                    runtime
                        .block_on(ledger.observe(&key, &observation))
                        .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn ledger(c: &mut Criterion) {
    for synchronous in [SqliteSynchronous::Full, SqliteSynchronous::Normal] {
        let dir = paybridge_testkit::temp_dir("paybridge-ledger-bench");
        bench_database(
            c,
            &format!("sqlite_{}", synchronous.as_str()),
            &format!("sqlite://{}", dir.join("bench.db").display()),
            &LedgerOptions::default().sqlite_synchronous(synchronous),
        );
    }
    if let Some(server) = TestPostgres::start_durable("ledger bench (postgres)") {
        bench_database(c, "postgres", &server.url(), &LedgerOptions::default());
    }
}

criterion_group!(benches, ledger);
criterion_main!(benches);
