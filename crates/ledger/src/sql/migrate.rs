//! The schema's migrations ([`crate::schema`]), applied on open or checked
//! when migrations are off.

use paybridge_core::{Error, Result};
use sqlx::{AnyConnection, Row};

use super::{db, Backend, SqlLedger};
use crate::{now_ms, schema};

/// PostgreSQL advisory lock held while migrating the schema.
const SCHEMA_LOCK: i64 = 7_160_442;

/// Whether the table `paybridge_schema` exists, asked of the catalog so
/// that nothing is created and no notice is raised.
async fn has_schema_table(connection: &mut AnyConnection, backend: Backend) -> Result<bool> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'paybridge_schema'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_name = 'paybridge_schema' AND table_schema = current_schema()"
        }
    };
    let count: i64 = sqlx::query(sql)
        .fetch_one(&mut *connection)
        .await
        .and_then(|row| row.try_get::<i64, _>("n"))
        .map_err(db("read its schema"))?;
    Ok(count > 0)
}

/// The last migration applied; 0 for a database without the ledger's tables.
async fn schema_version(connection: &mut AnyConnection, backend: Backend) -> Result<i64> {
    if !has_schema_table(&mut *connection, backend).await? {
        return Ok(0);
    }
    sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM paybridge_schema")
        .fetch_one(&mut *connection)
        .await
        .and_then(|row| row.try_get::<i64, _>("v"))
        .map_err(db("read its schema version"))
}

impl SqlLedger {
    /// With migrations off: refuses a database whose schema lacks some, so
    /// that the first order does not fail on a missing table.
    pub(super) async fn check_schema(&self) -> Result<()> {
        let mut connection = self.pool.acquire().await.map_err(db("read its schema"))?;
        let applied = schema_version(&mut connection, self.backend).await?;
        let latest = schema::latest();
        if applied < latest {
            return Err(Error::Config {
                key: "ledger.migrate".into(),
                reason: format!(
                    "is off, and the ledger's database has migration {applied} of {latest}: open it once with migrate = true"
                ),
            });
        }
        Ok(())
    }

    /// Applies the migrations the database lacks, in one transaction that
    /// holds off any other instance migrating at the same moment. The
    /// schema table is created only when missing (a `CREATE TABLE IF NOT
    /// EXISTS` on every start made PostgreSQL log a notice each time).
    pub(super) async fn migrate(&self) -> Result<()> {
        let mut tx = self.write_locked(SCHEMA_LOCK).await?;
        if !has_schema_table(&mut tx, self.backend).await? {
            sqlx::query(
                "CREATE TABLE paybridge_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await
            .map_err(db("create its schema table"))?;
        }
        let applied = schema_version(&mut tx, self.backend).await?;
        for (number, statements) in schema::pending(self.backend, applied) {
            for statement in statements {
                sqlx::query(&statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("apply a migration"))?;
            }
            sqlx::query("INSERT INTO paybridge_schema (version, applied_at) VALUES ($1, $2)")
                .bind(number)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(db("record a migration"))?;
        }
        tx.commit().await.map_err(db("commit a migration"))
    }
}
