//! Delivering the outbox: due events claimed under a lease (on PostgreSQL
//! with `FOR UPDATE SKIP LOCKED`, so instances never wait on each other nor
//! claim the same event), each attempt recorded, replays queued, and an
//! endpoint that answered `410 Gone` disabled.

use paybridge_core::Result;
use sqlx::{AnyPool, Row};

use super::events::{event, EVENT_COLUMNS};
use super::{db, SqlLedger};
use crate::events::{
    AfterAttempt, Attempt, ClaimedEvent, EventClaim, EventFilter, IdempotencyClaim,
};
use crate::now_ms;
use crate::schema::Backend;

/// [`Ledger::claim_events`](crate::Ledger::claim_events).
pub(super) async fn claim_events(
    ledger: &SqlLedger,
    claim: &EventClaim,
) -> Result<Vec<ClaimedEvent>> {
    let skip_locked = match ledger.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let until = claim.now + claim.lease_ms.max(1);
    let mut tx = ledger.write().await?;
    let rows = sqlx::query(&format!(
        "UPDATE paybridge_events SET claimed_until = $1 WHERE id IN (\
         SELECT id FROM paybridge_events WHERE state IN ('pending', 'failed') \
         AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
         ORDER BY id LIMIT $3{skip_locked}) RETURNING {EVENT_COLUMNS}"
    ))
    .bind(until)
    .bind(claim.now)
    .bind(claim.limit)
    .fetch_all(&mut *tx)
    .await
    .map_err(db("claim events"))?;
    tx.commit().await.map_err(db("commit a claim"))?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok(ClaimedEvent {
                event: event(row)?,
                token: until,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // RETURNING gives no order: deliver in the order they were written.
    claimed.sort_by_key(|c| (c.event.created_at, c.event.sequence));
    Ok(claimed)
}

/// [`Ledger::record_attempt`](crate::Ledger::record_attempt).
pub(super) async fn record_attempt(
    ledger: &SqlLedger,
    claimed: &ClaimedEvent,
    attempt: &Attempt,
    after: AfterAttempt,
) -> Result<()> {
    let mut tx = ledger.write().await?;
    let row_id: i64 = sqlx::query_scalar("SELECT id FROM paybridge_events WHERE event_id = $1")
        .bind(claimed.event.id.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(db("find an event"))?;
    sqlx::query(
        "INSERT INTO paybridge_event_attempts (event, at, status, duration_ms, answer, error) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(row_id)
    .bind(attempt.at)
    .bind(attempt.status.map(i64::from))
    .bind(attempt.duration_ms)
    .bind(attempt.answer.clone())
    .bind(attempt.error.clone())
    .execute(&mut *tx)
    .await
    .map_err(db("record a delivery attempt"))?;
    let (state, next) = match after {
        AfterAttempt::Delivered => ("delivered", attempt.at),
        AfterAttempt::RetryAt(at) => ("failed", at),
        AfterAttempt::Dead => ("dead", attempt.at),
    };
    let last = attempt
        .status
        .map(|s| s.to_string())
        .or_else(|| attempt.error.clone());
    // Only while this claim holds: one taken over since (its lease ran out)
    // is the other deliverer's to record; a delivery recorded by anyone stands.
    sqlx::query(
        "UPDATE paybridge_events SET state = $1, next_attempt_at = $2, \
         attempts = attempts + 1, claimed_until = NULL, last_status = $3 \
         WHERE id = $4 AND claimed_until = $5 AND state <> 'delivered'",
    )
    .bind(state)
    .bind(next)
    .bind(last)
    .bind(row_id)
    .bind(claimed.token)
    .execute(&mut *tx)
    .await
    .map_err(db("record a delivery"))?;
    tx.commit().await.map_err(db("commit a delivery"))?;
    Ok(())
}

/// [`Ledger::event_attempts`](crate::Ledger::event_attempts).
pub(super) async fn event_attempts(pool: &AnyPool, event_id: &str) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(
        "SELECT a.at, a.status, a.duration_ms, a.answer, a.error FROM paybridge_event_attempts a \
         JOIN paybridge_events e ON e.id = a.event WHERE e.event_id = $1 ORDER BY a.id",
    )
    .bind(event_id.to_owned())
    .fetch_all(pool)
    .await
    .map_err(db("read delivery attempts"))?;
    rows.iter()
        .map(|row| {
            let read = |e: sqlx::Error| db("read a delivery attempt")(e);
            let status: Option<i64> = row.try_get("status").map_err(read)?;
            Ok(Attempt {
                at: row.try_get("at").map_err(read)?,
                status: status.and_then(|s| u16::try_from(s).ok()),
                duration_ms: row.try_get("duration_ms").map_err(read)?,
                answer: row.try_get("answer").map_err(read)?,
                error: row.try_get("error").map_err(read)?,
            })
        })
        .collect()
}

/// [`Ledger::replay_events`](crate::Ledger::replay_events).
pub(super) async fn replay_events(
    ledger: &SqlLedger,
    event_id: Option<&str>,
    filter: &EventFilter,
) -> Result<u64> {
    let now = now_ms();
    let mut sql = String::from(
        "UPDATE paybridge_events SET state = 'pending', next_attempt_at = $1, attempts = 0, \
         claimed_until = NULL WHERE 1 = 1",
    );
    let mut next = 2;
    let mut placeholder = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    if event_id.is_some() {
        sql.push_str(&format!(" AND event_id = {}", placeholder()));
    }
    if filter.state.is_some() {
        sql.push_str(&format!(" AND state = {}", placeholder()));
    }
    if filter.since.is_some() {
        sql.push_str(&format!(" AND created_at >= {}", placeholder()));
    }
    let mut query = sqlx::query(&sql).bind(now);
    if let Some(id) = event_id {
        query = query.bind(id.to_owned());
    }
    if let Some(state) = filter.state {
        query = query.bind(state.as_str());
    }
    if let Some(since) = filter.since {
        query = query.bind(since);
    }
    let mut tx = ledger.write().await?;
    let done = query
        .execute(&mut *tx)
        .await
        .map_err(db("queue a replay"))?;
    tx.commit().await.map_err(db("commit a replay"))?;
    Ok(done.rows_affected())
}

/// [`Ledger::disable_endpoint`](crate::Ledger::disable_endpoint).
pub(super) async fn disable_endpoint(ledger: &SqlLedger, url: &str, reason: &str) -> Result<()> {
    let mut tx = ledger.write().await?;
    sqlx::query(
        "INSERT INTO paybridge_webhook_endpoints (url, disabled_at, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (url) DO UPDATE SET disabled_at = $2, reason = $3",
    )
    .bind(url.to_owned())
    .bind(now_ms())
    .bind(reason.to_owned())
    .execute(&mut *tx)
    .await
    .map_err(db("disable an endpoint"))?;
    tx.commit().await.map_err(db("commit an endpoint"))?;
    Ok(())
}

/// [`Ledger::enable_endpoint`](crate::Ledger::enable_endpoint).
pub(super) async fn enable_endpoint(pool: &AnyPool, url: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM paybridge_webhook_endpoints WHERE url = $1")
        .bind(url.to_owned())
        .execute(pool)
        .await
        .map_err(db("enable an endpoint"))?;
    Ok(done.rows_affected() > 0)
}

/// [`Ledger::endpoint_disabled`](crate::Ledger::endpoint_disabled).
pub(super) async fn endpoint_disabled(pool: &AnyPool, url: &str) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT reason FROM paybridge_webhook_endpoints WHERE url = $1")
        .bind(url.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db("read an endpoint"))
}

/// [`Ledger::claim_idempotency`](crate::Ledger::claim_idempotency): an INSERT
/// that one caller wins; the others read what the winner left.
pub(super) async fn claim_idempotency(
    ledger: &SqlLedger,
    scope: &str,
    key: &str,
    body_hash: &str,
    lease_ms: i64,
) -> Result<IdempotencyClaim> {
    let now = now_ms();
    let mut tx = ledger.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO paybridge_idempotency (scope, key, body_hash, state, claimed_at) \
         VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope.to_owned())
    .bind(key.to_owned())
    .bind(body_hash.to_owned())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db("claim an idempotency key"))?
    .rows_affected();
    if inserted == 1 {
        tx.commit().await.map_err(db("commit an idempotency key"))?;
        return Ok(IdempotencyClaim::Fresh);
    }
    let lock = match ledger.backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT body_hash, state, claimed_at, status, answer FROM paybridge_idempotency \
         WHERE scope = $1 AND key = $2{lock}"
    ))
    .bind(scope.to_owned())
    .bind(key.to_owned())
    .fetch_one(&mut *tx)
    .await
    .map_err(db("read an idempotency key"))?;
    let read = |e: sqlx::Error| db("read an idempotency key")(e);
    let held_hash: String = row.try_get("body_hash").map_err(read)?;
    let state: String = row.try_get("state").map_err(read)?;
    let claimed_at: i64 = row.try_get("claimed_at").map_err(read)?;
    let claim = if held_hash != body_hash {
        IdempotencyClaim::Reused
    } else if state == "done" {
        let status: Option<i64> = row.try_get("status").map_err(read)?;
        let answer: Option<String> = row.try_get("answer").map_err(read)?;
        IdempotencyClaim::Replay {
            status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(500),
            answer: answer.unwrap_or_default(),
        }
    } else if claimed_at < now - lease_ms {
        sqlx::query(
            "UPDATE paybridge_idempotency SET claimed_at = $3 WHERE scope = $1 AND key = $2",
        )
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("take over an idempotency key"))?;
        IdempotencyClaim::Fresh
    } else {
        IdempotencyClaim::InFlight
    };
    tx.commit().await.map_err(db("commit an idempotency key"))?;
    Ok(claim)
}

/// [`Ledger::finish_idempotency`](crate::Ledger::finish_idempotency).
pub(super) async fn finish_idempotency(
    ledger: &SqlLedger,
    scope: &str,
    key: &str,
    status: u16,
    answer: &str,
) -> Result<()> {
    let mut tx = ledger.write().await?;
    sqlx::query(
        "UPDATE paybridge_idempotency SET state = 'done', status = $3, answer = $4 \
         WHERE scope = $1 AND key = $2",
    )
    .bind(scope.to_owned())
    .bind(key.to_owned())
    .bind(i64::from(status))
    .bind(answer.to_owned())
    .execute(&mut *tx)
    .await
    .map_err(db("keep an idempotent answer"))?;
    tx.commit()
        .await
        .map_err(db("commit an idempotent answer"))?;
    Ok(())
}

/// [`Ledger::release_idempotency`](crate::Ledger::release_idempotency): only
/// a key still `running` goes, never a kept answer.
pub(super) async fn release_idempotency(ledger: &SqlLedger, scope: &str, key: &str) -> Result<()> {
    let mut tx = ledger.write().await?;
    sqlx::query(
        "DELETE FROM paybridge_idempotency WHERE scope = $1 AND key = $2 AND state = 'running'",
    )
    .bind(scope.to_owned())
    .bind(key.to_owned())
    .execute(&mut *tx)
    .await
    .map_err(db("release an idempotency key"))?;
    tx.commit()
        .await
        .map_err(db("commit a released idempotency key"))?;
    Ok(())
}
