//! Callbacks through the gateway's ledger: every body recorded as it came,
//! then what became of it; a verified (and confirmed) one applied by the
//! ledger's state machine, and the handler run for the transition it names
//! until a successful finish is recorded. Transitions learned without a
//! callback are run by [`OwedDeliveries`](super::OwedDeliveries), with the
//! same claim.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use paybridge_core::{Money, OrderId, OrderKind};
use paybridge_ledger::{
    CallbackVerdict, Ledger, LedgerState, Observation, OrderKey, ReceivedCallback, Source, Step,
    UnconfirmedFields,
};

use super::answer::{answer, try_later};
use super::delivery::unconfirmed_fields;
use super::handler::Handler;
use super::owed::{run_owed, Ran};
use super::{CallbackRoute, Delivery};
use crate::{CallbackEvent, Error, Gateway, StatusReport};

/// The gateway's ledger and the id of the callback recorded in it.
pub(super) type Recorded = (Arc<dyn Ledger>, i64);

/// Records the body before anything is decided; a ledger that cannot
/// record it answers 503, so the provider sends it again.
pub(super) async fn record(
    gateway: &Gateway,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Option<Recorded>, Response> {
    let Some(ledger) = gateway.ledger() else {
        return Ok(None);
    };
    let received = ReceivedCallback {
        provider: gateway.provider(),
        account: gateway.account(),
        body,
        content_type,
    };
    match ledger.record_callback(&received).await {
        Ok(id) => Ok(Some((ledger.clone(), id))),
        Err(err) => {
            tracing::error!(error = %err, "the ledger could not record a callback; asked to retry");
            Err(try_later())
        }
    }
}

/// Records beside the recorded callback what became of it; a ledger that
/// cannot is logged only: the answer stands either way.
async fn record_verdict(recorded: &Recorded, verdict: CallbackVerdict) {
    let (ledger, id) = recorded;
    if let Err(err) = ledger.settle_callback(*id, &verdict).await {
        tracing::error!(error = %err, callback = id, "the ledger could not record what became of a callback");
    }
}

fn verdict(
    key: Option<OrderKey>,
    verified: bool,
    confirmed: bool,
    applied: bool,
    outcome: impl Into<String>,
) -> CallbackVerdict {
    CallbackVerdict {
        key,
        verified,
        confirmed,
        applied,
        outcome: outcome.into(),
    }
}

/// The provider reference the ledger holds for the order a callback
/// names before verification (ONE-PUNCH signs over the payment token the
/// create answer gave); `None` where the gateway needs none. An order the
/// ledger does not hold yet, or a ledger that cannot be read, answers 503:
/// the provider sends it again. One it holds without its reference (its
/// create answer could not be recorded, and the ledger cannot learn it
/// otherwise) answers 503 on a route that does not `confirm`; on one that
/// does, the callback's own reference stands in, confirmed by status over
/// it as on a route without a ledger, when it names the order's amount
/// (the amount beside it).
pub(super) async fn stored_provider_ref(
    recorded: &Recorded,
    gateway: &Gateway,
    named_order: Option<(OrderKind, OrderId)>,
    confirm: bool,
) -> Result<(Option<String>, Option<Money>), Response> {
    let Some((kind, order_id)) = named_order else {
        return Ok((None, None));
    };
    let key = OrderKey::new(gateway.provider(), gateway.account(), kind, &order_id);
    let why = match recorded.0.get(&key).await {
        Ok(Some(record)) => match record.provider_ref {
            Some(reference) => return Ok((Some(reference), None)),
            None if confirm => {
                tracing::warn!(order = %key, "the ledger holds the order without its provider reference; the callback's own is confirmed by status");
                return Ok((None, Some(record.amount)));
            }
            None => "the ledger holds the order without its provider reference yet".to_owned(),
        },
        Ok(None) => "the ledger does not hold the order yet".to_owned(),
        Err(err) => format!("the ledger could not be read: {err}"),
    };
    tracing::warn!(order = %key, reason = %why, "callback cannot be verified yet; asked to retry");
    record_verdict(
        recorded,
        verdict(
            Some(key),
            false,
            false,
            false,
            format!("not verified yet: {why}"),
        ),
    )
    .await;
    Err(try_later())
}

/// Records why a callback was not accepted: `verified` when it failed
/// only its confirmation.
pub(super) async fn refused(recorded: Option<&Recorded>, err: &Error, verified: bool) {
    if let Some(recorded) = recorded {
        record_verdict(
            recorded,
            verdict(None, verified, false, false, format!("refused: {err}")),
        )
        .await;
    }
}

/// The names of the fields whose values differ between two deliveries.
fn differing(first: &UnconfirmedFields, now: &UnconfirmedFields) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = first
        .keys()
        .chain(now.keys())
        .filter(|name| first.get(*name) != now.get(*name))
        .collect();
    names.into_iter().cloned().collect()
}

/// Applies a checked callback; the answer to give, or `None` when the
/// ledger cannot key it (no order id) and the plain path should handle it.
pub(super) async fn apply<H: Handler>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    recorded: Recorded,
    event: &CallbackEvent,
    confirmed: Option<&StatusReport>,
) -> Option<Response> {
    let Some(order_id) = &event.order_id else {
        record_verdict(
            &recorded,
            verdict(
                None,
                true,
                confirmed.is_some(),
                false,
                "no order id: handled without the ledger",
            ),
        )
        .await;
        return None;
    };
    let ledger = recorded.0.clone();
    let key = OrderKey::new(event.provider, gateway.account(), event.kind, order_id);
    let status = confirmed.map_or(event.status, |report| report.status);
    let observation = Observation::new(Source::Callback, LedgerState::from(status))
        .provider_status(event.provider_status.clone())
        .amount(
            confirmed
                .and_then(|r| r.amount.clone())
                .or(Some(event.amount.clone())),
        )
        .provider_ref(event.provider_ref.clone())
        .confirmed(confirmed.is_some());
    let is_confirmed = confirmed.is_some();
    let answered = |outcome: String, applied: bool| {
        verdict(Some(key.clone()), true, is_confirmed, applied, outcome)
    };
    let applied = match ledger.observe(&key, &observation).await {
        Ok(applied) => applied,
        Err(err) => {
            tracing::error!(order = %key, error = %err, "the ledger could not apply a callback; asked to retry");
            record_verdict(&recorded, answered(format!("not applied: {err}"), false)).await;
            return Some(try_later());
        }
    };
    let moved = matches!(applied.step, Step::Advance(_));
    // The same news again still names its transition: its handler may be owed.
    let transition = match applied.step {
        Step::Advance(_) | Step::Same => {
            match ledger.transition_into(&key, observation.state).await {
                Ok(transition) => transition,
                Err(err) => {
                    tracing::error!(order = %key, error = %err, "the ledger could not read a transition; asked to retry");
                    let outcome = format!("handler's state unreadable: {err}");
                    record_verdict(&recorded, answered(outcome, moved)).await;
                    return Some(try_later());
                }
            }
        }
        Step::Stale | Step::Conflict => None,
    };
    let Some(transition) = transition else {
        let outcome = match applied.step {
            Step::Conflict => format!(
                "conflict: {}",
                applied
                    .record
                    .conflict
                    .as_deref()
                    .unwrap_or("contradicts the ledger")
            ),
            Step::Stale => "stale".to_owned(),
            _ => "duplicate".to_owned(),
        };
        record_verdict(&recorded, answered(outcome, false)).await;
        return Some(answer(StatusCode::OK, gateway.callback_answer()));
    };
    let unconfirmed = unconfirmed_fields(event);
    let differ = match ledger.keep_unconfirmed(transition.id, &unconfirmed).await {
        Ok(first) => first
            .map(|first| differing(&first, &unconfirmed))
            .unwrap_or_default(),
        Err(err) => {
            tracing::error!(order = %key, error = %err, "the ledger could not keep a callback's unconfirmed fields; asked to retry");
            let outcome = format!("unconfirmed fields not kept: {err}");
            record_verdict(&recorded, answered(outcome, moved)).await;
            return Some(try_later());
        }
    };
    if !differ.is_empty() {
        tracing::warn!(order = %key, fields = %differ.join(", "), "a callback's unconfirmed fields differ from those first delivered for its transition");
    }
    let id = transition.id;
    let mut delivery = Delivery::new(event.clone(), confirmed.cloned());
    delivery.transition = Some(transition);
    let ran = run_owed(route, gateway, &ledger, id, delivery).await;
    let mut outcome = ran.outcome();
    if !differ.is_empty() {
        outcome = format!(
            "{outcome}; unconfirmed fields differ: {}",
            differ.join(", ")
        );
    }
    // Applied: it moved its order, or its transition's handler ran to success.
    let applied = moved || matches!(ran, Ran::Succeeded);
    record_verdict(&recorded, answered(outcome, applied)).await;
    Some(ran.answer(gateway))
}
