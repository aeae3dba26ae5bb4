//! A stateful local emulator of Vpay88, One1Pay and ONE-PUNCH.
//!
//! One server serves all three under path prefixes (`/vpay88`, `/one1pay`,
//! `/onepunch`), so `http://HOST:PORT/vpay88` is a Vpay88 base URL. It answers as
//! the providers' documents say (or, under [`Profile::Observed`], the form API as
//! live servers are seen to), keeps orders and balances, serves a payment page
//! with "Pay" and "Fail" buttons, and calls merchants back with real tokens and
//! signatures.
//!
//! It is written from the documents (and public integrations' evidence) alone and
//! shares no wire code with the adapters, so a misreading cannot hide by being
//! made on both sides.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = paybridge_sandbox::Sandbox::start(
//!     paybridge_sandbox::SandboxConfig::default(),
//!     "127.0.0.1:0".parse().unwrap(),
//! )
//! .await?;
//! println!("Vpay88 base URL: {}/vpay88", sandbox.base_url());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod config;
pub mod dashboard;
pub mod faults;
mod formapi;
pub mod journal;
mod onepunch;
mod page;
mod recording;
pub mod state;

pub use config::{
    BankEntry, BrandMount, Limit, Merchant, MonsterAccount, Profile, SandboxConfig, DEMO_API_KEY,
    DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN, DEMO_SECRET_KEY, DEMO_USERNAME,
};
pub use state::Flavour;
use state::{Delivery, State};

/// What every handler of a sandbox shares: its configuration, mounts, orders,
/// journal, faults, the HTTP client it calls merchants back with, its address
/// and its token.
#[derive(Debug)]
pub struct SandboxState {
    config: SandboxConfig,
    /// Every form-API mount: Vpay88, One1Pay, then each configured brand.
    mounts: Vec<state::FormProvider>,
    state: Mutex<State>,
    journal: Mutex<journal::Journal>,
    faults: Mutex<faults::Faults>,
    client: reqwest::Client,
    base_url: Mutex<String>,
    /// Required by the dashboard and the control endpoints when the sandbox
    /// listens beyond loopback.
    token: std::sync::OnceLock<String>,
}

impl SandboxState {
    /// The form-API mount named `name`, if any.
    pub(crate) fn mount(&self, name: &str) -> Option<state::FormProvider> {
        self.mounts.iter().copied().find(|m| m.name() == name)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicked handler must not take the whole sandbox down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn journal(&self) -> MutexGuard<'_, journal::Journal> {
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A JSON answer, with the documents' trailing comma when configured.
    fn reply(&self, value: impl serde::Serialize) -> Response {
        let text = if self.config.trailing_commas {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            match pretty.rfind("\n}") {
                Some(at) if pretty.len() > 2 => format!("{},{}", &pretty[..at], &pretty[at..]),
                _ => pretty,
            }
        } else {
            serde_json::to_string(&value).unwrap_or_default()
        };
        let body = Bytes::from(text);
        recording::answered(&body);
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    /// Posts a callback body to `url`, retrying with backoff until HTTP 200 or the
    /// attempts run out. Runs in the background; every attempt is journaled.
    fn deliver(self: &Arc<Self>, key: journal::JournalKey, url: String, body: Value) {
        let (twice, wait) = self.faults().callback_plan();
        let copies = if twice { 2 } else { 1 };
        for copy in 0..copies {
            let label = if copy == 0 { "callback" } else { "duplicate" };
            self.send_callback(&key, label, &url, &body, wait);
        }
    }

    /// Journals one callback and sends it after `wait`, in the background.
    fn send_callback(
        self: &Arc<Self>,
        key: &journal::JournalKey,
        label: &'static str,
        url: &str,
        body: &Value,
        wait: Duration,
    ) -> u64 {
        let id = self.journal().start_delivery(key, label, url, body);
        let inner = self.clone();
        let (url, body) = (url.to_owned(), body.clone());
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            inner.deliver_once(id, &url, &body).await;
        });
        id
    }

    /// Whether the sandbox may call `url` back: loopback hosts, and those the
    /// configuration allows.
    fn may_call(&self, url: &str) -> Result<(), String> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| format!("{url:?} is not a URL"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = bare == "localhost"
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback || self.config.allow_callback_hosts.iter().any(|h| h == bare) {
            Ok(())
        } else {
            Err(format!(
                "not sent: {bare} is not loopback and not in allow_callback_hosts"
            ))
        }
    }

    async fn deliver_once(&self, id: u64, url: &str, body: &Value) {
        if let Err(refusal) = self.may_call(url) {
            tracing::warn!(url, "{refusal}");
            self.journal().attempt(
                id,
                journal::Attempt {
                    at: now_text(),
                    http_status: None,
                    response: refusal,
                    latency_us: 0,
                },
            );
            return;
        }
        let mut delay = Duration::from_millis(self.config.callback_retry_ms);
        for _ in 0..self.config.callback_attempts.max(1) {
            let started = Instant::now();
            let sent = self
                .client
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_string())
                .send()
                .await;
            let (http_status, response) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (
                        Some(status),
                        journal::excerpt(&r.text().await.unwrap_or_default()),
                    )
                }
                Err(e) => (None, journal::excerpt(&e.to_string())),
            };
            let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.journal().attempt(
                id,
                journal::Attempt {
                    at: now_text(),
                    http_status,
                    response,
                    latency_us,
                },
            );
            if http_status == Some(200) {
                tracing::info!(url, "callback delivered");
                return;
            }
            tracing::warn!(url, "callback not acknowledged; retrying");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(Duration::from_secs(10));
        }
    }
}

/// How many of each thing a sandbox holds; each is bounded by `max_orders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Form-API orders.
    pub orders: usize,
    /// ONE-PUNCH payments.
    pub payments: usize,
    /// Payment pages.
    pub pages: usize,
    /// Orders with a journal.
    pub journaled: usize,
    /// Auth tokens still valid.
    pub auth_tokens: usize,
    /// Order ids with a tally of create requests.
    pub create_tallies: usize,
    /// Order ids with a tally of status queries.
    pub status_tallies: usize,
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    inner: Arc<SandboxState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free one) and serves in the background.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(SandboxState::new(config));
        *inner.base_url.lock().unwrap_or_else(|p| p.into_inner()) = format!("http://{addr}");
        if !addr.ip().is_loopback() {
            let _ = inner.token.set(random_token(32));
            tracing::warn!(
                %addr,
                "the sandbox listens beyond loopback: its dashboard and control endpoints need its token"
            );
        }
        let app = router(inner.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Self {
            addr,
            inner,
            shutdown: Some(tx),
        })
    }

    /// The reading of the form API it answers by.
    pub fn profile(&self) -> Profile {
        self.inner.config.profile
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the dashboard and control endpoints require (`?token=` or
    /// `Authorization: Bearer`), when the sandbox listens beyond loopback.
    pub fn token(&self) -> Option<&str> {
        self.inner.token.get().map(String::as_str)
    }

    /// `http://ADDR`; append `/vpay88`, `/one1pay` or `/onepunch`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Callback deliveries the journal still holds, oldest order first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        let journal = self.inner.journal();
        journal
            .all()
            .flat_map(|(key, log)| {
                log.deliveries.iter().map(|d| Delivery {
                    provider: key.provider,
                    reference: key.reference.clone(),
                    url: d.url.clone(),
                    attempts: u32::try_from(d.attempts.len()).unwrap_or(u32::MAX),
                    delivered: d.delivered,
                })
            })
            .collect()
    }

    /// How much the sandbox holds, for tests of its bounds.
    pub fn held(&self) -> Held {
        let state = self.inner.state();
        Held {
            orders: state.orders.len(),
            payments: state.payments.len(),
            pages: state.pages.len(),
            journaled: self.inner.journal().len(),
            auth_tokens: state.auth_tokens.len(),
            create_tallies: state.create_requests.len(),
            status_tallies: state.status_requests.len(),
        }
    }

    /// The bytes the journal holds, and its budget.
    pub fn journal_bytes(&self) -> (usize, usize) {
        self.inner.journal().bytes()
    }

    /// Every form-API order the sandbox holds.
    pub fn orders(&self) -> Vec<state::Order> {
        self.inner.state().orders.values().cloned().collect()
    }

    /// How many create requests (`generate_orders`, `withdraw_orders`, ONE-PUNCH
    /// create payment) arrived for each `(provider, kind, order id)`: a number
    /// above one means a client sent an order again.
    pub fn create_requests(&self) -> state::RequestCounts {
        self.inner.state().create_requests.map().clone()
    }

    /// How many Vpay88/One1Pay status queries arrived for each `(provider,
    /// kind, order id)`.
    pub fn status_requests(&self) -> state::RequestCounts {
        self.inner.state().status_requests.map().clone()
    }

    /// Every auth token issued so far (for tests that prove none leaks).
    pub fn issued_auth_tokens(&self) -> Vec<String> {
        self.inner
            .state()
            .auth_tokens
            .map()
            .keys()
            .map(|(_, token)| token.clone())
            .collect()
    }

    /// Requests the fault layer saw, and how many it faulted.
    pub fn fault_counts(&self) -> (u64, u64) {
        let faults = self.inner.faults();
        (faults.seen, faults.injected)
    }

    /// Every ONE-PUNCH payment the sandbox holds.
    pub fn payments(&self) -> Vec<state::Payment> {
        self.inner.state().payments.values().cloned().collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl SandboxState {
    /// Fresh state from a configuration.
    pub fn new(mut config: SandboxConfig) -> Self {
        if config.profile == Profile::Observed {
            config::add_observed_currencies(&mut config);
        }
        let mut state = State::default();
        let brands = config
            .brands
            .iter()
            .map(|brand| state::FormProvider::brand(&brand.name, brand.like));
        let mounts: Vec<state::FormProvider> =
            [state::FormProvider::VPAY88, state::FormProvider::ONE1PAY]
                .into_iter()
                .chain(brands)
                .collect();
        for &provider in &mounts {
            for merchant in config.merchants(provider.name()) {
                for (currency, amount) in &merchant.balances {
                    state.balances.insert(
                        (provider, merchant.username.clone(), currency.clone()),
                        *amount,
                    );
                }
            }
        }
        // Callbacks follow no redirect: a provider posts to the merchant's
        // address and nowhere else.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "the callback client could not be built with its timeout; using one without");
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default()
            });
        let faults = Mutex::new(faults::Faults::new(config.faults.clone()));
        let journal = Mutex::new(journal::Journal::with_budget(
            config.max_orders,
            config.journal_bytes,
        ));
        Self {
            config,
            mounts,
            state: Mutex::new(state),
            journal,
            faults,
            client,
            base_url: Mutex::new(String::new()),
            token: std::sync::OnceLock::new(),
        }
    }
}

/// The whole sandbox as an axum router (for embedding in tests).
pub fn router(inner: Arc<SandboxState>) -> Router<()> {
    let mounts = inner.mounts.iter().fold(Router::new(), |router, &mount| {
        router.merge(formapi::router(inner.clone(), mount))
    });
    mounts
        .merge(onepunch::router(inner.clone()))
        .merge(
            Router::new()
                .route(
                    "/_sandbox/faults",
                    axum::routing::get(fault_stats).post(set_faults),
                )
                .with_state(inner.clone()),
        )
        .merge(dashboard::router(inner.clone()))
        .layer(middleware::from_fn_with_state(inner, front))
}

/// Every request passes here, outermost first: the access log, the token
/// guard, fault injection, then the journal. One middleware rather than four
/// layers, because each layer costs a request allocations of its own.
async fn front(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
    request: Request,
    next: Next,
) -> Response {
    let access = tracing::enabled!(target: ACCESS_LOG, tracing::Level::INFO).then(|| {
        // Paths can carry signatures; they are not secrets, but query strings are dropped.
        (
            Instant::now(),
            request.method().clone(),
            request.uri().path().to_owned(),
        )
    });
    let control = is_control(request.uri().path());
    let refused = if control {
        refused_from_elsewhere(&inner, &request).or_else(|| refused_without_token(&inner, &request))
    } else {
        None
    };
    let mut response = match refused {
        Some(refusal) => refusal,
        None => {
            faults::inject(&inner, request, |request| {
                recording::record(&inner, request, next)
            })
            .await
        }
    };
    if control {
        // The dashboard sets its own policy (with its script's nonce); the
        // JSON behind it needs none of a page's.
        let headers = response.headers_mut();
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(header::HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            ));
        headers.insert(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static("DENY"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
    }
    if let Some((started, method, path)) = access {
        tracing::info!(
            target: ACCESS_LOG,
            "{method} {path} {} {:.1?}",
            response.status().as_u16(),
            started.elapsed()
        );
    }
    response
}

/// The access log's target.
const ACCESS_LOG: &str = "paybridge_sandbox::access";

async fn set_faults(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
    axum::Json(config): axum::Json<faults::FaultConfig>,
) -> Response {
    *inner.faults() = faults::Faults::new(config);
    inner.reply(serde_json::json!({ "status": true }))
}

async fn fault_stats(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
) -> Response {
    let faults = inner.faults();
    inner.reply(serde_json::json!({
        "seen": faults.seen,
        "injected": faults.injected,
        "config": faults.config(),
    }))
}

/// Whether `path` is the dashboard or a control endpoint (not a provider's
/// API, nor a payment page, which merchants and payers must reach).
fn is_control(path: &str) -> bool {
    path == "/"
        || path.starts_with("/_sandbox/")
        || path
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, rest)| rest.starts_with("_sandbox/"))
}

/// The refusal of a dashboard or control request from another site: a
/// browser's `Sec-Fetch-Site: cross-site`, an `Origin` that is not this
/// sandbox's (a cross-site form post or `fetch`), or, on a loopback sandbox,
/// a `Host` that is not its own address (DNS rebinding: a page of
/// `evil.example` whose name now points at 127.0.0.1). Clients that send
/// neither `Origin` nor `Sec-Fetch-Site` (scripts, tests) pass.
fn refused_from_elsewhere(inner: &SandboxState, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let forbidden = |why: &str| Some((StatusCode::FORBIDDEN, why.to_owned()).into_response());
    let host = text(header::HOST).unwrap_or_default();
    if inner.token.get().is_none() && !is_own_host(&inner.base_url(), host) {
        return forbidden(&format!(
            "refused: Host {host:?} is not this sandbox's address (use http://127.0.0.1:PORT or http://localhost:PORT)"
        ));
    }
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return forbidden(
            "refused: a cross-site request to the sandbox's dashboard or control endpoints",
        );
    }
    if let Some(origin) = text(header::ORIGIN) {
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host));
        if !own {
            return forbidden(&format!(
                "refused: Origin {origin:?} is not this sandbox's ({host})"
            ));
        }
    }
    None
}

/// Whether `host` (a `Host` header) names a loopback sandbox at `base_url`:
/// its own address, or localhost, 127.0.0.1 or [::1], with its port. A
/// sandbox whose address is not known yet (a router embedded in a test)
/// takes those names with any port.
fn is_own_host(base_url: &str, host: &str) -> bool {
    let own = base_url.strip_prefix("http://").unwrap_or_default();
    if !own.is_empty() && host.eq_ignore_ascii_case(own) {
        return true;
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    let loopback = matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    );
    let own_port = own.rsplit_once(':').map(|(_, port)| port);
    loopback
        && match own_port {
            Some(own_port) => port == Some(own_port),
            None => true,
        }
}

/// The refusal of a dashboard or control request without the token, when one is set.
fn refused_without_token(inner: &SandboxState, request: &Request) -> Option<Response> {
    let token = inner.token.get()?;
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = request.uri().query().unwrap_or_default();
    let given = bearer.map(str::to_owned).or_else(|| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v)
            })
    });
    let matches = given.is_some_and(|given| {
        paybridge_signing::verify_hex(
            &paybridge_signing::md5_hex(&[token]),
            &paybridge_signing::md5_hex(&[&given]),
        )
    });
    (!matches).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            "this sandbox listens beyond loopback: give the token it printed at start (?token= or Authorization: Bearer)",
        )
            .into_response()
    })
}

/// Reads a form body sent as `multipart/form-data` or urlencoded, as PHP does.
/// Repeated keys keep the last value, as PHP does.
pub(crate) async fn read_form(request: Request) -> Result<HashMap<String, String>, String> {
    const MULTIPART: &str = "multipart/form-data";
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().get(..MULTIPART.len()))
        .is_some_and(|start| start.eq_ignore_ascii_case(MULTIPART.as_bytes()));
    if multipart {
        // Boxed: a multipart reader's state would otherwise weigh on every
        // form request's future.
        Box::pin(read_multipart(request)).await
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| e.body_text())?;
        // A map keeps the last of a repeated key.
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())?;
        // A copy, so the journal does not pin the connection's read buffer.
        recording::received(
            || journal::Received::Urlencoded(Bytes::copy_from_slice(&body)),
            &fields,
        );
        Ok(fields)
    }
}

async fn read_multipart(request: Request) -> Result<HashMap<String, String>, String> {
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| e.body_text())?;
    let mut fields = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(|e| e.body_text())?;
        fields.insert(name, value);
    }
    recording::received_fields(&fields);
    Ok(fields)
}

/// The `outcome` field of a settle form (payment page button or control
/// endpoint); empty when absent, which `settle_order` or `settle_payment` then
/// refuses by name.
async fn read_outcome(request: Request) -> String {
    read_form(request)
        .await
        .ok()
        .and_then(|mut f| f.remove("outcome"))
        .unwrap_or_default()
}

fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS`, UTC standing in for the provider's local time.
fn now_text() -> String {
    time_text(std::time::SystemTime::now())
}

/// `at` as `YYYY-MM-DD HH:MM:SS` UTC.
fn time_text(at: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
