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

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::distributions::Alphanumeric;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod callbacks;
mod config;
mod control_access;
pub mod dashboard;
pub mod faults;
mod form_body;
mod formapi;
pub mod journal;
mod onepunch;
mod page;
mod recording;
mod routes;
mod sandbox_state;
pub mod state;
pub mod webhooks;

pub use config::{
    BankEntry, BrandMount, Limit, Merchant, MonsterAccount, Profile, SandboxConfig, DEMO_API_KEY,
    DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN, DEMO_SECRET_KEY, DEMO_USERNAME,
};
pub use routes::router;
pub use sandbox_state::SandboxState;
use state::Delivery;
pub use state::Flavour;

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

    /// The merchant's webhooks received (`POST /merchant/webhooks`) still
    /// kept, oldest first.
    pub fn webhooks(&self) -> Vec<webhooks::ReceivedWebhook> {
        self.inner.journal().webhooks.all().cloned().collect()
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
