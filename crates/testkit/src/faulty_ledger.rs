//! A ledger that fails the calls it is told to, as a database that times out
//! or holds a lock would: every call goes to the real ledger unless `fails`
//! says it times out this time, in which case it returns a local failure and
//! the real ledger is not touched.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use paybridge_core::{Error, Money, Result};
use paybridge_ledger::{
    AfterAttempt, Applied, Attempt, Begin, CallbackVerdict, Claim, ClaimedEvent, Event, EventClaim,
    EventFilter, IdempotencyClaim, Ledger, LedgerState, ListFilter, Observation, OrderKey,
    OrderRecord, OwedQuery, ReceivedCallback, ReconcileOrder, ReconcilePage, ReconcileRun,
    Transition, UnconfirmedFields,
};

/// One method of [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum LedgerCall {
    Begin,
    ForgetUnsent,
    Observe,
    RecordCallback,
    SettleCallback,
    TransitionInto,
    OwedTransitions,
    ClaimHandler,
    FinishHandler,
    KeepUnconfirmed,
    Get,
    List,
    ResumeReconcile,
    ReconcileOrders,
    ReconcileRows,
    Reconciled,
    FinishReconcile,
    Events,
    ClaimEvents,
    RecordAttempt,
    EventAttempts,
    ReplayEvents,
    DisableEndpoint,
    EnableEndpoint,
    EndpointDisabled,
    ClaimIdempotency,
    FinishIdempotency,
    ReleaseIdempotency,
}

type Fails = dyn Fn(LedgerCall) -> bool + Send + Sync;

/// A [`Ledger`] over `real` that times out where `fails` says.
pub struct FaultyLedger<L> {
    real: L,
    fails: Arc<Fails>,
    real_finish_failures: Option<Arc<std::sync::atomic::AtomicU32>>,
}

impl<L> fmt::Debug for FaultyLedger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyLedger").finish_non_exhaustive()
    }
}

impl<L: Ledger> FaultyLedger<L> {
    /// `real`, timing out each call for which `fails` answers `true`.
    pub fn new(real: L, fails: impl Fn(LedgerCall) -> bool + Send + Sync + 'static) -> Self {
        Self {
            real,
            fails: Arc::new(fails),
            real_finish_failures: None,
        }
    }

    /// Counts into `counter` each handler finish the real ledger itself
    /// failed to record (a lock held past its timeout on a loaded machine):
    /// like an injected one, it leaves the handler to run again.
    pub fn counting_real_finish_failures(
        mut self,
        counter: Arc<std::sync::atomic::AtomicU32>,
    ) -> Self {
        self.real_finish_failures = Some(counter);
        self
    }

    /// The real ledger.
    pub fn real(&self) -> &L {
        &self.real
    }

    fn check(&self, call: LedgerCall) -> Result<()> {
        match (self.fails)(call) {
            true => Err(Error::local(
                "the test ledger",
                format!("{call:?}: canceling statement due to statement timeout"),
            )),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl<L: Ledger> Ledger for FaultyLedger<L> {
    async fn begin(&self, key: &OrderKey, amount: &Money) -> Result<Begin> {
        self.check(LedgerCall::Begin)?;
        self.real.begin(key, amount).await
    }
    async fn forget_unsent(&self, key: &OrderKey) -> Result<()> {
        self.check(LedgerCall::ForgetUnsent)?;
        self.real.forget_unsent(key).await
    }
    async fn observe(&self, key: &OrderKey, observation: &Observation) -> Result<Applied> {
        self.check(LedgerCall::Observe)?;
        self.real.observe(key, observation).await
    }
    async fn record_callback(&self, callback: &ReceivedCallback<'_>) -> Result<i64> {
        self.check(LedgerCall::RecordCallback)?;
        self.real.record_callback(callback).await
    }
    async fn settle_callback(&self, id: i64, verdict: &CallbackVerdict) -> Result<()> {
        self.check(LedgerCall::SettleCallback)?;
        self.real.settle_callback(id, verdict).await
    }
    async fn transition_into(
        &self,
        key: &OrderKey,
        state: LedgerState,
    ) -> Result<Option<Transition>> {
        self.check(LedgerCall::TransitionInto)?;
        self.real.transition_into(key, state).await
    }
    async fn owed_transitions(&self, owed: &OwedQuery<'_>) -> Result<Vec<Transition>> {
        self.check(LedgerCall::OwedTransitions)?;
        self.real.owed_transitions(owed).await
    }
    async fn claim_handler(&self, id: i64, lease_ms: i64) -> Result<Claim> {
        self.check(LedgerCall::ClaimHandler)?;
        self.real.claim_handler(id, lease_ms).await
    }
    async fn finish_handler(&self, id: i64, token: i64, succeeded: bool) -> Result<()> {
        self.check(LedgerCall::FinishHandler)?;
        let finished = self.real.finish_handler(id, token, succeeded).await;
        if let (Err(_), Some(counter)) = (&finished, &self.real_finish_failures) {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        finished
    }
    async fn keep_unconfirmed(
        &self,
        id: i64,
        fields: &UnconfirmedFields,
    ) -> Result<Option<UnconfirmedFields>> {
        self.check(LedgerCall::KeepUnconfirmed)?;
        self.real.keep_unconfirmed(id, fields).await
    }
    async fn get(&self, key: &OrderKey) -> Result<Option<OrderRecord>> {
        self.check(LedgerCall::Get)?;
        self.real.get(key).await
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<OrderRecord>> {
        self.check(LedgerCall::List)?;
        self.real.list(filter).await
    }
    async fn resume_reconcile(&self) -> Result<ReconcileRun> {
        self.check(LedgerCall::ResumeReconcile)?;
        self.real.resume_reconcile().await
    }
    async fn reconcile_orders(&self, page: &ReconcilePage<'_>) -> Result<Vec<ReconcileOrder>> {
        self.check(LedgerCall::ReconcileOrders)?;
        self.real.reconcile_orders(page).await
    }
    async fn reconcile_rows(&self, page: &ReconcilePage<'_>) -> Result<Vec<(OrderKey, String)>> {
        self.check(LedgerCall::ReconcileRows)?;
        self.real.reconcile_rows(page).await
    }
    async fn reconciled(&self, run: i64, key: &OrderKey, row_json: &str) -> Result<()> {
        self.check(LedgerCall::Reconciled)?;
        self.real.reconciled(run, key, row_json).await
    }
    async fn finish_reconcile(&self, run: i64) -> Result<()> {
        self.check(LedgerCall::FinishReconcile)?;
        self.real.finish_reconcile(run).await
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        self.check(LedgerCall::Events)?;
        self.real.events(filter).await
    }

    async fn claim_events(&self, claim: &EventClaim) -> Result<Vec<ClaimedEvent>> {
        self.check(LedgerCall::ClaimEvents)?;
        self.real.claim_events(claim).await
    }

    async fn record_attempt(
        &self,
        claimed: &ClaimedEvent,
        attempt: &Attempt,
        after: AfterAttempt,
    ) -> Result<()> {
        self.check(LedgerCall::RecordAttempt)?;
        self.real.record_attempt(claimed, attempt, after).await
    }

    async fn event_attempts(&self, event_id: &str) -> Result<Vec<Attempt>> {
        self.check(LedgerCall::EventAttempts)?;
        self.real.event_attempts(event_id).await
    }

    async fn replay_events(&self, event_id: Option<&str>, filter: &EventFilter) -> Result<u64> {
        self.check(LedgerCall::ReplayEvents)?;
        self.real.replay_events(event_id, filter).await
    }

    async fn disable_endpoint(&self, url: &str, reason: &str) -> Result<()> {
        self.check(LedgerCall::DisableEndpoint)?;
        self.real.disable_endpoint(url, reason).await
    }

    async fn enable_endpoint(&self, url: &str) -> Result<bool> {
        self.check(LedgerCall::EnableEndpoint)?;
        self.real.enable_endpoint(url).await
    }

    async fn endpoint_disabled(&self, url: &str) -> Result<Option<String>> {
        self.check(LedgerCall::EndpointDisabled)?;
        self.real.endpoint_disabled(url).await
    }

    async fn claim_idempotency(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        lease_ms: i64,
    ) -> Result<IdempotencyClaim> {
        self.check(LedgerCall::ClaimIdempotency)?;
        self.real
            .claim_idempotency(scope, key, body_hash, lease_ms)
            .await
    }

    async fn finish_idempotency(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        answer: &str,
    ) -> Result<()> {
        self.check(LedgerCall::FinishIdempotency)?;
        self.real
            .finish_idempotency(scope, key, status, answer)
            .await
    }

    async fn release_idempotency(&self, scope: &str, key: &str) -> Result<()> {
        self.check(LedgerCall::ReleaseIdempotency)?;
        self.real.release_idempotency(scope, key).await
    }
}
