//! The handler's owed deliveries: every transition the ledger owes it, run
//! under a claim with the route's lease, from a callback or from the worker.

use std::future::Future;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use paybridge_core::OrderId;
use paybridge_ledger::{Claim, Ledger, OwedQuery, Source, Transition};

use super::answer::{answer, try_later};
use super::handler::{handle, Handler};
use super::{CallbackRoute, Delivery};
use crate::{CallbackEvent, Error, Gateway, StatusReport};

/// How many owed transitions one pass of the worker takes per gateway.
const OWED_PER_PASS: i64 = 100;

/// The route's handler lease, as the ledger counts it.
fn lease_ms<H>(route: &CallbackRoute<H>) -> i64 {
    i64::try_from(route.handler_lease.as_millis()).unwrap_or(i64::MAX)
}

/// One pass of the owed-delivery worker, with the route's handler type erased.
type DeliverOwed = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<usize, Error>> + Send>> + Send + Sync,
>;

/// The worker beside a ledger-backed route (from
/// [`CallbackRoute::into_router_and_worker`]): it runs the handler for every
/// transition the ledger owes it, claiming each with the same lease as the
/// route, so a transition's handler never runs twice at once, and never again
/// once its success is recorded.
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
#[derive(Clone)]
pub struct OwedDeliveries {
    deliver: DeliverOwed,
}

impl std::fmt::Debug for OwedDeliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwedDeliveries").finish_non_exhaustive()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
impl OwedDeliveries {
    /// The worker of `route`, its handler's type erased.
    pub(super) fn for_route<H: Handler>(route: Arc<CallbackRoute<H>>) -> Self {
        let deliver: DeliverOwed = Arc::new(move || {
            let route = route.clone();
            Box::pin(async move { deliver_owed(&route).await })
        });
        Self { deliver }
    }

    /// One pass: runs the handler for each transition owed now (due, or
    /// claimed longer than the lease ago without a recorded finish); how many
    /// ran to success. A handler that fails stays owed for the next pass.
    ///
    /// # Errors
    /// The ledger's failure, which ends the pass; the next pass tries again.
    pub async fn deliver_once(&self) -> Result<usize, Error> {
        (self.deliver)().await
    }

    /// Runs [`deliver_once`](Self::deliver_once) every `every`, forever (a
    /// failed pass is logged): spawn it.
    pub async fn run(self, every: std::time::Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = self.deliver_once().await {
                tracing::error!(error = %err, "a pass over the handler's owed deliveries failed; the next one tries again");
            }
        }
    }
}

/// What running an owed handler came to.
pub(super) enum Ran {
    /// Its successful finish was recorded before: nothing ran.
    AlreadyDone,
    /// Another caller holds it within its lease: nothing ran.
    HeldElsewhere,
    /// It ran to success, and that is recorded.
    Succeeded,
    /// It failed or panicked (recorded as due again where the ledger
    /// could): the 500 answer.
    Failed(Response),
    /// The ledger failed to claim it (nothing ran), or to record its
    /// successful finish (the claim stays until its lease runs out).
    LedgerFailed(Error),
}

impl Ran {
    /// What the callback that led to it is answered.
    pub(super) fn answer(self, gateway: &Gateway) -> Response {
        match self {
            Ran::AlreadyDone | Ran::Succeeded => answer(StatusCode::OK, gateway.callback_answer()),
            Ran::HeldElsewhere | Ran::LedgerFailed(_) => try_later(),
            Ran::Failed(response) => response,
        }
    }

    /// What is recorded beside the callback that led to it.
    pub(super) fn outcome(&self) -> String {
        match self {
            Ran::AlreadyDone => "duplicate".into(),
            Ran::HeldElsewhere => "handler running elsewhere".into(),
            Ran::Succeeded => "applied".into(),
            Ran::Failed(_) => "handler failed".into(),
            Ran::LedgerFailed(err) => format!("handler not finished in the ledger: {err}"),
        }
    }
}

/// Claims transition `id`, runs the handler on `delivery` and records its
/// finish: the one place a handler owed by the ledger runs, for callbacks
/// and for [`deliver_owed`] alike. Never more than one run at a time per
/// transition (the claim), and never again once a success is recorded.
pub(super) async fn run_owed<H: Handler>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    ledger: &Arc<dyn Ledger>,
    id: i64,
    delivery: Delivery,
) -> Ran {
    let token = match ledger.claim_handler(id, lease_ms(route)).await {
        Ok(Claim::Claimed { token }) => token,
        Ok(Claim::Done) => return Ran::AlreadyDone,
        Ok(_) => return Ran::HeldElsewhere,
        Err(err) => {
            tracing::error!(transition = id, error = %err, "the ledger could not claim a handler");
            return Ran::LedgerFailed(err);
        }
    };
    let outcome = handle(route, gateway, delivery).await;
    // Recorded whatever becomes of this request: a provider that hangs up
    // now drops this future, and a finish dropped with it would leave a
    // handler that ran to be run again once its lease ends.
    let succeeded = outcome.is_ok();
    let recorder = ledger.clone();
    let finished = match tokio::spawn(
        async move { recorder.finish_handler(id, token, succeeded).await },
    )
    .await
    {
        Ok(finished) => finished,
        Err(stopped) => Err(Error::local("recording a handler's end", stopped)),
    };
    match (outcome, finished) {
        (Ok(()), Ok(())) => Ran::Succeeded,
        (Ok(()), Err(err)) => {
            tracing::error!(transition = id, error = %err, "the handler succeeded but the ledger could not record it; it runs again once its claim's lease runs out");
            Ran::LedgerFailed(err)
        }
        (Err(response), finished) => {
            if let Err(err) = finished {
                tracing::error!(transition = id, error = %err, "the ledger could not record a handler's failure; it runs again once its claim's lease runs out");
            }
            Ran::Failed(response)
        }
    }
}

/// The delivery of a transition learned without the callback at hand:
/// the ledger's facts in an event's shape (no raw body, nothing
/// unconfirmed), confirmed when a status query or reconcile taught them,
/// or a callback on a route that confirms; `None` for an order that
/// cannot be read back (logged).
async fn owed_delivery<H>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    ledger: &Arc<dyn Ledger>,
    transition: Transition,
) -> Result<Option<Delivery>, Error> {
    let key = &transition.key;
    let (Some(record), Some(status), Ok(order_id)) = (
        ledger.get(key).await?,
        transition.to.status(),
        OrderId::new(&key.order_id),
    ) else {
        tracing::error!(order = %key, transition = transition.id, "an owed transition names an order the ledger cannot give back; skipped");
        return Ok(None);
    };
    let provider_status = record.provider_status.clone().unwrap_or_default();
    let event = CallbackEvent::new(
        gateway.provider(),
        key.kind,
        Some(order_id.clone()),
        status,
        provider_status.clone(),
        record.amount.clone(),
        b"",
        0,
    )
    .with_provider_ref(record.provider_ref.clone());
    let confirmed = (transition.source != Source::Callback || route.confirm).then(|| {
        StatusReport::new(key.kind, order_id, status, provider_status)
            .with_amount(record.amount)
            .with_provider_ref(record.provider_ref)
    });
    let mut delivery = Delivery::new(event, confirmed);
    delivery.transition = Some(transition);
    Ok(Some(delivery))
}

/// One pass over every transition owed to the handler on the route's
/// gateways: each claimed, run and finished as a callback's would be. How
/// many ran to success; the first ledger failure ends the pass.
async fn deliver_owed<H: Handler>(route: &CallbackRoute<H>) -> Result<usize, Error> {
    let mut succeeded = 0;
    for gateway in &route.gateways {
        let Some(ledger) = gateway.ledger() else {
            continue;
        };
        let owed = ledger
            .owed_transitions(&OwedQuery {
                provider: gateway.provider().as_str(),
                account: gateway.account().unwrap_or_default(),
                lease_ms: lease_ms(route),
                limit: OWED_PER_PASS,
            })
            .await?;
        for transition in owed {
            let id = transition.id;
            let Some(delivery) = owed_delivery(route, gateway, ledger, transition).await? else {
                continue;
            };
            match run_owed(route, gateway, ledger, id, delivery).await {
                Ran::Succeeded => succeeded += 1,
                Ran::LedgerFailed(err) => return Err(err),
                Ran::AlreadyDone | Ran::HeldElsewhere | Ran::Failed(_) => {}
            }
        }
    }
    Ok(succeeded)
}
