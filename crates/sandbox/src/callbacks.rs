//! Callbacks to merchants: sent in the background, retried with backoff, every
//! attempt journaled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header;
use serde_json::Value;

use crate::{journal, now_text, SandboxState};

impl SandboxState {
    /// Posts a callback body to `url`, retrying with backoff until HTTP 200 or the
    /// attempts run out. Runs in the background; every attempt is journaled.
    pub(crate) fn deliver(self: &Arc<Self>, key: journal::JournalKey, url: String, body: Value) {
        let (twice, wait) = self.faults().callback_plan();
        let copies = if twice { 2 } else { 1 };
        for copy in 0..copies {
            let label = if copy == 0 { "callback" } else { "duplicate" };
            self.send_callback(&key, label, &url, &body, wait);
        }
    }

    /// Journals one callback and sends it after `wait`, in the background.
    pub(crate) fn send_callback(
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
