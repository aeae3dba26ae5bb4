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
use paybridge_core::wire::{parse_callback_body, Scalar};
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
        struct OrderNum {
            order_num: Option<Scalar>,
        }
        let order_num = parse_callback_body::<OrderNum>(&body, content_type)
            .ok()
            .and_then(|fields| fields.order_num);
        lookup(order_num.as_ref().map(Scalar::as_str))
    });
    let request = CallbackRequest::new(&body)
        .with_content_type(content_type)
        .with_provider_ref(stored_ref.as_deref());
    let event = match gateway.verify(&request) {
        Ok(event) => event,
        Err(err) => return refuse(provider, &err),
    };
    let confirmed = if route.confirm {
        match gateway.confirm(&event).await {
            Ok(report) => Some(report),
            Err(err) => return refuse(provider, &err),
        }
    } else {
        None
    };
    let duplicate = route.seen_before.as_ref().is_some_and(|seen| seen(&event));
    let handler = route.handler.clone();
    // Run the handler in its own task so a panic becomes a 500, not a dropped connection.
    let outcome = tokio::spawn(handler(Delivery {
        event,
        confirmed,
        duplicate,
        account: gateway.account().map(str::to_owned),
    }))
    .await;
    match outcome {
        Ok(Ok(())) => answer(StatusCode::OK, gateway.callback_answer()),
        Ok(Err(err)) => {
            tracing::error!(provider, error = %err, "callback handler failed");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
        }
        Err(panic) => {
            tracing::error!(provider, error = %panic, "callback handler panicked");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
        }
    }
}
