//! How a ledger is opened: its pool, its connect timeout, and whether it
//! migrates its schema.

use std::time::Duration;

/// How [`SqlLedger::open_with`](crate::SqlLedger::open_with) opens a ledger.
/// Start from [`LedgerOptions::default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use paybridge_ledger::LedgerOptions;
///
/// let options = LedgerOptions::default()
///     .pool_size(32)
///     .connect_timeout(Duration::from_secs(3))
///     .migrate(false);
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
}
