//! The merchant's HTTP endpoint as a [`Receiver`]: each event POSTed as its
//! JSON body, signed per Standard Webhooks, through paybridge's own client
//! (no redirect followed, 15 s per attempt unless set otherwise).

use std::time::Duration;

use async_trait::async_trait;
use paybridge_core::Result;
use paybridge_ledger::Event;
use paybridge_signing::webhook::{signature_header, WebhookSecret};
use paybridge_wire::transport::{Endpoint, HttpTransport, Outgoing, RetryPolicy, TransportConfig};
use paybridge_wire::HeaderValue;

use super::{Delivery, Receiver};

/// A success is a 2xx within this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and how events are sent: the endpoint's URL and the secrets that
/// sign them (the current one first; several while rotating, one signature
/// each). `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    url: String,
    endpoint: Endpoint,
    secrets: Vec<WebhookSecret>,
}

impl WebhookEndpoint {
    /// The endpoint at `url`, signing with `secrets` (at least one). A bad
    /// URL or no secret is a configuration error naming `key`.
    pub fn new(key: &str, url: &str, secrets: Vec<WebhookSecret>) -> Result<Self> {
        if secrets.is_empty() {
            return Err(paybridge_core::Error::Config {
                key: key.to_owned(),
                reason: "webhooks need at least one secret (whsec_...) to sign with".into(),
            });
        }
        Ok(Self {
            url: url.trim().to_owned(),
            endpoint: Endpoint::parse(key, url)?,
            secrets,
        })
    }

    /// The URL events go to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Sends events to a [`WebhookEndpoint`].
#[derive(Debug, Clone)]
pub struct HttpReceiver {
    endpoint: WebhookEndpoint,
    transport: HttpTransport,
}

impl HttpReceiver {
    /// A receiver for `endpoint`, with its own pooled client, each attempt
    /// given [`ATTEMPT_TIMEOUT`].
    pub fn new(endpoint: WebhookEndpoint) -> Result<Self> {
        Self::with_timeout(endpoint, ATTEMPT_TIMEOUT)
    }

    /// A receiver for `endpoint` whose attempts fail past `timeout` (an
    /// attempt counts as a success only when a 2xx came within it).
    pub fn with_timeout(endpoint: WebhookEndpoint, timeout: Duration) -> Result<Self> {
        // A 2xx is success whatever its body says or weighs: the first
        // bytes are all an attempt keeps.
        let config = TransportConfig::default()
            .request_timeout(timeout)
            .max_answer_bytes(paybridge_ledger::ANSWER_KEPT)
            .cut_long_answers(true)
            .retry(RetryPolicy::none());
        Ok(Self {
            endpoint,
            transport: HttpTransport::new(&config)?,
        })
    }

    /// The request that delivers `event` at `timestamp` (seconds).
    pub fn request(&self, event: &Event, timestamp: i64) -> Outgoing {
        let body = event.body.as_bytes();
        let signature = signature_header(&self.endpoint.secrets, &event.id, timestamp, body);
        let header = |text: String| {
            // Ids, digits and base64 are visible ASCII: always a header value.
            HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
        };
        Outgoing::post(
            self.endpoint.endpoint.clone(),
            HeaderValue::from_static("application/json"),
            event.body.clone().into_bytes().into(),
        )
        .header(
            http::HeaderName::from_static("webhook-id"),
            header(event.id.clone()),
        )
        .header(
            http::HeaderName::from_static("webhook-timestamp"),
            header(timestamp.to_string()),
        )
        .header(
            http::HeaderName::from_static("webhook-signature"),
            header(signature),
        )
    }
}

#[async_trait]
impl Receiver for HttpReceiver {
    fn endpoint(&self) -> &str {
        &self.endpoint.url
    }

    async fn deliver(&self, event: &Event) -> Delivery {
        let timestamp = paybridge_ledger::now_ms() / 1000;
        match self
            .transport
            .exchange(&self.request(event, timestamp))
            .await
        {
            Ok(reply) => Delivery::answered(reply.status, reply.body, reply.retry_after),
            Err(failure) => Delivery::failed(failure.message),
        }
    }
}
