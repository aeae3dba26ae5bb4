//! A ledger built with one backend: `cargo test -p paybridge-ledger
//! --no-default-features --features sqlite --test one_backend` (which `cargo
//! xtask test` runs). With both backends built in, as by default, there is
//! nothing here to test.
#![cfg(all(feature = "sqlite", not(feature = "postgres")))]

use paybridge_core::Error;
use paybridge_ledger::SqlLedger;

#[tokio::test]
async fn a_postgres_url_is_refused_naming_the_missing_feature_and_sqlite_still_opens() {
    match SqlLedger::open("postgres://app:hunter2@db.internal/orders").await {
        Err(Error::Config { key, reason }) => {
            assert_eq!(key, "ledger.url");
            assert!(reason.contains("`postgres` feature"), "{reason}");
            assert!(
                !reason.contains("hunter2"),
                "the password is hidden: {reason}"
            );
        }
        other => panic!("a PostgreSQL URL without the feature: {other:?}"),
    }
    let ledger = SqlLedger::open("sqlite::memory:").await;
    assert!(ledger.is_ok(), "{ledger:?}");
}
