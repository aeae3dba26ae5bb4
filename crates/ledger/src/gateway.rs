//! [`Ledgered`]: any gateway, with every order kept in a ledger.

use std::sync::Arc;

use std::convert::Infallible;

use async_trait::async_trait;
use paybridge_core::outcome::{settle, CreateCall, Settled, Verdict};
use paybridge_core::outcome::{ResolvePolicy, DEFAULT_OPERATION_DEADLINE};
use paybridge_core::{
    Balance, Bank, CallbackEvent, CallbackRequest, Capabilities, Currency, CurrencyLimit,
    DepositOrder, DepositRequest, Error, LearnedFrom, Money, Operation, OrderId, OrderKind,
    OrderStatus, PaymentGateway, PaymentMethod, Provider, Result, StatusQuery, StatusReport,
    WithdrawalReceipt, WithdrawalRequest,
};

use crate::{Begin, Ledger, LedgerState, Observation, OrderKey, OrderRecord, Source};

/// A gateway whose orders are kept in a ledger.
///
/// - An order is recorded `sending` (committed) before it is sent, and its
///   outcome after.
/// - An order id the ledger holds is never sent again, across restarts: a
///   payout in flight or final is answered from the ledger; one left `sending`
///   or `unknown` (the process died, or the answer was lost) is resolved by a
///   status query, never resent.
/// - Status queries are recorded as observations.
#[derive(Debug, Clone)]
pub struct Ledgered {
    inner: Arc<dyn PaymentGateway>,
    ledger: Arc<dyn Ledger>,
    account: Option<String>,
}

impl Ledgered {
    /// Wraps `inner`, recording into `ledger` under the named `account`.
    pub fn new(
        inner: Arc<dyn PaymentGateway>,
        ledger: Arc<dyn Ledger>,
        account: Option<String>,
    ) -> Self {
        Self {
            inner,
            ledger,
            account,
        }
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The ledger key of an order of this gateway.
    pub fn key(&self, kind: OrderKind, order_id: &OrderId) -> OrderKey {
        OrderKey::new(
            self.inner.provider(),
            self.account.as_deref(),
            kind,
            order_id,
        )
    }

    /// Records a create call's outcome, read through the outcome table's
    /// verdict ([`Verdict::of`]), the same one the caller is given. The call's
    /// own result is what the caller gets: a ledger that fails here leaves the
    /// order `sending`, which the next attempt resolves by status.
    async fn record_create<T>(
        &self,
        key: &OrderKey,
        result: &Result<T>,
        answered: impl FnOnce(&T) -> Observation,
    ) {
        let observation = match (Verdict::of(result), result) {
            (_, Ok(value)) => answered(value),
            // Nothing reached the provider: a corrected request may use the id.
            (Verdict::Refused, Err(err)) if err.nothing_sent() => {
                if let Err(err) = self.ledger.forget_unsent(key).await {
                    tracing::error!(order = %key, error = %err, "the ledger could not forget an unsent order");
                }
                return;
            }
            (Verdict::Refused, Err(err)) => {
                let message = match err {
                    Error::Provider { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                Observation::new(Source::Create, LedgerState::Refused).detail(message)
            }
            (
                Verdict::HeldAsFailed,
                Err(Error::HeldAsFailed {
                    status,
                    provider_status,
                    ..
                }),
            ) => Observation::new(Source::Create, LedgerState::from(*status))
                .provider_status(provider_status.clone()),
            (Verdict::IdHeldByAnotherOrder, Err(Error::OrderIdConflict { held, .. })) => {
                Observation::new(Source::Create, LedgerState::Unknown)
                    .amount(Some(held.clone()))
                    .detail(result_reason(result))
            }
            // Ambiguous: kept `unknown` with its reason, resolved by status.
            (_, Err(_)) => {
                Observation::new(Source::Create, LedgerState::Unknown).detail(result_reason(result))
            }
        };
        if let Err(err) = self.ledger.observe(key, &observation).await {
            tracing::error!(order = %key, error = %err, "the ledger could not record an outcome; the order stays sending and is resolved by status");
        }
    }

    /// Settles an order the ledger holds as `sending` or `unknown` (sent, its
    /// answer lost or never recorded) through the outcome table, exactly as a
    /// create whose answer was lost: its status is asked, never is it sent
    /// again, and what the status says is recorded.
    ///
    async fn settle_unrecorded(
        &self,
        record: &OrderRecord,
        call: CreateCall<'_>,
    ) -> Result<Settled<Infallible>> {
        let order_id = call.order_id;
        let unrecorded = Err(Error::Ambiguous {
            kind: record.key.kind,
            order_id: order_id.clone(),
            reason: format!(
                "the ledger holds it as {}: sent, its answer never recorded; not resent",
                record.state
            ),
        });
        let query = stored_query(order_id, record);
        let lookup = || async {
            let asked = self.ask(record.key.kind, &query).await;
            if let Ok(report) = &asked {
                self.observe(&record.key, report, Source::Status).await;
            }
            asked
        };
        settle(call, unrecorded, Some(lookup)).await
    }

    /// The create call of an order the ledger holds unresolved. One query
    /// (which retries as a read) is asked: the order was sent in an earlier
    /// call, so there is no point waiting for the provider to record it.
    fn unrecorded_call<'a>(
        record: &OrderRecord,
        order_id: &'a OrderId,
        requested: &'a Money,
    ) -> CreateCall<'a> {
        CreateCall {
            kind: record.key.kind,
            order_id,
            requested,
            deadline: tokio::time::Instant::now() + DEFAULT_OPERATION_DEADLINE,
            resolve: ResolvePolicy {
                attempts: 1,
                ..ResolvePolicy::default()
            },
        }
    }

    async fn observe(&self, key: &OrderKey, report: &StatusReport, source: Source) {
        if let Err(err) = self
            .ledger
            .observe(key, &Observation::of_status(report, source))
            .await
        {
            unrecorded_status(key, report, &err);
        }
    }

    /// The provider's status of a `kind` order ([`ask_status`]).
    async fn ask(&self, kind: OrderKind, query: &StatusQuery) -> Result<StatusReport> {
        ask_status(self.inner.as_ref(), kind, query).await
    }

    /// Why the provider cannot be asked about an order held without its
    /// reference, where it answers status only by reference (ONE-PUNCH's
    /// payment token): an order sent whose answer, with the reference, was
    /// lost. Its outcome is open until reconciled; a reference given by the
    /// caller cannot be bound to it, since no answer ties a reference to an
    /// order id.
    fn unreferenced(&self, held: &OrderRecord, order_id: &OrderId) -> Option<Error> {
        (held.provider_ref.is_none() && self.inner.callbacks_need_stored_reference()).then(|| {
            Error::Ambiguous {
                kind: held.key.kind,
                order_id: order_id.clone(),
                reason: format!(
                    "the ledger holds it as {} without the provider's reference, by which alone {} answers its status; reconcile it from the provider's records",
                    held.state,
                    self.inner.provider()
                ),
            }
        })
    }

    /// Asks the provider about an order the ledger holds, by the reference the
    /// ledger stored for it, and answers the order as the ledger holds it
    /// after recording the answer: `None` when the ledger holds no such order
    /// (the provider is not asked). One read, the query, one observation: the
    /// ledger's view is the observation's own result, never read again.
    pub async fn refresh(
        &self,
        kind: OrderKind,
        order_id: &OrderId,
    ) -> Result<Option<OrderRecord>> {
        let key = self.key(kind, order_id);
        let Some(held) = self.ledger.get(&key).await? else {
            return Ok(None);
        };
        if let Some(err) = self.unreferenced(&held, order_id) {
            return Err(err);
        }
        let report = self.ask(kind, &stored_query(order_id, &held)).await?;
        let applied = self
            .ledger
            .observe(&key, &Observation::of_status(&report, Source::Status))
            .await
            .inspect_err(|err| unrecorded_status(&key, &report, err))?;
        Ok(Some(applied.record))
    }

    /// The refusal of a request whose id the ledger holds for another amount.
    fn reused(record: &OrderRecord, order_id: &OrderId, requested: &Money) -> Option<Error> {
        (record.amount != *requested).then(|| Error::OrderIdConflict {
            kind: record.key.kind,
            order_id: order_id.clone(),
            requested: requested.clone(),
            held: record.amount.clone(),
            from_ledger: true,
        })
    }

    /// What the ledger answers for an order it holds as failed. (One it holds
    /// as refused is found here only with a conflict: else [`Ledger::begin`]
    /// sends it again.) One whose failure or refusal was contradicted since (a
    /// confirmed `completed` recorded as a conflict) is ambiguous, not "no
    /// money moved": a resend under a new id might pay twice.
    fn held_as_failed(record: &OrderRecord, order_id: &OrderId) -> Option<Error> {
        match (record.state, &record.conflict) {
            (
                LedgerState::Failed | LedgerState::Rejected | LedgerState::Refused,
                Some(conflict),
            ) => Some(Error::Ambiguous {
                kind: record.key.kind,
                order_id: order_id.clone(),
                reason: format!(
                    "the ledger holds it as {}, contradicted since ({conflict}); reconcile it before sending it again under any id",
                    record.state
                ),
            }),
            (LedgerState::Failed | LedgerState::Rejected, None) => Some(Error::HeldAsFailed {
                kind: record.key.kind,
                order_id: order_id.clone(),
                status: record.state.status().unwrap_or(OrderStatus::Failed),
                provider_status: record.provider_status.clone().unwrap_or_default(),
                from_ledger: true,
            }),
            _ => None,
        }
    }

    /// What the ledger's record of an order decides before the order's own
    /// kind answers from it: a request reusing its id for another amount is
    /// refused, one left unresolved is settled by status (`found` reads what
    /// that settled, `answered` what the ledger records of it), one held as
    /// failed is answered so. `None` when none of these apply.
    async fn decided_by_record<T>(
        &self,
        record: &OrderRecord,
        order_id: &OrderId,
        requested: &Money,
        found: impl FnOnce(Settled<Infallible>, &CreateCall<'_>) -> Result<T>,
        answered: impl FnOnce(&T) -> Observation,
    ) -> Option<Result<T>> {
        if let Some(err) = Self::reused(record, order_id, requested) {
            return Some(Err(err));
        }
        if record.state.is_unresolved() {
            let call = Self::unrecorded_call(record, order_id, requested);
            let result = self
                .settle_unrecorded(record, call)
                .await
                .and_then(|settled| found(settled, &call));
            self.record_create(&record.key, &result, answered).await;
            return Some(result);
        }
        Self::held_as_failed(record, order_id).map(Err)
    }

    async fn existing_withdrawal(
        &self,
        record: OrderRecord,
        request: &WithdrawalRequest,
    ) -> Result<WithdrawalReceipt> {
        let decided = self
            .decided_by_record(
                &record,
                &request.order_id,
                &request.amount,
                |settled, _| match settled {
                    Settled::FoundByStatus(report) => Ok(WithdrawalReceipt::found(report)),
                    Settled::Answered(never) => match never {},
                },
                withdrawal_observation,
            )
            .await;
        if let Some(result) = decided {
            // Only a settled payout is `Ok` here: the other decisions refuse it.
            if let Ok(receipt) = &result {
                tracing::info!(order = %record.key, status = %receipt.status, "payout resolved by status, not resent");
            }
            return result;
        }
        tracing::info!(order = %record.key, state = %record.state, "payout already in the ledger; not sent again");
        let mut receipt =
            WithdrawalReceipt::accepted(request.order_id.clone(), record.provider_ref);
        receipt.status = record.state.status().unwrap_or(OrderStatus::Processing);
        receipt.provider_status = record.provider_status;
        receipt.learned_from = LearnedFrom::Ledger;
        Ok(receipt)
    }

    async fn existing_deposit(
        &self,
        record: OrderRecord,
        request: &DepositRequest,
    ) -> Result<DepositOrder> {
        let decided = self
            .decided_by_record(
                &record,
                &request.order_id,
                &request.amount,
                // The table never accepts a deposit found by status: its
                // payment page was in the answer that was lost.
                |settled, call| settled.into_answer(call).map(|never| match never {}),
                deposit_observation,
            )
            .await;
        if let Some(result) = decided {
            return result;
        }
        match record.payment_url {
            Some(url) => Ok(DepositOrder::new(
                request.order_id.clone(),
                url,
                record.provider_ref,
            )),
            None => Err(Error::Ambiguous {
                kind: OrderKind::Deposit,
                order_id: request.order_id.clone(),
                reason: format!(
                    "the ledger holds it as {} without its payment page; not created again",
                    record.state
                ),
            }),
        }
    }

    async fn status(&self, kind: OrderKind, query: &StatusQuery) -> Result<StatusReport> {
        let key = self.key(kind, &query.order_id);
        let held = self.ledger.get(&key).await;
        let Ok(Some(record)) = &held else {
            // Not held (or not readable): asked, and recorded nowhere.
            return self.ask(kind, query).await;
        };
        // Where the provider answers by reference (ONE-PUNCH), the order is
        // asked about by the reference it is held under, the one its
        // callbacks are verified over: a query naming another asks about
        // another payment, whose status must not move this order; one naming
        // none is asked with the stored one, so that the answer is checked
        // against it. An order held without one is bound to a reference only
        // by the provider's own signed callback naming both (confirmed
        // through here): a query's reference is asked and answered, but not
        // recorded, since no status answer ties a reference to an order id.
        let mut by_stored = None;
        if self.inner.callbacks_need_stored_reference() {
            if query.provider_ref.is_some() && record.provider_ref.is_none() {
                let report = self.ask(kind, query).await?;
                tracing::warn!(order = %key, "status asked by a reference the ledger does not hold for the order; answered, not recorded");
                return Ok(report);
            }
            if let Some(err) = self.unreferenced(record, &query.order_id) {
                return Err(err);
            }
            match (&record.provider_ref, &query.provider_ref) {
                (Some(stored), Some(asked)) if stored != asked => {
                    return Err(Error::invalid(
                        "provider_ref",
                        format!(
                        "the ledger holds another provider reference for {} {}; ask with that one",
                        kind, query.order_id
                    ),
                    ))
                }
                (Some(_), None) => by_stored = Some(stored_query(&query.order_id, record)),
                _ => {}
            }
        }
        let report = self.ask(kind, by_stored.as_ref().unwrap_or(query)).await?;
        self.observe(&key, &report, Source::Status).await;
        Ok(report)
    }
}

#[async_trait]
impl PaymentGateway for Ledgered {
    fn provider(&self) -> Provider {
        self.inner.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn request_fields(
        &self,
        kind: OrderKind,
        currency: &Currency,
    ) -> Vec<paybridge_core::FieldRule> {
        self.inner.request_fields(kind, currency)
    }

    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        self.inner.currencies().await
    }

    async fn deposit_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.inner.deposit_banks(currency).await
    }

    async fn withdrawal_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.inner.withdrawal_banks(currency).await
    }

    async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        self.inner.payment_methods().await
    }

    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        let key = self.key(OrderKind::Deposit, &request.order_id);
        match self.ledger.begin(&key, &request.amount).await? {
            Begin::Existing(record) => self.existing_deposit(*record, request).await,
            Begin::Fresh => {
                let result = self.inner.create_deposit(request).await;
                self.record_create(&key, &result, deposit_observation).await;
                result
            }
        }
    }

    async fn create_withdrawal(&self, request: &WithdrawalRequest) -> Result<WithdrawalReceipt> {
        let key = self.key(OrderKind::Withdrawal, &request.order_id);
        match self.ledger.begin(&key, &request.amount).await? {
            Begin::Existing(record) => self.existing_withdrawal(*record, request).await,
            Begin::Fresh => {
                let result = self.inner.create_withdrawal(request).await;
                self.record_create(&key, &result, withdrawal_observation)
                    .await;
                result
            }
        }
    }

    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Deposit, query).await
    }

    async fn withdrawal_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Withdrawal, query).await
    }

    async fn balance(&self, currency: &Currency) -> Result<Balance> {
        self.inner.balance(currency).await
    }

    fn callback_order(&self, request: &CallbackRequest<'_>) -> Option<(OrderKind, OrderId)> {
        self.inner.callback_order(request)
    }

    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        self.inner.verify_callback(request)
    }

    fn callbacks_need_stored_reference(&self) -> bool {
        self.inner.callbacks_need_stored_reference()
    }
}

/// The provider's status of a `kind` order, refused unless it is an answer
/// about the order asked: the same kind and order id and, where the provider
/// knows an order by its reference (ONE-PUNCH's payment token), the reference
/// asked. An answer about another payment would otherwise move this order, or
/// rebind the reference its callbacks are verified over. Every status a
/// ledger records is asked through here: [`Ledgered`]'s and reconcile's.
pub async fn ask_status(
    gateway: &dyn PaymentGateway,
    kind: OrderKind,
    query: &StatusQuery,
) -> Result<StatusReport> {
    let (operation, asked) = match kind {
        OrderKind::Deposit => (
            Operation::DepositStatus,
            gateway.deposit_status(query).await,
        ),
        _ => (
            Operation::WithdrawalStatus,
            gateway.withdrawal_status(query).await,
        ),
    };
    let report = asked?;
    let by_reference = gateway.callbacks_need_stored_reference();
    let about_another = if report.kind != kind || report.order_id != query.order_id {
        Some(format!(
            "the answer is about {} {}, not the {} {} asked",
            report.kind, report.order_id, kind, query.order_id
        ))
    } else {
        match (&query.provider_ref, &report.provider_ref) {
            (Some(asked), Some(said)) if by_reference && asked != said => Some(format!(
                "the answer names the provider reference {said:?}, not the {asked:?} asked"
            )),
            _ => None,
        }
    };
    match about_another {
        Some(reason) => {
            tracing::warn!(%kind, order_id = %query.order_id, %reason, "a status answer about another order; not recorded");
            Err(Error::decode(operation, reason, b""))
        }
        None => Ok(report),
    }
}

/// The status query of an order the ledger holds, by its stored reference.
fn stored_query(order_id: &OrderId, record: &OrderRecord) -> StatusQuery {
    let query = StatusQuery::new(order_id.clone());
    match &record.provider_ref {
        Some(reference) => query.with_provider_ref(reference.clone()),
        None => query,
    }
}

/// Says what the provider answered when the ledger could not record it: the
/// caller is given the ledger's error, and the answer (perhaps `completed`)
/// must not vanish with it.
fn unrecorded_status(key: &OrderKey, report: &StatusReport, err: &Error) {
    tracing::error!(
        order = %key,
        status = %report.status,
        provider_status = %report.provider_status,
        provider_ref = report.provider_ref.as_deref().unwrap_or(""),
        error = %err,
        "the ledger could not record the provider's status answer"
    );
}

/// What a deposit's create answer tells the ledger.
fn deposit_observation(order: &DepositOrder) -> Observation {
    Observation::new(Source::Create, LedgerState::Pending)
        .payment_url(order.payment_url.clone())
        .provider_ref(order.provider_ref.clone())
}

/// What a payout's receipt tells the ledger.
fn withdrawal_observation(receipt: &WithdrawalReceipt) -> Observation {
    let observation = Observation::new(Source::Create, LedgerState::from(receipt.status))
        .provider_ref(receipt.provider_ref.clone());
    match &receipt.provider_status {
        Some(word) => observation.provider_status(word.clone()),
        None => observation,
    }
}

/// Why a create ended as it did, for the ledger's `detail`.
fn result_reason<T>(result: &Result<T>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(err) => err.to_string(),
    }
}
