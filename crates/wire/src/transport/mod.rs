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

pub use paybridge_core::outcome::ResolvePolicy;
use paybridge_core::outcome::{CallLimits, DEFAULT_OPERATION_DEADLINE};
use paybridge_core::{Error, Result};

mod request;
mod send;
mod url;

pub use request::{ExchangeFailure, HttpReply, Idempotency, Outgoing};
pub use send::HttpTransport;
pub use url::{BaseUrl, Endpoint};

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
    /// Whether a larger answer is cut at [`Self::max_answer_bytes`] and kept
    /// rather than refused: for a receiver whose status is its whole answer.
    pub cut_long_answers: bool,
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
            cut_long_answers: false,
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

    /// Cuts a longer answer at the limit instead of refusing it.
    pub fn cut_long_answers(mut self, cut: bool) -> Self {
        self.cut_long_answers = cut;
        self
    }

    /// Sets the whole operation's deadline.
    pub fn operation_deadline(mut self, deadline: Duration) -> Self {
        self.operation_deadline = deadline;
        self
    }

    /// Builds a pooled reqwest client with these timeouts, which never
    /// follows a redirect: the client paybridge uses when a proxy is set in
    /// the environment, and a starting point for a merchant's own.
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
            assert_eq!(base.endpoint(path).unwrap().to_string(), expected);
        }
        assert_eq!(
            BaseUrl::parse("k", "http://h/p/").unwrap().as_str(),
            "http://h/p"
        );
    }

    /// The `Host` hyper's HTTP/1 client would write: the host as the URL
    /// parser normalised it, with the port only when it is not the scheme's.
    #[test]
    fn an_endpoints_host_header_is_its_host_with_a_port_only_when_not_the_schemes_default() {
        let cases = [
            ("http://127.0.0.1:7878", "127.0.0.1:7878"),
            ("http://127.0.0.1:80", "127.0.0.1"),
            ("https://Pay.Example:443/api", "pay.example"),
            ("https://pay.example:8443", "pay.example:8443"),
            ("http://[::1]:8080", "[::1]:8080"),
        ];
        for (base, expected) in cases {
            let endpoint = BaseUrl::parse("p.base_url", base)
                .unwrap()
                .endpoint("/x")
                .unwrap();
            assert_eq!(
                endpoint.host().map(|h| h.to_str().unwrap()),
                Some(expected),
                "{base}"
            );
            let whole = Endpoint::parse("webhook.url", &format!("{base}/hook?a=1")).unwrap();
            assert_eq!(
                whole.host().map(|h| h.to_str().unwrap()),
                Some(expected),
                "{base}"
            );
        }
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
