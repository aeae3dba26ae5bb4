//! Settling a create call through the table: the answer read, the status asked
//! (never the order resent) where the answer leaves the outcome open, within
//! the call's deadline.

use crate::error::{Error, Result};
use crate::model::StatusReport;
use crate::money::{Money, OrderId};
use crate::operation::Operation;
use crate::request::{DepositRequest, WithdrawalRequest};
use crate::status::OrderKind;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

use super::*;

/// What [`settle`] found: the create call's own answer, or, for payouts, the
/// provider's record found by status.
#[derive(Debug)]
pub enum Settled<A> {
    /// The create call was answered with success.
    Answered(A),
    /// The answer was lost or unclear and the status API showed the order held,
    /// with the same amount and currency, in a status that is not a failure.
    FoundByStatus(StatusReport),
}

impl<A> Settled<A> {
    /// The create call's own answer, for orders only a direct answer completes: a
    /// deposit needs the payment URL its answer carries, so the table never
    /// accepts one found by status, and this reports such a one as ambiguous.
    pub fn into_answer(self, call: &CreateCall<'_>) -> Result<A> {
        match self {
            Settled::Answered(answer) => Ok(answer),
            Settled::FoundByStatus(report) => Err(Error::Ambiguous {
                kind: call.kind,
                order_id: call.order_id.clone(),
                reason: ambiguity(call.kind, Resolution::NotAsked, Some(report)),
            }),
        }
    }
}

/// How an order with an unknown outcome is resolved: by asking its status, a
/// bounded number of times, and never by sending the order again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvePolicy {
    /// Status queries in all (each of which retries as a read).
    pub attempts: u32,
    /// Pause between queries, giving a slow provider time to record the order.
    pub delay: Duration,
}

impl Default for ResolvePolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            delay: Duration::from_millis(500),
        }
    }
}

/// The whole operation's deadline when nothing else is configured: retries and
/// the resolution of an unknown outcome included.
pub const DEFAULT_OPERATION_DEADLINE: Duration = Duration::from_secs(60);

/// The order a create call was about, for [`settle`].
#[derive(Debug, Clone, Copy)]
pub struct CreateCall<'a> {
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The merchant's order id.
    pub order_id: &'a OrderId,
    /// What was asked for.
    pub requested: &'a Money,
    /// When the whole operation, resolution included, must be done.
    pub deadline: Instant,
    /// How many status queries, how far apart, while the order is not yet found.
    pub resolve: ResolvePolicy,
}

/// How long a create call may take, resolution included, and how it resolves
/// an unknown outcome: what an adapter's transport settings give each call.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// When the whole operation must be done.
    pub deadline: Instant,
    /// How many status queries, how far apart.
    pub resolve: ResolvePolicy,
}

impl<'a> CreateCall<'a> {
    /// A create call within `limits`.
    pub fn new(
        kind: OrderKind,
        order_id: &'a OrderId,
        requested: &'a Money,
        limits: CallLimits,
    ) -> Self {
        Self {
            kind,
            order_id,
            requested,
            deadline: limits.deadline,
            resolve: limits.resolve,
        }
    }

    /// The create call of `request`, a deposit.
    pub fn deposit(request: &'a DepositRequest, limits: CallLimits) -> Self {
        Self::new(
            OrderKind::Deposit,
            &request.order_id,
            &request.amount,
            limits,
        )
    }

    /// The create call of `request`, a payout.
    pub fn withdrawal(request: &'a WithdrawalRequest, limits: CallLimits) -> Self {
        Self::new(
            OrderKind::Withdrawal,
            &request.order_id,
            &request.amount,
            limits,
        )
    }
}

/// The `lookup` of [`settle`] for a provider that cannot look an order up by the
/// merchant's id: pass `None::<NoLookup>`.
pub type NoLookup = fn() -> std::future::Ready<Result<StatusReport>>;

/// Turns the result of sending a create request into the table's verdict.
///
/// `lookup` asks the provider's status by the order id; `None` where the provider
/// has no such query. It is asked only where the answer leaves the order's fate
/// open, up to `call.resolve.attempts` times while the order is not found or the query
/// fails, and never past `call.deadline`. The order is never sent again.
pub async fn settle<A, F, Fut>(
    call: CreateCall<'_>,
    sent: Result<A>,
    lookup: Option<F>,
) -> Result<Settled<A>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<StatusReport>>,
{
    let answer = CreateAnswer::of(&sent);
    let cause = match sent {
        Ok(answered) => return Ok(Settled::Answered(answered)),
        Err(err) if !answer.needs_status() => return Err(err),
        Err(err) => err,
    };
    tracing::warn!(order_id = %call.order_id, error = %cause, "outcome unknown; resolving by status, never by resending");
    let (resolution, report, query_error) = match lookup {
        None => (Resolution::Unavailable, None, None),
        Some(lookup) => resolve(&call, lookup).await,
    };
    let verdict = classify(call.kind, answer, resolution);
    tracing::info!(order_id = %call.order_id, verdict = verdict.as_str(), resolution = %resolution.describe(), "create outcome settled");
    match (verdict, report) {
        (Verdict::Accepted, Some(report)) => Ok(Settled::FoundByStatus(report)),
        (Verdict::HeldAsFailed, Some(report)) => Err(Error::HeldAsFailed {
            kind: call.kind,
            order_id: call.order_id.clone(),
            status: report.status,
            provider_status: report.provider_status,
            from_ledger: false,
        }),
        (
            Verdict::IdHeldByAnotherOrder,
            Some(StatusReport {
                amount: Some(held), ..
            }),
        ) => Err(Error::OrderIdConflict {
            kind: call.kind,
            order_id: call.order_id.clone(),
            requested: call.requested.clone(),
            held,
            from_ledger: false,
        }),
        (Verdict::Refused, _) => Err(cause),
        (_, report) => {
            // An ambiguous cause already names the order: its reason alone.
            let cause = match cause {
                Error::Ambiguous { reason, .. } => reason,
                other => other.to_string(),
            };
            let mut reason = format!("{cause}; then {}", ambiguity(call.kind, resolution, report));
            if let Some(query_error) = query_error {
                reason.push_str(&format!(" ({query_error})"));
            }
            Err(Error::Ambiguous {
                kind: call.kind,
                order_id: call.order_id.clone(),
                reason,
            })
        }
    }
}

fn ambiguity(kind: OrderKind, resolution: Resolution, report: Option<StatusReport>) -> String {
    match (resolution, report) {
        (Resolution::Unavailable, _) => {
            "the provider can look an order up only by the reference its lost answer carried".into()
        }
        (_, Some(report)) if kind == OrderKind::Deposit => format!(
            "the provider holds it ({}) but its payment URL was lost; do not send the payer to a new order before reconciling this one",
            report.provider_status
        ),
        (other, _) => format!("its status query: {}", other.describe()),
    }
}

/// Asks the status up to `attempts` times, stopping at the first answer that
/// shows the order; never past the deadline. The last query's error, if it
/// failed, is kept for the merchant.
async fn resolve<F, Fut>(
    call: &CreateCall<'_>,
    lookup: F,
) -> (Resolution, Option<StatusReport>, Option<String>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<StatusReport>>,
{
    let mut last = Resolution::QueryFailed;
    let mut last_error = None;
    let pause = call.resolve.delay;
    for attempt in 0..call.resolve.attempts.max(1) {
        if attempt > 0 {
            if Instant::now() + pause >= call.deadline {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        let result = match tokio::time::timeout_at(call.deadline, lookup()).await {
            Ok(result) => result,
            Err(_) => {
                return (
                    Resolution::QueryFailed,
                    None,
                    Some("past the operation's deadline".into()),
                )
            }
        };
        last = Resolution::of(&result, call.requested);
        match result {
            Ok(report) if matches!(last, Resolution::Found { .. }) => {
                return (last, Some(report), None)
            }
            Ok(_) => last_error = None,
            Err(err) => last_error = Some(err.to_string()),
        }
    }
    (last, None, last_error)
}

/// Runs a create request within the operation's deadline; past it, the request
/// may have been delivered.
pub async fn within_deadline<T>(
    operation: Operation,
    deadline: Instant,
    sending: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout_at(deadline, sending)
        .await
        .unwrap_or(Err(Error::Timeout {
            operation,
            may_have_been_delivered: true,
        }))
}
