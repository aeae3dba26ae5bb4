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
//! | verified, confirmed, handled | 200 | the configured answer (`success`) |
//! | body over the limit | 413 | `rejected: too large` |
//! | malformed, bad signature, contradicted by a final status or another amount | 400 | `rejected: ...` |
//! | claims a final status the provider does not report yet; status API unreachable | 503 | `try later` |
//! | ONE-PUNCH with neither a stored-token lookup nor confirmation | 503 | `try later` |
//! | handler failed or panicked | 500 | `handler failed` |
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
//!         // Credit the order exactly once, keyed by delivery.event.order_id.
//!         Ok::<(), std::convert::Infallible>(())
//!     })
//!     .into_router(),
//! );
//! ```

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use paybridge_core::wire::{parse_callback_body, ScalarRef};
use paybridge_core::MAX_CALLBACK_BODY;

use crate::{CallbackEvent, CallbackRequest, Error, Gateway, Provider, StatusReport};

/// A verified (and, by default, confirmed) callback handed to the merchant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// The verified event, raw body included.
    pub event: CallbackEvent,
    /// The provider's confirming status, when confirmation is on.
    pub confirmed: Option<StatusReport>,
    /// `true` when the merchant's seen-before check recognised this event.
    pub duplicate: bool,
    /// The named account whose path received it (routes built by
    /// [`CallbackRoute::for_accounts`]).
    pub account: Option<String>,
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
}

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

    /// Looks up the provider reference the merchant stored for an order number
    /// (ONE-PUNCH's notification may omit the payment token its signature covers).
    pub fn provider_ref_lookup(
        mut self,
        lookup: impl Fn(Option<&str>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.provider_ref_lookup = Some(Arc::new(lookup));
        self
    }

    /// The router, serving `POST /`; nest it where the provider posts.
    ///
    /// For ONE-PUNCH, a route with neither [`provider_ref_lookup`](Self::provider_ref_lookup)
    /// nor confirmation answers every callback `503 try later` (and logs why):
    /// nothing is trusted, and nothing is lost once it is set up.
    pub fn into_router(self) -> Router {
        if self
            .gateways
            .iter()
            .any(|gateway| unprotected_onepunch(&self, gateway))
        {
            tracing::error!(
                "ONE-PUNCH callback route has neither a stored-token lookup nor confirmation: every callback will be answered 503"
            );
        }
        let max_body = self.max_body;
        let paths: Vec<String> = match self.per_account {
            false => vec!["/".to_owned()],
            true => self
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
            .with_state(Arc::new(self))
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
            answer(StatusCode::SERVICE_UNAVAILABLE, "try later")
        }
    }
}

/// ONE-PUNCH's signature lets characters move between `payment_token` and
/// `amount`; only the merchant's stored token or a status confirmation closes it.
fn unprotected_onepunch<H>(route: &CallbackRoute<H>, gateway: &Gateway) -> bool {
    gateway.provider() == Provider::OnePunch
        && route.provider_ref_lookup.is_none()
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
    if unprotected_onepunch(&route, gateway) {
        tracing::error!(
            provider,
            "ONE-PUNCH callbacks need provider_ref_lookup or confirmation; refusing to run unconfirmed"
        );
        return answer(StatusCode::SERVICE_UNAVAILABLE, "try later");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let stored_ref = route.provider_ref_lookup.as_ref().and_then(|lookup| {
        /// The one field the lookup needs, read before verification.
        #[derive(serde::Deserialize)]
        #[serde(bound(deserialize = "'de: 'a"))]
        struct OrderNum<'a> {
            order_num: Option<ScalarRef<'a>>,
        }
        let mut rewritten = None;
        let order_num = parse_callback_body::<OrderNum>(&body, content_type, &mut rewritten)
            .ok()
            .and_then(|fields| fields.order_num);
        lookup(order_num.as_ref().map(ScalarRef::as_str))
    });
    let request = CallbackRequest::new(&body)
        .with_content_type(content_type)
        .with_provider_ref(stored_ref.as_deref());
    #[cfg(feature = "ledger")]
    let recorded = match ledger::record(gateway, &body, content_type).await {
        Ok(recorded) => recorded,
        Err(response) => return response,
    };
    let checked = async {
        let event = gateway.verify(&request)?;
        let confirmed = if route.confirm {
            Some(gateway.confirm(&event).await?)
        } else {
            None
        };
        Ok::<_, Error>((event, confirmed))
    };
    let (event, confirmed) = match checked.await {
        Ok(checked) => checked,
        Err(err) => {
            #[cfg(feature = "ledger")]
            ledger::refused(recorded.as_ref(), &err).await;
            return refuse(provider, &err);
        }
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
    match handle(&route, gateway, event, confirmed, duplicate).await {
        Ok(()) => answer(StatusCode::OK, gateway.callback_answer()),
        Err(response) => response,
    }
}

/// Runs the merchant's handler in its own task, so a panic becomes a 500, not
/// a dropped connection; the 500 answer when it did not succeed.
async fn handle<H, Fut, E>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    event: CallbackEvent,
    confirmed: Option<StatusReport>,
    duplicate: bool,
) -> Result<(), Response>
where
    H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let provider = gateway.provider().as_str();
    let handler = route.handler.clone();
    let outcome = tokio::spawn(handler(Delivery {
        event,
        confirmed,
        duplicate,
        account: gateway.account().map(str::to_owned),
    }))
    .await;
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
/// ledger's state machine, the handler run once per transition.
#[cfg(feature = "ledger")]
mod ledger {
    use std::fmt::Display;
    use std::future::Future;
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::response::Response;
    use paybridge_ledger::{
        CallbackVerdict, Claim, Ledger, LedgerState, Observation, OrderKey, ReceivedCallback,
        Source, Step,
    };

    use super::{answer, handle, CallbackRoute, Delivery};
    use crate::{CallbackEvent, Error, Gateway, StatusReport};

    /// How long a claimed handler may run before another instance may take
    /// it over (its holder is taken to have died).
    const HANDLER_LEASE_MS: i64 = 5 * 60 * 1000;

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
                Err(answer(StatusCode::SERVICE_UNAVAILABLE, "try later"))
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

    /// Records why a callback was not accepted.
    pub(super) async fn refused(recorded: Option<&Recorded>, err: &Error) {
        if let Some(recorded) = recorded {
            let verified = !matches!(
                err,
                Error::CallbackRejected(crate::CallbackRejection::BadSignature { .. })
            );
            settle(
                recorded,
                verdict(None, verified, false, false, format!("refused: {err}")),
            )
            .await;
        }
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
                return Some(answer(StatusCode::SERVICE_UNAVAILABLE, "try later"));
            }
        };
        let transition = match applied.step {
            Step::Advance(_) => applied.transition,
            // The same news again: its handler may still be owed (it failed before).
            Step::Same => ledger
                .transition_into(&key, observation.state)
                .await
                .ok()
                .flatten()
                .map(|transition| transition.id),
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
        match ledger.claim_handler(transition, HANDLER_LEASE_MS).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Done) => {
                settle(&recorded, answered("duplicate".into(), false)).await;
                return Some(answer(StatusCode::OK, gateway.callback_answer()));
            }
            Ok(_) => {
                settle(
                    &recorded,
                    answered("handler running elsewhere".into(), false),
                )
                .await;
                return Some(answer(StatusCode::SERVICE_UNAVAILABLE, "try later"));
            }
            Err(err) => {
                tracing::error!(order = %key, error = %err, "the ledger could not claim a handler; asked to retry");
                return Some(answer(StatusCode::SERVICE_UNAVAILABLE, "try later"));
            }
        }
        let outcome = handle(route, gateway, event.clone(), confirmed.cloned(), false).await;
        let succeeded = outcome.is_ok();
        if let Err(err) = ledger.finish_handler(transition, succeeded).await {
            tracing::error!(order = %key, error = %err, "the ledger could not record a handler's end");
        }
        let note = if succeeded {
            "applied"
        } else {
            "applied; handler failed"
        };
        settle(&recorded, answered(note.into(), true)).await;
        Some(match outcome {
            Ok(()) => answer(StatusCode::OK, gateway.callback_answer()),
            Err(response) => response,
        })
    }
}
