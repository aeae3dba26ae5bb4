//! Sending: one shared client per gateway, each request built once and sent
//! as it is on every attempt, answers read under a cap.
//!
//! paybridge's own client is hyper's (hyper-util's pooled client over
//! rustls), the floor of Rust's HTTP stack: reqwest's layers (its redirect
//! policy, a URL parsed again per request, a tower stack) cost more CPU than
//! all of paybridge's own work on a call. reqwest stays for a merchant's own
//! client (shared pools, proxies) and, as the only client that reads them,
//! when a proxy is set in the environment.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::{debug, warn, Instrument};

use paybridge_core::{BoxError, Error, Operation, Result};

use super::request::retry_after;
use super::{CallLimits, ExchangeFailure, HttpReply, Idempotency, Outgoing, TransportConfig};

type HyperClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client requests go through.
#[derive(Clone)]
enum Client {
    /// paybridge's own (boxed: it is several times reqwest's handle in size).
    Hyper(Box<HyperClient>),
    /// reqwest's: the merchant's own (which may follow redirects), or
    /// paybridge's when a proxy is set in the environment (which never does).
    Reqwest {
        client: reqwest::Client,
        may_follow_redirects: bool,
    },
}

/// One shared, cloneable HTTP client with the retry policy applied per call.
#[derive(Clone)]
pub struct HttpTransport {
    client: Client,
    config: TransportConfig,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client = match &self.client {
            Client::Hyper(_) => "paybridge's",
            Client::Reqwest {
                may_follow_redirects: true,
                ..
            } => "the merchant's",
            Client::Reqwest { .. } => "paybridge's, through the environment's proxy",
        };
        f.debug_struct("HttpTransport")
            .field("client", &client)
            .field("config", &self.config)
            .finish()
    }
}

/// Why one attempt produced no reply.
enum AttemptError {
    /// Nothing can have reached the provider: no connection was made, or the
    /// request could not be built; said with which.
    NotSent(&'static str, BoxError),
    /// No connection was made within the connect timeout: nothing was sent.
    ConnectTimedOut,
    /// The exchange broke off after the request may have been sent.
    Broken(BoxError),
    TimedOut,
    TooLarge,
    /// The client followed a redirect; the answer came from elsewhere.
    Redirected,
}

impl AttemptError {
    /// A short word for the failure, as a span's `error.type`.
    fn kind(&self) -> &'static str {
        match self {
            AttemptError::NotSent(..) => "not_sent",
            AttemptError::ConnectTimedOut => "connect_timeout",
            AttemptError::Broken(_) => "broken",
            AttemptError::TimedOut => "timeout",
            AttemptError::TooLarge => "answer_too_large",
            AttemptError::Redirected => "redirected",
        }
    }
}

/// The proxy variables reqwest reads; with one set, paybridge's own client is
/// reqwest's, so requests leave through the proxy the merchant set up.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Whether `variable` names a proxy in an environment read through `get`.
fn proxy_in(get: impl Fn(&str) -> Option<String>) -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| get(name).is_some_and(|value| !value.trim().is_empty()))
}

fn hyper_client(config: &TransportConfig) -> Result<HyperClient> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(config.connect_timeout));
    http.set_nodelay(true);
    // Lets the TLS connector below take https:// addresses.
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| Error::local("building the TLS configuration", e))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https),
    )
}

const UNCONNECTED: &str = "could not connect";
const UNBUILT: &str = "the request could not be built";
const AGENT: &str = concat!("paybridge/", env!("CARGO_PKG_VERSION"));

impl HttpTransport {
    /// A transport with its own pooled client.
    pub fn new(config: &TransportConfig) -> Result<Self> {
        let client = match proxy_in(|name| std::env::var(name).ok()) {
            false => Client::Hyper(Box::new(hyper_client(config)?)),
            true => Client::Reqwest {
                client: config.build_client()?,
                may_follow_redirects: false,
            },
        };
        Ok(Self {
            client,
            config: config.clone(),
        })
    }

    /// A transport over the merchant's own client (shared pools, proxies). Its
    /// connect timeout applies; paybridge's per-request timeout, answer limit and
    /// retries are applied to every request all the same.
    pub fn with_client(client: reqwest::Client, config: &TransportConfig) -> Self {
        Self {
            client: Client::Reqwest {
                client,
                may_follow_redirects: true,
            },
            config: config.clone(),
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

    /// Sends `request`. Reads retry on network failures and on 5xx/429;
    /// writes never retry. A 5xx on a write is reported as a transport failure
    /// that may have been delivered.
    pub async fn send(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        request: &Outgoing,
    ) -> Result<HttpReply> {
        let attempts = match idempotency {
            Idempotency::Read => self.config.retry.max_attempts.max(1),
            Idempotency::Write => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // One span per attempt, named and fielded as OpenTelemetry's HTTP
            // client spans are. The path is left out: ONE-PUNCH's carries a
            // signed token.
            let span = tracing::info_span!(
                "http.client",
                otel.kind = "client",
                http.request.method = request.method.as_str(),
                server.address = request.endpoint.uri().host().unwrap_or_default(),
                http.request.resend_count = attempt - 1,
                paybridge.operation = operation.name(),
                http.response.status_code = tracing::field::Empty,
                error.r#type = tracing::field::Empty,
            );
            let timed = tokio::time::timeout(self.config.request_timeout, self.attempt(request));
            let outcome = match timed.instrument(span.clone()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(AttemptError::TimedOut),
            };
            match &outcome {
                Ok(reply) => span.record("http.response.status_code", reply.status),
                Err(failure) => span.record("error.type", failure.kind()),
            };
            let retryable = match &outcome {
                Ok(reply) => reply.status >= 500 || reply.status == 429,
                Err(
                    AttemptError::NotSent(..)
                    | AttemptError::ConnectTimedOut
                    | AttemptError::Broken(_)
                    | AttemptError::TimedOut,
                ) => true,
                Err(AttemptError::TooLarge | AttemptError::Redirected) => false,
            };
            if !retryable || attempt >= attempts {
                if let Ok(reply) = &outcome {
                    debug!(
                        operation = operation.name(),
                        status = reply.status,
                        bytes = reply.body.len(),
                        "response"
                    );
                }
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

    /// Sends `request` once, under the request timeout, and hands back the
    /// answer whatever its status: for a caller that decides for itself what
    /// a status means (the webhook deliverer). No retry, no redirect followed;
    /// a failure says whether the request may have reached the other side.
    pub async fn exchange(
        &self,
        request: &Outgoing,
    ) -> std::result::Result<HttpReply, ExchangeFailure> {
        let outcome =
            match tokio::time::timeout(self.config.request_timeout, self.attempt(request)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(AttemptError::TimedOut),
            };
        outcome.map_err(|failure| {
            let may_have_been_delivered = !matches!(
                failure,
                AttemptError::NotSent(..) | AttemptError::ConnectTimedOut
            );
            let message = match failure {
                AttemptError::NotSent(what, source) => {
                    NetworkFailure::new(what, source).to_string()
                }
                AttemptError::ConnectTimedOut => {
                    "could not connect within the connect timeout".into()
                }
                AttemptError::Broken(source) => {
                    NetworkFailure::new("the exchange broke off", source).to_string()
                }
                AttemptError::TimedOut => format!(
                    "no answer within {} ms",
                    self.config.request_timeout.as_millis()
                ),
                AttemptError::TooLarge => format!(
                    "the answer is larger than the {}-byte limit",
                    self.config.max_answer_bytes
                ),
                AttemptError::Redirected => "the HTTP client followed a redirect".into(),
            };
            ExchangeFailure {
                message,
                may_have_been_delivered,
            }
        })
    }

    async fn attempt(&self, request: &Outgoing) -> std::result::Result<HttpReply, AttemptError> {
        match &self.client {
            Client::Hyper(client) => self.through_hyper(client, request).await,
            Client::Reqwest {
                client,
                may_follow_redirects,
            } => {
                self.through_reqwest(client, *may_follow_redirects, request)
                    .await
            }
        }
    }

    async fn through_hyper(
        &self,
        client: &HyperClient,
        request: &Outgoing,
    ) -> std::result::Result<HttpReply, AttemptError> {
        // Built in place rather than through `Request::builder`, which checks
        // every typed header again and grows the header map one by one.
        let mut built = http::Request::new(Full::new(request.body.clone()));
        *built.method_mut() = request.method.clone();
        *built.uri_mut() = request.endpoint.uri().clone();
        let headers = built.headers_mut();
        headers.reserve(4 + request.headers.len());
        if let Some(host) = request.endpoint.host() {
            headers.insert(HOST, host.clone());
        }
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        // As curl and reqwest send it: some providers' firewalls refuse a
        // request without one.
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        if let Some(content_type) = &request.content_type {
            headers.insert(CONTENT_TYPE, content_type.clone());
        }
        for (name, value) in &request.headers {
            headers.append(name, value.clone());
        }
        let response = client
            .request(built)
            .await
            .map_err(|err| match err.is_connect() {
                true if timed_out(&err) => AttemptError::ConnectTimedOut,
                true => AttemptError::NotSent(UNCONNECTED, err.into()),
                false => AttemptError::Broken(err.into()),
            })?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let limit = self.config.max_answer_bytes;
        let cut = self.config.cut_long_answers;
        if !cut && declared_length(response.headers()).is_some_and(|len| len > limit as u64) {
            return Err(AttemptError::TooLarge);
        }
        // Read frame by frame so an endless or huge answer never sits in memory.
        let mut body = Vec::new();
        let mut incoming = response.into_body();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| AttemptError::Broken(e.into()))?;
            if let Ok(chunk) = frame.into_data() {
                if body.len() + chunk.len() > limit {
                    return cut_at(body, &chunk, limit, cut).map(|body| HttpReply {
                        status,
                        body,
                        retry_after: wait,
                    });
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(HttpReply {
            status,
            body,
            retry_after: wait,
        })
    }

    async fn through_reqwest(
        &self,
        client: &reqwest::Client,
        may_follow_redirects: bool,
        request: &Outgoing,
    ) -> std::result::Result<HttpReply, AttemptError> {
        // Its messages name the URL, whose path may carry a signed token.
        let reqwest_error = |err: reqwest::Error| match err.without_url() {
            err if err.is_connect() && err.is_timeout() => AttemptError::ConnectTimedOut,
            err if err.is_connect() => AttemptError::NotSent(UNCONNECTED, err.into()),
            err if err.is_builder() => AttemptError::NotSent(UNBUILT, err.into()),
            err if err.is_timeout() => AttemptError::TimedOut,
            err => AttemptError::Broken(err.into()),
        };
        let url = reqwest::Url::parse(&request.endpoint.to_string())
            .map_err(|e| AttemptError::NotSent(UNBUILT, e.into()))?;
        let mut builder = client
            .request(request.method.clone(), url.clone())
            .timeout(self.config.request_timeout)
            .body(request.body.clone());
        if let Some(content_type) = &request.content_type {
            builder = builder.header(CONTENT_TYPE, content_type.clone());
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value.clone());
        }
        let mut response = builder.send().await.map_err(reqwest_error)?;
        if may_follow_redirects && response.url() != &url {
            return Err(AttemptError::Redirected);
        }
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let limit = self.config.max_answer_bytes;
        let cut = self.config.cut_long_answers;
        if !cut
            && response
                .content_length()
                .is_some_and(|len| len > limit as u64)
        {
            return Err(AttemptError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(reqwest_error)? {
            if body.len() + chunk.len() > limit {
                return cut_at(body, &chunk, limit, cut).map(|body| HttpReply {
                    status,
                    body,
                    retry_after: wait,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpReply {
            status,
            body,
            retry_after: wait,
        })
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
            // Past the connect timeout a request may have been read and acted on.
            Err(AttemptError::TimedOut) => Err(Error::Timeout {
                operation,
                may_have_been_delivered: true,
            }),
            Err(AttemptError::ConnectTimedOut) => Err(Error::Timeout {
                operation,
                may_have_been_delivered: false,
            }),
            // Only a failure to connect (or to build the request) proves nothing
            // was delivered.
            Err(AttemptError::NotSent(what, source)) => Err(Error::Transport {
                operation,
                may_have_been_delivered: false,
                source: Box::new(NetworkFailure::new(what, source)),
            }),
            Err(AttemptError::Broken(source)) => Err(Error::Transport {
                operation,
                may_have_been_delivered: true,
                source: Box::new(NetworkFailure::new("the exchange broke off", source)),
            }),
        }
    }
}

/// Whether a failure to connect was the connect timeout's (an I/O error of
/// kind `TimedOut` in its chain), reported as a timeout as reqwest reports it.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = err.source();
    }
    false
}

/// The answer's declared `Content-Length`, when it declares a readable one.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A network failure, said with its cause: an HTTP client's own message is
/// often only "error sending request", the cause (connection refused, a DNS
/// failure, a TLS refusal) sits at the end of its source chain. The chain is
/// kept as the `source()`.
#[derive(Debug)]
struct NetworkFailure {
    summary: String,
    source: BoxError,
}

impl NetworkFailure {
    fn new(what: &str, source: BoxError) -> Self {
        let mut cause: &dyn std::error::Error = source.as_ref();
        while let Some(next) = cause.source() {
            cause = next;
        }
        let innermost = cause.to_string();
        let summary = format!("{what}: {innermost}");
        Self { summary, source }
    }
}

impl std::fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for NetworkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// An answer gone past `limit` with `chunk`: refused, or (when `cut`) its
/// first `limit` bytes, the rest never read.
fn cut_at(
    mut body: Vec<u8>,
    chunk: &[u8],
    limit: usize,
    cut: bool,
) -> std::result::Result<Vec<u8>, AttemptError> {
    if !cut {
        return Err(AttemptError::TooLarge);
    }
    let room = limit.saturating_sub(body.len());
    body.extend_from_slice(&chunk[..room.min(chunk.len())]);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_in_the_environment_is_any_of_the_variables_reqwest_reads_set_non_empty() {
        assert!(!proxy_in(|_| None));
        assert!(!proxy_in(|_| Some("  ".into())));
        for name in PROXY_VARIABLES {
            assert!(
                proxy_in(|asked| (asked == name).then(|| "http://proxy:3128".into())),
                "{name}"
            );
        }
        assert!(!proxy_in(|asked| (asked == "NO_PROXY").then(|| "*".into())));
    }
}
