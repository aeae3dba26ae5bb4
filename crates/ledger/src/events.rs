//! The events a merchant's application hears of: one per transition the
//! ledger applies that changes what the merchant must do (a deposit paid, a
//! payout completed or rejected, a conflict found), written in the same
//! transaction as the transition (an outbox), so a crash between the two loses
//! neither.
//!
//! A transition into `pending` (an order created, nothing paid) or into a
//! local state (`sending`, `unknown`, `refused`: the caller of the create call
//! was told) makes no event.

use paybridge_core::OrderKind;

use crate::{LedgerState, OrderKey};

/// What an event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// A deposit is being paid (the provider has it in hand).
    DepositProcessing,
    /// A deposit was paid.
    DepositCompleted,
    /// A deposit did not go through (failed, or rejected by the provider).
    DepositFailed,
    /// A payout is in the provider's hands.
    PayoutProcessing,
    /// A payout was paid out.
    PayoutCompleted,
    /// A payout did not go through.
    PayoutFailed,
    /// A payout was refused by the provider or the bank after acceptance.
    PayoutRejected,
    /// The provider said something that contradicts what the ledger holds
    /// (another amount, a final state changed): not applied, to be looked at.
    OrderConflict,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 8] = [
        EventType::DepositProcessing,
        EventType::DepositCompleted,
        EventType::DepositFailed,
        EventType::PayoutProcessing,
        EventType::PayoutCompleted,
        EventType::PayoutFailed,
        EventType::PayoutRejected,
        EventType::OrderConflict,
    ];

    /// The type's name in an event's body (`deposit.completed`...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::DepositProcessing => "deposit.processing",
            EventType::DepositCompleted => "deposit.completed",
            EventType::DepositFailed => "deposit.failed",
            EventType::PayoutProcessing => "payout.processing",
            EventType::PayoutCompleted => "payout.completed",
            EventType::PayoutFailed => "payout.failed",
            EventType::PayoutRejected => "payout.rejected",
            EventType::OrderConflict => "order.conflict",
        }
    }

    /// Reads a type's name.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == word)
    }

    /// The event a transition of a `kind` of order into `state` makes, if any.
    pub fn of_transition(kind: OrderKind, state: LedgerState) -> Option<Self> {
        let deposit = kind == OrderKind::Deposit;
        Some(match state {
            LedgerState::Processing if deposit => EventType::DepositProcessing,
            LedgerState::Completed if deposit => EventType::DepositCompleted,
            LedgerState::Failed | LedgerState::Rejected if deposit => EventType::DepositFailed,
            LedgerState::Processing => EventType::PayoutProcessing,
            LedgerState::Completed => EventType::PayoutCompleted,
            LedgerState::Failed => EventType::PayoutFailed,
            LedgerState::Rejected => EventType::PayoutRejected,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Not yet attempted.
    Pending,
    /// Attempted and not accepted; another attempt is due.
    Failed,
    /// Every attempt failed, or the endpoint is gone: kept, not retried
    /// (until replayed).
    Dead,
    /// Accepted by the receiver (a 2xx).
    Delivered,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Failed,
        DeliveryState::Dead,
        DeliveryState::Delivered,
    ];

    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
            DeliveryState::Delivered => "delivered",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Its id (`evt_` and 26 letters and digits): the `webhook-id` of every
    /// delivery of it, retries and replays included.
    pub id: String,
    /// What happened.
    pub event_type: EventType,
    /// The order.
    pub key: OrderKey,
    /// The order's events are numbered from 1, in the order they were written.
    pub sequence: i64,
    /// The JSON body sent, byte for byte.
    pub body: String,
    /// When it was written, in milliseconds since the epoch.
    pub created_at: i64,
    /// Its delivery.
    pub state: DeliveryState,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When the next attempt is due, in milliseconds since the epoch.
    pub next_attempt_at: i64,
}

/// Which events [`Ledger::events`](crate::Ledger::events) reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Only those in this delivery state.
    pub state: Option<DeliveryState>,
    /// Only those written at or after this time (milliseconds since the epoch).
    pub since: Option<i64>,
    /// Only this order's.
    pub key: Option<OrderKey>,
    /// At most this many, oldest first (all when `None`).
    pub limit: Option<i64>,
    /// Only the event of this id.
    pub id: Option<String>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Those in `state`.
    pub fn state(mut self, state: DeliveryState) -> Self {
        self.state = Some(state);
        self
    }

    /// Those written at or after `since` (milliseconds since the epoch).
    pub fn since(mut self, since: i64) -> Self {
        self.since = Some(since);
        self
    }

    /// One order's.
    pub fn key(mut self, key: OrderKey) -> Self {
        self.key = Some(key);
        self
    }

    /// At most `limit`.
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The event of id `id` (a `webhook-id`), when there is one.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_final_or_processing_state_makes_its_kinds_event_and_no_other_does() {
        use EventType as E;
        use LedgerState as S;
        let cases = [
            (
                OrderKind::Deposit,
                S::Processing,
                Some(E::DepositProcessing),
            ),
            (OrderKind::Deposit, S::Completed, Some(E::DepositCompleted)),
            (OrderKind::Deposit, S::Failed, Some(E::DepositFailed)),
            (OrderKind::Deposit, S::Rejected, Some(E::DepositFailed)),
            (
                OrderKind::Withdrawal,
                S::Processing,
                Some(E::PayoutProcessing),
            ),
            (
                OrderKind::Withdrawal,
                S::Completed,
                Some(E::PayoutCompleted),
            ),
            (OrderKind::Withdrawal, S::Failed, Some(E::PayoutFailed)),
            (OrderKind::Withdrawal, S::Rejected, Some(E::PayoutRejected)),
        ];
        for kind in [OrderKind::Deposit, OrderKind::Withdrawal] {
            for state in LedgerState::ALL {
                let expected = cases
                    .iter()
                    .find(|(k, s, _)| *k == kind && *s == state)
                    .and_then(|(_, _, event)| *event);
                assert_eq!(
                    EventType::of_transition(kind, state),
                    expected,
                    "{kind:?} {state}"
                );
            }
        }
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
    }
}

/// Which due events [`Ledger::claim_events`](crate::Ledger::claim_events)
/// claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventClaim {
    /// Now, in milliseconds since the epoch: events due at or before it.
    pub now: i64,
    /// At most this many.
    pub limit: i64,
    /// How long the claim holds, in milliseconds: past it another deliverer
    /// may take the event over (its holder died mid-delivery).
    pub lease_ms: i64,
}

/// An event claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimedEvent {
    /// The event.
    pub event: Event,
    /// Names this claim, as against a later one that took it over.
    pub token: i64,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// When it was made, in milliseconds since the epoch.
    pub at: i64,
    /// The answer's HTTP status, when one came.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The first bytes of the answer (at most [`ANSWER_KEPT`]), as text.
    pub answer: Option<String>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
}

/// How many bytes of an answer an attempt keeps.
pub const ANSWER_KEPT: usize = 256;

impl Attempt {
    /// An attempt made at `at` that lasted `duration_ms`; its answer and
    /// failure are set with [`answered`](Self::answered) and
    /// [`failed`](Self::failed).
    pub fn new(at: i64, duration_ms: i64) -> Self {
        Self {
            at,
            status: None,
            duration_ms,
            answer: None,
            error: None,
        }
    }

    /// With the answer's status and its first [`ANSWER_KEPT`] bytes.
    pub fn answered(mut self, status: u16, body: &[u8]) -> Self {
        self.status = Some(status);
        let kept = &body[..body.len().min(ANSWER_KEPT)];
        self.answer = Some(String::from_utf8_lossy(kept).into_owned());
        self
    }

    /// With why no answer came.
    pub fn failed(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterAttempt {
    /// The receiver took it.
    Delivered,
    /// Try again at this time (milliseconds since the epoch).
    RetryAt(i64),
    /// No more attempts: kept as dead, until replayed.
    Dead,
}

/// What [`Ledger::claim_idempotency`](crate::Ledger::claim_idempotency) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdempotencyClaim {
    /// The key is this caller's: do the work, then
    /// [`finish_idempotency`](crate::Ledger::finish_idempotency).
    Fresh,
    /// The key's first request is still being answered.
    InFlight,
    /// The key was first used with another body.
    Reused,
    /// The key's first request was answered so: answer it again.
    Replay {
        /// Its HTTP status.
        status: u16,
        /// Its body.
        answer: String,
    },
}
