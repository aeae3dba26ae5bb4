//! What a run would otherwise hold for every order, kept on disk: the order
//! keys the check has seen, to name an order listed twice with the line it
//! was first on, and the rows a resumed run recorded, to report them and to
//! know which orders are answered.
//!
//! A private temporary SQLite database (SQLite's empty file name): SQLite
//! removes its file itself (on Unix as soon as it is made, so not even a kill
//! leaves one), and a B-tree lookup names a duplicate's first line directly.
//! Its page cache is capped, so memory stays the same whatever the input's
//! size. Batches go in as one JSON parameter each, read with `json_each`, so
//! a few fixed statements serve any batch.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use paybridge::Error;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Row};

/// Keys or rows handed to the database at once.
pub(super) const BATCH: usize = 512;

/// The page cache, in KiB (SQLite reads a negative `cache_size` so): small,
/// so that a run over few orders and one over many hold the same; pages
/// beyond it are read back through the system's file cache.
const CACHE_KIB: u32 = 1024;

fn failed(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::local(format!("reconcile's temporary table could not {what}"), e)
}

/// The run's tables.
#[derive(Debug)]
pub(super) struct Scratch {
    db: SqliteConnection,
}

impl Scratch {
    /// A new, empty one.
    pub(super) async fn open() -> Result<Self, Error> {
        let options = SqliteConnectOptions::new()
            .filename("")
            // Nothing here outlives the run: no journal, no syncing.
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .pragma("cache_size", format!("-{CACHE_KIB}"))
            .pragma("temp_store", "file");
        let mut db = SqliteConnection::connect_with(&options)
            .await
            .map_err(failed("be made"))?;
        for table in [
            "CREATE TABLE seen (id TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID",
            "CREATE TABLE recorded (id TEXT PRIMARY KEY, answered INTEGER NOT NULL, \
             row TEXT NOT NULL) WITHOUT ROWID",
        ] {
            sqlx::query(table)
                .execute(&mut db)
                .await
                .map_err(failed("be made"))?;
        }
        Ok(Self { db })
    }

    /// Keeps each `(key, line)` of `batch` whose key was not seen before;
    /// returns, for each one that was (here or in an earlier batch), its
    /// place in `batch` and the line its key was first seen on.
    pub(super) async fn seen_before(
        &mut self,
        batch: &[(String, u64)],
    ) -> Result<Vec<(usize, u64)>, Error> {
        let mut first: HashMap<&str, u64> = HashMap::with_capacity(batch.len());
        // (place, the line of its key's first sighting in this batch)
        let mut again = Vec::new();
        for (place, (key, line)) in batch.iter().enumerate() {
            match first.entry(key) {
                Entry::Occupied(seen) => again.push((place, *seen.get())),
                Entry::Vacant(new) => {
                    new.insert(*line);
                }
            }
        }
        // An object, key to line: json_each reads its members as key and value.
        let keys = serde_json::to_string(&first).map_err(|e| Error::local("a key batch", e))?;
        let earlier = sqlx::query(
            "SELECT CAST(j.value AS INTEGER) AS line, s.line AS first \
             FROM json_each(?1) j JOIN seen s ON s.id = j.key",
        )
        .bind(&keys)
        .fetch_all(&mut self.db)
        .await
        .map_err(failed("be read"))?;
        // A line of this batch to the line its key was first seen on, before it.
        let mut before: HashMap<u64, u64> = HashMap::new();
        for row in &earlier {
            let line: i64 = row.try_get("line").map_err(failed("be read"))?;
            let first: i64 = row.try_get("first").map_err(failed("be read"))?;
            before.insert(line as u64, first as u64);
        }
        let mut twice: Vec<(usize, u64)> = again
            .into_iter()
            .map(|(place, line)| (place, before.get(&line).copied().unwrap_or(line)))
            .collect();
        twice.extend(
            batch
                .iter()
                .enumerate()
                .filter(|(_, (key, line))| first.get(key.as_str()) == Some(line))
                .filter_map(|(place, (_, line))| before.get(line).map(|first| (place, *first))),
        );
        sqlx::query(
            "INSERT INTO seen (id, line) SELECT key, value FROM json_each(?1) WHERE true \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&keys)
        .execute(&mut self.db)
        .await
        .map_err(failed("be written"))?;
        twice.sort_unstable();
        Ok(twice)
    }

    /// Keeps recorded rows, `(order key, answered, row as JSON)`, in the
    /// order they were recorded: a later row of an order replaces its earlier one.
    pub(super) async fn record(&mut self, rows: &[(String, bool, String)]) -> Result<(), Error> {
        let rows: Vec<(&str, u8, &str)> = rows
            .iter()
            .map(|(id, answered, row)| (id.as_str(), u8::from(*answered), row.as_str()))
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| Error::local("a row batch", e))?;
        sqlx::query(
            "INSERT INTO recorded (id, answered, row) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]') FROM json_each(?1) WHERE true \
             ON CONFLICT (id) DO UPDATE SET answered = excluded.answered, row = excluded.row",
        )
        .bind(rows)
        .execute(&mut self.db)
        .await
        .map_err(failed("be written"))?;
        Ok(())
    }

    /// Forgets every recorded row.
    pub(super) async fn forget_recorded(&mut self) -> Result<(), Error> {
        sqlx::query("DELETE FROM recorded")
            .execute(&mut self.db)
            .await
            .map_err(failed("be emptied"))?;
        Ok(())
    }

    /// How many orders are answered.
    pub(super) async fn answered(&mut self) -> Result<usize, Error> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM recorded WHERE answered = 1")
            .fetch_one(&mut self.db)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(failed("be read"))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// At most `limit` answered rows, `(order key, row as JSON)`, in key
    /// order, those after the key `after` (from the first when empty).
    pub(super) async fn answered_rows(
        &mut self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, Error> {
        let rows = sqlx::query(
            "SELECT id, row FROM recorded WHERE answered = 1 AND id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut self.db)
        .await
        .map_err(failed("be read"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("row")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(failed("be read"))
    }

    /// Which of the order keys `ids` are answered.
    pub(super) async fn answered_among(
        &mut self,
        ids: &[String],
    ) -> Result<HashSet<String>, Error> {
        let ids = serde_json::to_string(ids).map_err(|e| Error::local("a key batch", e))?;
        let rows = sqlx::query(
            "SELECT r.id FROM json_each(?1) j JOIN recorded r ON r.id = j.value \
             WHERE r.answered = 1",
        )
        .bind(ids)
        .fetch_all(&mut self.db)
        .await
        .map_err(failed("be read"))?;
        rows.iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(failed("be read"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far more keys than one batch, checked against a map of every key: a
    /// key seen again batches later, twice more in one later batch, and twice
    /// in one batch of its own, each named with the line it was first on.
    #[tokio::test]
    async fn a_key_seen_before_is_named_with_its_first_line_across_batches() {
        let mut scratch = Scratch::open().await.unwrap();
        let count = 20 * BATCH as u64;
        let mut keys: Vec<String> = (0..count).map(|n| format!("k{n}")).collect();
        keys[7 * BATCH + 3] = "k0".into();
        keys[11 * BATCH + 1] = "k5".into();
        keys[11 * BATCH + 9] = "k5".into();
        keys[15 * BATCH + 2] = "k15-twice".into();
        keys[15 * BATCH + 4] = "k15-twice".into();
        let lines: Vec<(String, u64)> = keys.into_iter().zip(2..).collect();
        let mut expected = Vec::new();
        let mut first = HashMap::new();
        for (key, line) in &lines {
            if let Some(first) = first.get(key) {
                expected.push((*line, *first));
            } else {
                first.insert(key.clone(), *line);
            }
        }
        assert_eq!(expected.len(), 4);
        let mut found = Vec::new();
        for batch in lines.chunks(BATCH) {
            for (place, first) in scratch.seen_before(batch).await.unwrap() {
                found.push((batch[place].1, first));
            }
        }
        assert_eq!(found, expected);
    }

    #[tokio::test]
    async fn a_later_row_replaces_an_earlier_and_only_answered_ones_count() {
        let mut scratch = Scratch::open().await.unwrap();
        let row = |id: &str, answered: bool| (id.to_owned(), answered, format!("{{\"{id}\":1}}"));
        scratch
            .record(&[row("a", false), row("b", true), row("c", true)])
            .await
            .unwrap();
        scratch
            .record(&[row("a", true), row("c", false)])
            .await
            .unwrap();
        assert_eq!(scratch.answered().await.unwrap(), 2);
        let first = scratch.answered_rows("", 1).await.unwrap();
        assert_eq!(first, [("a".to_owned(), "{\"a\":1}".to_owned())]);
        let rest = scratch.answered_rows("a", 10).await.unwrap();
        assert_eq!(rest, [("b".to_owned(), "{\"b\":1}".to_owned())]);
        let among = scratch
            .answered_among(&["a".into(), "c".into(), "z".into()])
            .await
            .unwrap();
        assert_eq!(among, HashSet::from(["a".to_owned()]));
        scratch.forget_recorded().await.unwrap();
        assert_eq!(scratch.answered().await.unwrap(), 0);
    }
}
