//! The ledger on SQLite or PostgreSQL, through sqlx's `Any` driver: one body
//! of SQL for both, `$n` parameters (which SQLite reads too).

use std::str::FromStr;

use async_trait::async_trait;
use paybridge_core::{Currency, Decimal, Error, Money, OrderKind, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::schema::{self, Backend};
use crate::state::{step_from, LedgerState, Step};
use crate::{
    now_ms, Applied, Begin, CallbackVerdict, Claim, Ledger, ListFilter, Observation, OrderKey,
    OrderRecord, OwedQuery, ReceivedCallback, ReconcileOrder, ReconcilePage, ReconcileRun, Source,
    Transition, UnconfirmedFields, Which,
};

/// How many times an observation is retried when another writer moved its
/// order between the read and the compare-and-set.
const CAS_ATTEMPTS: usize = 16;

/// PostgreSQL advisory lock held while migrating the schema.
const SCHEMA_LOCK: i64 = 7_160_442;

/// PostgreSQL advisory lock held while finding or starting a reconcile run.
const RECONCILE_LOCK: i64 = 7_160_443;

/// The columns of an order, in the order [`record`] reads them.
const ORDER_COLUMNS: &str = "provider, account, kind, order_id, amount, currency, state, \
    provider_status, provider_ref, payment_url, conflict, detail, created_at, updated_at, version";

/// The columns of a transition, in the order [`transition`] reads them.
const TRANSITION_COLUMNS: &str =
    "id, provider, account, kind, order_id, from_state, to_state, source, at";

/// The condition naming one order, parameters `$1` to `$4`.
const BY_KEY: &str = "provider = $1 AND account = $2 AND kind = $3 AND order_id = $4";

/// A ledger in a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct SqlLedger {
    pool: AnyPool,
    backend: Backend,
}

/// Creates the SQLite file a `mode=rwc` URL names, when missing, readable
/// and writable by its owner only (0600), before SQLite creates it with the
/// process's umask (often world-readable). SQLite gives the `-wal` and
/// `-shm` files the database file's mode. An existing file is left as it is;
/// a file that cannot be created here is left to SQLite to report.
#[cfg(feature = "sqlite")]
fn create_private_file(url: &str) {
    use std::str::FromStr;
    if !url.contains("mode=rwc") || url.contains(":memory:") {
        return;
    }
    let Ok(options) = sqlx::sqlite::SqliteConnectOptions::from_str(url) else {
        return;
    };
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(options.get_filename()) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            tracing::debug!(error = %e, "the ledger's file could not be created ahead of SQLite")
        }
    }
}

/// A database failure, as paybridge reports local failures.
fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::local(format!("the ledger could not {what}"), e)
}

/// A stored value that does not read back: the database was written by
/// something else.
fn corrupt(what: String) -> Error {
    Error::local("the ledger holds a value it cannot read", what)
}

fn kind_word(kind: OrderKind) -> &'static str {
    kind.as_str()
}

fn parse_kind(word: &str) -> Result<OrderKind> {
    match word {
        "deposit" => Ok(OrderKind::Deposit),
        "withdrawal" => Ok(OrderKind::Withdrawal),
        other => Err(corrupt(format!("order kind {other:?}"))),
    }
}

fn money(amount: &str, currency: &str) -> Result<Money> {
    let amount =
        Decimal::from_str(amount).map_err(|e| corrupt(format!("amount {amount:?}: {e}")))?;
    Ok(Money::new(amount, Currency::new(currency)?))
}

/// A row's columns, read as text, optional text or a number; a value that
/// does not read is the ledger's corruption.
struct Columns<'a>(&'a AnyRow);

impl Columns<'_> {
    fn read<T>(&self, column: &str) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.0
            .try_get::<T, _>(column)
            .map_err(|e| corrupt(format!("{column}: {e}")))
    }

    fn text(&self, column: &str) -> Result<String> {
        self.read(column)
    }

    fn optional(&self, column: &str) -> Result<Option<String>> {
        self.read(column)
    }

    fn number(&self, column: &str) -> Result<i64> {
        self.read(column)
    }

    /// The order key columns every order table shares.
    fn key(&self) -> Result<OrderKey> {
        Ok(OrderKey {
            provider: self.text("provider")?,
            account: self.text("account")?,
            kind: parse_kind(&self.text("kind")?)?,
            order_id: self.text("order_id")?,
        })
    }

    /// The key, amount and state columns every order table shares.
    fn key_amount_state(&self) -> Result<(OrderKey, Money, LedgerState)> {
        let amount = money(&self.text("amount")?, &self.text("currency")?)?;
        let state = self.text("state")?;
        let state =
            LedgerState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?;
        Ok((self.key()?, amount, state))
    }
}

/// Reads an order row selected with [`ORDER_COLUMNS`]; also its version.
fn record(row: &AnyRow) -> Result<(OrderRecord, i64)> {
    let columns = Columns(row);
    let (key, amount, state) = columns.key_amount_state()?;
    let record = OrderRecord {
        key,
        amount,
        state,
        provider_status: columns.optional("provider_status")?,
        provider_ref: columns.optional("provider_ref")?,
        payment_url: columns.optional("payment_url")?,
        conflict: columns.optional("conflict")?,
        detail: columns.optional("detail")?,
        created_at: columns.number("created_at")?,
        updated_at: columns.number("updated_at")?,
    };
    Ok((record, columns.number("version")?))
}

/// The SQL condition selecting orders of `which` class.
fn condition(which: Which) -> String {
    let finals = "('refused', 'completed', 'failed', 'rejected')";
    match which {
        Which::All => "1 = 1".to_owned(),
        Which::Open => format!("state NOT IN {finals}"),
        Which::Final => format!("state IN {finals}"),
        Which::Conflict => "conflict IS NOT NULL".to_owned(),
    }
}

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

/// Binds the four key parameters `$1`..`$4`.
macro_rules! by_key {
    ($query:expr, $key:expr) => {
        $query
            .bind($key.provider.clone())
            .bind($key.account.clone())
            .bind(kind_word($key.kind))
            .bind($key.order_id.clone())
    };
}

impl SqlLedger {
    /// Opens the ledger at `url` (`sqlite://paybridge.db`, `postgres://...`)
    /// with the default [`LedgerOptions`](crate::LedgerOptions): a SQLite file is created when
    /// missing, and the embedded migrations it lacks are applied.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &crate::LedgerOptions::default()).await
    }

    /// Opens the ledger at `url` with `options`. A database that cannot be
    /// reached within the connect timeout is an error naming its address
    /// (its password hidden), never a wait on the driver's own timeout.
    pub async fn open_with(url: &str, options: &crate::LedgerOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let shown = paybridge_core::redact::url(url).into_owned();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(Error::Config {
                key: "ledger.url".into(),
                reason: "must start with sqlite:// or postgres://".into(),
            });
        };
        let built_in = match backend {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
        };
        if !built_in {
            return Err(Error::Config {
                key: "ledger.url".into(),
                reason: format!(
                    "{shown} needs the ledger's `{}` feature, which this build leaves out",
                    backend.feature()
                ),
            });
        }
        // SQLite serializes writers anyway: one connection means no "database
        // is locked" between this process's own writers.
        let connections = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => options.pool_size.max(1),
        };
        #[cfg(feature = "sqlite")]
        if backend == Backend::Sqlite {
            create_private_file(&url);
        }
        let timeout = options.connect_timeout;
        let connecting = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(timeout)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA busy_timeout = 10000",
                        ] {
                            sqlx::query(pragma).execute(&mut *connection).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url);
        let timed_out = || {
            Error::local(
                format!(
                    "the ledger could not reach its database at {shown} within {:?}",
                    timeout
                ),
                "connect timeout",
            )
        };
        let pool = match tokio::time::timeout(timeout, connecting).await {
            Err(_) | Ok(Err(sqlx::Error::PoolTimedOut)) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(Error::local(
                    format!("the ledger could not open its database at {shown}"),
                    e,
                ))
            }
            Ok(Ok(pool)) => pool,
        };
        let ledger = Self { pool, backend };
        if options.migrate {
            ledger.migrate().await?;
        } else {
            ledger.check_schema().await?;
        }
        Ok(ledger)
    }

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
        if !Self::has_schema_table(&mut *connection, backend).await? {
            return Ok(0);
        }
        sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM paybridge_schema")
            .fetch_one(&mut *connection)
            .await
            .and_then(|row| row.try_get::<i64, _>("v"))
            .map_err(db("read its schema version"))
    }

    /// With migrations off: refuses a database whose schema lacks some, so
    /// that the first order does not fail on a missing table.
    async fn check_schema(&self) -> Result<()> {
        let mut connection = self.pool.acquire().await.map_err(db("read its schema"))?;
        let applied = Self::schema_version(&mut connection, self.backend).await?;
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
    async fn migrate(&self) -> Result<()> {
        let mut tx = self.write_locked(SCHEMA_LOCK).await?;
        if !Self::has_schema_table(&mut tx, self.backend).await? {
            sqlx::query(
                "CREATE TABLE paybridge_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await
            .map_err(db("create its schema table"))?;
        }
        let applied = Self::schema_version(&mut tx, self.backend).await?;
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

    /// Begins a write transaction. SQLite's takes the write lock at once, so
    /// two writers wait on each other (`busy_timeout`) instead of failing
    /// with "database is locked" when a read would turn into a write.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let begun = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        begun.map_err(db("start a transaction"))
    }

    /// Begins a write transaction that also holds PostgreSQL's advisory lock
    /// `lock` until it ends, holding off another instance doing the same
    /// (SQLite's write lock does that already).
    async fn write_locked(&self, lock: i64) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock)
                .execute(&mut *tx)
                .await
                .map_err(db("take a lock"))?;
        }
        Ok(tx)
    }

    /// The pool, for benchmarks that compare the ledger with bare statements.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn read(
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
    async fn insert(
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

    /// Records what an observation did, beside the order.
    async fn log_observation(
        connection: &mut AnyConnection,
        key: &OrderKey,
        observation: &Observation,
        effect: &str,
    ) -> Result<()> {
        by_key!(
            sqlx::query(
                "INSERT INTO paybridge_observations (provider, account, kind, order_id, source, \
                 observed, provider_status, amount, currency, effect, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            key
        )
        .bind(observation.source.as_str())
        .bind(observation.state.as_str())
        .bind(observation.provider_status.clone())
        .bind(observation.amount.as_ref().map(|m| m.amount().to_string()))
        .bind(
            observation
                .amount
                .as_ref()
                .map(|m| m.currency().as_str().to_owned()),
        )
        .bind(effect.to_owned())
        .bind(now_ms())
        .execute(&mut *connection)
        .await
        .map_err(db("record an observation"))?;
        Ok(())
    }

    /// One attempt at an observation: `None` when another writer moved the
    /// order first (the caller reads again and retries).
    async fn observe_once(
        &self,
        key: &OrderKey,
        observation: &Observation,
    ) -> Result<Option<Applied>> {
        let mut tx = self.write().await?;
        let current = match Self::read(&mut tx, key).await? {
            Some(current) => current,
            None => {
                let Some(amount) = &observation.amount else {
                    return Err(Error::invalid(
                        "order_id",
                        format!("{key} is not in the ledger, and the observation names no amount"),
                    ));
                };
                if Self::insert(&mut tx, key, amount, observation).await? {
                    let transition = Self::log_transition(&mut tx, key, None, observation).await?;
                    Self::log_observation(&mut tx, key, observation, "recorded").await?;
                    tx.commit().await.map_err(db("commit an observation"))?;
                    let now = now_ms();
                    let record = OrderRecord {
                        key: key.clone(),
                        amount: amount.clone(),
                        state: observation.state,
                        provider_status: observation.provider_status.clone(),
                        provider_ref: observation.provider_ref.clone(),
                        payment_url: observation.payment_url.clone(),
                        conflict: None,
                        detail: observation.detail.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    return Ok(Some(Applied {
                        step: Step::Advance(observation.state),
                        record,
                        transition,
                    }));
                }
                // Another writer recorded it first.
                return Ok(None);
            }
        };
        let (mut record, version) = current;
        let amount_differs = observation
            .amount
            .as_ref()
            .is_some_and(|amount| *amount != record.amount);
        let step = if amount_differs {
            Step::Conflict
        } else {
            step_from(observation.source, record.state, observation.state)
        };
        let now = now_ms();
        let transition = match step {
            Step::Advance(state) => {
                let moved = by_key!(
                    sqlx::query(&format!(
                        "UPDATE paybridge_orders SET state = $5, \
                         provider_status = COALESCE($6, provider_status), \
                         provider_ref = COALESCE($7, provider_ref), \
                         payment_url = COALESCE($8, payment_url), detail = COALESCE($9, detail), \
                         version = version + 1, updated_at = $10 WHERE {BY_KEY} AND version = $11"
                    )),
                    key
                )
                .bind(state.as_str())
                .bind(observation.provider_status.clone())
                .bind(observation.provider_ref.clone())
                .bind(observation.payment_url.clone())
                .bind(observation.detail.clone())
                .bind(now)
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db("move an order"))?;
                if moved.rows_affected() != 1 {
                    return Ok(None);
                }
                let from = record.state;
                record.state = state;
                let keep = |field: &mut Option<String>, new: &Option<String>| {
                    if new.is_some() {
                        field.clone_from(new);
                    }
                };
                keep(&mut record.provider_status, &observation.provider_status);
                keep(&mut record.provider_ref, &observation.provider_ref);
                keep(&mut record.payment_url, &observation.payment_url);
                keep(&mut record.detail, &observation.detail);
                record.updated_at = now;
                Self::log_transition(&mut tx, key, Some(from), observation).await?
            }
            Step::Conflict => {
                let reason = if amount_differs {
                    format!(
                        "{} said {} where {} was asked",
                        observation.source.as_str(),
                        observation
                            .amount
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        record.amount
                    )
                } else {
                    format!(
                        "{} said {} after {}",
                        observation.source.as_str(),
                        observation.state,
                        record.state
                    )
                };
                tracing::warn!(order = %key, %reason, "an observation contradicts the ledger; not applied");
                by_key!(
                    sqlx::query(&format!(
                        "UPDATE paybridge_orders SET conflict = COALESCE(conflict, $5), \
                         updated_at = $6 WHERE {BY_KEY}"
                    )),
                    key
                )
                .bind(reason.clone())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("record a conflict"))?;
                record.conflict.get_or_insert(reason);
                record.updated_at = now;
                None
            }
            Step::Same | Step::Stale => {
                if !Self::fill_references(&mut tx, key, &mut record, version, observation).await? {
                    return Ok(None);
                }
                None
            }
        };
        let effect = match step {
            Step::Advance(_) => "applied",
            Step::Same => "duplicate",
            Step::Stale => "stale",
            Step::Conflict => "conflict",
        };
        Self::log_observation(&mut tx, key, observation, effect).await?;
        tx.commit().await.map_err(db("commit an observation"))?;
        Ok(Some(Applied {
            step,
            record,
            transition,
        }))
    }

    /// Keeps the provider's reference and a deposit's payment page from an
    /// observation that changes nothing else (a create answer recorded after
    /// a callback completed the order), where the order lacks them: a ONE-PUNCH
    /// payment is looked up by its reference. `false` when another writer
    /// moved the order first.
    async fn fill_references(
        connection: &mut AnyConnection,
        key: &OrderKey,
        record: &mut OrderRecord,
        version: i64,
        observation: &Observation,
    ) -> Result<bool> {
        let lacks = |held: &Option<String>, said: &Option<String>| held.is_none() && said.is_some();
        if !lacks(&record.provider_ref, &observation.provider_ref)
            && !lacks(&record.payment_url, &observation.payment_url)
        {
            return Ok(true);
        }
        let moved = by_key!(
            sqlx::query(&format!(
                "UPDATE paybridge_orders SET provider_ref = COALESCE(provider_ref, $5), \
                 payment_url = COALESCE(payment_url, $6), version = version + 1, updated_at = $7 \
                 WHERE {BY_KEY} AND version = $8"
            )),
            key
        )
        .bind(observation.provider_ref.clone())
        .bind(observation.payment_url.clone())
        .bind(now_ms())
        .bind(version)
        .execute(&mut *connection)
        .await
        .map_err(db("keep an order's reference"))?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        if record.provider_ref.is_none() {
            record.provider_ref.clone_from(&observation.provider_ref);
        }
        if record.payment_url.is_none() {
            record.payment_url.clone_from(&observation.payment_url);
        }
        Ok(true)
    }

    /// A create call's answer, in the common case: one statement that moves
    /// the order from any state the state machine lets it leave for the
    /// answered one. The answer is kept on the order itself (no observation or
    /// transition row: whoever called create has it, and no handler is owed).
    /// `None` when the fast path does not apply: the general path decides. An
    /// answer already final (a payout found completed by status) takes the
    /// general path, which records its transition: the handler is owed it, and
    /// the provider's callback for it will find nothing new.
    async fn create_outcome(
        &self,
        key: &OrderKey,
        observation: &Observation,
    ) -> Result<Option<Applied>> {
        let owes_handler = observation.state.is_final() && observation.state.status().is_some();
        if observation.source != Source::Create || observation.amount.is_some() || owes_handler {
            return Ok(None);
        }
        let from: Vec<LedgerState> = LedgerState::ALL
            .into_iter()
            .filter(|current| {
                step_from(Source::Create, *current, observation.state)
                    == Step::Advance(observation.state)
            })
            .collect();
        if from.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 11)).collect();
        let sql = format!(
            "UPDATE paybridge_orders SET state = $5, provider_status = COALESCE($6, provider_status), \
             provider_ref = COALESCE($7, provider_ref), payment_url = COALESCE($8, payment_url), \
             detail = COALESCE($9, detail), version = version + 1, updated_at = $10 \
             WHERE {BY_KEY} AND state IN ({}) RETURNING {ORDER_COLUMNS}",
            placeholders.join(", "),
        );
        let mut query = by_key!(sqlx::query(&sql), key)
            .bind(observation.state.as_str())
            .bind(observation.provider_status.clone())
            .bind(observation.provider_ref.clone())
            .bind(observation.payment_url.clone())
            .bind(observation.detail.clone())
            .bind(now_ms());
        for state in &from {
            query = query.bind(state.as_str());
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(db("record a create answer"))?;
        Ok(match row {
            Some(row) => Some(Applied {
                step: Step::Advance(observation.state),
                record: record(&row)?.0,
                transition: None,
            }),
            None => None,
        })
    }

    /// Records a transition whose handler is due; its id. A transition into
    /// a local state (`sending`, `unknown`, `refused`) has no handler.
    async fn log_transition(
        connection: &mut AnyConnection,
        key: &OrderKey,
        from: Option<LedgerState>,
        observation: &Observation,
    ) -> Result<Option<i64>> {
        if observation.state.status().is_none() {
            return Ok(None);
        }
        let row = by_key!(
            sqlx::query(
                "INSERT INTO paybridge_transitions (provider, account, kind, order_id, from_state, \
                 to_state, source, at, handler) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'due') \
                 ON CONFLICT (provider, account, kind, order_id, to_state) DO NOTHING RETURNING id"
            ),
            key
        )
        .bind(from.map_or("none", LedgerState::as_str))
        .bind(observation.state.as_str())
        .bind(observation.source.as_str())
        .bind(now_ms())
        .fetch_optional(&mut *connection)
        .await
        .map_err(db("record a transition"))?;
        row.map(|row| row.try_get::<i64, _>("id"))
            .transpose()
            .map_err(db("read a transition id"))
    }
}

#[async_trait]
impl Ledger for SqlLedger {
    async fn begin(&self, key: &OrderKey, amount: &Money) -> Result<Begin> {
        let mut connection = self.pool.acquire().await.map_err(db("connect"))?;
        let sending = Observation::new(Source::Create, LedgerState::Sending);
        // The row itself, written before the order leaves, is the record of it:
        // one statement, so recording an order costs what inserting it does.
        if Self::insert(&mut connection, key, amount, &sending).await? {
            return Ok(Begin::Fresh);
        }
        let (record, _) = Self::read(&mut connection, key)
            .await?
            .ok_or_else(|| corrupt(format!("{key} neither inserted nor found")))?;
        // A definite refusal left nothing held: a corrected request may be
        // sent under the same id. One statement, so of two such resends one
        // takes the order and the other finds it `sending`.
        if record.state == LedgerState::Refused {
            let sql = format!(
                "UPDATE paybridge_orders SET state = 'sending', amount = $5, currency = $6, \
                 provider_status = NULL, detail = NULL, version = version + 1, updated_at = $7 \
                 WHERE {BY_KEY} AND state = 'refused'"
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
            let (record, _) = Self::read(&mut connection, key)
                .await?
                .ok_or_else(|| corrupt(format!("{key} vanished while being sent again")))?;
            return Ok(Begin::Existing(Box::new(record)));
        }
        Ok(Begin::Existing(Box::new(record)))
    }

    async fn forget_unsent(&self, key: &OrderKey) -> Result<()> {
        let sql = format!("DELETE FROM paybridge_orders WHERE {BY_KEY} AND state = 'sending'");
        by_key!(sqlx::query(&sql), key)
            .execute(&self.pool)
            .await
            .map_err(db("forget an unsent order"))?;
        Ok(())
    }

    async fn observe(&self, key: &OrderKey, observation: &Observation) -> Result<Applied> {
        if let Some(applied) = self.create_outcome(key, observation).await? {
            return Ok(applied);
        }
        for _ in 0..CAS_ATTEMPTS {
            if let Some(applied) = self.observe_once(key, observation).await? {
                return Ok(applied);
            }
        }
        Err(Error::local(
            "the ledger",
            format!("{key} kept changing under {CAS_ATTEMPTS} attempts to apply an observation"),
        ))
    }

    async fn record_callback(&self, callback: &ReceivedCallback<'_>) -> Result<i64> {
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
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>("id"))
        .map_err(db("record a callback"))
    }

    async fn settle_callback(&self, id: i64, verdict: &CallbackVerdict) -> Result<()> {
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
        .execute(&self.pool)
        .await
        .map_err(db("record what became of a callback"))?;
        Ok(())
    }

    async fn transition_into(
        &self,
        key: &OrderKey,
        state: LedgerState,
    ) -> Result<Option<Transition>> {
        let sql = format!(
            "SELECT {TRANSITION_COLUMNS} FROM paybridge_transitions WHERE {BY_KEY} AND to_state = $5"
        );
        let row = by_key!(sqlx::query(&sql), key)
            .bind(state.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read a transition"))?;
        row.as_ref().map(transition).transpose()
    }

    async fn owed_transitions(&self, owed: &OwedQuery<'_>) -> Result<Vec<Transition>> {
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
            .fetch_all(&self.pool)
            .await
            .map_err(db("list owed handlers"))?;
        rows.iter().map(transition).collect()
    }

    async fn claim_handler(&self, id: i64, lease_ms: i64) -> Result<Claim> {
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
        .fetch_optional(&self.pool)
        .await
        .map_err(db("claim a handler"))?;
        if let Some(row) = claimed {
            let token = row
                .try_get::<i64, _>("claimed_at")
                .map_err(db("read a handler's claim"))?;
            return Ok(Claim::Claimed { token });
        }
        let handler: String =
            sqlx::query("SELECT handler FROM paybridge_transitions WHERE id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get::<String, _>("handler"))
                .map_err(db("read a handler's state"))?;
        Ok(if handler == "done" {
            Claim::Done
        } else {
            Claim::Running
        })
    }

    async fn finish_handler(&self, id: i64, token: i64, succeeded: bool) -> Result<()> {
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
            .execute(&self.pool)
            .await
            .map_err(db("record a handler's end"))?;
        Ok(())
    }

    async fn keep_unconfirmed(
        &self,
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
        .execute(&self.pool)
        .await
        .map_err(db("keep unconfirmed fields"))?;
        if kept.rows_affected() == 1 {
            return Ok(None);
        }
        let before = sqlx::query("SELECT unconfirmed FROM paybridge_transitions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
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

    async fn get(&self, key: &OrderKey) -> Result<Option<OrderRecord>> {
        let mut connection = self.pool.acquire().await.map_err(db("connect"))?;
        Ok(Self::read(&mut connection, key)
            .await?
            .map(|(record, _)| record))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<OrderRecord>> {
        let which = condition(filter.which);
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM paybridge_orders WHERE {which} AND updated_at >= $1 \
             ORDER BY updated_at, provider, account, kind, order_id"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.since.unwrap_or(i64::MIN))
            .fetch_all(&self.pool)
            .await
            .map_err(db("list orders"))?;
        rows.iter().map(|row| record(row).map(|(r, _)| r)).collect()
    }

    async fn resume_reconcile(&self) -> Result<ReconcileRun> {
        // Locked, so two runs starting at once do not both begin one.
        let mut tx = self.write_locked(RECONCILE_LOCK).await?;
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
        let orders =
            sqlx::query("SELECT COUNT(*) AS n FROM paybridge_reconcile_orders WHERE run = $1")
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

    async fn reconcile_orders(&self, page: &ReconcilePage<'_>) -> Result<Vec<ReconcileOrder>> {
        read_page(
            &self.pool,
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

    async fn reconcile_rows(&self, page: &ReconcilePage<'_>) -> Result<Vec<(OrderKey, String)>> {
        read_page(
            &self.pool,
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

    async fn reconciled(&self, run: i64, key: &OrderKey, row_json: &str) -> Result<()> {
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
        .execute(&self.pool)
        .await
        .map_err(db("record a reconcile row"))?;
        Ok(())
    }

    async fn finish_reconcile(&self, run: i64) -> Result<()> {
        sqlx::query("UPDATE paybridge_reconcile_runs SET finished_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(run)
            .execute(&self.pool)
            .await
            .map_err(db("finish a reconcile run"))?;
        Ok(())
    }
}
