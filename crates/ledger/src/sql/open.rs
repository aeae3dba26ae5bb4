//! Opening a ledger: where SQLite and PostgreSQL differ most (the URL, the
//! pool's size, SQLite's file and pragmas).

use paybridge_core::{Error, Result};
use sqlx::any::AnyPoolOptions;

use super::{Backend, SqlLedger};

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
        let synchronous = options.sqlite_synchronous;
        let connecting = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(timeout)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let synchronous = format!("PRAGMA synchronous = {}", synchronous.as_str());
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            &synchronous,
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
}
