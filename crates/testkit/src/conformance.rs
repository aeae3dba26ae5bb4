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
//! 1. `capabilities()` matches behaviour for every [`Operation`]: an operation
//!    left out answers [`Error::Unsupported`] and sends nothing; one listed is
//!    attempted.
//! 2. Invalid requests fail with [`Error::InvalidRequest`] before any I/O.
//! 3. Writes reach their endpoint at most once under every fault the server
//!    scripts, and an outcome no status query can settle is
//!    [`Error::Ambiguous`].
//! 4. No secret in `Debug`, in any error, or in the logs (TRACE).
//! 5. Every error has a kind from [`KINDS`].

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paybridge_core::{
    CallbackRequest, Currency, DepositRequest, Error, Operation, PaymentGateway, Result,
    StatusQuery, WithdrawalRequest,
};
use paybridge_wire::transport::{ResolvePolicy, RetryPolicy, TransportConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every kind [`Error::kind`] may name.
pub const KINDS: &[&str] = &Error::KINDS;

/// Builds the adapter under test for a base URL and transport settings.
pub type Build = dyn Fn(&str, TransportConfig) -> Result<Arc<dyn PaymentGateway>> + Send + Sync;

/// What the scripted server does with a request no canned answer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this HTTP status with a small HTML page.
    Status(u16),
    /// Closes the connection without answering.
    Close,
    /// Answers only after the adapter's request timeout.
    Stall,
    /// Answers HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answers HTTP 200 with an empty body.
    Empty,
    /// Answers HTTP 200 with JSON cut off midway.
    Truncated,
}

impl Fault {
    /// Every fault a write is checked under.
    pub const ALL: [Fault; 8] = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Close,
        Fault::Stall,
        Fault::Garbage,
        Fault::Empty,
        Fault::Truncated,
    ];

    fn describe(self) -> String {
        match self {
            Fault::Status(status) => format!("answers HTTP {status}"),
            Fault::Close => "closes without answering".into(),
            Fault::Stall => "answers after the timeout".into(),
            Fault::Garbage => "answers a body that is not JSON".into(),
            Fault::Empty => "answers an empty body".into(),
            Fault::Truncated => "answers JSON cut off midway".into(),
        }
    }
}

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

/// One check's result.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// What went wrong; `None` when it passed.
    pub failure: Option<String>,
}

/// The results of [`Adapter::run`].
#[derive(Debug)]
pub struct Report {
    /// The adapter's name.
    pub adapter: String,
    /// Every check made.
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that failed.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.failure.is_some()).collect()
    }

    /// Panics listing every failed check.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        if failures.is_empty() {
            return;
        }
        let mut text = format!("{}: {} check(s) failed\n", self.adapter, failures.len());
        for check in failures {
            let _ = writeln!(
                text,
                "- {}: {}",
                check.name,
                check.failure.as_deref().unwrap_or("")
            );
        }
        panic!("{text}");
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
        let mut run = Run {
            adapter: &self,
            checks: Vec::new(),
            errors: Vec::new(),
        };
        run.capabilities().await;
        run.invalid_requests().await;
        run.writes_under_faults().await;
        run.secrets(&logs).await;
        run.kinds();
        Report {
            adapter: self.name.clone(),
            checks: run.checks,
        }
    }
}

#[derive(Debug)]
struct Run<'a> {
    adapter: &'a Adapter,
    checks: Vec<Check>,
    /// Every error seen, for the secret and kind checks.
    errors: Vec<Error>,
}

/// Settings that make faults quick to provoke: a short timeout, one status
/// query to resolve an unknown outcome.
fn quick_transport() -> TransportConfig {
    TransportConfig::default()
        .request_timeout(Duration::from_millis(300))
        .retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        })
        .resolve(ResolvePolicy {
            attempts: 1,
            delay: Duration::from_millis(1),
        })
        .operation_deadline(Duration::from_secs(5))
}

impl Run<'_> {
    fn check(&mut self, name: String, failure: Option<String>) {
        self.checks.push(Check { name, failure });
    }

    async fn gateway(&mut self, fault: Fault) -> Option<(Arc<dyn PaymentGateway>, Server)> {
        let server = Server::start(self.adapter.canned.clone(), fault).await;
        match (self.adapter.build)(&server.base_url, quick_transport()) {
            Ok(gateway) => Some((gateway, server)),
            Err(err) => {
                self.check(
                    "the adapter builds".into(),
                    Some(format!("building failed: {err}")),
                );
                None
            }
        }
    }

    async fn capabilities(&mut self) {
        for operation in Operation::ALL {
            let Some((gateway, server)) = self.gateway(Fault::Status(418)).await else {
                return;
            };
            let supported = gateway.capabilities().supports(operation);
            let outcome = call(gateway.as_ref(), operation, self.adapter).await;
            let sent = server.requests().len();
            let unsupported = matches!(outcome, Err(Error::Unsupported { .. }));
            let failure = match (supported, unsupported, sent) {
                (false, true, 0) => None,
                (false, _, _) => Some(format!(
                    "left out of capabilities(), yet {} and sent {sent} request(s)",
                    describe(&outcome)
                )),
                (true, true, _) => Some("listed in capabilities(), yet unsupported".into()),
                (true, false, 0) if operation != Operation::VerifyCallback => Some(format!(
                    "listed in capabilities(), yet sent nothing ({})",
                    describe(&outcome)
                )),
                (true, false, sent) if operation == Operation::VerifyCallback && sent > 0 => {
                    Some(format!("verifying a callback sent {sent} request(s)"))
                }
                (true, false, _) => None,
            };
            self.errors.extend(outcome.err());
            self.check(format!("capabilities: {operation}"), failure);
        }
    }

    async fn invalid_requests(&mut self) {
        let invalid = self.adapter.invalid_deposits.clone();
        for (index, request) in invalid.iter().enumerate() {
            let Some((gateway, server)) = self.gateway(Fault::Status(418)).await else {
                return;
            };
            let outcome = gateway.create_deposit(request).await;
            let sent = server.requests().len();
            let failure = match &outcome {
                Err(Error::InvalidRequest { .. }) if sent == 0 => None,
                other => Some(format!(
                    "expected a refusal before sending; {} after {sent} request(s)",
                    describe(other)
                )),
            };
            self.errors.extend(outcome.err());
            self.check(
                format!("invalid deposit {} is refused before any I/O", index + 1),
                failure,
            );
        }
    }

    async fn writes_under_faults(&mut self) {
        for fault in Fault::ALL {
            for kind in ["deposit", "withdrawal"] {
                let Some((gateway, server)) = self.gateway(fault).await else {
                    return;
                };
                let (operation, outcome) = match kind {
                    "deposit" => match &self.adapter.deposit {
                        Some(request) => (
                            Operation::CreateDeposit,
                            gateway.create_deposit(request).await.map(drop),
                        ),
                        None => continue,
                    },
                    _ => match &self.adapter.withdrawal {
                        Some(request) => (
                            Operation::CreateWithdrawal,
                            gateway.create_withdrawal(request).await.map(drop),
                        ),
                        None => continue,
                    },
                };
                if !gateway.capabilities().supports(operation) {
                    continue;
                }
                let writes = server
                    .requests()
                    .iter()
                    .filter(|path| self.adapter.write_paths.contains(path))
                    .count();
                let failure = match (&outcome, writes) {
                    (_, n) if n > 1 => Some(format!("the write was sent {n} times")),
                    (_, 0) => Some("the write was never sent".into()),
                    (Err(Error::Ambiguous { .. }), 1) => None,
                    (other, _) => Some(format!(
                        "an outcome no status query could settle must be ambiguous; {}",
                        describe(other)
                    )),
                };
                self.errors.extend(outcome.err());
                self.check(
                    format!("{kind} when the server {}", fault.describe()),
                    failure,
                );
            }
        }
    }

    async fn secrets(&mut self, logs: &LogBuffer) {
        let Some((gateway, _server)) = self.gateway(Fault::Status(418)).await else {
            return;
        };
        let mut texts = vec![("Debug of the gateway".to_owned(), format!("{gateway:?}"))];
        for err in &self.errors {
            texts.push((format!("error {err}"), error_chain(err)));
        }
        texts.push(("the TRACE logs".into(), logs.text()));
        for secret in &self.adapter.secrets {
            let leaks: Vec<&str> = texts
                .iter()
                .filter(|(_, text)| text.contains(secret.as_str()))
                .map(|(what, _)| what.as_str())
                .collect();
            let failure = (!leaks.is_empty()).then(|| format!("shown in {}", leaks.join("; ")));
            self.check(format!("secret {}… shows nowhere", prefix(secret)), failure);
        }
    }

    fn kinds(&mut self) {
        let unknown: Vec<String> = self
            .errors
            .iter()
            .filter(|err| !KINDS.contains(&err.kind()))
            .map(|err| format!("{} ({err})", err.kind()))
            .collect();
        let failure = (!unknown.is_empty()).then(|| unknown.join("; "));
        self.check(
            format!("every error ({}) has a documented kind", self.errors.len()),
            failure,
        );
    }
}

fn prefix(secret: &str) -> String {
    secret.chars().take(3).collect()
}

/// An error's `Display`, `Debug` and every source.
fn error_chain(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        let _ = write!(text, " {inner} {inner:?}");
        source = inner.source();
    }
    text
}

fn describe<T>(outcome: &Result<T>) -> String {
    match outcome {
        Ok(_) => "it succeeded".into(),
        Err(err) => format!("it failed with {} ({err})", err.kind()),
    }
}

/// Calls `operation` with the adapter's sample requests; what it returns is
/// dropped, only success or the error matters.
async fn call(gateway: &dyn PaymentGateway, operation: Operation, adapter: &Adapter) -> Result<()> {
    let currency = adapter
        .deposit
        .as_ref()
        .map(|d| d.amount.currency().clone())
        .unwrap_or_else(|| Currency::new("MYR").expect("a currency code"));
    let missing = |what: &str| {
        Err(Error::invalid(
            what,
            "the kit was given no sample; add one to the Adapter",
        ))
    };
    match operation {
        Operation::Currencies => gateway.currencies().await.map(drop),
        Operation::DepositBanks => gateway.deposit_banks(Some(&currency)).await.map(drop),
        Operation::WithdrawalBanks => gateway.withdrawal_banks(Some(&currency)).await.map(drop),
        Operation::PaymentMethods => gateway.payment_methods().await.map(drop),
        Operation::CreateDeposit => match &adapter.deposit {
            Some(request) => gateway.create_deposit(request).await.map(drop),
            None => missing("deposit"),
        },
        Operation::CreateWithdrawal => match &adapter.withdrawal {
            Some(request) => gateway.create_withdrawal(request).await.map(drop),
            // An adapter without payouts refuses any request; build one that
            // is valid in form.
            None => match WithdrawalRequest::builder(
                "KIT-W-1",
                paybridge_core::Money::new(paybridge_core::Decimal::ONE_HUNDRED, currency),
                "1",
                "Kit Holder",
                "1",
            )
            .build()
            {
                Ok(request) => gateway.create_withdrawal(&request).await.map(drop),
                Err(err) => Err(err),
            },
        },
        Operation::DepositStatus => match &adapter.status_query {
            Some(query) => gateway.deposit_status(query).await.map(drop),
            None => missing("status_query"),
        },
        Operation::WithdrawalStatus => match &adapter.status_query {
            Some(query) => gateway.withdrawal_status(query).await.map(drop),
            None => missing("status_query"),
        },
        Operation::Balance => gateway.balance(&currency).await.map(drop),
        Operation::VerifyCallback => gateway
            .verify_callback(&CallbackRequest::new(b"{\"unsigned\": true}"))
            .map(drop),
        other => Err(Error::invalid(
            other.name(),
            "is an operation the kit does not know yet",
        )),
    }
}

/// Log lines written during a run.
#[derive(Debug, Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A scripted HTTP/1.1 server on loopback: canned answers by path, the fault
/// for everything else; it records every request's path.
#[derive(Debug)]
struct Server {
    base_url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(canned: Vec<(String, String)>, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("a local address"));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = seen.clone();
        let canned = Arc::new(canned);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, canned) = (recorded.clone(), canned.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &seen, &canned, fault).await;
                });
            }
        });
        Self {
            base_url,
            seen,
            task,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: &Mutex<Vec<String>>,
    canned: &[(String, String)],
    fault: Fault,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..read]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while request.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..read]);
    }
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    seen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(path.clone());
    let (status, body): (u16, &str) = match canned.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => (200, body),
        None => match fault {
            Fault::Status(status) => (status, "<html><body>scripted fault</body></html>"),
            Fault::Close => return Ok(()),
            Fault::Stall => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                (200, "{}")
            }
            Fault::Garbage => (200, "<html>not json</html>"),
            Fault::Empty => (200, ""),
            Fault::Truncated => (200, "{\"status\": true, \"p_u"),
        },
    };
    let mut answer = Vec::new();
    let _ = write!(
        answer,
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(&answer).await?;
    stream.shutdown().await
}
