//! The route's settings and its router: one `POST` path per gateway.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use paybridge_core::MAX_CALLBACK_BODY;

#[cfg(feature = "ledger")]
use super::owed::OwedDeliveries;
use super::receive::receive;
use super::Delivery;
use crate::{CallbackEvent, Error, Gateway};

type SeenBefore = Arc<dyn Fn(&CallbackEvent) -> bool + Send + Sync>;
type RefLookup = Arc<dyn Fn(Option<&str>) -> Option<String> + Send + Sync>;

/// Builds the callback route.
pub struct CallbackRoute<H> {
    /// One gateway served at `/`, or one per named account at `/{account}`.
    pub(super) gateways: Vec<Gateway>,
    per_account: bool,
    pub(super) handler: H,
    pub(super) confirm: bool,
    pub(super) max_body: usize,
    pub(super) seen_before: Option<SeenBefore>,
    pub(super) provider_ref_lookup: Option<RefLookup>,
    pub(super) handler_lease: std::time::Duration,
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
        let worker = OwedDeliveries::for_route(route.clone());
        (Self::router(route), worker)
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

/// A provider whose callbacks are safe only against the merchant's stored
/// reference ([`crate::PaymentGateway::callbacks_need_stored_reference`]) needs the
/// ledger's, the merchant's lookup, or a status confirmation.
pub(super) fn unprotected<H>(route: &CallbackRoute<H>, gateway: &Gateway) -> bool {
    #[cfg(feature = "ledger")]
    let keeps_tokens = gateway.ledger().is_some();
    #[cfg(not(feature = "ledger"))]
    let keeps_tokens = false;
    gateway.callbacks_need_stored_reference()
        && route.provider_ref_lookup.is_none()
        && !keeps_tokens
        && !route.confirm
}
