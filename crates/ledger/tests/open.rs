//! How a ledger is opened: its options, its connect timeout against a
//! database that never answers, migrations on or off, and its files' modes.

use std::time::{Duration, Instant};

use paybridge_core::Error;
use paybridge_ledger::{Ledger, LedgerOptions, SqlLedger};
use paybridge_testkit::postgres::TestPostgres;

fn sqlite_url() -> (std::path::PathBuf, String) {
    let dir = paybridge_testkit::temp_dir("paybridge-ledger-open");
    let file = dir.join("ledger.db");
    let url = format!("sqlite://{}", file.display());
    (file, url)
}

#[tokio::test]
async fn a_postgres_that_never_answers_fails_within_the_timeout_naming_the_host_not_the_password() {
    // A listener that takes connections and never says a word: the startup
    // exchange waits for an answer that does not come.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let url = format!("postgres://app:SECRET-pg-7f3@{addr}/orders");
    let started = Instant::now();
    let options = LedgerOptions::default().connect_timeout(Duration::from_secs(1));
    let err = SqlLedger::open_with(&url, &options).await.unwrap_err();
    let took = started.elapsed();
    held.abort();
    assert!(
        took < Duration::from_secs(5),
        "the connect timeout bounds the wait: {took:?}"
    );
    assert!(took >= Duration::from_millis(900), "it did wait: {took:?}");
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, Error::Local { .. }), "{shown}");
    assert!(shown.contains(&addr.to_string()), "names the host: {shown}");
    assert!(shown.contains("within 1s"), "names the timeout: {shown}");
    assert!(!shown.contains("SECRET-pg-7f3"), "{shown}");
}

#[tokio::test]
async fn with_migrations_off_a_database_lacking_them_is_refused_and_a_migrated_one_opens() {
    let (_, url) = sqlite_url();
    let off = LedgerOptions::default().migrate(false);
    match SqlLedger::open_with(&url, &off).await.unwrap_err() {
        Error::Config { key, reason } => {
            assert_eq!(key, "ledger.migrate");
            assert!(reason.contains("migration 0 of"), "{reason}");
        }
        other => panic!("a configuration error, not {other}"),
    }
    SqlLedger::open(&url).await.unwrap();
    let ledger = SqlLedger::open_with(&url, &off).await.unwrap();
    assert!(ledger.list(&Default::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn postgres_keeps_the_pool_size_asked_for_and_reopens_without_recreating_its_tables() {
    let Some(server) = TestPostgres::start("postgres_keeps_the_pool_size_asked_for") else {
        return;
    };
    let options = LedgerOptions::default().pool_size(3);
    let ledger = SqlLedger::open_with(&server.url(), &options).await.unwrap();
    assert_eq!(ledger.pool().options().get_max_connections(), 3);
    drop(ledger);
    // A second open finds the schema and migrates nothing; with migrations
    // off it opens too.
    SqlLedger::open(&server.url()).await.unwrap();
    SqlLedger::open_with(&server.url(), &LedgerOptions::default().migrate(false))
        .await
        .unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_ledger_and_its_wal_and_shm_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (file, url) = sqlite_url();
    let ledger = SqlLedger::open(&url).await.unwrap();
    ledger.list(&Default::default()).await.unwrap();
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    for suffix in ["-wal", "-shm"] {
        let side = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
        assert_eq!(mode(&side), 0o600, "{}", side.display());
    }
}

/// What `PRAGMA synchronous` reads on the ledger's own connection: 2 is FULL, 1 is NORMAL.
async fn synchronous_of(options: &LedgerOptions) -> i64 {
    let (_file, url) = sqlite_url();
    let ledger = SqlLedger::open_with(&url, options).await.unwrap();
    let row = sqlx::query("PRAGMA synchronous")
        .fetch_one(ledger.pool())
        .await
        .unwrap();
    sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
}

#[tokio::test]
async fn a_sqlite_ledger_syncs_every_commit_by_default_and_at_checkpoints_when_asked() {
    assert_eq!(synchronous_of(&LedgerOptions::default()).await, 2);
    let normal =
        LedgerOptions::default().sqlite_synchronous(paybridge_ledger::SqliteSynchronous::Normal);
    assert_eq!(synchronous_of(&normal).await, 1);
}
