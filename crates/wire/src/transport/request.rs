//! What a transport sends and what comes back: a request built once, an
//! answer with its status, body and requested wait.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use super::Endpoint;

/// One request, built once per call and sent as it is on every attempt.
/// `Debug` shows the body's length only: it carries credentials.
#[derive(Clone)]
pub struct Outgoing {
    pub(super) method: Method,
    pub(super) endpoint: Endpoint,
    pub(super) content_type: Option<HeaderValue>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) body: Bytes,
}

impl Outgoing {
    /// A `GET` of `endpoint`.
    pub fn get(endpoint: Endpoint) -> Self {
        Self {
            method: Method::GET,
            endpoint,
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A `POST` of `body`, of type `content_type`, to `endpoint`.
    pub fn post(endpoint: Endpoint, content_type: HeaderValue, body: Bytes) -> Self {
        Self {
            method: Method::POST,
            endpoint,
            content_type: Some(content_type),
            headers: Vec::new(),
            body,
        }
    }

    /// With one more header (a webhook's `webhook-id`, say).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("endpoint", &self.endpoint)
            .field("content_type", &self.content_type)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// What came back. `Debug` shows the body scrubbed of credentials (an auth
/// answer carries a token).
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// How long the answer asks to wait before another request
    /// (`Retry-After`, in seconds or as a date), when it says.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("body", &paybridge_core::redact::scrubbed(&self.body))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl HttpReply {
    /// An answer of `status` carrying `body`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            retry_after: None,
        }
    }
}

/// The wait an answer's `Retry-After` asks for: seconds, or an HTTP date
/// (a date past is no wait).
pub(super) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Why [`HttpTransport::exchange`](super::HttpTransport::exchange) got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeFailure {
    /// What went wrong, for people.
    pub message: String,
    /// Whether the request may have reached the other side.
    pub may_have_been_delivered: bool,
}

impl std::fmt::Display for ExchangeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExchangeFailure {}

/// Whether a request may change state at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: safe to retry.
    Read,
    /// A write: sent once, whatever happens.
    Write,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(value).unwrap(),
        );
        map
    }

    #[test]
    fn a_reply_and_the_answer_read_from_it_show_no_auth_token_in_debug() {
        let reply = HttpReply::new(200, r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv"}"#);
        let shown = format!("{reply:?}");
        assert!(!shown.contains("t5IF5r2fXit1FnhjBVQv"), "{shown}");
        assert!(
            shown.contains("200") && shown.contains("REDACTED"),
            "{shown}"
        );
        let answered = crate::read_answer::<serde_json::Value>(
            paybridge_core::Provider::new("vpay88"),
            paybridge_core::Operation::CreateDeposit,
            reply,
            &paybridge_core::refusal::RefusalTable::new(&[]),
        )
        .unwrap();
        let shown = format!("{answered:?}");
        assert!(!shown.contains("t5IF5r2fXit1FnhjBVQv"), "{shown}");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_nothing_else() {
        assert_eq!(retry_after(&headers("120")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&headers(" 7 ")), Some(Duration::from_secs(7)));
        // A date already past asks for no wait.
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let soon = std::time::SystemTime::now() + Duration::from_secs(3600);
        let waited = retry_after(&headers(&httpdate::fmt_http_date(soon))).unwrap();
        assert!(waited > Duration::from_secs(3500) && waited <= Duration::from_secs(3600));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-5")), None);
        assert_eq!(retry_after(&http::HeaderMap::new()), None);
    }
}
