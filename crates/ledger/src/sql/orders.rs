//! Orders: recorded before they are sent, read, listed.

use paybridge_core::{Money, Result};
use sqlx::{AnyConnection, AnyPool};

use super::rows::{corrupt, record, ORDER_COLUMNS};
use super::{db, kind_word, BY_KEY};
use crate::state::LedgerState;
use crate::{now_ms, Begin, ListFilter, Observation, OrderKey, OrderRecord, Source, Which};

/// [`Ledger::begin`](crate::Ledger::begin).
pub(super) async fn begin(pool: &AnyPool, key: &OrderKey, amount: &Money) -> Result<Begin> {
    let mut connection = pool.acquire().await.map_err(db("connect"))?;
    let sending = Observation::new(Source::Create, LedgerState::Sending);
    // The row itself, written before the order leaves, is the record of it:
    // one statement, so recording an order costs what inserting it does.
    if insert(&mut connection, key, amount, &sending).await? {
        return Ok(Begin::Fresh);
    }
    let (record, _) = read(&mut connection, key)
        .await?
        .ok_or_else(|| corrupt(format!("{key} neither inserted nor found")))?;
    // A definite refusal left nothing held: a corrected request may be
    // sent under the same id. One statement, so of two such resends one
    // takes the order and the other finds it `sending`. Not once the
    // provider was seen holding it after all (a conflict recorded).
    if record.state == LedgerState::Refused && record.conflict.is_none() {
        let sql = format!(
            "UPDATE paybridge_orders SET state = 'sending', amount = $5, currency = $6, \
             provider_status = NULL, detail = NULL, version = version + 1, updated_at = $7 \
             WHERE {BY_KEY} AND state = 'refused' AND conflict IS NULL"
        );
        let resent = by_key!(sqlx::query(&sql), key)
            .bind(amount.amount().to_string())
            .bind(amount.currency().as_str().to_owned())
            .bind(now_ms())
            .execute(&mut *connection)
            .await
            .map_err(db("record an order sent again after a refusal"))?;
        if resent.rows_affected() == 1 {
            return Ok(Begin::Fresh);
        }
        let (record, _) = read(&mut connection, key)
            .await?
            .ok_or_else(|| corrupt(format!("{key} vanished while being sent again")))?;
        return Ok(Begin::Existing(Box::new(record)));
    }
    Ok(Begin::Existing(Box::new(record)))
}

/// [`Ledger::forget_unsent`](crate::Ledger::forget_unsent).
pub(super) async fn forget_unsent(pool: &AnyPool, key: &OrderKey) -> Result<()> {
    let sql = format!("DELETE FROM paybridge_orders WHERE {BY_KEY} AND state = 'sending'");
    by_key!(sqlx::query(&sql), key)
        .execute(pool)
        .await
        .map_err(db("forget an unsent order"))?;
    Ok(())
}

/// [`Ledger::get`](crate::Ledger::get).
pub(super) async fn get(pool: &AnyPool, key: &OrderKey) -> Result<Option<OrderRecord>> {
    let mut connection = pool.acquire().await.map_err(db("connect"))?;
    Ok(read(&mut connection, key).await?.map(|(record, _)| record))
}

/// [`Ledger::list`](crate::Ledger::list).
pub(super) async fn list(pool: &AnyPool, filter: &ListFilter) -> Result<Vec<OrderRecord>> {
    let which = condition(filter.which);
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM paybridge_orders WHERE {which} AND updated_at >= $1 \
         ORDER BY updated_at, provider, account, kind, order_id"
    );
    let rows = sqlx::query(&sql)
        .bind(filter.since.unwrap_or(i64::MIN))
        .fetch_all(pool)
        .await
        .map_err(db("list orders"))?;
    rows.iter().map(|row| record(row).map(|(r, _)| r)).collect()
}

/// The SQL condition selecting orders of `which` class.
pub(super) fn condition(which: Which) -> String {
    let finals = "('refused', 'completed', 'failed', 'rejected')";
    match which {
        Which::All => "1 = 1".to_owned(),
        Which::Open => format!("state NOT IN {finals}"),
        Which::Final => format!("state IN {finals}"),
        Which::Conflict => "conflict IS NOT NULL".to_owned(),
    }
}

/// The order `key` and its version, when held.
pub(super) async fn read(
    connection: &mut AnyConnection,
    key: &OrderKey,
) -> Result<Option<(OrderRecord, i64)>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM paybridge_orders WHERE {BY_KEY}");
    let row = by_key!(sqlx::query(&sql), key)
        .fetch_optional(&mut *connection)
        .await
        .map_err(db("read an order"))?;
    row.as_ref().map(record).transpose()
}

/// Inserts `key` unless held; whether this call inserted it.
pub(super) async fn insert(
    connection: &mut AnyConnection,
    key: &OrderKey,
    amount: &Money,
    observation: &Observation,
) -> Result<bool> {
    let now = now_ms();
    let inserted = by_key!(
        sqlx::query(
            "INSERT INTO paybridge_orders (provider, account, kind, order_id, amount, currency, \
             state, provider_status, provider_ref, payment_url, detail, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12) \
             ON CONFLICT (provider, account, kind, order_id) DO NOTHING"
        ),
        key
    )
    .bind(amount.amount().to_string())
    .bind(amount.currency().as_str().to_owned())
    .bind(observation.state.as_str())
    .bind(observation.provider_status.clone())
    .bind(observation.provider_ref.clone())
    .bind(observation.payment_url.clone())
    .bind(observation.detail.clone())
    .bind(now)
    .execute(&mut *connection)
    .await
    .map_err(db("record an order"))?;
    Ok(inserted.rows_affected() == 1)
}
