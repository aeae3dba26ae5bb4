//! One callback from its body to its answer: the size and protection checks,
//! verification, confirmation, then the ledger's path or the handler.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use paybridge_core::{Error, OrderId, OrderKind};

use super::answer::{answer, refuse, try_later};
use super::handler::{handle, Handler};
#[cfg(feature = "ledger")]
use super::ledger;
use super::route::unprotected;
use super::{CallbackRoute, Delivery};
use crate::CallbackRequest;

/// The answer to one callback posted to the path of `route.gateways[gateway]`.
pub(super) async fn receive<H: Handler>(
    State(route): State<Arc<CallbackRoute<H>>>,
    gateway: usize,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gateway = &route.gateways[gateway];
    let provider = gateway.provider().as_str();
    if body.len() > route.max_body {
        tracing::warn!(provider, bytes = body.len(), "callback body too large");
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "rejected: too large");
    }
    if unprotected(&route, gateway) {
        tracing::error!(
            provider,
            "this provider's callbacks need a ledger, provider_ref_lookup or confirmation; refusing to run unconfirmed"
        );
        return try_later();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let unverified = CallbackRequest::new(&body).with_content_type(content_type);
    let named_order = gateway.callback_order(&unverified);
    #[cfg(feature = "ledger")]
    let recorded = match ledger::record(gateway, &body, content_type).await {
        Ok(recorded) => recorded,
        Err(response) => return response,
    };
    // `awaiting_ref`: the ledger holds the order, for this amount, without
    // its reference yet (its create answer not recorded), so the body's,
    // confirmed by status, stands in; a body that does not verify so may
    // verify once it is recorded.
    #[cfg(feature = "ledger")]
    let (stored_ref, awaiting_ref) = match &recorded {
        Some(recorded) => {
            match ledger::stored_provider_ref(recorded, gateway, named_order, route.confirm).await {
                Ok(stored) => stored,
                Err(response) => return response,
            }
        }
        None => (merchants_provider_ref(&route, named_order), None),
    };
    #[cfg(not(feature = "ledger"))]
    let (stored_ref, awaiting_ref): (_, Option<paybridge_core::Money>) =
        (merchants_provider_ref(&route, named_order), None);
    // Without the stored reference, such a provider's signature does not bind
    // the amount: only a status confirmation may then stand in for it.
    if stored_ref.is_none() && !route.confirm && gateway.callbacks_need_stored_reference() {
        let err = Error::local(
            "the callback route",
            "no stored provider reference for the order this callback names, and the route \
             does not confirm: its signature alone does not bind its amount",
        );
        #[cfg(feature = "ledger")]
        ledger::refused(recorded.as_ref(), &err, false).await;
        return refuse(provider, &err);
    }
    let request = unverified.with_provider_ref(stored_ref.as_deref());
    let event = match gateway.verify(&request) {
        Ok(event) => event,
        Err(err) => {
            #[cfg(feature = "ledger")]
            ledger::refused(recorded.as_ref(), &err, false).await;
            if awaiting_ref.is_some() {
                tracing::warn!(provider, error = %err, "callback not verified over its own reference while the ledger awaits the stored one; asked to retry");
                return try_later();
            }
            return refuse(provider, &err);
        }
    };
    // The body's own reference is bound to its amount only up to a shift
    // (`OPT1` + `1000` signs as `OPT` + `11000`): the amount must be the
    // order's before its status is asked (which the ledger records) over it.
    if let Some(amount) = &awaiting_ref {
        if event.amount != *amount {
            let err = Error::local(
                "the callback route",
                format!(
                    "the callback says {} for an order of {amount} whose provider reference the ledger does not hold yet",
                    event.amount
                ),
            );
            #[cfg(feature = "ledger")]
            ledger::refused(recorded.as_ref(), &err, false).await;
            return refuse(provider, &err);
        }
    }
    let confirmed = match route.confirm {
        true => match gateway.confirm(&event).await {
            Ok(report) => Some(report),
            Err(err) => {
                #[cfg(feature = "ledger")]
                ledger::refused(recorded.as_ref(), &err, true).await;
                return refuse(provider, &err);
            }
        },
        false => None,
    };
    #[cfg(feature = "ledger")]
    if let Some(recorded) = recorded {
        if let Some(response) =
            ledger::apply(&route, gateway, recorded, &event, confirmed.as_ref()).await
        {
            return response;
        }
    }
    let duplicate = route.seen_before.as_ref().is_some_and(|seen| seen(&event));
    let mut delivery = Delivery::new(event, confirmed);
    delivery.duplicate = duplicate;
    match handle(&route, gateway, delivery).await {
        Ok(()) => answer(StatusCode::OK, gateway.callback_answer()),
        Err(response) => response,
    }
}

/// The provider reference the merchant's own lookup gives for the order a
/// callback names (routes whose gateway keeps no ledger).
fn merchants_provider_ref<H>(
    route: &CallbackRoute<H>,
    named_order: Option<(OrderKind, OrderId)>,
) -> Option<String> {
    let lookup = route.provider_ref_lookup.as_ref()?;
    lookup(named_order.as_ref().map(|(_, order_id)| order_id.as_str()))
}
