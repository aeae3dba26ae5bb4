//! A ready callback route for axum (feature `axum`).
//!
//! The route verifies the callback, confirms it with the provider's status API
//! (unless turned off), hands it to the merchant's async handler, and only then
//! answers 200. A handler error or a crash answers 500, so the provider retries
//! rather than the event being lost.
//!
//! Whoever posted gets a short fixed answer per class (`rejected: signature`,
//! `try later`, `handler failed`...); the detail goes to the log only, so no
//! handler error, panic message or body excerpt reaches the sender.
//!
//! | outcome | HTTP | body |
//! |---|---|---|
//! | verified, confirmed, handled (with a ledger: its finish recorded) | 200 | the configured answer (`success`) |
//! | with a ledger: a duplicate of a transition whose handler's success is recorded; stale news; a contradiction of a final state (recorded as a conflict) | 200 | the configured answer |
//! | body over the limit | 413 | `rejected: too large` |
//! | malformed, bad signature, contradicted by a final status or another amount | 400 | `rejected: ...` |
//! | claims a final status the provider does not report yet; status API unreachable | 503 | `try later` |
//! | ONE-PUNCH with neither a ledger, a stored-token lookup nor confirmation | 503 | `try later` |
//! | with a ledger: the body cannot be recorded; the transition's handler is owed but cannot be claimed (running elsewhere within its lease, or the ledger fails); its success cannot be recorded; a ONE-PUNCH order the ledger does not hold yet, or holds without its payment token | 503 | `try later` |
//! | handler failed or panicked | 500 | `handler failed` |
//!
//! With a ledger (feature `ledger`), the handler runs for the ledger's
//! transition the callback names, claimed with a lease, and only a recorded
//! successful finish lets a later delivery be acknowledged as a duplicate:
//! see "Handler delivery guarantee" in `docs/reliability.md`. Transitions
//! learned without a callback (a status query, reconcile, a create answer)
//! reach the handler through the worker of
//! `CallbackRoute::into_router_and_worker`. A ONE-PUNCH notification is
//! verified over the payment token the ledger holds for its `order_num`.
//!
//! ```
//! use paybridge::axum::{CallbackRoute, Delivery};
//! use paybridge::{Config, Gateway};
//!
//! # fn build() -> paybridge::transport::TransportConfig { Default::default() }
//! let config = Config::from_toml(r#"
//!     provider = "vpay88"
//!     [vpay88]
//!     base_url = "https://pay.example"
//!     username = "merchant"
//!     api_key = "key"
//!     secret_key = "secret"
//! "#, "inline").unwrap();
//! let gateway = Gateway::from_config(&config).unwrap();
//! let app: axum::Router = axum::Router::new().nest(
//!     "/callbacks/vpay88",
//!     CallbackRoute::new(gateway, |delivery: Delivery| async move {
//!         // Credit the order once, keyed by delivery.event.order_id (with a
//!         // ledger, by the id of delivery.transition).
//!         Ok::<(), std::convert::Infallible>(())
//!     })
//!     .into_router(),
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use paybridge_core::{OrderId, OrderKind, MAX_CALLBACK_BODY};

use crate::{CallbackEvent, CallbackRequest, Error, Gateway, StatusReport};

/// A verified (and, by default, confirmed) callback handed to the merchant,
/// or, on a route whose gateway keeps a ledger, a transition the ledger owes
/// the handler.
///
/// Which facts are the provider's: `confirmed` holds what its status API
/// confirmed (the order, its amount and currency, its status). Everything else
/// the event carries beyond those (`charge`, `name`, `remarks`) is the
/// sender's word only, listed in `unconfirmed`: the Vpay88/One1Pay token
/// covers none of it, so whoever saw one genuine callback can set it to
/// anything (`charge: -500`, a name holding `<script>`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// The verified event, raw body included. For a transition the ledger
    /// owed without the callback at hand (learned by a status query,
    /// reconcile or a create answer, or a handler run again by
    /// `OwedDeliveries`), the ledger's facts in the same shape: an empty
    /// `raw_body`, and no `charge`, `name` or `remarks`.
    pub event: CallbackEvent,
    /// The provider's confirming status, when confirmation is on.
    pub confirmed: Option<StatusReport>,
    /// The event's fields beyond the confirmed facts, by name (`charge`,
    /// `name`, `remarks`), as the sender wrote them: never checked by anyone.
    pub unconfirmed: BTreeMap<String, String>,
    /// `true` when the merchant's seen-before check recognised this event.
    pub duplicate: bool,
    /// The named account whose path received it (routes built by
    /// [`CallbackRoute::for_accounts`]).
    pub account: Option<String>,
    /// The ledger's transition this delivery is owed for, on a route whose
    /// gateway keeps a ledger: its `id` is the same at every delivery of it
    /// (a handler dedupes on it), `from` and `to` say what moved.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub transition: Option<paybridge_ledger::Transition>,
}

impl Delivery {
    /// A delivery of `event`, confirmed by `confirmed` when given, with its
    /// unconfirmed fields listed (also for merchants' own handler tests).
    pub fn new(event: CallbackEvent, confirmed: Option<StatusReport>) -> Self {
        Self {
            unconfirmed: unconfirmed_fields(&event),
            event,
            confirmed,
            duplicate: false,
            account: None,
            #[cfg(feature = "ledger")]
            transition: None,
        }
    }

    // The route sets the rest itself; these let a merchant's handler tests
    // build every delivery the route can hand over.

    /// Marks it as recognised by the route's seen-before check.
    pub fn with_duplicate(mut self, duplicate: bool) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Names the account whose path received it.
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The ledger's transition it is owed for.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn with_transition(mut self, transition: paybridge_ledger::Transition) -> Self {
        self.transition = Some(transition);
        self
    }
}

/// The fields of `event` no status query confirms, by name, as sent.
fn unconfirmed_fields(event: &CallbackEvent) -> BTreeMap<String, String> {
    [
        ("charge", event.charge.map(|charge| charge.to_string())),
        ("name", event.name.clone()),
        ("remarks", event.remarks.clone()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), value?)))
    .collect()
}

type SeenBefore = Arc<dyn Fn(&CallbackEvent) -> bool + Send + Sync>;
type RefLookup = Arc<dyn Fn(Option<&str>) -> Option<String> + Send + Sync>;

/// Builds the callback route.
pub struct CallbackRoute<H> {
    /// One gateway served at `/`, or one per named account at `/{account}`.
    gateways: Vec<Gateway>,
    per_account: bool,
    handler: H,
    confirm: bool,
    max_body: usize,
    seen_before: Option<SeenBefore>,
    provider_ref_lookup: Option<RefLookup>,
    handler_lease: std::time::Duration,
}

/// How long a claimed handler may run, by default, before another delivery
/// may take it over.
const DEFAULT_HANDLER_LEASE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

impl<H> std::fmt::Debug for CallbackRoute<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackRoute")
            .field("gateways", &self.gateways)
            .field("confirm", &self.confirm)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl<H, Fut, E> CallbackRoute<H>
where
    H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    /// A route that verifies, confirms, then calls `handler`; it serves `POST /`.
    pub fn new(gateway: Gateway, handler: H) -> Self {
        Self::with_gateways(vec![gateway], false, handler)
    }

    /// One path per named account, `POST /{account}` (nest the router at
    /// `/callbacks`): a callback is verified against the secrets of the account
    /// whose path it reached only, and confirmed as that account.
    ///
    /// ```
    /// use paybridge::axum::{CallbackRoute, Delivery};
    /// use paybridge::{Config, Gateway};
    ///
    /// let config = Config::from_toml(r#"
    ///     [accounts.main]
    ///     provider = "vpay88"
    ///     base_url = "https://pay.example"
    ///     username = "main"
    ///     api_key = "key"
    ///     secret_key = "secret"
    ///     [accounts.duitnow]
    ///     provider = "vpay88"
    ///     base_url = "https://pay.example"
    ///     username = "duitnow"
    ///     api_key = "key-2"
    ///     secret_key = "secret-2"
    /// "#, "inline").unwrap();
    /// let handler = |delivery: Delivery| async move {
    ///     // delivery.account names the account: "main" or "duitnow".
    ///     Ok::<(), std::convert::Infallible>(())
    /// };
    /// let route = CallbackRoute::for_accounts(Gateway::for_every_account(&config)?, handler)?;
    /// let app: axum::Router = axum::Router::new().nest("/callbacks", route.into_router());
    /// # Ok::<(), paybridge::Error>(())
    /// ```
    pub fn for_accounts(
        gateways: impl IntoIterator<Item = Gateway>,
        handler: H,
    ) -> Result<Self, Error> {
        let gateways: Vec<Gateway> = gateways.into_iter().collect();
        let mut names = std::collections::BTreeSet::new();
        for gateway in &gateways {
            let Some(name) = gateway.account() else {
                return Err(Error::Config {
                    key: "accounts".into(),
                    reason:
                        "a per-account callback route needs gateways built by Gateway::for_account"
                            .into(),
                });
            };
            if !names.insert(name) {
                return Err(Error::Config {
                    key: format!("accounts.{name}"),
                    reason: "is given twice to the callback route".into(),
                });
            }
        }
        if gateways.is_empty() {
            return Err(Error::Config {
                key: "accounts".into(),
                reason: "no account to serve callbacks for".into(),
            });
        }
        Ok(Self::with_gateways(gateways, true, handler))
    }

    fn with_gateways(gateways: Vec<Gateway>, per_account: bool, handler: H) -> Self {
        Self {
            gateways,
            per_account,
            handler,
            confirm: true,
            max_body: MAX_CALLBACK_BODY,
            seen_before: None,
            provider_ref_lookup: None,
            handler_lease: DEFAULT_HANDLER_LEASE,
        }
    }

    /// Turns confirmation against the status API off (not advised: the
    /// Vpay88/One1Pay token covers neither amount nor status).
    pub fn confirm(mut self, confirm: bool) -> Self {
        self.confirm = confirm;
        self
    }

    /// Refuses bodies larger than `bytes` (64 KiB by default).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Marks deliveries the merchant has seen before, so handlers can skip them.
    pub fn seen_before(
        mut self,
        check: impl Fn(&CallbackEvent) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.seen_before = Some(Arc::new(check));
        self
    }

    /// How long a claimed handler may run (five minutes by default) before
    /// another delivery of its transition may take it over, its holder taken
    /// to have died or failed to record its finish (routes whose gateway keeps
    /// a ledger). Make it longer than the handler ever takes: a handler still
    /// running past it may run twice at once.
    pub fn handler_lease(mut self, lease: std::time::Duration) -> Self {
        self.handler_lease = lease;
        self
    }

    /// Looks up the provider reference the merchant stored for an order number
    /// (ONE-PUNCH's notification may omit the payment token its signature covers).
    /// A route whose gateway keeps a ledger takes it from the ledger instead
    /// and never calls this.
    pub fn provider_ref_lookup(
        mut self,
        lookup: impl Fn(Option<&str>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.provider_ref_lookup = Some(Arc::new(lookup));
        self
    }

    /// The router, serving `POST /`; nest it where the provider posts.
    ///
    /// For ONE-PUNCH, a route with neither a ledger, nor
    /// [`provider_ref_lookup`](Self::provider_ref_lookup), nor confirmation
    /// answers every callback `503 try later` (and logs why): nothing is
    /// trusted, and nothing is lost once it is set up.
    pub fn into_router(self) -> Router {
        Self::router(Arc::new(self))
    }

    /// The router, and the worker that runs the handler for every transition
    /// the gateways' ledger owes it without a callback at hand: learned by a
    /// status query, reconcile or a create answer, or a handler that failed
    /// or whose holder died. Spawn the worker beside the server:
    ///
    /// ```no_run
    /// # async fn run(route: paybridge::axum::CallbackRoute<fn(paybridge::axum::Delivery) -> std::future::Ready<Result<(), String>>>) {
    /// let (router, worker) = route.into_router_and_worker();
    /// tokio::spawn(worker.run(std::time::Duration::from_secs(10)));
    /// let app: axum::Router = axum::Router::new().nest("/callbacks/vpay88", router);
    /// # }
    /// ```
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn into_router_and_worker(self) -> (Router, OwedDeliveries) {
        let route = Arc::new(self);
        let worker = route.clone();
        let deliver: DeliverOwed = Arc::new(move || {
            let route = worker.clone();
            Box::pin(async move { ledger::deliver_owed(&route).await })
        });
        (Self::router(route), OwedDeliveries { deliver })
    }

    fn router(route: Arc<Self>) -> Router {
        if route
            .gateways
            .iter()
            .any(|gateway| unprotected(&route, gateway))
        {
            tracing::error!(
                "ONE-PUNCH callback route has neither a ledger, a stored-token lookup nor confirmation: every callback will be answered 503"
            );
        }
        let max_body = route.max_body;
        let paths: Vec<String> = match route.per_account {
            false => vec!["/".to_owned()],
            true => route
                .gateways
                .iter()
                .map(|gateway| format!("/{}", gateway.account().unwrap_or_default()))
                .collect(),
        };
        let mut router = Router::new();
        for (index, path) in paths.iter().enumerate() {
            router = router.route(
                path,
                post(
                    move |state: State<Arc<Self>>, headers: HeaderMap, body: Bytes| {
                        receive(state, index, headers, body)
                    },
                ),
            );
        }
        router
            .layer(DefaultBodyLimit::max(max_body))
            .with_state(route)
    }
}

/// One pass of the owed-delivery worker, with the route's handler type erased.
#[cfg(feature = "ledger")]
type DeliverOwed = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<usize, Error>> + Send>> + Send + Sync,
>;

/// The worker beside a ledger-backed route (from
/// [`CallbackRoute::into_router_and_worker`]): it runs the handler for every
/// transition the ledger owes it, claiming each with the same lease as the
/// route, so a transition's handler never runs twice at once, and never again
/// once its success is recorded.
#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
#[derive(Clone)]
pub struct OwedDeliveries {
    deliver: DeliverOwed,
}

#[cfg(feature = "ledger")]
impl std::fmt::Debug for OwedDeliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwedDeliveries").finish_non_exhaustive()
    }
}

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
impl OwedDeliveries {
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

fn answer(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

/// The answer to a callback that was not accepted; the detail is logged.
fn refuse(provider: &str, err: &Error) -> Response {
    match err {
        Error::CallbackRejected(rejection) if rejection.retry_later() => {
            tracing::info!(provider, error = %err, "callback not yet confirmed; asked to retry");
            answer(StatusCode::SERVICE_UNAVAILABLE, rejection.class())
        }
        Error::CallbackRejected(rejection) => {
            tracing::warn!(provider, error = %err, "callback rejected");
            answer(StatusCode::BAD_REQUEST, rejection.class())
        }
        _ => {
            tracing::warn!(provider, error = %err, "callback could not be checked; asked to retry");
            try_later()
        }
    }
}

/// A provider whose callbacks are safe only against the merchant's stored
/// reference ([`crate::PaymentGateway::callbacks_need_stored_reference`]) needs the
/// ledger's, the merchant's lookup, or a status confirmation.
fn unprotected<H>(route: &CallbackRoute<H>, gateway: &Gateway) -> bool {
    #[cfg(feature = "ledger")]
    let keeps_tokens = gateway.ledger().is_some();
    #[cfg(not(feature = "ledger"))]
    let keeps_tokens = false;
    gateway.callbacks_need_stored_reference()
        && route.provider_ref_lookup.is_none()
        && !keeps_tokens
        && !route.confirm
}

async fn receive<H, Fut, E>(
    State(route): State<Arc<CallbackRoute<H>>>,
    gateway: usize,
    headers: HeaderMap,
    body: Bytes,
) -> Response
where
    H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
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
    #[cfg(feature = "ledger")]
    let stored_ref = match &recorded {
        Some(recorded) => match ledger::stored_provider_ref(recorded, gateway, named_order).await {
            Ok(stored) => stored,
            Err(response) => return response,
        },
        None => merchants_provider_ref(&route, named_order),
    };
    #[cfg(not(feature = "ledger"))]
    let stored_ref = merchants_provider_ref(&route, named_order);
    let request = unverified.with_provider_ref(stored_ref.as_deref());
    let event = match gateway.verify(&request) {
        Ok(event) => event,
        Err(err) => {
            #[cfg(feature = "ledger")]
            ledger::refused(recorded.as_ref(), &err, false).await;
            return refuse(provider, &err);
        }
    };
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

/// The answer that has the provider deliver the callback again later.
fn try_later() -> Response {
    answer(StatusCode::SERVICE_UNAVAILABLE, "try later")
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

/// Runs the merchant's handler in its own task, so a panic becomes a 500, not
/// a dropped connection; the 500 answer when it did not succeed.
async fn handle<H, Fut, E>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    mut delivery: Delivery,
) -> Result<(), Response>
where
    H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let provider = gateway.provider().as_str();
    let handler = route.handler.clone();
    delivery.account = gateway.account().map(str::to_owned);
    let outcome = tokio::spawn(handler(delivery)).await;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::error!(provider, error = %err, "callback handler failed");
            Err(answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed"))
        }
        Err(panic) => {
            tracing::error!(provider, error = %panic, "callback handler panicked");
            Err(answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed"))
        }
    }
}

/// Callbacks through the gateway's ledger: every body recorded as it came,
/// then what became of it; a verified (and confirmed) one applied by the
/// ledger's state machine, and the handler run for the transition it names
/// until a successful finish is recorded. Transitions learned without a
/// callback are run by [`OwedDeliveries`], with the same claim.
#[cfg(feature = "ledger")]
mod ledger {
    use std::fmt::Display;
    use std::future::Future;
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::response::Response;
    use paybridge_core::{OrderId, OrderKind};
    use paybridge_ledger::{
        CallbackVerdict, Claim, Ledger, LedgerState, Observation, OrderKey, OwedQuery,
        ReceivedCallback, Source, Step, Transition, UnconfirmedFields,
    };

    use super::{answer, handle, try_later, unconfirmed_fields, CallbackRoute, Delivery};
    use crate::{CallbackEvent, Error, Gateway, StatusReport};

    /// How many owed transitions one pass of the worker takes per gateway.
    const OWED_PER_PASS: i64 = 100;

    /// The route's handler lease, as the ledger counts it.
    fn lease_ms<H>(route: &CallbackRoute<H>) -> i64 {
        i64::try_from(route.handler_lease.as_millis()).unwrap_or(i64::MAX)
    }

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

    async fn settle(recorded: &Recorded, verdict: CallbackVerdict) {
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
    /// ledger does not hold yet, or holds without its reference (its create
    /// answer not recorded yet), or a ledger that cannot be read, answers 503:
    /// the provider sends it again.
    pub(super) async fn stored_provider_ref(
        recorded: &Recorded,
        gateway: &Gateway,
        named_order: Option<(OrderKind, OrderId)>,
    ) -> Result<Option<String>, Response> {
        let Some((kind, order_id)) = named_order else {
            return Ok(None);
        };
        let key = OrderKey::new(gateway.provider(), gateway.account(), kind, &order_id);
        let why = match recorded.0.get(&key).await {
            Ok(Some(record)) => match record.provider_ref {
                Some(reference) => return Ok(Some(reference)),
                None => "the ledger holds the order without its provider reference yet".to_owned(),
            },
            Ok(None) => "the ledger does not hold the order yet".to_owned(),
            Err(err) => format!("the ledger could not be read: {err}"),
        };
        tracing::warn!(order = %key, reason = %why, "callback cannot be verified yet; asked to retry");
        settle(
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
            settle(
                recorded,
                verdict(None, verified, false, false, format!("refused: {err}")),
            )
            .await;
        }
    }

    /// What running an owed handler came to.
    enum Ran {
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
        fn answer(self, gateway: &Gateway) -> Response {
            match self {
                Ran::AlreadyDone | Ran::Succeeded => {
                    answer(StatusCode::OK, gateway.callback_answer())
                }
                Ran::HeldElsewhere | Ran::LedgerFailed(_) => try_later(),
                Ran::Failed(response) => response,
            }
        }

        /// What is recorded beside the callback that led to it.
        fn outcome(&self) -> String {
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
    async fn run_owed<H, Fut, E>(
        route: &CallbackRoute<H>,
        gateway: &Gateway,
        ledger: &Arc<dyn Ledger>,
        id: i64,
        delivery: Delivery,
    ) -> Ran
    where
        H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
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
        let finished = ledger.finish_handler(id, token, outcome.is_ok()).await;
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
    pub(super) async fn apply<H, Fut, E>(
        route: &CallbackRoute<H>,
        gateway: &Gateway,
        recorded: Recorded,
        event: &CallbackEvent,
        confirmed: Option<&StatusReport>,
    ) -> Option<Response>
    where
        H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let Some(order_id) = &event.order_id else {
            settle(
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
            .provider_ref(event.provider_ref.clone());
        let is_confirmed = confirmed.is_some();
        let answered = |outcome: String, applied: bool| {
            verdict(Some(key.clone()), true, is_confirmed, applied, outcome)
        };
        let applied = match ledger.observe(&key, &observation).await {
            Ok(applied) => applied,
            Err(err) => {
                tracing::error!(order = %key, error = %err, "the ledger could not apply a callback; asked to retry");
                settle(&recorded, answered(format!("not applied: {err}"), false)).await;
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
                        settle(&recorded, answered(outcome, moved)).await;
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
            settle(&recorded, answered(outcome, false)).await;
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
                settle(&recorded, answered(outcome, moved)).await;
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
        settle(&recorded, answered(outcome, applied)).await;
        Some(ran.answer(gateway))
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
    pub(super) async fn deliver_owed<H, Fut, E>(route: &CallbackRoute<H>) -> Result<usize, Error>
    where
        H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
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
                let Some(delivery) = owed_delivery(route, gateway, ledger, transition).await?
                else {
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
}
