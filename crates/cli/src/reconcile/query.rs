//! One order asked and judged: its status queried, its verdict and row
//! decided, and, for an order from the ledger, what the provider said
//! recorded.

use std::sync::Arc;

use paybridge::ledger::reconcile::{verdict, ReconcileVerdict};
use paybridge::ledger::{ask_status, Ledger, Observation, OrderKey, Source};
use paybridge::{Error, Gateway, OrderId, StatusQuery};

use super::orders::Job;
use super::Row;

/// Asks one order's status and judges it; applies it to the ledger when the
/// order came from there.
pub(super) async fn reconcile_one(
    job: Job,
    gateway: &Gateway,
    ledger: Option<&Arc<dyn Ledger>>,
) -> (OrderKey, Row) {
    let order_id = OrderId::new(&job.key.order_id).ok();
    let asked = match order_id {
        Some(order_id) => {
            let mut query = StatusQuery::new(order_id);
            if let Some(reference) = &job.provider_ref {
                query = query.with_provider_ref(reference.clone());
            }
            // Through the check every ledger's status goes through: an answer
            // about another order or payment is an error, never recorded.
            ask_status(&**gateway, job.key.kind, &query).await
        }
        None => Err(Error::invalid("order_id", "is not an order id")),
    };
    let judged = verdict(&job.amount, job.merchant_status, &asked);
    let (provider_status, detail) = match &asked {
        Ok(report) => {
            let held = report.amount.as_ref().map(ToString::to_string);
            let detail = match judged {
                ReconcileVerdict::AmountMismatch | ReconcileVerdict::CurrencyMismatch => {
                    format!("held {}, not {}", held.unwrap_or_default(), job.amount)
                }
                _ => format!("provider says {}", report.provider_status),
            };
            (report.status.to_string(), detail)
        }
        Err(err) => (String::new(), err.to_string()),
    };
    if let (Some(ledger), Ok(report)) = (ledger, &asked) {
        let observation = Observation::of_status(report, Source::Reconcile);
        if let Err(err) = ledger.observe(&job.key, &observation).await {
            tracing::error!(order = %job.key, error = %err, "the ledger could not record a reconcile status");
        }
    }
    let row = Row {
        order_id: job.key.order_id.clone(),
        provider: job.key.provider.clone(),
        account: job.key.account.clone(),
        kind: job.key.kind.to_string(),
        merchant_status: job
            .merchant_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        provider_status,
        verdict: judged.to_string(),
        detail,
    };
    (job.key, row)
}

pub(super) fn reconcile_one_failed(job: Job, err: Error) -> Row {
    Row {
        order_id: job.key.order_id,
        provider: job.key.provider,
        account: job.key.account,
        kind: job.key.kind.to_string(),
        merchant_status: job
            .merchant_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        provider_status: String::new(),
        verdict: ReconcileVerdict::Error.to_string(),
        detail: err.to_string(),
    }
}
