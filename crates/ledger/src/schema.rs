//! The ledger's tables, embedded and applied on open. The SQL is the same for
//! SQLite and PostgreSQL but for two column types, filled in per database.

/// The database behind a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The ledger crate's feature that builds this database in.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// An auto-numbered primary key column.
    fn id_column(self) -> &'static str {
        match self {
            Backend::Sqlite => "id INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "id BIGSERIAL PRIMARY KEY",
        }
    }

    /// A column of raw bytes.
    fn bytes_type(self) -> &'static str {
        match self {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        }
    }
}

/// The columns naming an order, shared by every table that refers to one.
const ORDER_KEY: &str =
    "provider TEXT NOT NULL, account TEXT NOT NULL, kind TEXT NOT NULL, order_id TEXT NOT NULL";

/// Each migration's statements, in order; its number is its index plus one.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS paybridge_orders ({key}, \
        amount TEXT NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, \
        provider_status TEXT, provider_ref TEXT, payment_url TEXT, conflict TEXT, detail TEXT, \
        version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, \
        PRIMARY KEY (provider, account, kind, order_id))",
        "CREATE INDEX IF NOT EXISTS paybridge_orders_by_change ON paybridge_orders (updated_at)",
        "CREATE TABLE IF NOT EXISTS paybridge_observations ({id}, {key}, \
        source TEXT NOT NULL, observed TEXT NOT NULL, provider_status TEXT, amount TEXT, \
        currency TEXT, effect TEXT NOT NULL, at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS paybridge_callbacks ({id}, provider TEXT NOT NULL, \
        account TEXT NOT NULL, kind TEXT, order_id TEXT, body {bytes} NOT NULL, content_type TEXT, \
        verified BIGINT NOT NULL, confirmed BIGINT NOT NULL, applied BIGINT NOT NULL, \
        outcome TEXT NOT NULL, received_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS paybridge_transitions ({id}, {key}, \
        from_state TEXT NOT NULL, to_state TEXT NOT NULL, source TEXT NOT NULL, \
        at BIGINT NOT NULL, handler TEXT NOT NULL, claimed_at BIGINT)",
        "CREATE UNIQUE INDEX IF NOT EXISTS paybridge_transitions_once \
        ON paybridge_transitions (provider, account, kind, order_id, to_state)",
    ],
    &[
        "CREATE TABLE IF NOT EXISTS paybridge_reconcile_runs ({id}, started_at BIGINT NOT NULL, \
        finished_at BIGINT)",
        "CREATE TABLE IF NOT EXISTS paybridge_reconcile_rows (run BIGINT NOT NULL, {key}, \
        row_json TEXT NOT NULL, PRIMARY KEY (run, provider, account, kind, order_id))",
    ],
    &[
        "CREATE TABLE IF NOT EXISTS paybridge_reconcile_orders (run BIGINT NOT NULL, {key}, \
        amount TEXT NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, provider_ref TEXT, \
        PRIMARY KEY (run, provider, account, kind, order_id))",
        // A run begun before its orders were kept cannot be resumed without
        // guessing them: it is closed, so the next run asks every open order.
        "UPDATE paybridge_reconcile_runs SET finished_at = started_at WHERE finished_at IS NULL",
    ],
    &[
        // The fields beyond the confirmed facts first delivered with a
        // transition (a JSON object of text), kept apart from the order's facts.
        "ALTER TABLE paybridge_transitions ADD COLUMN unconfirmed TEXT",
        "CREATE INDEX IF NOT EXISTS paybridge_transitions_owed \
        ON paybridge_transitions (provider, account, handler)",
    ],
    &[
        // The outbox: one event per transition a merchant hears of, written
        // by the transition's own transaction; its body is fixed then.
        "CREATE TABLE IF NOT EXISTS paybridge_events ({id}, event_id TEXT NOT NULL UNIQUE, \
        type TEXT NOT NULL, {key}, sequence BIGINT NOT NULL, body TEXT NOT NULL, \
        created_at BIGINT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL, \
        next_attempt_at BIGINT NOT NULL, claimed_until BIGINT, last_status TEXT)",
        "CREATE UNIQUE INDEX IF NOT EXISTS paybridge_events_in_order \
        ON paybridge_events (provider, account, kind, order_id, sequence)",
        "CREATE INDEX IF NOT EXISTS paybridge_events_due \
        ON paybridge_events (state, next_attempt_at)",
        // Each delivery attempt: when, the answer's status, how long, and the
        // first bytes of the answer.
        "CREATE TABLE IF NOT EXISTS paybridge_event_attempts ({id}, event BIGINT NOT NULL, \
        at BIGINT NOT NULL, status BIGINT, duration_ms BIGINT NOT NULL, answer TEXT, \
        error TEXT)",
        "CREATE INDEX IF NOT EXISTS paybridge_event_attempts_of \
        ON paybridge_event_attempts (event)",
        // An endpoint that answered 410 Gone: nothing is sent to it until enabled.
        "CREATE TABLE IF NOT EXISTS paybridge_webhook_endpoints (url TEXT PRIMARY KEY, \
        disabled_at BIGINT NOT NULL, reason TEXT NOT NULL)",
        // The service's idempotency keys, per API key, kept for the ledger's
        // life: the body each was first used with and the answer it got.
        "CREATE TABLE IF NOT EXISTS paybridge_idempotency (scope TEXT NOT NULL, \
        key TEXT NOT NULL, body_hash TEXT NOT NULL, state TEXT NOT NULL, \
        claimed_at BIGINT NOT NULL, status BIGINT, answer TEXT, PRIMARY KEY (scope, key))",
    ],
];

/// The number of the last migration.
pub(crate) fn latest() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The statements of every migration after `applied`, numbered.
pub(crate) fn pending(backend: Backend, applied: i64) -> Vec<(i64, Vec<String>)> {
    MIGRATIONS
        .iter()
        .zip(1_i64..)
        .filter(|(_, number)| *number > applied)
        .map(|(statements, number)| {
            let sql = statements
                .iter()
                .map(|s| {
                    s.replace("{key}", ORDER_KEY)
                        .replace("{id}", backend.id_column())
                        .replace("{bytes}", backend.bytes_type())
                })
                .collect();
            (number, sql)
        })
        .collect()
}
