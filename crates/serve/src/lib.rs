//! `paybridge serve`: paybridge's guarantees for a merchant in any language,
//! over HTTP, on the ledger.
//!
//! Deposits and payouts go through the same [`paybridge::Gateway`] (with its
//! ledger) a Rust merchant uses, so an order id is sent at most once whatever
//! the caller retries; provider callbacks go through the library's own axum
//! route (verified, confirmed, applied through the ledger); every `/v1`
//! request needs an API key, compared by its SHA-256 in constant time.
//! docs/serve.md is the guide; `GET /openapi.json` describes the API.
#![deny(missing_docs)]

mod api;
mod body;
mod errors;
mod metrics;
mod openapi;
pub mod time;
mod webhooks;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use paybridge::axum::CallbackRoute;
use paybridge::ledger::{IdempotencyClaim, Ledger, LedgerState, ListFilter};
use paybridge::{Config, Error, Gateway};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use body::{
    AttemptBody, Customer, DepositBody, EventBody, EventDetailBody, EventsBody, OrderBody,
    OrdersBody, PayoutBody, ReplayBody,
};
pub use errors::{status_of_kind, ApiError, ErrorBody, ErrorDetail, STATUS_OF_KIND};
pub use openapi::openapi_json;

use api::Answer;

/// How long a claimed idempotency key holds before a new request may take it
/// over (its first request's process died): longer than any create may take.
const IDEMPOTENCY_LEASE: Duration = Duration::from_secs(5 * 60);

/// One configured account: its name in the API and its gateway (with the ledger).
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) gateway: Gateway,
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) accounts: Vec<Account>,
    pub(crate) default_account: String,
    pub(crate) ledger: Arc<dyn Ledger>,
    key_hashes: Vec<[u8; 32]>,
    max_body: usize,
    pub(crate) metrics: metrics::Metrics,
}

/// Every `/v1` route the key guards, as `(method, path template)`: the router
/// is built from this list's handlers and the OpenAPI document must describe
/// exactly these (a test holds it to that).
pub const V1_ROUTES: [(&str, &str); 8] = [
    ("POST", "/v1/deposits"),
    ("POST", "/v1/payouts"),
    ("GET", "/v1/deposits/{order_id}"),
    ("GET", "/v1/payouts/{order_id}"),
    ("GET", "/v1/orders"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{id}"),
    ("POST", "/v1/webhooks/{id}/replay"),
];

/// The service: build it from a configuration, then [`Service::router`].
#[derive(Debug, Clone)]
pub struct Service {
    shared: Arc<Shared>,
}

/// `sha256:<hex>` of an API key: what `[serve] api_keys` holds.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::from("sha256:");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

impl Service {
    /// The service of `config` over `ledger`: one account per provider
    /// section (named after the provider) and per `[accounts.NAME]`; the
    /// default account is `provider`'s when set, else the first.
    pub fn new(config: &Config, ledger: Arc<dyn Ledger>) -> paybridge::Result<Self> {
        let mut accounts = Vec::new();
        for provider in paybridge::providers::BUILT_IN {
            if config.section(provider).is_some() {
                accounts.push(Account {
                    name: provider.as_str().to_owned(),
                    gateway: Gateway::for_provider(config, provider)?.with_ledger(ledger.clone()),
                });
            }
        }
        for name in config.accounts.keys() {
            accounts.push(Account {
                name: name.clone(),
                gateway: Gateway::for_account(config, name)?.with_ledger(ledger.clone()),
            });
        }
        let default_account = match config.provider {
            Some(provider) => provider.as_str().to_owned(),
            None => accounts
                .first()
                .map(|a| a.name.clone())
                .ok_or_else(|| Error::Config {
                    key: "provider".into(),
                    reason: format!(
                        "{} configures no provider nor account to serve",
                        config.source
                    ),
                })?,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                accounts,
                default_account,
                ledger,
                key_hashes: config.serve.api_key_hashes.clone(),
                max_body: config.serve.max_body,
                metrics: metrics::Metrics::default(),
            }),
        })
    }

    /// The accounts served, by name.
    pub fn accounts(&self) -> Vec<&str> {
        self.shared
            .accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect()
    }

    /// The whole API. Serve it with connection info
    /// (`into_make_service_with_connect_info::<SocketAddr>()`), which decides
    /// whether `/healthz`, `/readyz` and `/metrics` need a key.
    pub fn router(&self) -> Router {
        let shared = self.shared.clone();
        let [deposits, payouts, deposit, payout, orders, events, event, replay] =
            V1_ROUTES.map(|(_, path)| path);
        let v1 = Router::new()
            .route(deposits, post(post_deposit))
            .route(payouts, post(post_payout))
            .route(deposit, get(api::get_deposit))
            .route(payout, get(api::get_payout))
            .route(orders, get(api::list_orders))
            .route(events, get(webhooks::list_events))
            .route(event, get(webhooks::get_event))
            .route(replay, post(webhooks::replay_event))
            .route_layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                require_key,
            ));
        let open = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            .route_layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                key_beyond_loopback,
            ));
        let docs = Router::new().route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    openapi_json(),
                )
            }),
        );
        v1.merge(open)
            .merge(docs)
            .with_state(shared.clone())
            .merge(self.callbacks())
            .layer(DefaultBodyLimit::max(self.shared.max_body))
            .layer(axum::middleware::from_fn_with_state(shared, observe))
    }

    /// `POST /v1/callbacks/{account}`: each account's callbacks through the
    /// library's own route, confirmed by status and applied through the
    /// ledger; the merchant hears of them through the ledger's events.
    fn callbacks(&self) -> Router {
        let mut router = Router::new();
        for account in &self.shared.accounts {
            let route = CallbackRoute::new(account.gateway.clone(), |_delivery| async {
                Ok::<(), String>(())
            })
            .confirm(true);
            router = router.nest(
                &format!("/v1/callbacks/{}", account.name),
                route.into_router(),
            );
        }
        router
    }
}

/// Records every request's duration by route template, and callbacks by
/// answer, under one `http.server` span per request with OpenTelemetry's
/// HTTP names (the route template, never the path: it holds order ids).
async fn observe(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            // Callback routes are nested: name them by their template.
            match request.uri().path().strip_prefix("/v1/callbacks/") {
                Some(_) => "/v1/callbacks/{account}".into(),
                None => "unmatched".into(),
            }
        });
    let account = request
        .uri()
        .path()
        .strip_prefix("/v1/callbacks/")
        .map(|rest| rest.split('/').next().unwrap_or_default().to_owned());
    let span = tracing::info_span!(
        "http.server",
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    shared.metrics.request(&route, status, started);
    if let Some(account) = account.filter(|a| shared.accounts.iter().any(|k| &k.name == a)) {
        shared.metrics.callback(&account, status);
    }
    response
}

/// The key of `Authorization: Bearer <key>`; the scheme's name in any case,
/// as HTTP has it.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Whether the request carries one of the configured keys, compared by hash
/// in constant time against every one.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = bearer_token(headers) else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut matched = subtle::Choice::from(0);
    for hash in &shared.key_hashes {
        matched |= hash.ct_eq(&digest);
    }
    bool::from(matched)
}

fn unauthorized() -> Response {
    ApiError::new(
        "unauthorized",
        "an API key is needed: Authorization: Bearer <key>",
    )
    .into_response()
}

async fn require_key(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match authorized(&shared, request.headers()) {
        true => next.run(request).await,
        false => unauthorized(),
    }
}

async fn key_beyond_loopback(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
    match loopback || authorized(&shared, request.headers()) {
        true => next.run(request).await,
        false => unauthorized(),
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.ledger.list(&ListFilter::open()).await {
        Ok(_) => "ready".into_response(),
        Err(err) => {
            ApiError::new("local", format!("the ledger does not answer: {err}")).into_response()
        }
    }
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    let ambiguous = match shared.ledger.list(&ListFilter::open()).await {
        Ok(open) => open
            .iter()
            .filter(|r| r.state == LedgerState::Unknown)
            .count(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        shared.metrics.render(ambiguous),
    )
        .into_response()
}

/// A POST's body read strictly, then `work` run under its idempotency key
/// when it has one: the same key and body answer the first answer again.
async fn idempotent<T, F, Fut>(
    shared: &Arc<Shared>,
    route: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    work: F,
) -> Response
where
    T: serde::de::DeserializeOwned + serde::Serialize,
    F: FnOnce(T) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::new(
                "body_too_large",
                format!(
                    "the body is larger than the {}-byte limit ([serve] max_body)",
                    shared.max_body
                ),
            )
            .into_response()
        }
        Err(rejection) => {
            return ApiError::new("invalid_request", rejection.body_text()).into_response()
        }
    };
    let parsed: T = match api::post_body(headers, body.clone()).await {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let Some(key) = headers.get("idempotency-key") else {
        return work(parsed).await.into_response(false);
    };
    // A key that cannot be read is refused: carried out without it, a retry
    // would not be answered as the client was promised.
    let Ok(key) = key.to_str() else {
        return ApiError::new("invalid_request", "an Idempotency-Key is printable ASCII")
            .field("Idempotency-Key")
            .into_response();
    };
    let key = key.trim().to_owned();
    if key.is_empty() || key.len() > 255 {
        return ApiError::new(
            "invalid_request",
            "an Idempotency-Key has 1 to 255 characters",
        )
        .field("Idempotency-Key")
        .into_response();
    }
    // Keys are kept per API key: its hash names the scope.
    let scope = bearer_token(headers).map(hash_key).unwrap_or_default();
    // The body as read, not as written: the same fields and values in
    // another order or spacing are the same request (a client re-encoding
    // it on retry); the route is in it, so a key is one route's.
    let canonical = serde_json::to_string(&parsed).unwrap_or_default();
    let body_hash = hash_key(&format!("{route}\n{canonical}"));
    let lease = i64::try_from(IDEMPOTENCY_LEASE.as_millis()).unwrap_or(i64::MAX);
    match shared.ledger.claim_idempotency(&scope, &key, &body_hash, lease).await {
        Err(err) => ApiError::from(err).into_response(),
        Ok(IdempotencyClaim::InFlight) => ApiError::new(
            "idempotency_key_in_use",
            "this Idempotency-Key's first request is still being answered; ask again shortly",
        )
        .into_response(),
        Ok(IdempotencyClaim::Reused) => ApiError::new(
            "idempotency_key_reused",
            "this Idempotency-Key was first used with another body; use a new key for a new request",
        )
        .into_response(),
        Ok(IdempotencyClaim::Replay { status, answer }) => Answer { status, body: answer }.into_response(true),
        Ok(_) => {
            let answer = work(parsed).await;
            // A 5xx held nothing and asks for a retry under the same id: kept,
            // it would answer that retry with the failure for the key's life.
            let kept = match answer.status >= 500 {
                true => shared.ledger.release_idempotency(&scope, &key).await,
                false => {
                    shared
                        .ledger
                        .finish_idempotency(&scope, &key, answer.status, &answer.body)
                        .await
                }
            };
            if let Err(err) = kept {
                tracing::error!(error = %err, "an idempotent answer could not be kept; a retry will be answered from the order id");
            }
            answer.into_response(false)
        }
    }
}

async fn post_deposit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let handler = shared.clone();
    idempotent(
        &shared,
        V1_ROUTES[0].1,
        &headers,
        body,
        |parsed| async move { api::create_deposit(&handler, parsed).await },
    )
    .await
}

async fn post_payout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let handler = shared.clone();
    idempotent(
        &shared,
        V1_ROUTES[1].1,
        &headers,
        body,
        |parsed| async move { api::create_payout(&handler, parsed).await },
    )
    .await
}

/// The delivery of the ledger's events to `[serve.webhooks]`, when it is
/// set: an [`Outbox`](paybridge::webhooks::Outbox) over `ledger` sending to
/// its URL, signed with its secrets. Run it beside [`run`].
pub fn webhook_outbox(
    config: &Config,
    ledger: Arc<dyn Ledger>,
) -> paybridge::Result<Option<paybridge::webhooks::Outbox>> {
    use paybridge::webhooks::{
        lease_for, HttpReceiver, Outbox, WebhookEndpoint, WebhookSecret, ATTEMPT_TIMEOUT,
    };
    let Some(url) = &config.serve.webhooks_url else {
        return Ok(None);
    };
    let secrets = config
        .serve
        .webhook_secrets
        .iter()
        .map(|s| WebhookSecret::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config {
            key: "serve.webhooks.secrets".into(),
            reason: e.to_string(),
        })?;
    let endpoint = WebhookEndpoint::new("serve.webhooks.url", url, secrets)?;
    let timeout = config.serve.webhook_timeout.unwrap_or(ATTEMPT_TIMEOUT);
    let receiver = HttpReceiver::with_timeout(endpoint, timeout)?;
    // A claim outlives an attempt; an instance killed mid-delivery leaves its
    // claims to the others once they run out.
    let mut outbox = Outbox::new(ledger, Arc::new(receiver)).lease(lease_for(timeout));
    if let Some(schedule) = &config.serve.webhook_retry_schedule {
        outbox = outbox.retry_schedule(schedule);
    }
    Ok(Some(outbox))
}

/// Serves `service` on `listener` until `shutdown` completes; then stops
/// accepting and lets what is in flight finish within `grace`.
pub async fn run(
    service: &Service,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = service
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        done = &mut server => return done,
        () = shutdown => {}
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(done) => done,
        Err(_) => {
            tracing::warn!("requests still in flight after the shutdown deadline were cut");
            Ok(())
        }
    }
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
