//! The adapter conformance kit: what every [`PaymentGateway`] must do, checked
//! against a scripted server, for paybridge's adapters and a merchant's own.
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! use paybridge_core::{DepositRequest, Money, StatusQuery, OrderId, PaymentGateway};
//! use paybridge_testkit::conformance::Adapter;
//! # fn my_gateway(_: &str, _: paybridge_wire::transport::TransportConfig) -> paybridge_core::Result<Arc<dyn PaymentGateway>> { unimplemented!() }
//!
//! let deposit = DepositRequest::builder("KIT-1", Money::parse("100", "MYR").unwrap())
//!     .build()
//!     .unwrap();
//! Adapter::new("mine", my_gateway)
//!     .secret("my-signing-key")
//!     .write_path("/orders")
//!     .deposit(deposit)
//!     .status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()))
//!     .run()
//!     .await
//!     .assert_passed();
//! # }
//! ```
//!
//! The checks:
//! 1. `capabilities()` matches behaviour for every
//!    [`Operation`](paybridge_core::Operation): an operation left out answers
//!    [`Error::Unsupported`] and sends nothing; one listed is attempted.
//! 2. Invalid requests fail with [`Error::InvalidRequest`] before any I/O.
//! 3. Writes reach their endpoint at most once under every fault the server
//!    scripts, and an outcome no status query can settle is
//!    [`Error::Ambiguous`].
//! 4. No secret in `Debug`, in any error, or in the logs (TRACE).
//! 5. Every error has a kind from [`KINDS`].

use std::sync::Arc;

use paybridge_core::{
    DepositRequest, Error, PaymentGateway, Result, StatusQuery, WithdrawalRequest,
};
use paybridge_wire::transport::TransportConfig;

mod checks;
mod report;
mod server;

use crate::logs::Captured as LogBuffer;
use checks::Run;
pub use report::{Check, Report};
pub use server::Fault;

/// Every kind [`Error::kind`] may name.
pub const KINDS: &[&str] = &Error::KINDS;

/// Builds the adapter under test for a base URL and transport settings.
pub type Build = dyn Fn(&str, TransportConfig) -> Result<Arc<dyn PaymentGateway>> + Send + Sync;

/// The adapter under test and what the kit needs to exercise it.
pub struct Adapter {
    name: String,
    build: Box<Build>,
    secrets: Vec<String>,
    canned: Vec<(String, String)>,
    write_paths: Vec<String>,
    deposit: Option<DepositRequest>,
    withdrawal: Option<WithdrawalRequest>,
    invalid_deposits: Vec<DepositRequest>,
    status_query: Option<StatusQuery>,
}

impl std::fmt::Debug for Adapter {
    /// Names the adapter only: the secrets it holds are what the kit checks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A valid payout of 250 `currency` for the kit (`KIT-W-1` to bank `12`),
/// for adapters whose payouts take no more than the bank account.
pub fn payout(currency: &str) -> WithdrawalRequest {
    let amount = paybridge_core::Money::parse("250", currency).expect("a kit currency");
    WithdrawalRequest::builder("KIT-W-1", amount, "12", "John Doe", "123")
        .build()
        .expect("a complete payout")
}

/// The merchant user name a form-API adapter is built with in the kit.
pub const FORM_API_MERCHANT: &str = "kit-merchant";
/// The api_key a form-API adapter is built with in the kit.
pub const FORM_API_KEY: &str = "kit-api-key-7Qz";
/// The callback secret a form-API adapter is built with in the kit.
pub const FORM_API_SECRET: &str = "kit-secret-key-9Xw";
/// The auth token the kit's server hands a form-API adapter.
const FORM_API_AUTH_TOKEN: &str = "kit-auth-token-3Lm";

impl Adapter {
    /// An adapter of the merchant form API (Vpay88, One1Pay), built by `build`
    /// with [`FORM_API_MERCHANT`], [`FORM_API_KEY`] and [`FORM_API_SECRET`]: those
    /// and the auth token are its secrets, the auth call is answered under every
    /// fault, and both create paths are writes.
    pub fn form_api(
        name: impl Into<String>,
        build: impl Fn(&str, TransportConfig) -> Result<Arc<dyn PaymentGateway>> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, build)
            .secret(FORM_API_KEY)
            .secret(FORM_API_SECRET)
            .secret(FORM_API_AUTH_TOKEN)
            .canned(
                "/merchant/auth",
                format!(r#"{{"status": true, "auth": "{FORM_API_AUTH_TOKEN}"}}"#),
            )
            .write_path("/merchant/generate_orders")
            .write_path("/merchant/withdraw_orders")
    }

    /// An adapter named `name`, built by `build` for each scripted server.
    pub fn new(
        name: impl Into<String>,
        build: impl Fn(&str, TransportConfig) -> Result<Arc<dyn PaymentGateway>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            build: Box::new(build),
            secrets: Vec::new(),
            canned: Vec::new(),
            write_paths: Vec::new(),
            deposit: None,
            withdrawal: None,
            invalid_deposits: Vec::new(),
            status_query: None,
        }
    }

    /// A secret the adapter holds; it must show nowhere.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// A request to `path` that the server answers with `body` (HTTP 200) under
    /// every fault: an auth token, say, so that faults reach the write itself.
    pub fn canned(mut self, path: impl Into<String>, body: impl Into<String>) -> Self {
        self.canned.push((path.into(), body.into()));
        self
    }

    /// A path that creates an order (a write).
    pub fn write_path(mut self, path: impl Into<String>) -> Self {
        self.write_paths.push(path.into());
        self
    }

    /// A valid deposit.
    pub fn deposit(mut self, request: DepositRequest) -> Self {
        self.deposit = Some(request);
        self
    }

    /// A valid payout, for adapters that send them.
    pub fn withdrawal(mut self, request: WithdrawalRequest) -> Self {
        self.withdrawal = Some(request);
        self
    }

    /// A deposit the adapter must refuse before sending.
    pub fn invalid_deposit(mut self, request: DepositRequest) -> Self {
        self.invalid_deposits.push(request);
        self
    }

    /// A status query the adapter can send.
    pub fn status_query(mut self, query: StatusQuery) -> Self {
        self.status_query = Some(query);
        self
    }

    /// Runs every check; logs are captured at TRACE on this thread meanwhile
    /// (run it from a current-thread runtime, as `#[tokio::test]` is).
    pub async fn run(self) -> Report {
        let logs = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut run = Run::new(&self);
        run.capabilities().await;
        run.invalid_requests().await;
        run.writes_under_faults().await;
        run.secrets(&logs).await;
        run.kinds();
        Report {
            adapter: self.name.clone(),
            checks: run.into_checks(),
        }
    }
}
