//! The HTTP transport every adapter shares: one pooled client, explicit connect
//! and total timeouts, and retries with capped, fully jittered exponential
//! backoff for reads only. Writes are sent once: a payout must never be resent
//! because a response was lost.
//!
//! Redirects are never followed: a 3xx would carry the auth form, the API key
//! or a payout to a host that is not the configured provider. A 3xx is an
//! [`Error::HttpStatus`] like any other answer outside 2xx; on a create it
//! leaves the outcome open, resolved by status.

use std::time::Duration;

use rand::Rng;
use tracing::{debug, warn};

pub use paybridge_core::outcome::ResolvePolicy;
use paybridge_core::outcome::{CallLimits, DEFAULT_OPERATION_DEADLINE};
use paybridge_core::{BoxError, Error, Operation, Result};

/// When and how often reads are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the first retry, doubled each time.
    pub base_delay: Duration,
    /// The backoff never exceeds this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (0-based): uniformly random in
    /// `[0, min(max_delay, base_delay * 2^retry)]` ("full jitter").
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// Timeouts and retries for one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, from sending to the last byte read.
    pub request_timeout: Duration,
    /// Retry policy for reads.
    pub retry: RetryPolicy,
    /// How writes with an unknown outcome are resolved.
    pub resolve: ResolvePolicy,
    /// The largest answer read; a larger one is refused as undecodable without
    /// being held in memory.
    pub max_answer_bytes: usize,
    /// The whole operation's deadline, retries and the resolution of an unknown
    /// outcome included. Past it a write is reported ambiguous with its order id.
    pub operation_deadline: Duration,
}

/// The default [`TransportConfig::max_answer_bytes`]: 1 MiB. The largest
/// documented answer (a bank list) is a few KiB.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 1 << 20;

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            resolve: ResolvePolicy::default(),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            operation_deadline: DEFAULT_OPERATION_DEADLINE,
        }
    }
}

impl TransportConfig {
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the per-attempt timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the read retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how unknown outcomes are resolved.
    pub fn resolve(mut self, resolve: ResolvePolicy) -> Self {
        self.resolve = resolve;
        self
    }

    /// Sets the largest answer read.
    pub fn max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    /// Sets the whole operation's deadline.
    pub fn operation_deadline(mut self, deadline: Duration) -> Self {
        self.operation_deadline = deadline;
        self
    }

    /// Builds a pooled client with these timeouts.
    pub fn build_client(&self) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .user_agent(concat!("paybridge/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::local("building the HTTP client", e))
    }
}

/// How a gateway reaches its provider: timeouts and retries, and the
/// merchant's own `reqwest::Client` when one is given.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Timeouts, retries, limits.
    pub config: TransportConfig,
    /// The merchant's client (shared pools, proxies), used instead of a new one.
    pub client: Option<reqwest::Client>,
}

impl HttpSettings {
    /// The transport these settings describe.
    pub fn into_transport(self) -> Result<HttpTransport> {
        match self.client {
            Some(client) => Ok(HttpTransport::with_client(client, &self.config)),
            None => HttpTransport::new(&self.config),
        }
    }
}

/// The HTTP setters every adapter's builder offers, `transport` and
/// `http_client`, written once: invoked inside the builder's own `impl` with
/// the name of its [`HttpSettings`] field, they are inherent methods, so a
/// program calls them without importing a trait. A merchant's own adapter
/// uses it the same way.
///
/// ```
/// use paybridge_wire::transport::{HttpSettings, TransportConfig};
///
/// #[derive(Debug, Default)]
/// pub struct AcmeBuilder {
///     http: HttpSettings,
/// }
///
/// impl AcmeBuilder {
///     paybridge_wire::http_options!(http);
/// }
///
/// let builder = AcmeBuilder::default().transport(TransportConfig::default());
/// # let _ = builder;
/// ```
#[macro_export]
macro_rules! http_options {
    ($settings:ident) => {
        /// Sets timeouts and retries.
        pub fn transport(mut self, transport: $crate::transport::TransportConfig) -> Self {
            self.$settings.config = transport;
            self
        }

        /// Uses the merchant's own `reqwest::Client` (shared pools, proxies).
        ///
        /// Build it with `.redirect(reqwest::redirect::Policy::none())`: reqwest
        /// follows redirects by default, and a followed redirect has already sent
        /// the request elsewhere. paybridge checks every answer's address and
        /// treats one from another address as a failure that may have been
        /// delivered, but it cannot take back what the client sent.
        pub fn http_client(mut self, client: $crate::transport::Client) -> Self {
            self.$settings.client = Some(client);
            self
        }
    };
}

/// The HTTP client a builder's `http_client` takes: reqwest's, named here so
/// [`http_options!`](crate::http_options) works in a crate without reqwest.
pub use reqwest::Client;

/// A provider's base URL, checked and parsed once when the gateway is built.
///
/// reqwest parses a URL given as text on every request, its host through IDNA
/// included: more work than the rest of paybridge's on a call. An endpoint's
/// URL is made from this one by setting its path, which parses nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    text: String,
    parsed: reqwest::Url,
}

impl BaseUrl {
    /// A configured base URL, trimmed and without a trailing `/`; anything but
    /// an http(s) URL with a host, or one carrying credentials (`user:pass@`:
    /// no provider takes them there, and reqwest would send them and print
    /// them in its errors), a query or a fragment (where would the paths
    /// go?), is a configuration error naming `key`. The error shows the URL
    /// with its credentials hidden ([`paybridge_core::redact::url`]).
    pub fn parse(key: &str, url: &str) -> Result<Self> {
        let text = url.trim().trim_end_matches('/');
        let shown = paybridge_core::redact::Url(text);
        let refuse = |reason: String| Error::Config {
            key: key.to_owned(),
            reason,
        };
        if !paybridge_core::is_http_url(text) {
            return Err(refuse(format!("{shown:?} is not an http(s) URL")));
        }
        let parsed = reqwest::Url::parse(text)
            .map_err(|e| refuse(format!("{shown:?} is not a usable URL ({e})")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse(format!(
                "{shown:?} carries credentials; a provider's base URL takes none (remove the part before '@')"
            )));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(refuse(format!("{shown:?} names no host")));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(refuse(format!(
                "{shown:?} has a query or a fragment; give the address the paths go under"
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            parsed,
        })
    }

    /// The base URL as configured (trimmed, no trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL of `path` (starting with `/`) under this base: its path
    /// appended to the base's own.
    pub fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut url = self.parsed.clone();
        url.set_path(&[self.parsed.path().trim_end_matches('/'), path].concat());
        url
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Whether a request may change state at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: safe to retry.
    Read,
    /// A write: sent once, whatever happens.
    Write,
}

/// One shared, cloneable HTTP client with the retry policy applied per call.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    config: TransportConfig,
    /// A merchant's client may follow redirects; paybridge's own never does.
    may_follow_redirects: bool,
}

/// Why one attempt produced no reply.
enum AttemptError {
    Network(reqwest::Error),
    TooLarge,
    /// The client followed a redirect; the answer came from elsewhere.
    Redirected,
}

impl HttpTransport {
    /// A transport with its own pooled client.
    pub fn new(config: &TransportConfig) -> Result<Self> {
        Ok(Self {
            client: config.build_client()?,
            config: config.clone(),
            may_follow_redirects: false,
        })
    }

    /// A transport over the merchant's own client (shared pools, proxies). Its
    /// connect timeout applies; paybridge's per-request timeout, answer limit and
    /// retries are applied to every request all the same.
    pub fn with_client(client: reqwest::Client, config: &TransportConfig) -> Self {
        Self {
            client,
            config: config.clone(),
            may_follow_redirects: true,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// When an operation started now must be done, resolution included.
    pub fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.config.operation_deadline
    }

    /// The limits of a create call starting now: this transport's deadline
    /// and resolve policy.
    pub fn call_limits(&self) -> CallLimits {
        CallLimits {
            deadline: self.deadline(),
            resolve: self.config.resolve,
        }
    }

    /// Sends a request built by `build` (called once per attempt). Reads retry
    /// on network failures and on 5xx/429; writes never retry. A 5xx on a write
    /// is reported as a transport failure that may have been delivered.
    pub async fn send<F>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        build: F,
    ) -> Result<HttpReply>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let attempts = match idempotency {
            Idempotency::Read => self.config.retry.max_attempts.max(1),
            Idempotency::Write => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(operation, &build).await;
            let retryable = match &outcome {
                Ok(reply) => reply.status >= 500 || reply.status == 429,
                Err(AttemptError::Network(_)) => true,
                Err(AttemptError::TooLarge | AttemptError::Redirected) => false,
            };
            if !retryable || attempt >= attempts {
                return self.finish(operation, outcome);
            }
            let delay = self.config.retry.backoff(attempt - 1);
            warn!(
                operation = operation.name(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying read"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<F>(
        &self,
        operation: Operation,
        build: &F,
    ) -> std::result::Result<HttpReply, AttemptError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut response = match self.may_follow_redirects {
            false => build(&self.client)
                .timeout(self.config.request_timeout)
                .send()
                .await
                .map_err(AttemptError::Network)?,
            true => {
                let (client, request) = build(&self.client)
                    .timeout(self.config.request_timeout)
                    .build_split();
                let request = request.map_err(AttemptError::Network)?;
                let asked = request.url().clone();
                let response = client
                    .execute(request)
                    .await
                    .map_err(AttemptError::Network)?;
                if response.url() != &asked {
                    return Err(AttemptError::Redirected);
                }
                response
            }
        };
        let status = response.status().as_u16();
        let limit = self.config.max_answer_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(AttemptError::TooLarge);
        }
        // Read chunk by chunk so an endless or huge answer never sits in memory.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(AttemptError::Network)? {
            if body.len() + chunk.len() > limit {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        debug!(
            operation = operation.name(),
            status,
            bytes = body.len(),
            "response"
        );
        Ok(HttpReply { status, body })
    }

    fn finish(
        &self,
        operation: Operation,
        outcome: std::result::Result<HttpReply, AttemptError>,
    ) -> Result<HttpReply> {
        match outcome {
            // Outside 2xx and 4xx (which carry refusals to read): a 5xx, or a
            // redirect, which is never followed.
            Ok(reply) if reply.status >= 500 || (300..400).contains(&reply.status) => {
                Err(Error::HttpStatus {
                    operation,
                    status: reply.status,
                    body: paybridge_core::redact::scrubbed(&reply.body),
                })
            }
            Ok(reply) => Ok(reply),
            Err(AttemptError::Redirected) => Err(Error::Transport {
                operation,
                may_have_been_delivered: true,
                source: "the HTTP client followed a redirect away from the provider's address; \
                         build it with redirect::Policy::none()"
                    .into(),
            }),
            Err(AttemptError::TooLarge) => Err(Error::decode(
                operation,
                format!(
                    "the answer is larger than the {}-byte limit",
                    self.config.max_answer_bytes
                ),
                b"",
            )),
            // Only a failure to connect proves nothing was delivered.
            Err(AttemptError::Network(err)) => {
                let may_have_been_delivered = !err.is_connect() && !err.is_builder();
                if err.is_timeout() {
                    Err(Error::Timeout {
                        operation,
                        may_have_been_delivered,
                    })
                } else {
                    Err(Error::Transport {
                        operation,
                        may_have_been_delivered,
                        source: Box::new(NetworkFailure::from(err)) as BoxError,
                    })
                }
            }
        }
    }
}

/// A network failure, said with its cause: reqwest's own message is only
/// "error sending request", the cause (connection refused, a DNS failure, a
/// TLS refusal) sits at the end of its source chain. The chain is kept as the
/// `source()`.
#[derive(Debug)]
struct NetworkFailure {
    summary: String,
    source: reqwest::Error,
}

impl From<reqwest::Error> for NetworkFailure {
    fn from(err: reqwest::Error) -> Self {
        let err = err.without_url();
        let what = if err.is_connect() {
            "could not connect"
        } else if err.is_timeout() {
            "timed out"
        } else if err.is_body() || err.is_decode() {
            "the answer broke off"
        } else {
            "the exchange failed"
        };
        let mut cause: &dyn std::error::Error = &err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let innermost = cause.to_string();
        let summary = match innermost == err.to_string() {
            true => format!("{what}: {err}"),
            false => format!("{what}: {innermost}"),
        };
        Self {
            summary,
            source: err,
        }
    }
}

impl std::fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for NetworkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_the_base_path_and_the_endpoint_path() {
        let cases = [
            (
                "http://127.0.0.1:7878",
                "/merchant/auth",
                "http://127.0.0.1:7878/merchant/auth",
            ),
            (
                " https://pay.example/ ",
                "/merchant/auth",
                "https://pay.example/merchant/auth",
            ),
            (
                "http://h/vpay88/",
                "/wallet/bank_list",
                "http://h/vpay88/wallet/bank_list",
            ),
            ("http://h/a b", "/x", "http://h/a%20b/x"),
        ];
        for (base, path, expected) in cases {
            let base = BaseUrl::parse("p.base_url", base).unwrap();
            assert_eq!(base.endpoint(path).as_str(), expected);
        }
        assert_eq!(
            BaseUrl::parse("k", "http://h/p/").unwrap().as_str(),
            "http://h/p"
        );
    }

    #[test]
    fn a_base_url_that_cannot_take_paths_is_a_configuration_error_naming_its_key() {
        for refused in [
            "ftp://h",
            "h.example",
            "http://",
            "http://h/?a=1",
            "http://h/#x",
            "http://[::1",
        ] {
            let err = BaseUrl::parse("vpay88.base_url", refused).unwrap_err();
            assert!(
                matches!(&err, Error::Config { key, .. } if key == "vpay88.base_url"),
                "{refused}: {err:?}"
            );
        }
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for retry in 0..10 {
            assert!(policy.backoff(retry) <= Duration::from_millis(300));
        }
        assert!(policy.backoff(0) <= Duration::from_millis(100));
    }
}
