//! What the sandbox saw and did for each order, for the dashboard and its JSON
//! API: the requests it received (secrets scrubbed), the answers it gave, and
//! every callback delivery attempt. Bounded: the oldest orders are forgotten
//! first, and each order keeps only its latest exchanges and deliveries. It
//! is bounded in bytes too: past its budget the oldest orders' entries go,
//! and a body too large to keep is kept as a marker naming its size.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::SystemTime;

use axum::body::Bytes;
use serde::ser::SerializeStruct;
use serde::Serialize;
use serde_json::Value;

use crate::state::{Bounded, Kind};

/// Exchanges kept per order (the latest).
pub const EXCHANGES_PER_ORDER: usize = 50;
/// Deliveries kept per order (the latest).
pub const DELIVERIES_PER_ORDER: usize = 50;
/// Characters of a merchant's answer kept per attempt.
const RESPONSE_EXCERPT: usize = 200;
/// The default byte budget of the journal: 32 MiB.
pub const DEFAULT_JOURNAL_BYTES: usize = 32 << 20;
/// The largest body kept whole (smaller when a sixteenth of the budget is).
const MAX_KEPT_BODY: usize = 64 << 10;
/// What a body too large to keep is shown as, beside its size.
const DROPPED: &str = "<dropped: larger than the journal keeps>";

/// Form fields and JSON keys whose values are secrets: shown as `<scrubbed>`.
use paybridge_signing::SECRET_FIELD_NAMES as SECRET_FIELDS;

/// Which order an entry belongs to: the provider, deposit or withdrawal, and the
/// merchant's order id (ONE-PUNCH: the payment token).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct JournalKey {
    /// `vpay88`, `one1pay` or `onepunch`.
    pub provider: &'static str,
    /// Deposit or withdrawal.
    pub kind: Kind,
    /// The order id, or ONE-PUNCH's payment token.
    pub reference: String,
}

/// What a request carried, kept as received and scrubbed only when shown, so
/// that journaling costs an order request one copy of its body.
#[derive(Clone)]
pub(crate) enum Received {
    /// An urlencoded body.
    Urlencoded(Bytes),
    /// Fields already read (a multipart or JSON body).
    Fields(HashMap<String, String>),
    /// A body too large to keep: its size.
    Dropped(usize),
}

impl Received {
    /// The fields, the last of a repeated key winning (as PHP reads them), secrets scrubbed.
    fn shown(&self) -> BTreeMap<String, String> {
        match self {
            Self::Urlencoded(body) => {
                let last: HashMap<String, String> =
                    serde_urlencoded::from_bytes(body).unwrap_or_default();
                scrubbed(&last)
            }
            Self::Fields(fields) => scrubbed(fields),
            Self::Dropped(bytes) => {
                BTreeMap::from([(DROPPED.to_owned(), format!("{bytes} bytes"))])
            }
        }
    }

    /// The bytes it holds.
    fn bytes(&self) -> usize {
        match self {
            Self::Urlencoded(body) => body.len(),
            Self::Fields(fields) => fields.iter().map(|(k, v)| k.len() + v.len()).sum(),
            Self::Dropped(_) => DROPPED.len(),
        }
    }
}

/// One request the sandbox received for an order, and its answer. Shown (and
/// serialized) with its secrets scrubbed.
#[derive(Clone)]
pub struct Exchange {
    at: SystemTime,
    endpoint: String,
    received: Received,
    answer: Bytes,
}

impl Exchange {
    pub(crate) fn new(at: SystemTime, endpoint: String, received: Received, answer: Bytes) -> Self {
        Self {
            at,
            endpoint,
            received,
            answer,
        }
    }

    /// When, `YYYY-MM-DD HH:MM:SS` UTC.
    pub fn at(&self) -> String {
        crate::time_text(self.at)
    }

    /// The bytes it holds, as the journal counts them.
    fn bytes(&self) -> usize {
        self.endpoint.len() + self.received.bytes() + self.answer.len()
    }

    /// Itself, its body and answer replaced by markers when larger than `max`.
    fn kept(mut self, max: usize) -> Self {
        if self.received.bytes() > max {
            self.received = Received::Dropped(self.received.bytes());
        }
        if self.answer.len() > max {
            self.answer = Bytes::from(format!("{DROPPED} {} bytes", self.answer.len()));
        }
        self
    }

    /// The path it was posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Its fields, secrets scrubbed.
    pub fn fields(&self) -> BTreeMap<String, String> {
        self.received.shown()
    }

    /// The answer given, secrets scrubbed; an answer that is not JSON as a
    /// string, and none (the handler gave no JSON) as null.
    pub fn answer(&self) -> Value {
        if self.answer.is_empty() {
            return Value::Null;
        }
        match serde_json::from_slice::<Value>(&self.answer) {
            Ok(value) => scrubbed_json(&value),
            Err(_) => Value::String(String::from_utf8_lossy(&self.answer).into_owned()),
        }
    }
}

impl Serialize for Exchange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut shown = serializer.serialize_struct("Exchange", 4)?;
        shown.serialize_field("at", &self.at())?;
        shown.serialize_field("endpoint", &self.endpoint)?;
        shown.serialize_field("fields", &self.fields())?;
        shown.serialize_field("answer", &self.answer())?;
        shown.end()
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("at", &self.at())
            .field("endpoint", &self.endpoint)
            .field("fields", &self.fields())
            .field("answer", &self.answer())
            .finish()
    }
}

/// One attempt at delivering a callback.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// When, `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// The merchant's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// The start of the merchant's answer, or why none came.
    pub response: String,
    /// How long it took, microseconds.
    pub latency_us: u64,
}

/// One callback sent (and retried until acknowledged), with every attempt.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryLog {
    /// Its id, for resending.
    pub id: u64,
    /// `callback`, `resend`, `duplicate` or `out of order`.
    pub label: &'static str,
    /// Where it goes.
    pub url: String,
    /// What was posted (its token or signature scrubbed when shown).
    pub body: Value,
    /// Every attempt so far.
    pub attempts: Vec<Attempt>,
    /// Whether an HTTP 200 came back.
    pub delivered: bool,
}

/// Everything kept for one order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrderLog {
    /// The latest requests and answers, oldest first.
    pub exchanges: VecDeque<Exchange>,
    /// The latest deliveries, oldest first.
    pub deliveries: VecDeque<DeliveryLog>,
}

impl DeliveryLog {
    /// The bytes it holds, as the journal counts them.
    fn bytes(&self) -> usize {
        self.url.len()
            + self.body.to_string().len()
            + self
                .attempts
                .iter()
                .map(|a| a.at.len() + a.response.len())
                .sum::<usize>()
    }
}

impl OrderLog {
    /// The bytes it holds, as the journal counts them.
    fn bytes(&self) -> usize {
        self.exchanges.iter().map(Exchange::bytes).sum::<usize>()
            + self
                .deliveries
                .iter()
                .map(DeliveryLog::bytes)
                .sum::<usize>()
    }
}

/// The bounded journal of every order.
#[derive(Debug)]
pub struct Journal {
    limit: usize,
    /// The byte budget, and the bytes held now.
    budget: usize,
    bytes: usize,
    logs: Bounded<JournalKey, OrderLog>,
    owners: HashMap<u64, JournalKey>,
    next_delivery: u64,
    /// The merchant's webhooks received, within an eighth of the budget of
    /// their own, so that neither a flood of webhooks nor one of orders
    /// pushes the other out.
    pub(crate) webhooks: crate::webhooks::Inbox,
}

/// Field values as shown: secrets replaced.
pub fn scrubbed<'a>(
    fields: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> BTreeMap<String, String> {
    fields
        .into_iter()
        .map(|(k, v)| {
            let shown = if SECRET_FIELDS.contains(&k.as_str()) {
                "<scrubbed>".to_owned()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// A JSON value as shown: the values of secret keys replaced.
pub fn scrubbed_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = if SECRET_FIELDS.contains(&k.as_str()) {
                        Value::String("<scrubbed>".into())
                    } else {
                        scrubbed_json(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(scrubbed_json).collect()),
        other => other.clone(),
    }
}

/// The first characters of `text`.
pub fn excerpt(text: &str) -> String {
    text.chars().take(RESPONSE_EXCERPT).collect()
}

impl Journal {
    /// An empty journal keeping at most `limit` orders and
    /// [`DEFAULT_JOURNAL_BYTES`].
    pub fn new(limit: usize) -> Self {
        Self::with_budget(limit, DEFAULT_JOURNAL_BYTES)
    }

    /// An empty journal keeping at most `limit` orders and `budget` bytes.
    pub fn with_budget(limit: usize, budget: usize) -> Self {
        Self {
            limit,
            budget,
            bytes: 0,
            logs: Bounded::default(),
            owners: HashMap::new(),
            next_delivery: 1,
            webhooks: crate::webhooks::Inbox::new(limit, budget / 8),
        }
    }

    /// Makes an empty log for `key` when it has none, forgetting the oldest
    /// orders (and their deliveries) past the limit. A known order's key is
    /// not copied.
    fn admit(&mut self, key: &JournalKey) {
        if self.logs.get(key).is_some() {
            return;
        }
        for log in self
            .logs
            .insert(key.clone(), OrderLog::default(), self.limit)
        {
            self.forget(log);
        }
    }

    /// Lets go of a forgotten order's log.
    fn forget(&mut self, log: OrderLog) {
        self.bytes = self.bytes.saturating_sub(log.bytes());
        for delivery in log.deliveries {
            self.owners.remove(&delivery.id);
        }
    }

    /// Forgets the oldest orders while the journal holds more than its
    /// budget, `keep` (the order just written) last: alone past the budget,
    /// it keeps its latest exchange.
    fn within_budget(&mut self, keep: &JournalKey) {
        let mut kept = None;
        while self.bytes > self.budget {
            let Some((oldest, log)) = self.logs.pop_oldest() else {
                break;
            };
            if &oldest == keep {
                kept = Some((oldest, log));
            } else {
                self.forget(log);
            }
        }
        if let Some((key, mut log)) = kept {
            while self.bytes > self.budget && log.exchanges.len() > 1 {
                if let Some(gone) = log.exchanges.pop_front() {
                    self.bytes = self.bytes.saturating_sub(gone.bytes());
                }
            }
            drop(self.logs.insert(key, log, self.limit));
        }
    }

    /// The largest body kept whole.
    fn max_body(&self) -> usize {
        MAX_KEPT_BODY.min(self.budget / 16)
    }

    /// The bytes held now, and the budget.
    pub fn bytes(&self) -> (usize, usize) {
        (self.bytes, self.budget)
    }

    /// Records a request and its answer.
    pub fn exchange(&mut self, key: &JournalKey, exchange: Exchange) {
        self.admit(key);
        let exchange = exchange.kept(self.max_body());
        let mut bytes = self.bytes + exchange.bytes();
        if let Some(log) = self.logs.get_mut(key) {
            log.exchanges.push_back(exchange);
            if log.exchanges.len() > EXCHANGES_PER_ORDER {
                if let Some(gone) = log.exchanges.pop_front() {
                    bytes = bytes.saturating_sub(gone.bytes());
                }
            }
        }
        self.bytes = bytes;
        self.within_budget(key);
    }

    /// Records a callback about to be sent; its id.
    pub fn start_delivery(
        &mut self,
        key: &JournalKey,
        label: &'static str,
        url: &str,
        body: &Value,
    ) -> u64 {
        let id = self.next_delivery;
        self.next_delivery += 1;
        self.admit(key);
        let Some(log) = self.logs.get_mut(key) else {
            return id;
        };
        let delivery = DeliveryLog {
            id,
            label,
            url: url.to_owned(),
            body: body.clone(),
            attempts: Vec::new(),
            delivered: false,
        };
        let mut bytes = self.bytes + delivery.bytes();
        log.deliveries.push_back(delivery);
        let forgotten = (log.deliveries.len() > DELIVERIES_PER_ORDER)
            .then(|| log.deliveries.pop_front())
            .flatten();
        if let Some(forgotten) = forgotten {
            bytes = bytes.saturating_sub(forgotten.bytes());
            self.owners.remove(&forgotten.id);
        }
        self.bytes = bytes;
        self.owners.insert(id, key.clone());
        self.within_budget(key);
        id
    }

    /// Records one attempt of delivery `id` (nothing when it was forgotten).
    pub fn attempt(&mut self, id: u64, attempt: Attempt) {
        let Some(key) = self.owners.get(&id) else {
            return;
        };
        if let Some(delivery) = self
            .logs
            .get_mut(key)
            .and_then(|log| log.deliveries.iter_mut().find(|d| d.id == id))
        {
            delivery.delivered = attempt.http_status == Some(200);
            self.bytes += attempt.at.len() + attempt.response.len();
            delivery.attempts.push(attempt);
        }
    }

    /// The log of an order.
    pub fn log(&self, key: &JournalKey) -> Option<&OrderLog> {
        self.logs.get(key)
    }

    /// The order and the delivery `id` belongs to.
    pub fn delivery(&self, id: u64) -> Option<(JournalKey, DeliveryLog)> {
        let key = self.owners.get(&id)?;
        let delivery = self.logs.get(key)?.deliveries.iter().find(|d| d.id == id)?;
        Some((key.clone(), delivery.clone()))
    }

    /// Every log, oldest order first.
    pub fn all(&self) -> impl Iterator<Item = (&JournalKey, &OrderLog)> {
        self.logs.iter()
    }

    /// How many orders are kept.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// The merchant's webhooks received.
    pub fn webhooks(&self) -> &crate::webhooks::Inbox {
        &self.webhooks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> JournalKey {
        JournalKey {
            provider: "vpay88",
            kind: Kind::Deposit,
            reference: format!("O{n}"),
        }
    }

    fn exchange() -> Exchange {
        Exchange::new(
            SystemTime::now(),
            "/vpay88/merchant/check_status".into(),
            Received::Urlencoded(Bytes::from_static(b"username=demo&id=O1")),
            Bytes::from_static(b"{}"),
        )
    }

    #[test]
    fn the_oldest_orders_go_first_and_each_keeps_its_latest_entries() {
        let mut journal = Journal::new(3);
        for n in 0..5 {
            journal.exchange(&key(n), exchange());
        }
        assert_eq!(journal.len(), 3);
        assert!(journal.log(&key(0)).is_none() && journal.log(&key(1)).is_none());
        assert!(journal.log(&key(4)).is_some());
        for _ in 0..EXCHANGES_PER_ORDER + 7 {
            journal.exchange(&key(4), exchange());
        }
        assert_eq!(
            journal.log(&key(4)).map(|l| l.exchanges.len()),
            Some(EXCHANGES_PER_ORDER)
        );
        let first =
            journal.start_delivery(&key(4), "callback", "http://127.0.0.1:9/", &Value::Null);
        for _ in 0..DELIVERIES_PER_ORDER {
            journal.start_delivery(&key(4), "resend", "http://127.0.0.1:9/", &Value::Null);
        }
        assert!(
            journal.delivery(first).is_none(),
            "the oldest delivery is forgotten"
        );
        for n in 5..8 {
            journal.exchange(&key(n), exchange());
        }
        assert!(
            journal.owners.is_empty(),
            "a forgotten order takes its deliveries with it"
        );
    }

    #[test]
    fn the_journal_keeps_within_its_byte_budget_dropping_the_oldest_and_marking_large_bodies() {
        let mut journal = Journal::with_budget(1_000, 16 << 10);
        let body = |len: usize| {
            Exchange::new(
                SystemTime::now(),
                "/vpay88/merchant/check_status".into(),
                Received::Urlencoded(Bytes::from(format!("id={}", "x".repeat(len)))),
                Bytes::from_static(b"{}"),
            )
        };
        for n in 0..100 {
            journal.exchange(&key(n), body(500));
            let (held, budget) = journal.bytes();
            assert!(held <= budget, "{held} > {budget} after {n}");
            let counted: usize = journal.all().map(|(_, log)| log.bytes()).sum();
            assert_eq!(held, counted, "the count is what is held");
        }
        assert!(journal.log(&key(0)).is_none(), "the oldest went");
        assert!(journal.log(&key(99)).is_some(), "the newest stays");
        assert!(
            journal.len() > 20,
            "as many as fit are kept: {}",
            journal.len()
        );
        // A body past a sixteenth of the budget is kept as a marker.
        journal.exchange(&key(200), body(5_000));
        let shown = journal.log(&key(200)).unwrap().exchanges[0].fields();
        assert_eq!(shown[DROPPED], "5003 bytes");
        let first =
            journal.start_delivery(&key(200), "callback", "http://127.0.0.1:9/", &Value::Null);
        journal.attempt(
            first,
            Attempt {
                at: "now".into(),
                http_status: Some(200),
                response: "ok".into(),
                latency_us: 1,
            },
        );
        let counted: usize = journal.all().map(|(_, log)| log.bytes()).sum();
        assert_eq!(journal.bytes().0, counted);
    }

    #[test]
    fn an_exchange_is_shown_scrubbed_with_the_last_of_a_repeated_field() {
        let exchange = Exchange::new(
            SystemTime::UNIX_EPOCH,
            "/vpay88/merchant/generate_orders".into(),
            Received::Urlencoded(Bytes::from_static(
                b"auth=secret-token&amount=1&amount=100&email=a%40b.c",
            )),
            Bytes::from_static(br#"{"status":true,"auth":"issued-token","amount":100.0000}"#),
        );
        let shown = serde_json::to_value(&exchange).unwrap();
        let expected: Value = serde_json::from_str(
            r#"{
                "at": "1970-01-01 00:00:00",
                "endpoint": "/vpay88/merchant/generate_orders",
                "fields": {"auth": "<scrubbed>", "amount": "100", "email": "a@b.c"},
                "answer": {"status": true, "auth": "<scrubbed>", "amount": 100.0000}
            }"#,
        )
        .unwrap();
        assert_eq!(shown, expected);
        let debug = format!("{exchange:?}");
        assert!(!debug.contains("secret-token") && !debug.contains("issued-token"));
        let not_json = Exchange::new(
            SystemTime::UNIX_EPOCH,
            "/x".into(),
            Received::Fields(HashMap::from([("api_key".into(), "k".into())])),
            Bytes::from_static(b"<html>502</html>"),
        );
        assert_eq!(not_json.answer(), Value::String("<html>502</html>".into()));
        assert_eq!(not_json.fields()["api_key"], "<scrubbed>");
    }

    #[test]
    fn secrets_are_scrubbed_from_fields_and_bodies() {
        let fields: HashMap<String, String> = [("api_key", "k"), ("auth", "t"), ("amount", "100")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let shown = scrubbed(&fields);
        assert_eq!(shown["api_key"], "<scrubbed>");
        assert_eq!(shown["auth"], "<scrubbed>");
        assert_eq!(shown["amount"], "100");
        let body = serde_json::json!({"token": "abc", "order": {"signature": "s", "amount": 1}});
        assert_eq!(
            scrubbed_json(&body),
            serde_json::json!({"token": "<scrubbed>", "order": {"signature": "<scrubbed>", "amount": 1}})
        );
    }
}
