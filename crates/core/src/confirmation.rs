//! Confirmation: a verified callback checked against the provider's own status API.

use crate::callback::CallbackEvent;
use crate::error::{CallbackRejection, Result};
use crate::gateway::PaymentGateway;
use crate::model::{StatusQuery, StatusReport};
use crate::money::OrderId;
use crate::status::OrderKind;

/// Confirms a verified callback with the provider's status API and refuses it
/// when the provider disagrees about its status or amount.
///
/// Vpay88/One1Pay tokens cover only the order id, so an intercepted callback can
/// be altered without breaking its token; this is what makes it trustworthy.
///
/// A final status the provider does not report yet (it still says pending) is
/// [`CallbackRejection::NotYetConfirmed`]: answer "try later", so a provider that
/// retries delivers it again once its records agree. A final status contradicted
/// by another final status is [`CallbackRejection::StatusMismatch`] and logged as
/// a possible forgery. The query is made as the account whose secret verified the
/// callback.
pub async fn confirm(gateway: &dyn PaymentGateway, event: &CallbackEvent) -> Result<StatusReport> {
    let order_id = match (&event.order_id, &event.provider_ref) {
        (Some(id), _) => id.clone(),
        // ONE-PUNCH looks up by payment token; the order id only labels the report.
        (None, Some(reference)) => OrderId::new(reference).map_err(|_| {
            CallbackRejection::Unconfirmable("the provider reference is not a valid id".into())
        })?,
        (None, None) => {
            return Err(CallbackRejection::Unconfirmable(
                "the callback carries neither an order id nor a provider reference".into(),
            )
            .into())
        }
    };
    let mut query = StatusQuery::new(order_id);
    query.provider_ref = event.provider_ref.clone();
    query.username = event.account.clone();
    let report = match event.kind {
        OrderKind::Withdrawal => gateway.withdrawal_status(&query).await?,
        _ => gateway.deposit_status(&query).await?,
    };
    if report.status != event.status && event.status.is_final() && !report.status.is_final() {
        return Err(CallbackRejection::NotYetConfirmed {
            claimed: event.status,
            confirmed: report.status,
        }
        .into());
    }
    if report.status != event.status {
        if event.status.is_final() {
            tracing::warn!(
                provider = %event.provider,
                order_id = event.order_id.as_ref().map_or("", OrderId::as_str),
                claimed = %event.status,
                confirmed = %report.status,
                "callback contradicts the provider's final status: possible forgery"
            );
        }
        return Err(CallbackRejection::StatusMismatch {
            claimed: event.status,
            confirmed: report.status,
        }
        .into());
    }
    // Fail closed: an amount the provider does not state is an amount not confirmed.
    let Some(confirmed) = &report.amount else {
        return Err(CallbackRejection::Unconfirmable(
            "the provider's status did not state an amount".into(),
        )
        .into());
    };
    // Decimal equality ignores scale: 300.0000 equals 300.
    if confirmed.amount() != event.amount.amount()
        || confirmed.currency() != event.amount.currency()
    {
        tracing::warn!(
            provider = %event.provider,
            claimed = %event.amount,
            confirmed = %confirmed,
            "callback amount contradicts the provider's: possible forgery"
        );
        return Err(CallbackRejection::AmountMismatch {
            claimed: event.amount.to_string(),
            confirmed: confirmed.to_string(),
        }
        .into());
    }
    Ok(report)
}
