//! How a ledger is opened: its pool, its connect timeout, whether it
//! migrates its schema, and how SQLite makes a commit durable.

use std::time::Duration;

/// How [`SqlLedger::open_with`](crate::SqlLedger::open_with) opens a ledger.
/// Start from [`LedgerOptions::default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use paybridge_ledger::{LedgerOptions, SqliteSynchronous};
///
/// let options = LedgerOptions::default()
///     .pool_size(32)
///     .connect_timeout(Duration::from_secs(3))
///     .migrate(false)
///     .sqlite_synchronous(SqliteSynchronous::Normal);
/// assert_eq!(options.pool_size, 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerOptions {
    /// PostgreSQL connections kept at most (16 by default; at least 1).
    /// SQLite always keeps one: it serializes writers anyway, and one
    /// connection means no "database is locked" between this process's own.
    pub pool_size: u32,
    /// How long opening may take, the first connection included (10 s by
    /// default). Past it, opening fails naming the database's address.
    pub connect_timeout: Duration,
    /// Whether the embedded migrations the database lacks are applied on
    /// open (the default). Off, a database lacking some is refused on open;
    /// for a deployment whose application role may not change the schema.
    pub migrate: bool,
    /// How a SQLite commit reaches the disk (`FULL` by default). PostgreSQL
    /// keeps its server's own settings.
    pub sqlite_synchronous: SqliteSynchronous,
}

/// SQLite's `synchronous` setting for the ledger's file (always in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqliteSynchronous {
    /// Every commit is synced to the disk before it returns: an order recorded
    /// before its payout left survives a power failure as well as a crash.
    #[default]
    Full,
    /// The write-ahead log is synced at checkpoints only: a crash of the
    /// process loses nothing, a power failure may lose the last commits, and
    /// with them the record that a payout left.
    Normal,
}

impl SqliteSynchronous {
    /// The word SQLite's `PRAGMA synchronous` and the configuration take.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }

    /// Reads `full` or `normal` (in any letter case).
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "full" => Some(Self::Full),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }
}

/// The default [`LedgerOptions::pool_size`].
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// The default [`LedgerOptions::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            migrate: true,
            sqlite_synchronous: SqliteSynchronous::Full,
        }
    }
}

impl LedgerOptions {
    /// Sets the PostgreSQL pool's size (0 is taken as 1).
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets whether migrations are applied on open.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets SQLite's `synchronous` setting.
    pub fn sqlite_synchronous(mut self, synchronous: SqliteSynchronous) -> Self {
        self.sqlite_synchronous = synchronous;
        self
    }
}
