//! Reconcile runs: the orders open when a run began, kept with it, and the
//! rows it recorded, both read a page at a time.

use paybridge_core::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::orders::condition;
use super::rows::Columns;
use super::{db, kind_word, SqlLedger};
use crate::{now_ms, OrderKey, ReconcileOrder, ReconcilePage, ReconcileRun, Which};

/// PostgreSQL advisory lock held while finding or starting a reconcile run.
const RECONCILE_LOCK: i64 = 7_160_443;

/// Reads a row of `paybridge_reconcile_orders`.
fn reconcile_order(row: &AnyRow) -> Result<ReconcileOrder> {
    let columns = Columns(row);
    let (key, amount, state) = columns.key_amount_state()?;
    Ok(ReconcileOrder {
        key,
        amount,
        state,
        provider_ref: columns.optional("provider_ref")?,
    })
}

/// `page` of the rows of `columns` from `table` (a reconcile run's table).
/// Every key is after four empty texts (a provider is never empty), which
/// stand for the first page.
async fn read_page(
    pool: &AnyPool,
    columns: &str,
    table: &str,
    page: &ReconcilePage<'_>,
) -> std::result::Result<Vec<AnyRow>, sqlx::Error> {
    let (provider, account, kind, order_id) = match page.after {
        Some(key) => (
            key.provider.as_str(),
            key.account.as_str(),
            kind_word(key.kind),
            key.order_id.as_str(),
        ),
        None => ("", "", "", ""),
    };
    sqlx::query(&format!(
        "SELECT {columns} FROM {table} WHERE run = $1 \
         AND (provider, account, kind, order_id) > ($2, $3, $4, $5) \
         ORDER BY provider, account, kind, order_id LIMIT $6"
    ))
    .bind(page.run)
    .bind(provider.to_owned())
    .bind(account.to_owned())
    .bind(kind.to_owned())
    .bind(order_id.to_owned())
    .bind(i64::from(page.limit))
    .fetch_all(pool)
    .await
}

/// [`Ledger::resume_reconcile`](crate::Ledger::resume_reconcile).
pub(super) async fn resume_reconcile(ledger: &SqlLedger) -> Result<ReconcileRun> {
    // Locked, so two runs starting at once do not both begin one.
    let mut tx = ledger.write_locked(RECONCILE_LOCK).await?;
    let open = sqlx::query(
        "SELECT id FROM paybridge_reconcile_runs WHERE finished_at IS NULL ORDER BY id DESC",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("find an unfinished reconcile run"))?;
    let id = match open {
        Some(row) => row
            .try_get::<i64, _>("id")
            .map_err(db("read a reconcile run"))?,
        None => {
            let id = sqlx::query(
                "INSERT INTO paybridge_reconcile_runs (started_at) VALUES ($1) RETURNING id",
            )
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get::<i64, _>("id"))
            .map_err(db("start a reconcile run"))?;
            let open = condition(Which::Open);
            sqlx::query(&format!(
                "INSERT INTO paybridge_reconcile_orders \
                 (run, provider, account, kind, order_id, amount, currency, state, provider_ref) \
                 SELECT $1, provider, account, kind, order_id, amount, currency, state, provider_ref \
                 FROM paybridge_orders WHERE {open}"
            ))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("keep a reconcile run's orders"))?;
            id
        }
    };
    let orders = sqlx::query("SELECT COUNT(*) AS n FROM paybridge_reconcile_orders WHERE run = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get::<i64, _>("n"))
        .map_err(db("count a reconcile run's orders"))?;
    let accounts = sqlx::query(
        "SELECT DISTINCT provider, account FROM paybridge_reconcile_orders WHERE run = $1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db("read a reconcile run's accounts"))?
    .iter()
    .map(|row| {
        Ok((
            Columns(row).text("provider")?,
            Columns(row).text("account")?,
        ))
    })
    .collect::<Result<_>>()?;
    tx.commit().await.map_err(db("commit a reconcile run"))?;
    Ok(ReconcileRun {
        id,
        orders: usize::try_from(orders).unwrap_or(0),
        accounts,
    })
}

/// [`Ledger::reconcile_orders`](crate::Ledger::reconcile_orders).
pub(super) async fn reconcile_orders(
    pool: &AnyPool,
    page: &ReconcilePage<'_>,
) -> Result<Vec<ReconcileOrder>> {
    read_page(
        pool,
        "provider, account, kind, order_id, amount, currency, state, provider_ref",
        "paybridge_reconcile_orders",
        page,
    )
    .await
    .map_err(db("read a reconcile run's orders"))?
    .iter()
    .map(reconcile_order)
    .collect()
}

/// [`Ledger::reconcile_rows`](crate::Ledger::reconcile_rows).
pub(super) async fn reconcile_rows(
    pool: &AnyPool,
    page: &ReconcilePage<'_>,
) -> Result<Vec<(OrderKey, String)>> {
    read_page(
        pool,
        "provider, account, kind, order_id, row_json",
        "paybridge_reconcile_rows",
        page,
    )
    .await
    .map_err(db("read a reconcile run's rows"))?
    .iter()
    .map(|row| Ok((Columns(row).key()?, Columns(row).text("row_json")?)))
    .collect()
}

/// [`Ledger::reconciled`](crate::Ledger::reconciled).
pub(super) async fn reconciled(
    pool: &AnyPool,
    run: i64,
    key: &OrderKey,
    row_json: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO paybridge_reconcile_rows (run, provider, account, kind, order_id, row_json) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run, provider, account, kind, order_id) \
         DO UPDATE SET row_json = excluded.row_json",
    )
    .bind(run)
    .bind(key.provider.clone())
    .bind(key.account.clone())
    .bind(kind_word(key.kind))
    .bind(key.order_id.clone())
    .bind(row_json.to_owned())
    .execute(pool)
    .await
    .map_err(db("record a reconcile row"))?;
    Ok(())
}

/// [`Ledger::finish_reconcile`](crate::Ledger::finish_reconcile).
pub(super) async fn finish_reconcile(pool: &AnyPool, run: i64) -> Result<()> {
    sqlx::query("UPDATE paybridge_reconcile_runs SET finished_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(run)
        .execute(pool)
        .await
        .map_err(db("finish a reconcile run"))?;
    Ok(())
}
