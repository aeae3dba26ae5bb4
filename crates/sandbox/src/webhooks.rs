//! The merchant's webhooks received: paybridge's events for the merchant's
//! application, posted to `POST /merchant/webhooks`, verified per Standard
//! Webhooks and kept for the dashboard and `GET /_sandbox/webhooks`.
//!
//! This is a second reading of the specification, written from it alone: it
//! shares no code with paybridge's signing, so a misreading on the sending
//! side shows here instead of being repeated.
//!
//! ```
//! use axum::http::HeaderMap;
//! use paybridge_sandbox::webhooks::{verify, Secret, Verdict};
//!
//! let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap());
//! headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
//! headers.insert(
//!     "webhook-signature",
//!     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse().unwrap(),
//! );
//! let body = br#"{"test": 2432232314}"#;
//! assert_eq!(verify(&[secret], &headers, body, 1614265330), Verdict::Verified);
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::SandboxState;

/// Where the merchant's application's events are posted.
pub const PATH: &str = "/merchant/webhooks";

/// How far a `webhook-timestamp` may be from now, either way: five minutes.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Characters of each text a received webhook keeps (its id, type, order
/// id, status), so that odd headers and bodies cost the inbox little.
const KEPT_CHARS: usize = 200;

/// A receiving secret, read from `whsec_<base64>`: the key is what the
/// base64 decodes to. Neither `Debug` nor anything else shows it.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

/// Why a secret's text was refused (the text itself is never repeated).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// It does not start with `whsec_`.
    Prefix,
    /// What follows `whsec_` is not base64, or is empty.
    Base64,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretError::Prefix => "a webhook secret starts with whsec_",
            SecretError::Base64 => "what follows whsec_ in a webhook secret is not base64",
        })
    }
}

impl std::error::Error for SecretError {}

impl Secret {
    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or(SecretError::Prefix)?;
        match STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Self { key }),
            _ => Err(SecretError::Base64),
        }
    }

    /// HMAC-SHA256 of `id.timestamp.body` under this key, the timestamp as
    /// the header gave it: the signed text is the header's own digits.
    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Option<[u8; 32]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl TryFrom<String> for Secret {
    type Error = SecretError;

    fn try_from(text: String) -> Result<Self, SecretError> {
        Self::parse(&text)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What the sandbox made of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// A `v1` signature matched one of the secrets.
    Verified,
    /// Well formed, but the sandbox has no secret to check the signature with.
    NoSecret,
    /// A required header is absent or empty: its name.
    MissingHeader(&'static str),
    /// A header is not visible ASCII: its name.
    UnreadableHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds.
    BadTimestamp,
    /// `webhook-timestamp` is more than five minutes ago.
    TooOld,
    /// `webhook-timestamp` is more than five minutes ahead.
    TooNew,
    /// No `v1` signature in `webhook-signature` matches any secret.
    NoSignatureMatches,
    /// The signature matched but the body is not JSON.
    NotJson,
}

impl Verdict {
    /// Whether the delivery is taken (answered 204): verified, or unverifiable
    /// for want of a secret.
    pub fn accepted(self) -> bool {
        matches!(self, Verdict::Verified | Verdict::NoSecret)
    }

    /// A stable word for it: `verified`, `no_secret`, `missing_header`,
    /// `unreadable_header`, `bad_timestamp`, `too_old`, `too_new`,
    /// `no_signature_matches` or `not_json`.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::NoSecret => "no_secret",
            Verdict::MissingHeader(_) => "missing_header",
            Verdict::UnreadableHeader(_) => "unreadable_header",
            Verdict::BadTimestamp => "bad_timestamp",
            Verdict::TooOld => "too_old",
            Verdict::TooNew => "too_new",
            Verdict::NoSignatureMatches => "no_signature_matches",
            Verdict::NotJson => "not_json",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Verified => f.write_str("verified"),
            Verdict::NoSecret => f.write_str("unverified: no secret configured"),
            Verdict::MissingHeader(name) => write!(f, "missing header {name}"),
            Verdict::UnreadableHeader(name) => write!(f, "header {name} is not visible ASCII"),
            Verdict::BadTimestamp => {
                f.write_str("bad timestamp: webhook-timestamp is not whole seconds since 1970")
            }
            Verdict::TooOld => f.write_str("stale timestamp: more than 5 minutes ago"),
            Verdict::TooNew => f.write_str("timestamp too new: more than 5 minutes ahead"),
            Verdict::NoSignatureMatches => f.write_str("no signature matches"),
            Verdict::NotJson => f.write_str("body is not JSON"),
        }
    }
}

/// A required header's text.
fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Verdict> {
    let value = headers.get(name).ok_or(Verdict::MissingHeader(name))?;
    let text = value
        .to_str()
        .map_err(|_| Verdict::UnreadableHeader(name))?;
    if text.trim().is_empty() {
        return Err(Verdict::MissingHeader(name));
    }
    Ok(text)
}

/// Checks one delivery as the specification asks, `now` being the time in
/// seconds since 1970: the three headers present, the timestamp within five
/// minutes of `now` either way, any one of the space-separated `v1,`
/// signatures made by any of `secrets` (compared in constant time; other
/// schemes skipped), and the body JSON. Without secrets, a delivery that
/// passes the rest is [`Verdict::NoSecret`].
pub fn verify(secrets: &[Secret], headers: &HeaderMap, body: &[u8], now: i64) -> Verdict {
    match checked(secrets, headers, body, now) {
        Ok(verdict) | Err(verdict) => verdict,
    }
}

fn checked(
    secrets: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Verdict, Verdict> {
    let id = header(headers, "webhook-id")?;
    let timestamp = header(headers, "webhook-timestamp")?;
    let signatures = header(headers, "webhook-signature")?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .ok()
        .filter(|_| timestamp.trim().bytes().all(|b| b.is_ascii_digit()))
        .ok_or(Verdict::BadTimestamp)?;
    if seconds < now.saturating_sub(TOLERANCE_SECONDS) {
        return Err(Verdict::TooOld);
    }
    if seconds > now.saturating_add(TOLERANCE_SECONDS) {
        return Err(Verdict::TooNew);
    }
    let verdict = if secrets.is_empty() {
        Verdict::NoSecret
    } else {
        let expected: Vec<[u8; 32]> = secrets
            .iter()
            .filter_map(|secret| secret.mac(id, timestamp.trim(), body))
            .collect();
        let matched = signatures
            .split(' ')
            .filter_map(|part| part.strip_prefix("v1,"))
            .filter_map(|encoded| STANDARD.decode(encoded).ok())
            .any(|given| {
                expected
                    .iter()
                    .any(|mac| bool::from(mac.as_slice().ct_eq(given.as_slice())))
            });
        if !matched {
            return Err(Verdict::NoSignatureMatches);
        }
        Verdict::Verified
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err(Verdict::NotJson);
    }
    Ok(verdict)
}

/// One delivery the sandbox received, as the dashboard and the JSON API show
/// it: what its headers and body said (each text cut to 200 characters) and
/// what the sandbox made of it.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedWebhook {
    /// When it arrived, `YYYY-MM-DD HH:MM:SS` UTC.
    pub received_at: String,
    /// Its `webhook-id` header (empty when absent).
    pub webhook_id: String,
    /// The body's `type` (`payout.completed`).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// The body's `data.provider`.
    pub provider: Option<String>,
    /// The body's `data.order_id`.
    pub order_id: Option<String>,
    /// The body's `data.sequence`.
    pub sequence: Option<i64>,
    /// The body's `data.status`.
    pub status: Option<String>,
    /// The verdict's word (see [`Verdict::word`]).
    pub outcome: &'static str,
    /// The verdict, in words (`missing header webhook-id`).
    pub verdict: String,
    /// Whether its signature was verified.
    pub verified: bool,
    /// Whether a delivery taken earlier, and still kept, had the same
    /// `webhook-id` (a retry or a replay: at-least-once delivery).
    pub duplicate: bool,
    /// The HTTP status the sandbox answered.
    pub http_status: u16,
}

fn kept(text: &str) -> String {
    text.chars().take(KEPT_CHARS).collect()
}

impl ReceivedWebhook {
    /// The record of a delivery of `headers` and `body` judged `verdict`, at `at`.
    fn new(at: SystemTime, headers: &HeaderMap, body: &[u8], verdict: Verdict) -> Self {
        let event: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |value: &Value| value.as_str().map(kept);
        let webhook_id = headers
            .get("webhook-id")
            .map(|v| kept(&String::from_utf8_lossy(v.as_bytes())))
            .unwrap_or_default();
        Self {
            received_at: crate::time_text(at),
            webhook_id,
            event_type: text(&event["type"]),
            provider: text(&event["data"]["provider"]),
            order_id: text(&event["data"]["order_id"]),
            sequence: event["data"]["sequence"].as_i64(),
            status: text(&event["data"]["status"]),
            outcome: verdict.word(),
            verdict: verdict.to_string(),
            verified: verdict == Verdict::Verified,
            duplicate: false,
            http_status: if verdict.accepted() { 204 } else { 400 },
        }
    }

    /// The bytes it holds, as the inbox counts them.
    fn bytes(&self) -> usize {
        let optional = [
            &self.event_type,
            &self.provider,
            &self.order_id,
            &self.status,
        ]
        .iter()
        .map(|t| t.as_ref().map_or(0, String::len))
        .sum::<usize>();
        // The fixed fields and the record's own size, so that a flood of
        // empty deliveries counts too.
        self.received_at.len()
            + self.webhook_id.len()
            + self.verdict.len()
            + optional
            + std::mem::size_of::<Self>()
    }
}

/// The webhooks received, bounded like the journal: at most `limit`, and
/// at most `budget` bytes; past either the oldest are forgotten.
#[derive(Debug)]
pub struct Inbox {
    limit: usize,
    budget: usize,
    bytes: usize,
    kept: VecDeque<ReceivedWebhook>,
    /// How many taken deliveries of each `webhook-id` are kept.
    taken: HashMap<String, usize>,
}

impl Inbox {
    /// An empty inbox keeping at most `limit` deliveries and `budget` bytes.
    pub fn new(limit: usize, budget: usize) -> Self {
        Self {
            limit: limit.max(1),
            budget,
            bytes: 0,
            kept: VecDeque::new(),
            taken: HashMap::new(),
        }
    }

    /// Keeps `webhook`, marking it a duplicate when it is taken and another
    /// taken delivery of its id is kept; the oldest go past the bounds (the
    /// newest stays, alone if need be).
    pub fn record(&mut self, mut webhook: ReceivedWebhook) -> &ReceivedWebhook {
        if webhook.http_status == 204 {
            let count = self.taken.entry(webhook.webhook_id.clone()).or_default();
            webhook.duplicate = *count > 0;
            *count += 1;
        }
        self.bytes += webhook.bytes();
        self.kept.push_back(webhook);
        while self.kept.len() > self.limit || (self.bytes > self.budget && self.kept.len() > 1) {
            let Some(gone) = self.kept.pop_front() else {
                break;
            };
            self.forget(&gone);
        }
        &self.kept[self.kept.len() - 1]
    }

    fn forget(&mut self, gone: &ReceivedWebhook) {
        self.bytes = self.bytes.saturating_sub(gone.bytes());
        if gone.http_status == 204 {
            if let Some(count) = self.taken.get_mut(&gone.webhook_id) {
                *count -= 1;
                if *count == 0 {
                    self.taken.remove(&gone.webhook_id);
                }
            }
        }
    }

    /// Every delivery kept, oldest first.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &ReceivedWebhook> {
        self.kept.iter()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The bytes held now, and the budget.
    pub fn bytes(&self) -> (usize, usize) {
        (self.bytes, self.budget)
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `POST /merchant/webhooks`: verifies and keeps one delivery; 204 when
/// taken (a duplicate too), 400 and the reason in plain text when not.
pub(crate) async fn receive(
    State(inner): State<Arc<SandboxState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = SystemTime::now();
    let verdict = verify(
        &inner.config.webhook_secrets,
        &headers,
        &body,
        unix_seconds(at),
    );
    let webhook = ReceivedWebhook::new(at, &headers, &body, verdict);
    let duplicate = inner.journal().webhooks.record(webhook).duplicate;
    tracing::info!(
        target: "paybridge_sandbox::webhooks",
        outcome = verdict.word(),
        duplicate,
        "merchant webhook received"
    );
    if verdict.accepted() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::BAD_REQUEST, verdict.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const AT: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn vector() -> HeaderMap {
        headers(&[
            ("webhook-id", ID),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", SIGNATURE),
        ])
    }

    fn secret() -> Vec<Secret> {
        vec![Secret::parse(SECRET).unwrap()]
    }

    #[test]
    fn the_specifications_test_vector_verifies_at_its_own_time() {
        assert_eq!(verify(&secret(), &vector(), BODY, AT), Verdict::Verified);
        // One byte of the body or the id changed breaks it.
        assert_eq!(
            verify(&secret(), &vector(), br#"{"test": 2432232315}"#, AT),
            Verdict::NoSignatureMatches
        );
        let mut other = vector();
        other.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJel".parse().unwrap(),
        );
        assert_eq!(
            verify(&secret(), &other, BODY, AT),
            Verdict::NoSignatureMatches
        );
    }

    #[test]
    fn the_timestamp_is_taken_within_five_minutes_either_way_and_refused_beyond() {
        let s = secret();
        assert_eq!(verify(&s, &vector(), BODY, AT + 300), Verdict::Verified);
        assert_eq!(verify(&s, &vector(), BODY, AT - 300), Verdict::Verified);
        assert_eq!(verify(&s, &vector(), BODY, AT + 301), Verdict::TooOld);
        assert_eq!(verify(&s, &vector(), BODY, AT - 301), Verdict::TooNew);
        for bad in [
            "-1614265330",
            "1614265330.5",
            "soon",
            "99999999999999999999",
        ] {
            let mut h = vector();
            h.insert("webhook-timestamp", bad.parse().unwrap());
            assert_eq!(verify(&s, &h, BODY, AT), Verdict::BadTimestamp, "{bad}");
        }
    }

    #[test]
    fn each_missing_or_unreadable_header_is_named() {
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut h = vector();
            h.remove(name);
            assert_eq!(
                verify(&secret(), &h, BODY, AT),
                Verdict::MissingHeader(name)
            );
            h.insert(name, axum::http::HeaderValue::from_bytes(b"\xffx").unwrap());
            assert_eq!(
                verify(&secret(), &h, BODY, AT),
                Verdict::UnreadableHeader(name)
            );
        }
    }

    #[test]
    fn one_matching_signature_among_others_and_other_schemes_verifies() {
        let h = headers(&[
            ("webhook-id", ID),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                &format!("v1a,xyz v1,!!! v1,AAAA {SIGNATURE}  v2,abc"),
            ),
        ]);
        assert_eq!(verify(&secret(), &h, BODY, AT), Verdict::Verified);
        let rotated = vec![
            Secret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap(),
            Secret::parse(SECRET).unwrap(),
        ];
        assert_eq!(verify(&rotated, &vector(), BODY, AT), Verdict::Verified);
    }

    #[test]
    fn without_a_secret_a_well_formed_delivery_is_taken_unverified_and_a_non_json_body_refused() {
        assert_eq!(verify(&[], &vector(), BODY, AT), Verdict::NoSecret);
        assert_eq!(verify(&[], &vector(), b"\xff\xfe", AT), Verdict::NotJson);
        assert_eq!(
            verify(&[], &HeaderMap::new(), BODY, AT).word(),
            "missing_header"
        );
    }

    #[test]
    fn a_secret_without_its_prefix_or_base64_is_refused_and_never_shown() {
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::Prefix
        );
        assert_eq!(Secret::parse("whsec_***").unwrap_err(), SecretError::Base64);
        assert_eq!(Secret::parse("whsec_").unwrap_err(), SecretError::Base64);
        let shown = format!("{:?}", Secret::parse(SECRET).unwrap());
        assert!(!shown.contains("MfKQ"), "{shown}");
    }

    fn received(id: &str, verdict: Verdict) -> ReceivedWebhook {
        let h = headers(&[("webhook-id", id)]);
        ReceivedWebhook::new(SystemTime::now(), &h, BODY, verdict)
    }

    #[test]
    fn the_inbox_marks_a_taken_id_seen_again_a_duplicate_but_not_after_a_refusal() {
        let mut inbox = Inbox::new(10, 1 << 20);
        assert!(
            !inbox
                .record(received("a", Verdict::NoSignatureMatches))
                .duplicate
        );
        assert!(!inbox.record(received("a", Verdict::Verified)).duplicate);
        assert!(inbox.record(received("a", Verdict::Verified)).duplicate);
        assert!(!inbox.record(received("b", Verdict::NoSecret)).duplicate);
        assert_eq!(inbox.len(), 4);
    }

    #[test]
    fn the_inbox_holds_its_limit_and_its_budget_forgetting_the_oldest() {
        let mut inbox = Inbox::new(5, 1 << 20);
        for n in 0..50 {
            inbox.record(received(&format!("id{n}"), Verdict::Verified));
        }
        let ids: Vec<&str> = inbox.all().map(|w| w.webhook_id.as_str()).collect();
        assert_eq!(ids, ["id45", "id46", "id47", "id48", "id49"]);
        // A forgotten id is no longer a duplicate's original.
        assert!(!inbox.record(received("id0", Verdict::Verified)).duplicate);

        let one = received("x", Verdict::Verified).bytes();
        let mut small = Inbox::new(10_000, one * 3);
        for n in 0..1_000 {
            small.record(received(&format!("{n:>200}"), Verdict::Verified));
        }
        let (bytes, budget) = small.bytes();
        assert!(bytes <= budget, "{bytes} > {budget}");
        assert!(!small.is_empty() && small.len() < 4, "{}", small.len());
        let huge = "x".repeat(100_000);
        assert_eq!(
            small
                .record(received(&huge, Verdict::Verified))
                .webhook_id
                .len(),
            KEPT_CHARS
        );
    }
}
