//! The ledger on SQLite or PostgreSQL, through sqlx's `Any` driver: one body
//! of SQL for both, `$n` parameters (which SQLite reads too).
//!
//! [`SqlLedger`] and its transactions are here; each [`Ledger`] method hands
//! its call to the module of its tables: `orders`, `observe` (the state
//! machine's writes), `callbacks` (callbacks and the handlers owed for
//! transitions) and `reconcile`. `open` and `migrate` make a ledger ready,
//! `rows` reads what the queries return.

/// Binds the four key parameters `$1`..`$4`.
macro_rules! by_key {
    ($query:expr, $key:expr) => {
        $query
            .bind($key.provider.clone())
            .bind($key.account.clone())
            .bind(kind_word($key.kind))
            .bind($key.order_id.clone())
    };
}

mod callbacks;
mod deliveries;
mod events;
mod migrate;
mod observe;
mod open;
mod orders;
mod reconcile;
mod rows;

use async_trait::async_trait;
use paybridge_core::{Error, Money, OrderKind, Result};
use sqlx::AnyPool;

use crate::events::{
    AfterAttempt, Attempt, ClaimedEvent, Event, EventClaim, EventFilter, IdempotencyClaim,
};
use crate::schema::Backend;
use crate::state::LedgerState;
use crate::{
    Applied, Begin, CallbackVerdict, Claim, Ledger, ListFilter, Observation, OrderKey, OrderRecord,
    OwedQuery, ReceivedCallback, ReconcileOrder, ReconcilePage, ReconcileRun, Transition,
    UnconfirmedFields,
};

/// The condition naming one order, parameters `$1` to `$4`.
const BY_KEY: &str = "provider = $1 AND account = $2 AND kind = $3 AND order_id = $4";

/// A ledger in a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct SqlLedger {
    pool: AnyPool,
    backend: Backend,
}

/// A database failure, as paybridge reports local failures.
fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::local(format!("the ledger could not {what}"), e)
}

fn kind_word(kind: OrderKind) -> &'static str {
    kind.as_str()
}

impl SqlLedger {
    /// Begins a write transaction. SQLite's takes the write lock at once, so
    /// two writers wait on each other (`busy_timeout`) instead of failing
    /// with "database is locked" when a read would turn into a write.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let begun = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        begun.map_err(db("start a transaction"))
    }

    /// Begins a write transaction that also holds PostgreSQL's advisory lock
    /// `lock` until it ends, holding off another instance doing the same
    /// (SQLite's write lock does that already).
    async fn write_locked(&self, lock: i64) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock)
                .execute(&mut *tx)
                .await
                .map_err(db("take a lock"))?;
        }
        Ok(tx)
    }

    /// The pool, for benchmarks that compare the ledger with bare statements.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[async_trait]
impl Ledger for SqlLedger {
    async fn begin(&self, key: &OrderKey, amount: &Money) -> Result<Begin> {
        orders::begin(&self.pool, key, amount).await
    }

    async fn forget_unsent(&self, key: &OrderKey) -> Result<()> {
        orders::forget_unsent(&self.pool, key).await
    }

    async fn observe(&self, key: &OrderKey, observation: &Observation) -> Result<Applied> {
        observe::observe(self, key, observation).await
    }

    async fn record_callback(&self, callback: &ReceivedCallback<'_>) -> Result<i64> {
        callbacks::record_callback(&self.pool, callback).await
    }

    async fn settle_callback(&self, id: i64, verdict: &CallbackVerdict) -> Result<()> {
        callbacks::settle_callback(&self.pool, id, verdict).await
    }

    async fn transition_into(
        &self,
        key: &OrderKey,
        state: LedgerState,
    ) -> Result<Option<Transition>> {
        callbacks::transition_into(&self.pool, key, state).await
    }

    async fn owed_transitions(&self, owed: &OwedQuery<'_>) -> Result<Vec<Transition>> {
        callbacks::owed_transitions(&self.pool, owed).await
    }

    async fn claim_handler(&self, id: i64, lease_ms: i64) -> Result<Claim> {
        callbacks::claim_handler(&self.pool, id, lease_ms).await
    }

    async fn finish_handler(&self, id: i64, token: i64, succeeded: bool) -> Result<()> {
        callbacks::finish_handler(&self.pool, id, token, succeeded).await
    }

    async fn keep_unconfirmed(
        &self,
        id: i64,
        fields: &UnconfirmedFields,
    ) -> Result<Option<UnconfirmedFields>> {
        callbacks::keep_unconfirmed(&self.pool, id, fields).await
    }

    async fn get(&self, key: &OrderKey) -> Result<Option<OrderRecord>> {
        orders::get(&self.pool, key).await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<OrderRecord>> {
        orders::list(&self.pool, filter).await
    }

    async fn resume_reconcile(&self) -> Result<ReconcileRun> {
        reconcile::resume_reconcile(self).await
    }

    async fn reconcile_orders(&self, page: &ReconcilePage<'_>) -> Result<Vec<ReconcileOrder>> {
        reconcile::reconcile_orders(&self.pool, page).await
    }

    async fn reconcile_rows(&self, page: &ReconcilePage<'_>) -> Result<Vec<(OrderKey, String)>> {
        reconcile::reconcile_rows(&self.pool, page).await
    }

    async fn reconciled(&self, run: i64, key: &OrderKey, row_json: &str) -> Result<()> {
        reconcile::reconciled(&self.pool, run, key, row_json).await
    }

    async fn finish_reconcile(&self, run: i64) -> Result<()> {
        reconcile::finish_reconcile(&self.pool, run).await
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        events::events(&self.pool, filter).await
    }

    async fn claim_events(&self, claim: &EventClaim) -> Result<Vec<ClaimedEvent>> {
        deliveries::claim_events(self, claim).await
    }

    async fn record_attempt(
        &self,
        claimed: &ClaimedEvent,
        attempt: &Attempt,
        after: AfterAttempt,
    ) -> Result<()> {
        deliveries::record_attempt(self, claimed, attempt, after).await
    }

    async fn event_attempts(&self, event_id: &str) -> Result<Vec<Attempt>> {
        deliveries::event_attempts(&self.pool, event_id).await
    }

    async fn replay_events(&self, event_id: Option<&str>, filter: &EventFilter) -> Result<u64> {
        deliveries::replay_events(self, event_id, filter).await
    }

    async fn disable_endpoint(&self, url: &str, reason: &str) -> Result<()> {
        deliveries::disable_endpoint(self, url, reason).await
    }

    async fn enable_endpoint(&self, url: &str) -> Result<bool> {
        deliveries::enable_endpoint(&self.pool, url).await
    }

    async fn endpoint_disabled(&self, url: &str) -> Result<Option<String>> {
        deliveries::endpoint_disabled(&self.pool, url).await
    }

    async fn claim_idempotency(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        lease_ms: i64,
    ) -> Result<IdempotencyClaim> {
        deliveries::claim_idempotency(self, scope, key, body_hash, lease_ms).await
    }

    async fn finish_idempotency(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        answer: &str,
    ) -> Result<()> {
        deliveries::finish_idempotency(self, scope, key, status, answer).await
    }

    async fn release_idempotency(&self, scope: &str, key: &str) -> Result<()> {
        deliveries::release_idempotency(self, scope, key).await
    }
}
