//! The outbox's writes and reads: an event is written by the transaction that
//! applies its transition, numbered within its order, its body fixed then.

use paybridge_core::{OrderKind, Result};
use rand::Rng;
use sqlx::{AnyConnection, AnyPool};

use super::rows::{corrupt, Columns};
use super::{db, kind_word, BY_KEY};
use crate::events::{DeliveryState, Event, EventFilter, EventType};
use crate::state::LedgerState;
use crate::{now_ms, OrderRecord};

/// The columns of an event, in the order [`event`] reads them.
pub(super) const EVENT_COLUMNS: &str =
    "event_id, type, provider, account, kind, order_id, sequence, body, \
    created_at, state, attempts, next_attempt_at";

/// What an event tells beyond its order's record.
pub(super) struct Happened<'a> {
    pub(super) event_type: EventType,
    pub(super) previous: Option<LedgerState>,
    pub(super) confirmed: bool,
    /// Why, for a conflict.
    pub(super) conflict: Option<&'a str>,
}

/// A fresh event id: `evt_` and 26 random lower-case letters and digits, so
/// that ids never repeat across databases (a receiver drops what it has seen)
/// and never hold the `.` the signed text separates with.
fn event_id() -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(30);
    id.push_str("evt_");
    for _ in 0..26 {
        id.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
    id
}

/// The word an event's body uses for a kind of order: the API's.
fn kind_name(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Deposit => "deposit",
        _ => "payout",
    }
}

/// Writes the event of `record`'s transition, inside the caller's transaction.
pub(super) async fn log_event(
    connection: &mut AnyConnection,
    record: &OrderRecord,
    happened: &Happened<'_>,
) -> Result<()> {
    let key = &record.key;
    let sequence: i64 = sqlx::query_scalar(&format!(
        "SELECT COALESCE(MAX(sequence), 0) + 1 FROM paybridge_events WHERE {BY_KEY}"
    ))
    .bind(key.provider.clone())
    .bind(key.account.clone())
    .bind(kind_word(key.kind))
    .bind(key.order_id.clone())
    .fetch_one(&mut *connection)
    .await
    .map_err(db("number an event"))?;
    let id = event_id();
    let now = now_ms();
    let timestamp = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut data = serde_json::json!({
        "order_id": key.order_id,
        "account": key.account,
        "provider": key.provider,
        "kind": kind_name(key.kind),
        "amount": record.amount.amount().to_string(),
        "currency": record.amount.currency().as_str(),
        "status": record.state.as_str(),
        "previous_status": happened.previous.map(LedgerState::as_str),
        "provider_ref": record.provider_ref,
        "confirmed": happened.confirmed,
        "sequence": sequence,
    });
    if let Some(conflict) = happened.conflict {
        data["conflict"] = conflict.into();
    }
    let body = serde_json::json!({
        "type": happened.event_type.as_str(),
        "id": id,
        "timestamp": timestamp,
        "data": data,
    })
    .to_string();
    sqlx::query(
        "INSERT INTO paybridge_events (event_id, type, provider, account, kind, order_id, \
         sequence, body, created_at, state, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $9)",
    )
    .bind(id)
    .bind(happened.event_type.as_str())
    .bind(key.provider.clone())
    .bind(key.account.clone())
    .bind(kind_word(key.kind))
    .bind(key.order_id.clone())
    .bind(sequence)
    .bind(body)
    .bind(now)
    .execute(&mut *connection)
    .await
    .map_err(db("record an event"))?;
    Ok(())
}

pub(super) fn event(row: &sqlx::any::AnyRow) -> Result<Event> {
    let columns = Columns(row);
    let word = columns.text("type")?;
    let state = columns.text("state")?;
    Ok(Event {
        id: columns.text("event_id")?,
        event_type: EventType::parse(&word)
            .ok_or_else(|| corrupt(format!("event type {word:?}")))?,
        key: columns.key()?,
        sequence: columns.number("sequence")?,
        body: columns.text("body")?,
        created_at: columns.number("created_at")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| corrupt(format!("delivery state {state:?}")))?,
        attempts: columns.number("attempts")?,
        next_attempt_at: columns.number("next_attempt_at")?,
    })
}

/// [`Ledger::events`](crate::Ledger::events).
pub(super) async fn events(pool: &AnyPool, filter: &EventFilter) -> Result<Vec<Event>> {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM paybridge_events WHERE 1 = 1");
    let mut next = 1;
    let mut placeholder = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    if filter.state.is_some() {
        sql.push_str(&format!(" AND state = {}", placeholder()));
    }
    if filter.since.is_some() {
        sql.push_str(&format!(" AND created_at >= {}", placeholder()));
    }
    if filter.key.is_some() {
        let [a, b, c, d] = [placeholder(), placeholder(), placeholder(), placeholder()];
        sql.push_str(&format!(
            " AND provider = {a} AND account = {b} AND kind = {c} AND order_id = {d}"
        ));
    }
    if filter.id.is_some() {
        sql.push_str(&format!(" AND event_id = {}", placeholder()));
    }
    sql.push_str(" ORDER BY id");
    if filter.limit.is_some() {
        sql.push_str(&format!(" LIMIT {}", placeholder()));
    }
    let mut query = sqlx::query(&sql);
    if let Some(state) = filter.state {
        query = query.bind(state.as_str());
    }
    if let Some(since) = filter.since {
        query = query.bind(since);
    }
    if let Some(key) = &filter.key {
        query = query
            .bind(key.provider.clone())
            .bind(key.account.clone())
            .bind(kind_word(key.kind))
            .bind(key.order_id.clone());
    }
    if let Some(id) = &filter.id {
        query = query.bind(id.clone());
    }
    if let Some(limit) = filter.limit {
        query = query.bind(limit);
    }
    let rows = query.fetch_all(pool).await.map_err(db("read events"))?;
    rows.iter().map(event).collect()
}
