//! Callbacks as they arrived and what became of them, and the transitions
//! whose handler the merchant is owed: claimed by one caller at a time,
//! finished once.

use paybridge_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::rows::{corrupt, Columns};
use super::{db, kind_word, BY_KEY};
use crate::state::LedgerState;
use crate::{
    now_ms, CallbackVerdict, Claim, OrderKey, OwedQuery, ReceivedCallback, Source, Transition,
    UnconfirmedFields,
};

/// The columns of a transition, in the order [`transition`] reads them.
const TRANSITION_COLUMNS: &str =
    "id, provider, account, kind, order_id, from_state, to_state, source, at";

/// Reads a transition row selected with [`TRANSITION_COLUMNS`].
fn transition(row: &AnyRow) -> Result<Transition> {
    let columns = Columns(row);
    let state = |column: &str| -> Result<Option<LedgerState>> {
        let word = columns.text(column)?;
        match word.as_str() {
            "none" => Ok(None),
            _ => LedgerState::parse(&word)
                .map(Some)
                .ok_or_else(|| corrupt(format!("{column} {word:?}"))),
        }
    };
    let source = columns.text("source")?;
    Ok(Transition {
        id: columns.number("id")?,
        key: columns.key()?,
        from: state("from_state")?,
        to: state("to_state")?.ok_or_else(|| corrupt("to_state \"none\"".into()))?,
        source: Source::parse(&source).ok_or_else(|| corrupt(format!("source {source:?}")))?,
        at: columns.number("at")?,
    })
}

/// [`Ledger::record_callback`](crate::Ledger::record_callback).
pub(super) async fn record_callback(
    pool: &AnyPool,
    callback: &ReceivedCallback<'_>,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO paybridge_callbacks (provider, account, body, content_type, verified, \
         confirmed, applied, outcome, received_at) VALUES ($1, $2, $3, $4, 0, 0, 0, 'received', $5) \
         RETURNING id",
    )
    .bind(callback.provider.as_str())
    .bind(callback.account.unwrap_or_default().to_owned())
    .bind(callback.body.to_vec())
    .bind(callback.content_type.map(str::to_owned))
    .bind(now_ms())
    .fetch_one(pool)
    .await
    .and_then(|row| row.try_get::<i64, _>("id"))
    .map_err(db("record a callback"))
}

/// [`Ledger::settle_callback`](crate::Ledger::settle_callback).
pub(super) async fn settle_callback(
    pool: &AnyPool,
    id: i64,
    verdict: &CallbackVerdict,
) -> Result<()> {
    sqlx::query(
        "UPDATE paybridge_callbacks SET kind = $1, order_id = $2, verified = $3, confirmed = $4, \
         applied = $5, outcome = $6 WHERE id = $7",
    )
    .bind(verdict.key.as_ref().map(|k| kind_word(k.kind)))
    .bind(verdict.key.as_ref().map(|k| k.order_id.clone()))
    .bind(i64::from(verdict.verified))
    .bind(i64::from(verdict.confirmed))
    .bind(i64::from(verdict.applied))
    .bind(verdict.outcome.clone())
    .bind(id)
    .execute(pool)
    .await
    .map_err(db("record what became of a callback"))?;
    Ok(())
}

/// [`Ledger::transition_into`](crate::Ledger::transition_into).
pub(super) async fn transition_into(
    pool: &AnyPool,
    key: &OrderKey,
    state: LedgerState,
) -> Result<Option<Transition>> {
    let sql = format!(
        "SELECT {TRANSITION_COLUMNS} FROM paybridge_transitions WHERE {BY_KEY} AND to_state = $5"
    );
    let row = by_key!(sqlx::query(&sql), key)
        .bind(state.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db("read a transition"))?;
    row.as_ref().map(transition).transpose()
}

/// [`Ledger::owed_transitions`](crate::Ledger::owed_transitions).
pub(super) async fn owed_transitions(
    pool: &AnyPool,
    owed: &OwedQuery<'_>,
) -> Result<Vec<Transition>> {
    let sql = format!(
        "SELECT {TRANSITION_COLUMNS} FROM paybridge_transitions WHERE provider = $1 \
         AND account = $2 AND (handler = 'due' OR (handler = 'running' AND claimed_at < $3)) \
         ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(owed.provider.to_owned())
        .bind(owed.account.to_owned())
        .bind(now_ms() - owed.lease_ms)
        .bind(owed.limit)
        .fetch_all(pool)
        .await
        .map_err(db("list owed handlers"))?;
    rows.iter().map(transition).collect()
}

/// [`Ledger::claim_handler`](crate::Ledger::claim_handler).
pub(super) async fn claim_handler(pool: &AnyPool, id: i64, lease_ms: i64) -> Result<Claim> {
    let now = now_ms();
    // The claim's time is its token: one later than the claim it takes
    // over, even within the same millisecond.
    let claimed = sqlx::query(
        "UPDATE paybridge_transitions SET handler = 'running', \
         claimed_at = CASE WHEN claimed_at IS NOT NULL AND claimed_at >= $1 \
         THEN claimed_at + 1 ELSE $1 END \
         WHERE id = $2 AND (handler = 'due' OR (handler = 'running' AND claimed_at < $3)) \
         RETURNING claimed_at",
    )
    .bind(now)
    .bind(id)
    .bind(now - lease_ms)
    .fetch_optional(pool)
    .await
    .map_err(db("claim a handler"))?;
    if let Some(row) = claimed {
        let token = row
            .try_get::<i64, _>("claimed_at")
            .map_err(db("read a handler's claim"))?;
        return Ok(Claim::Claimed { token });
    }
    let handler: String = sqlx::query("SELECT handler FROM paybridge_transitions WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get::<String, _>("handler"))
        .map_err(db("read a handler's state"))?;
    Ok(if handler == "done" {
        Claim::Done
    } else {
        Claim::Running
    })
}

/// [`Ledger::finish_handler`](crate::Ledger::finish_handler).
pub(super) async fn finish_handler(
    pool: &AnyPool,
    id: i64,
    token: i64,
    succeeded: bool,
) -> Result<()> {
    let finished = match succeeded {
        true => sqlx::query(
            "UPDATE paybridge_transitions SET handler = 'done', claimed_at = NULL WHERE id = $1",
        )
        .bind(id),
        false => sqlx::query(
            "UPDATE paybridge_transitions SET handler = 'due', claimed_at = NULL \
             WHERE id = $1 AND handler = 'running' AND claimed_at = $2",
        )
        .bind(id)
        .bind(token),
    };
    finished
        .execute(pool)
        .await
        .map_err(db("record a handler's end"))?;
    Ok(())
}

/// [`Ledger::keep_unconfirmed`](crate::Ledger::keep_unconfirmed).
pub(super) async fn keep_unconfirmed(
    pool: &AnyPool,
    id: i64,
    fields: &UnconfirmedFields,
) -> Result<Option<UnconfirmedFields>> {
    let text = serde_json::to_string(fields)
        .map_err(|e| Error::local("the ledger could not write unconfirmed fields", e))?;
    let kept = sqlx::query(
        "UPDATE paybridge_transitions SET unconfirmed = $1 WHERE id = $2 AND unconfirmed IS NULL",
    )
    .bind(text)
    .bind(id)
    .execute(pool)
    .await
    .map_err(db("keep unconfirmed fields"))?;
    if kept.rows_affected() == 1 {
        return Ok(None);
    }
    let before = sqlx::query("SELECT unconfirmed FROM paybridge_transitions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db("read unconfirmed fields"))?
        .map(|row| row.try_get::<Option<String>, _>("unconfirmed"))
        .transpose()
        .map_err(db("read unconfirmed fields"))?
        .flatten();
    before
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| corrupt(format!("unconfirmed fields {text:?}: {e}")))
        })
        .transpose()
}
