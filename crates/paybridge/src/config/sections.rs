//! The facade's own sections: `[http]`, `[ledger]` and `[callback]`.

#[cfg(feature = "ledger")]
use std::time::Duration;

use paybridge_core::redact;
use paybridge_wire::section::{flag, number};
use serde::Deserialize;

/// `[http]`: timeouts and retries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpSection {
    /// Connect timeout, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub connect_timeout_ms: Option<u64>,
    /// Per-attempt timeout, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub request_timeout_ms: Option<u64>,
    /// Attempts for reads, the first included.
    #[serde(default, deserialize_with = "number")]
    pub read_attempts: Option<u32>,
    /// Status queries made to resolve an unknown outcome.
    #[serde(default, deserialize_with = "number")]
    pub resolve_attempts: Option<u32>,
    /// Pause between those queries, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub resolve_delay_ms: Option<u64>,
    /// The largest answer read, bytes (1 MiB by default).
    #[serde(default, deserialize_with = "number")]
    pub max_answer_bytes: Option<u64>,
    /// A whole operation's deadline, resolution included, milliseconds (60 s by default).
    #[serde(default, deserialize_with = "number")]
    pub operation_deadline_ms: Option<u64>,
}

/// `[ledger]`: where orders are kept. `Debug` hides the URL's password.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LedgerSection {
    /// `sqlite://paybridge.db` (a file, created when missing) or `postgres://...`.
    pub url: Option<String>,
    /// PostgreSQL connections kept at most (16 by default); SQLite keeps one.
    #[serde(default, deserialize_with = "number")]
    pub pool_size: Option<u32>,
    /// Seconds opening the ledger may take (10 by default); past it, an
    /// error naming the database's address.
    #[serde(default, deserialize_with = "number")]
    pub connect_timeout_s: Option<u64>,
    /// Whether the ledger applies the migrations its database lacks on open
    /// (`true` by default); off, such a database is refused.
    #[serde(default, deserialize_with = "flag")]
    pub migrate: Option<bool>,
    /// How a SQLite ledger's commits reach the disk: `full` (the default:
    /// every commit synced, so an order recorded before its payout left
    /// survives a power failure) or `normal` (synced at checkpoints: a crash
    /// of the process loses nothing, a power failure may lose the last
    /// commits). PostgreSQL keeps its server's settings.
    #[serde(default, deserialize_with = "synchronous_word")]
    pub sqlite_synchronous: Option<String>,
}

/// `full` or `normal`, in any letter case, kept in lower case.
fn synchronous_word<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let word = String::deserialize(deserializer)?
        .trim()
        .to_ascii_lowercase();
    match word.as_str() {
        "full" | "normal" => Ok(Some(word)),
        _ => Err(serde::de::Error::custom("must be full or normal")),
    }
}

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
impl LedgerSection {
    /// The options the ledger is opened with.
    pub fn options(&self) -> paybridge_ledger::LedgerOptions {
        let defaults = paybridge_ledger::LedgerOptions::default();
        defaults
            .clone()
            .pool_size(self.pool_size.unwrap_or(defaults.pool_size))
            .connect_timeout(
                self.connect_timeout_s
                    .map(Duration::from_secs)
                    .unwrap_or(defaults.connect_timeout),
            )
            .migrate(self.migrate.unwrap_or(defaults.migrate))
            .sqlite_synchronous(
                self.sqlite_synchronous
                    .as_deref()
                    .and_then(paybridge_ledger::SqliteSynchronous::parse)
                    .unwrap_or(defaults.sqlite_synchronous),
            )
    }
}

impl std::fmt::Debug for LedgerSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSection")
            .field("url", &self.url.as_deref().map(redact::Url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_s", &self.connect_timeout_s)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// `[callback]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CallbackSection {
    /// The body answered to an accepted callback; `success` by default.
    pub answer: Option<String>,
}
