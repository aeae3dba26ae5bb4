//! The order ledger around paybridge: what every merchant writes by hand
//! around a payment SDK, kept in a real database.
//!
//! - Each order is recorded **before** it is sent (`sending`), then its
//!   outcome, every status observation and every callback (raw body byte-exact,
//!   verified, confirmed, applied or why not).
//! - One [state machine](state) decides what an observation does: a final
//!   state never changes, a contradiction is recorded as a conflict and
//!   surfaced, duplicates change nothing.
//! - Transitions are transactional (compare-and-set on a version), so two
//!   instances applying the same callback at once apply it once, and the
//!   merchant's handler is claimed by exactly one of them.
//! - [`Ledgered`] wraps any [`PaymentGateway`](paybridge_core::PaymentGateway) so a payout whose id is in
//!   flight or final is never sent again, across restarts, and one left
//!   `sending` or `unknown` is resolved by status, never resent.
//!
//! SQLite (a file, no set-up, WAL) is the embedded default; PostgreSQL serves
//! several instances of the merchant's service. Both run the same SQL through
//! sqlx's `Any` driver; only the schema's column types differ. Amounts are
//! stored as exact decimal text, never floats.
//!
//! ```no_run
//! # async fn run() -> paybridge_core::Result<()> {
//! use paybridge_ledger::{Ledger, ListFilter, SqlLedger};
//!
//! let ledger = SqlLedger::open("sqlite://paybridge.db").await?;
//! let open = ledger.list(&ListFilter::open()).await?;
//! println!("{} orders not final yet", open.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod events;
mod gateway;
mod options;
pub mod reconcile;
mod schema;
mod sql;
pub mod state;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use paybridge_core::{Money, OrderId, OrderKind, Provider, Result};

pub use events::{
    AfterAttempt, Attempt, ClaimedEvent, DeliveryState, Event, EventClaim, EventFilter, EventType,
    IdempotencyClaim, ANSWER_KEPT,
};
pub use gateway::{ask_status, Ledgered};
pub use options::{LedgerOptions, SqliteSynchronous, DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_SIZE};
pub use sql::SqlLedger;
pub use state::{step, step_from, LedgerState, Step};

/// What identifies an order: the provider, the merchant account (empty for a
/// provider's one-account section), deposit or withdrawal, and the merchant's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderKey {
    /// The provider.
    pub provider: String,
    /// The named account, or empty.
    pub account: String,
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The merchant's order id.
    pub order_id: String,
}

impl OrderKey {
    /// The key of `order_id`.
    pub fn new(
        provider: Provider,
        account: Option<&str>,
        kind: OrderKind,
        order_id: &OrderId,
    ) -> Self {
        Self {
            provider: provider.as_str().to_owned(),
            account: account.unwrap_or_default().to_owned(),
            kind,
            order_id: order_id.as_str().to_owned(),
        }
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.provider, self.kind, self.order_id)?;
        if !self.account.is_empty() {
            write!(f, " (account {})", self.account)?;
        }
        Ok(())
    }
}

/// One order as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderRecord {
    /// Which order.
    pub key: OrderKey,
    /// The amount asked for.
    pub amount: Money,
    /// Where it stands.
    pub state: LedgerState,
    /// The provider's own last word for it.
    pub provider_status: Option<String>,
    /// The provider's reference: the first one recorded, never replaced by a
    /// later observation naming another.
    pub provider_ref: Option<String>,
    /// A deposit's payment page, so a repeated create can hand it out again.
    pub payment_url: Option<String>,
    /// Why an observation contradicted this order, when one did.
    pub conflict: Option<String>,
    /// What the last definite answer said (a refusal's message, say).
    pub detail: Option<String>,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it last changed, milliseconds since the Unix epoch.
    pub updated_at: i64,
}

/// Where an observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The create call's answer.
    Create,
    /// A status query.
    Status,
    /// A verified (and confirmed) callback.
    Callback,
    /// A reconcile run.
    Reconcile,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 4] = [
        Source::Create,
        Source::Status,
        Source::Callback,
        Source::Reconcile,
    ];

    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Create => "create",
            Source::Status => "status",
            Source::Callback => "callback",
            Source::Reconcile => "reconcile",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// What was learned about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    /// Where from.
    pub source: Source,
    /// The state it says.
    pub state: LedgerState,
    /// The provider's own word.
    pub provider_status: Option<String>,
    /// The amount the provider holds, when said.
    pub amount: Option<Money>,
    /// The provider's reference, when said.
    pub provider_ref: Option<String>,
    /// A deposit's payment page, when said.
    pub payment_url: Option<String>,
    /// Free text kept with the order (a refusal's message).
    pub detail: Option<String>,
    /// Whether the provider's own answer stands behind it: a create answer,
    /// a status query, a reconcile run, or a callback confirmed by status
    /// (true); a callback only verified (false). Its event says which.
    pub confirmed: bool,
}

impl Observation {
    /// An observation of `state` from `source`.
    pub fn new(source: Source, state: LedgerState) -> Self {
        Self {
            source,
            state,
            provider_status: None,
            amount: None,
            provider_ref: None,
            payment_url: None,
            detail: None,
            confirmed: true,
        }
    }

    /// Whether the provider's own answer stands behind it (true unless set).
    pub fn confirmed(mut self, confirmed: bool) -> Self {
        self.confirmed = confirmed;
        self
    }

    /// With the provider's own word.
    pub fn provider_status(mut self, word: impl Into<String>) -> Self {
        self.provider_status = Some(word.into());
        self
    }

    /// With the amount the provider holds.
    pub fn amount(mut self, amount: Option<Money>) -> Self {
        self.amount = amount;
        self
    }

    /// What a status answer from `source` tells the ledger: its state, the
    /// provider's word, the amount and the reference it names.
    pub fn of_status(report: &paybridge_core::StatusReport, source: Source) -> Self {
        Self::new(source, LedgerState::from(report.status))
            .provider_status(report.provider_status.clone())
            .amount(report.amount.clone())
            .provider_ref(report.provider_ref.clone())
    }

    /// With the provider's reference.
    pub fn provider_ref(mut self, reference: Option<String>) -> Self {
        self.provider_ref = reference;
        self
    }

    /// With a deposit's payment page.
    pub fn payment_url(mut self, url: impl Into<String>) -> Self {
        self.payment_url = Some(url.into());
        self
    }

    /// With free text kept on the order.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// What recording an order about to be sent found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Begin {
    /// Recorded as `sending`: send it.
    Fresh,
    /// The ledger holds it already: never send it again.
    Existing(Box<OrderRecord>),
}

/// What an observation did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The step the state machine took.
    pub step: Step,
    /// The order after it.
    pub record: OrderRecord,
    /// The transition recorded, when the step advanced the order.
    pub transition: Option<i64>,
}

/// A callback as it arrived, before anything was decided about it.
#[derive(Debug, Clone)]
pub struct ReceivedCallback<'a> {
    /// The provider whose route received it.
    pub provider: Provider,
    /// The named account whose route received it.
    pub account: Option<&'a str>,
    /// The body, byte for byte.
    pub body: &'a [u8],
    /// Its Content-Type, as claimed.
    pub content_type: Option<&'a str>,
}

/// What became of a callback, recorded beside its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackVerdict {
    /// The order it names, once verified.
    pub key: Option<OrderKey>,
    /// Whether its token or signature verified.
    pub verified: bool,
    /// Whether the provider's status API confirmed it.
    pub confirmed: bool,
    /// Whether it moved its order.
    pub applied: bool,
    /// Why, in a few words (`applied`, `duplicate`, `conflict: ...`, `rejected: ...`).
    pub outcome: String,
}

/// Whether the merchant's handler should run for a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// This caller claimed it: run the handler, then [`Ledger::finish_handler`]
    /// with this claim's token.
    Claimed {
        /// Names this claim, as against a later one that took it over.
        token: i64,
    },
    /// Another caller is running it now.
    Running,
    /// It ran to success already.
    Done,
}

/// A move of an order from one state to another, as the ledger recorded it:
/// the merchant's handler is owed one successful run for each.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// Its id: stable for as long as the ledger exists, and one per order and
    /// state reached, so a handler that runs again for it can tell.
    pub id: i64,
    /// The order that moved.
    pub key: OrderKey,
    /// Where it stood before; `None` when the ledger first learned of the
    /// order through this move.
    pub from: Option<LedgerState>,
    /// Where it stands after.
    pub to: LedgerState,
    /// What taught the ledger of the move.
    pub source: Source,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub at: i64,
}

impl Transition {
    /// A transition as the ledger would record it; the ledger makes its own,
    /// so this is for a merchant's handler tests (with `Delivery::with_transition`).
    pub fn new(
        id: i64,
        key: OrderKey,
        from: Option<LedgerState>,
        to: LedgerState,
        source: Source,
        at: i64,
    ) -> Self {
        Self {
            id,
            key,
            from,
            to,
            source,
            at,
        }
    }
}

/// Fields a callback carried that no status query confirms (a fee, a name,
/// remarks), by name, as the sender wrote them. The ledger keeps the first
/// ones delivered for a transition under `unconfirmed`, never as a fact of
/// the order.
pub type UnconfirmedFields = BTreeMap<String, String>;

/// Which orders to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// `open` (not final), `final`, `conflict` or every order.
    pub which: Which,
    /// Only orders changed at or after this time, milliseconds since the epoch.
    pub since: Option<i64>,
}

impl ListFilter {
    /// Every order not final yet.
    pub fn open() -> Self {
        Self {
            which: Which::Open,
            since: None,
        }
    }

    /// Orders of `which` kind changed since `since`.
    pub fn new(which: Which, since: Option<i64>) -> Self {
        Self { which, since }
    }
}

/// A class of orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Which {
    /// Every order.
    #[default]
    All,
    /// Not final yet (`sending`, `unknown`, `pending`, `processing`).
    Open,
    /// Final.
    Final,
    /// An observation contradicted it.
    Conflict,
}

/// Which transitions [`Ledger::owed_transitions`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwedQuery<'a> {
    /// The provider.
    pub provider: &'a str,
    /// Its named account, or empty for a provider's one-account section.
    pub account: &'a str,
    /// How long a claim holds, in milliseconds: one older than this is owed
    /// again.
    pub lease_ms: i64,
    /// At most this many.
    pub limit: i64,
}

/// The ledger: where orders, observations and callbacks are kept.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Records an order about to be sent as `sending`, committed before this
    /// returns; or, when the ledger holds its key already, what it holds. One
    /// held as refused (nothing held) is begun afresh, unless the provider
    /// was seen holding it since (a conflict recorded).
    async fn begin(&self, key: &OrderKey, amount: &Money) -> Result<Begin>;

    /// Removes a `sending` order whose call failed before anything was sent
    /// (an invalid request), so a corrected one may be sent under its id.
    async fn forget_unsent(&self, key: &OrderKey) -> Result<()>;

    /// Applies an observation through the state machine, in one transaction.
    /// An order the ledger does not hold yet is recorded as observed, when
    /// the observation states its amount.
    async fn observe(&self, key: &OrderKey, observation: &Observation) -> Result<Applied>;

    /// Records a callback as it arrived; returns its id for
    /// [`settle_callback`](Self::settle_callback).
    async fn record_callback(&self, callback: &ReceivedCallback<'_>) -> Result<i64>;

    /// Records what became of callback `id`.
    async fn settle_callback(&self, id: i64, verdict: &CallbackVerdict) -> Result<()>;

    /// The transition of `key` into `state`, whether its handler ran or not
    /// ([`claim_handler`](Self::claim_handler) tells).
    async fn transition_into(
        &self,
        key: &OrderKey,
        state: LedgerState,
    ) -> Result<Option<Transition>>;

    /// The transitions [`OwedQuery`] names whose handler is owed: due (never
    /// run, or failed), or claimed longer than its lease ago without a
    /// recorded finish. Oldest first.
    async fn owed_transitions(&self, owed: &OwedQuery<'_>) -> Result<Vec<Transition>>;

    /// Claims transition `id` for the merchant's handler. A claim older than
    /// `lease_ms` (its holder died, or its finish could not be recorded) may
    /// be taken over.
    async fn claim_handler(&self, id: i64, lease_ms: i64) -> Result<Claim>;

    /// Records the handler's end under the claim `token`: a success marks it
    /// done, whoever holds the claim now; a failure makes it due again only
    /// while `token` is still its claim, so a run that failed after its lease
    /// was taken over never undoes another run's claim or a recorded success.
    async fn finish_handler(&self, id: i64, token: i64, succeeded: bool) -> Result<()>;

    /// Keeps `fields` as the unconfirmed fields delivered with transition `id`
    /// unless some were kept before; returns those kept before, if any, so a
    /// later delivery that says otherwise is noticed.
    async fn keep_unconfirmed(
        &self,
        id: i64,
        fields: &UnconfirmedFields,
    ) -> Result<Option<UnconfirmedFields>>;

    /// The order `key`, when held.
    async fn get(&self, key: &OrderKey) -> Result<Option<OrderRecord>>;

    /// Orders matching `filter`, oldest change first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<OrderRecord>>;

    /// The reconcile run to carry on: the unfinished one, or a new one over
    /// the orders open now, kept with the run so that a resumed run asks the
    /// same orders, whatever became of them since. Its orders and the rows it
    /// recorded are read a page at a time ([`Ledger::reconcile_orders`],
    /// [`Ledger::reconcile_rows`]), so a run over many orders never holds
    /// them all.
    async fn resume_reconcile(&self) -> Result<ReconcileRun>;

    /// One page of a run's orders ([`ReconcilePage`]).
    async fn reconcile_orders(&self, page: &ReconcilePage<'_>) -> Result<Vec<ReconcileOrder>>;

    /// One page of the rows a run recorded ([`ReconcilePage`]), each with its
    /// order's key.
    async fn reconcile_rows(&self, page: &ReconcilePage<'_>) -> Result<Vec<(OrderKey, String)>>;

    /// Records one order's reconcile row in `run`, replacing the one it held.
    async fn reconciled(&self, run: i64, key: &OrderKey, row_json: &str) -> Result<()>;

    /// Marks `run` finished: the next run starts afresh.
    async fn finish_reconcile(&self, run: i64) -> Result<()>;

    /// The events [`EventFilter`] names, in the order they were written.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>>;

    /// Claims events due for delivery ([`EventClaim`]), each for one attempt,
    /// oldest first; an event another deliverer holds under an unexpired
    /// lease is skipped, never waited on.
    async fn claim_events(&self, claim: &EventClaim) -> Result<Vec<ClaimedEvent>>;

    /// Records one delivery attempt of a claimed event and what follows it.
    /// The attempt is always kept; the event's state moves only while the
    /// claim is still the event's, and never away from `delivered`.
    async fn record_attempt(
        &self,
        claimed: &ClaimedEvent,
        attempt: &Attempt,
        after: AfterAttempt,
    ) -> Result<()>;

    /// Every attempt at delivering event `event_id`, oldest first.
    async fn event_attempts(&self, event_id: &str) -> Result<Vec<Attempt>>;

    /// Queues again for delivery, now, event `event_id` (when given) and
    /// those [`EventFilter`]'s state and time name (its key and limit are not
    /// read); how many. Their ids stay: a receiver that saw one drops it.
    async fn replay_events(&self, event_id: Option<&str>, filter: &EventFilter) -> Result<u64>;

    /// Stops deliveries to `url` (it answered `410 Gone`), saying why.
    async fn disable_endpoint(&self, url: &str, reason: &str) -> Result<()>;

    /// Lets deliveries to `url` go again; whether it was disabled.
    async fn enable_endpoint(&self, url: &str) -> Result<bool>;

    /// Why `url` is disabled, when it is.
    async fn endpoint_disabled(&self, url: &str) -> Result<Option<String>>;

    /// Claims idempotency key `key` of `scope` (an API key's hash) for a
    /// request whose body hashes to `body_hash`; one held `running` longer
    /// than `lease_ms` (its holder died) is taken over, which is safe since
    /// an order id is sent at most once whatever the key says.
    async fn claim_idempotency(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        lease_ms: i64,
    ) -> Result<IdempotencyClaim>;

    /// Keeps the answer to a claimed key's request, for its replays.
    async fn finish_idempotency(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        answer: &str,
    ) -> Result<()>;

    /// Lets go of a claimed key whose request held nothing and asked to be
    /// retried (the provider unreachable, the ledger failing): the retry
    /// under the same key is carried out, not answered the failure again.
    async fn release_idempotency(&self, scope: &str, key: &str) -> Result<()>;
}

/// One order of a reconcile run, as the ledger held it when the run began.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileOrder {
    /// The order.
    pub key: OrderKey,
    /// Its amount.
    pub amount: Money,
    /// Its state when the run began: the state the verdict is judged on.
    pub state: LedgerState,
    /// The provider's reference, when known.
    pub provider_ref: Option<String>,
}

/// One page of a reconcile run's orders or rows, read in key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilePage<'a> {
    /// The run.
    pub run: i64,
    /// Those after this order; from the first when `None`.
    pub after: Option<&'a OrderKey>,
    /// At most this many.
    pub limit: u32,
}

/// A reconcile run kept in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileRun {
    /// The run's id.
    pub id: i64,
    /// How many orders the run asks about.
    pub orders: usize,
    /// Each (provider, account) of its orders once: the gateways it needs.
    pub accounts: Vec<(String, String)>,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
