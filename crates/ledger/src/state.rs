//! The one state machine every order in the ledger follows, in one place.
//!
//! ```text
//! sending ─┬─> pending ─> processing ─┬─> completed
//!          │                          ├─> failed
//! unknown ─┘                          └─> rejected
//! sending ──> refused                 (the provider refused it: nothing held)
//! ```
//!
//! `sending` is written before an order leaves; `unknown` when its create call
//! ended without a definite answer. A final state never changes: an
//! observation that contradicts one is a conflict, recorded and surfaced, never
//! applied. An observation behind the current state (`pending` after
//! `processing`) is stale and changes nothing.

use std::fmt;

use paybridge_core::OrderStatus;

use crate::Source;

/// Where an order stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LedgerState {
    /// Recorded, about to be sent (or sent, its answer not yet recorded).
    Sending,
    /// Sent, with no definite answer: resolved by status, never resent.
    Unknown,
    /// The provider refused it at creation; it holds nothing.
    Refused,
    /// Created, nothing paid yet.
    Pending,
    /// In the provider's hands (a payout in flight).
    Processing,
    /// Money moved.
    Completed,
    /// Did not go through.
    Failed,
    /// Refused by the provider or the bank after acceptance.
    Rejected,
}

impl LedgerState {
    /// Every state, in the order of the diagram.
    pub const ALL: [LedgerState; 8] = [
        LedgerState::Sending,
        LedgerState::Unknown,
        LedgerState::Refused,
        LedgerState::Pending,
        LedgerState::Processing,
        LedgerState::Completed,
        LedgerState::Failed,
        LedgerState::Rejected,
    ];

    /// The word stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerState::Sending => "sending",
            LedgerState::Unknown => "unknown",
            LedgerState::Refused => "refused",
            LedgerState::Pending => "pending",
            LedgerState::Processing => "processing",
            LedgerState::Completed => "completed",
            LedgerState::Failed => "failed",
            LedgerState::Rejected => "rejected",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            LedgerState::Refused
                | LedgerState::Completed
                | LedgerState::Failed
                | LedgerState::Rejected
        )
    }

    /// Whether only a status query can tell where it stands.
    pub fn is_unresolved(self) -> bool {
        matches!(self, LedgerState::Sending | LedgerState::Unknown)
    }

    /// How far along the provider's life it is: a later observation never
    /// moves an order back.
    fn rank(self) -> u8 {
        match self {
            LedgerState::Sending | LedgerState::Unknown => 0,
            LedgerState::Pending => 1,
            LedgerState::Processing => 2,
            LedgerState::Refused
            | LedgerState::Completed
            | LedgerState::Failed
            | LedgerState::Rejected => 3,
        }
    }

    /// The provider's normalized status, once the order has one.
    pub fn status(self) -> Option<OrderStatus> {
        Some(match self {
            LedgerState::Pending => OrderStatus::Pending,
            LedgerState::Processing => OrderStatus::Processing,
            LedgerState::Completed => OrderStatus::Completed,
            LedgerState::Failed => OrderStatus::Failed,
            LedgerState::Rejected => OrderStatus::Rejected,
            _ => return None,
        })
    }
}

impl From<OrderStatus> for LedgerState {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => LedgerState::Pending,
            OrderStatus::Processing => LedgerState::Processing,
            OrderStatus::Completed => LedgerState::Completed,
            OrderStatus::Failed => LedgerState::Failed,
            OrderStatus::Rejected => LedgerState::Rejected,
            // A status added later is not guessed at: the order stays open.
            _ => LedgerState::Unknown,
        }
    }
}

impl fmt::Display for LedgerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What an observation does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Moves the order to this state: a transition.
    Advance(LedgerState),
    /// Says what the ledger already holds: a duplicate, changing nothing.
    Same,
    /// Says less than the ledger already knows (`pending` after
    /// `processing`): changes nothing.
    Stale,
    /// Contradicts a final state: recorded as a conflict, never applied.
    Conflict,
}

/// What observing `observed` does to an order in state `current`.
pub fn step(current: LedgerState, observed: LedgerState) -> Step {
    if observed == current {
        return Step::Same;
    }
    // A refusal comes only from the create call, before the provider holds
    // anything; after it held the order, one is a contradiction.
    if current.is_final() || (observed == LedgerState::Refused && !current.is_unresolved()) {
        return Step::Conflict;
    }
    // Sent with no definite answer says more than about to be sent.
    if (current, observed) == (LedgerState::Sending, LedgerState::Unknown) {
        return Step::Advance(observed);
    }
    if observed.is_unresolved() || observed.rank() < current.rank() {
        return Step::Stale;
    }
    Step::Advance(observed)
}

/// What an observation from `source` does to an order in state `current`.
///
/// A create call's answer is the oldest news of an order: one recorded after
/// a callback or a status query moved the order on (a deposit's `pending`
/// after its `completed`) says less than the ledger knows, and is stale
/// rather than a conflict. A final answer against another final state (a
/// refusal, or `failed`, after `completed`) stays a conflict.
pub fn step_from(source: Source, current: LedgerState, observed: LedgerState) -> Step {
    match step(current, observed) {
        Step::Conflict if source == Source::Create && !observed.is_final() => Step::Stale,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LedgerState::*;

    #[test]
    fn a_create_answer_behind_a_final_state_is_stale_and_a_final_one_conflicts() {
        let rows = [
            (Completed, Pending, Step::Stale),
            (Completed, Processing, Step::Stale),
            (Failed, Unknown, Step::Stale),
            (Completed, Failed, Step::Conflict),
            (Completed, Refused, Step::Conflict),
            (Sending, Pending, Step::Advance(Pending)),
        ];
        for (current, answered, expected) in rows {
            assert_eq!(
                step_from(Source::Create, current, answered),
                expected,
                "{current} answered {answered}"
            );
            if expected == Step::Stale {
                assert_eq!(
                    step_from(Source::Callback, current, answered),
                    Step::Conflict
                );
            }
        }
    }

    /// Every (current, observed) pair, written out: the whole table.
    #[test]
    fn every_pair_of_states_steps_as_the_table_says() {
        let a = Step::Advance;
        let (same, stale, conflict) = (Step::Same, Step::Stale, Step::Conflict);
        // Rows: current state; columns: observed, in LedgerState::ALL order
        // (sending, unknown, refused, pending, processing, completed, failed, rejected).
        #[rustfmt::skip]
        let table: [(LedgerState, [Step; 8]); 8] = [
            (Sending,    [same,     a(Unknown), a(Refused), a(Pending), a(Processing), a(Completed), a(Failed), a(Rejected)]),
            (Unknown,    [stale,    same,       a(Refused), a(Pending), a(Processing), a(Completed), a(Failed), a(Rejected)]),
            (Refused,    [conflict, conflict, same,       conflict,   conflict,      conflict,     conflict,  conflict]),
            (Pending,    [stale,    stale,    conflict,   same,       a(Processing), a(Completed), a(Failed), a(Rejected)]),
            (Processing, [stale,    stale,    conflict,   stale,      same,          a(Completed), a(Failed), a(Rejected)]),
            (Completed,  [conflict, conflict, conflict,   conflict,   conflict,      same,         conflict,  conflict]),
            (Failed,     [conflict, conflict, conflict,   conflict,   conflict,      conflict,     same,      conflict]),
            (Rejected,   [conflict, conflict, conflict,   conflict,   conflict,      conflict,     conflict,  same]),
        ];
        for (current, row) in table {
            for (observed, expected) in LedgerState::ALL.into_iter().zip(row) {
                assert_eq!(
                    step(current, observed),
                    expected,
                    "{current} observed {observed}"
                );
            }
        }
    }

    #[test]
    fn stored_words_read_back() {
        for state in LedgerState::ALL {
            assert_eq!(LedgerState::parse(state.as_str()), Some(state));
        }
        assert_eq!(LedgerState::parse("done"), None);
    }
}
