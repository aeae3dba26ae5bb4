//! Every outcome of creating an order, classified by one table.
//!
//! Creating a deposit or a payout ends in one of a finite number of ways: what the
//! provider answered ([`CreateAnswer`]) and, where that answer leaves the order's
//! fate open, what its status query then said ([`Resolution`]). [`classify`] maps
//! each pair to exactly one [`Verdict`], and [`settle`] is the one place adapters
//! turn a create call into a result through it. Two rules hold in every row:
//!
//! - never [`Verdict::Refused`] while the provider may hold the order (a refusal
//!   invites a resend under a new id: a second payout);
//! - never [`Verdict::Accepted`] unless the provider holds the same amount and
//!   currency under the order id.
//!
//! [`table`] lists every row; `docs/reliability.md` shows it, checked by a test.

use crate::error::{Error, RefusalKind, Result};
pub use crate::model::LearnedFrom;
use crate::model::StatusReport;
use crate::money::Money;
use crate::status::{OrderKind, OrderStatus};

mod settle;

pub use settle::*;

/// What the create call came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CreateAnswer {
    /// A success envelope.
    Accepted,
    /// A refusal the provider's document writes for this create, exactly, with
    /// HTTP 2xx, other than a duplicate id: nothing is held.
    Refused,
    /// `Order id exist!` / `Order ID Exist.`: the id was used before.
    DuplicateId,
    /// A refusal the document does not write: another message, a near-variant
    /// of a documented one, or one carried by a non-2xx status (a 409 with a
    /// JSON refusal, say). The provider may hold the order.
    UndocumentedRefusal,
    /// HTTP 3xx or 4xx with no body paybridge understands. Redirects are never
    /// followed, so a 3xx lands here.
    ClientError,
    /// HTTP 5xx.
    ServerError,
    /// The connection failed before the request was sent (or its auth token
    /// could not be had): certainly not delivered.
    NotSent,
    /// Timeout, reset or drop after the request was sent.
    Lost,
    /// A body that could not be decoded, or one over the size limit.
    Undecodable,
}

impl CreateAnswer {
    /// Every answer, in table order.
    pub const ALL: [CreateAnswer; 9] = [
        CreateAnswer::Accepted,
        CreateAnswer::Refused,
        CreateAnswer::DuplicateId,
        CreateAnswer::UndocumentedRefusal,
        CreateAnswer::ClientError,
        CreateAnswer::ServerError,
        CreateAnswer::NotSent,
        CreateAnswer::Lost,
        CreateAnswer::Undecodable,
    ];

    /// Classifies the result of sending a create request.
    pub fn of<T>(sent: &Result<T>) -> Self {
        match sent {
            Ok(_) => CreateAnswer::Accepted,
            Err(Error::Provider {
                documented: false, ..
            }) => CreateAnswer::UndocumentedRefusal,
            Err(Error::Provider {
                kind: RefusalKind::DuplicateOrder,
                ..
            }) => CreateAnswer::DuplicateId,
            Err(Error::Provider { .. }) => CreateAnswer::Refused,
            Err(Error::HttpStatus { status, .. }) if *status < 500 => CreateAnswer::ClientError,
            Err(Error::HttpStatus { .. }) => CreateAnswer::ServerError,
            Err(Error::Decode { .. }) => CreateAnswer::Undecodable,
            Err(err) if err.may_have_been_delivered() => CreateAnswer::Lost,
            // Invalid requests, configuration and not-delivered transport failures:
            // nothing reached the provider.
            Err(_) => CreateAnswer::NotSent,
        }
    }

    /// Whether the order's fate must be asked of the status API.
    pub fn needs_status(self) -> bool {
        !matches!(
            self,
            CreateAnswer::Accepted | CreateAnswer::Refused | CreateAnswer::NotSent
        )
    }

    /// A short description, as the table prints it.
    pub fn describe(self) -> &'static str {
        match self {
            CreateAnswer::Accepted => "accepted",
            CreateAnswer::Refused => "documented refusal",
            CreateAnswer::DuplicateId => "`Order id exist!` / `Order ID Exist.`",
            CreateAnswer::UndocumentedRefusal => {
                "a refusal the document does not write (or on a non-2xx status)"
            }
            CreateAnswer::ClientError => "HTTP 3xx or 4xx, no refusal body",
            CreateAnswer::ServerError => "HTTP 5xx",
            CreateAnswer::NotSent => "connect failure before sending",
            CreateAnswer::Lost => "timeout, reset or drop after sending",
            CreateAnswer::Undecodable => "undecodable or oversized body",
        }
    }
}

/// How the provider's record compares with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Holding {
    /// Same amount and currency.
    Same,
    /// Another amount.
    OtherAmount,
    /// Another currency.
    OtherCurrency,
}

/// What the status query said, where one was needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resolution {
    /// No query was needed.
    NotAsked,
    /// The provider cannot look an order up by the merchant's id (ONE-PUNCH).
    Unavailable,
    /// The provider holds an order under the id.
    Found {
        /// Its normalized status.
        status: OrderStatus,
        /// How it compares with the request.
        holding: Holding,
    },
    /// The provider says it holds no such order, in the words its document
    /// gives for that ([`crate::refusal`]).
    NotFound,
    /// The query was refused in words that do not say the order is unknown.
    QueryRefused,
    /// The query failed (timeout, 5xx, connection) every time it was asked.
    QueryFailed,
    /// The query answered something that could not be decoded.
    QueryGarbage,
}

impl Resolution {
    /// Every resolution that can follow an answer needing one, in table order.
    pub fn after_query() -> Vec<Resolution> {
        let mut all: Vec<Resolution> = [
            OrderStatus::Pending,
            OrderStatus::Processing,
            OrderStatus::Completed,
            OrderStatus::Failed,
            OrderStatus::Rejected,
        ]
        .into_iter()
        .map(|status| Resolution::Found {
            status,
            holding: Holding::Same,
        })
        .collect();
        all.extend([
            Resolution::Found {
                status: OrderStatus::Pending,
                holding: Holding::OtherAmount,
            },
            Resolution::Found {
                status: OrderStatus::Pending,
                holding: Holding::OtherCurrency,
            },
            Resolution::NotFound,
            Resolution::QueryRefused,
            Resolution::QueryFailed,
            Resolution::QueryGarbage,
            Resolution::Unavailable,
        ]);
        all
    }

    /// Reads a status query's result against the request.
    pub fn of(result: &Result<StatusReport>, requested: &Money) -> Self {
        match result {
            Ok(report) => match &report.amount {
                Some(held) if held.currency() != requested.currency() => Resolution::Found {
                    status: report.status,
                    holding: Holding::OtherCurrency,
                },
                // Decimal equality ignores scale: 300.0000 equals 300.
                Some(held) if held.amount() != requested.amount() => Resolution::Found {
                    status: report.status,
                    holding: Holding::OtherAmount,
                },
                Some(_) => Resolution::Found {
                    status: report.status,
                    holding: Holding::Same,
                },
                // A record that states no amount cannot show it is this order.
                None => Resolution::QueryGarbage,
            },
            Err(err) if err.is_unknown_order() => Resolution::NotFound,
            Err(Error::Provider { .. }) => Resolution::QueryRefused,
            Err(Error::Decode { .. }) => Resolution::QueryGarbage,
            Err(_) => Resolution::QueryFailed,
        }
    }

    /// A short description, as the table prints it.
    pub fn describe(self) -> String {
        match self {
            Resolution::NotAsked => "(not asked)".into(),
            Resolution::Unavailable => "the provider has no status by order id".into(),
            Resolution::Found {
                status,
                holding: Holding::Same,
            } => format!("found {status}, same amount and currency"),
            Resolution::Found {
                holding: Holding::OtherAmount,
                ..
            } => "found, another amount".into(),
            Resolution::Found {
                holding: Holding::OtherCurrency,
                ..
            } => "found, another currency".into(),
            Resolution::NotFound => "not found (documented answer)".into(),
            Resolution::QueryRefused => "query refused, not as not-found".into(),
            Resolution::QueryFailed => "query fails".into(),
            Resolution::QueryGarbage => "query answers garbage".into(),
        }
    }
}

/// What the merchant is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The provider holds the order as asked (its status is reported).
    Accepted,
    /// Certainly neither sent nor held.
    Refused,
    /// Held by the provider as failed or rejected: no money moved.
    HeldAsFailed,
    /// Another order (another amount or currency) holds the id.
    IdHeldByAnotherOrder,
    /// May be held: reconcile by the order id before anything else.
    Ambiguous,
}

impl Verdict {
    /// The verdict a create call's final result stands for, as [`settle`]
    /// returns it (and as a ledger records it). Conservative: an error that
    /// `settle` never returns for a definite verdict reads as ambiguous.
    pub fn of<T>(result: &Result<T>) -> Verdict {
        match result {
            Ok(_) => Verdict::Accepted,
            Err(Error::HeldAsFailed { .. }) => Verdict::HeldAsFailed,
            Err(Error::OrderIdConflict { .. }) => Verdict::IdHeldByAnotherOrder,
            Err(err) if err.nothing_sent() => Verdict::Refused,
            Err(Error::Provider {
                documented: true,
                kind,
                ..
            }) if *kind != RefusalKind::DuplicateOrder => Verdict::Refused,
            Err(_) => Verdict::Ambiguous,
        }
    }

    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Refused => "refused",
            Verdict::HeldAsFailed => "held_as_failed",
            Verdict::IdHeldByAnotherOrder => "id_held_by_another_order",
            Verdict::Ambiguous => "ambiguous",
        }
    }
}

/// The table: one verdict for every (kind, answer, resolution).
///
/// Answers that settle the order by themselves ignore the resolution. A deposit
/// found by status stays ambiguous, since the payment URL its lost answer carried
/// cannot be had again. A 3xx/4xx or an undocumented refusal is a refusal only
/// when the status API also says, in its documented words, that it holds
/// nothing; every other unresolved answer is ambiguous.
pub fn classify(kind: OrderKind, answer: CreateAnswer, resolution: Resolution) -> Verdict {
    match answer {
        CreateAnswer::Accepted => return Verdict::Accepted,
        CreateAnswer::Refused | CreateAnswer::NotSent => return Verdict::Refused,
        _ => {}
    }
    match resolution {
        Resolution::Found {
            status: OrderStatus::Failed | OrderStatus::Rejected,
            holding: Holding::Same,
        } => Verdict::HeldAsFailed,
        Resolution::Found {
            holding: Holding::Same,
            ..
        } => match kind {
            OrderKind::Withdrawal => Verdict::Accepted,
            _ => Verdict::Ambiguous,
        },
        Resolution::Found { .. } => Verdict::IdHeldByAnotherOrder,
        Resolution::NotFound
            if matches!(
                answer,
                CreateAnswer::ClientError | CreateAnswer::UndocumentedRefusal
            ) =>
        {
            Verdict::Refused
        }
        Resolution::NotFound
        | Resolution::QueryRefused
        | Resolution::QueryFailed
        | Resolution::QueryGarbage
        | Resolution::Unavailable
        | Resolution::NotAsked => Verdict::Ambiguous,
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// What the create call came back with.
    pub answer: CreateAnswer,
    /// What the status query said.
    pub resolution: Resolution,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every row: each answer that settles itself once, each other answer crossed
/// with every resolution, for deposits and withdrawals.
pub fn table() -> Vec<Row> {
    let mut rows = Vec::new();
    for kind in [OrderKind::Withdrawal, OrderKind::Deposit] {
        for answer in CreateAnswer::ALL {
            let resolutions = if answer.needs_status() {
                Resolution::after_query()
            } else {
                vec![Resolution::NotAsked]
            };
            for resolution in resolutions {
                rows.push(Row {
                    kind,
                    answer,
                    resolution,
                    verdict: classify(kind, answer, resolution),
                });
            }
        }
    }
    rows
}

/// The table as Markdown, as `docs/reliability.md` shows it.
pub fn table_markdown() -> String {
    let mut out = String::from("| kind | answer | status query | verdict |\n|---|---|---|---|\n");
    for row in table() {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.kind,
            row.answer.describe(),
            row.resolution.describe(),
            row.verdict.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_row_refuses_an_order_the_provider_may_hold() {
        for row in table() {
            if row.verdict == Verdict::Refused {
                let provider_may_hold =
                    row.answer.needs_status() && !matches!(row.resolution, Resolution::NotFound);
                assert!(!provider_may_hold, "{row:?}");
                if row.answer.needs_status() {
                    assert!(
                        matches!(
                            row.answer,
                            CreateAnswer::ClientError | CreateAnswer::UndocumentedRefusal
                        ),
                        "{row:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_row_accepts_an_order_held_for_another_amount_or_as_failed() {
        for row in table() {
            if row.verdict == Verdict::Accepted && row.answer != CreateAnswer::Accepted {
                assert_eq!(row.kind, OrderKind::Withdrawal, "{row:?}");
                match row.resolution {
                    Resolution::Found {
                        status,
                        holding: Holding::Same,
                    } => assert!(!matches!(
                        status,
                        OrderStatus::Failed | OrderStatus::Rejected
                    )),
                    other => panic!("accepted on {other:?}"),
                }
            }
        }
    }

    #[test]
    fn the_table_has_every_answer_and_resolution() {
        let rows = table();
        // 3 answers settle themselves; 6 cross 12 resolutions; twice for the kinds.
        assert_eq!(rows.len(), 2 * (3 + 6 * 12));
        for answer in CreateAnswer::ALL {
            assert!(rows.iter().any(|r| r.answer == answer));
        }
    }
}
