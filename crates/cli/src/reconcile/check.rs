//! The CSV's first pass: every line checked before anything is queried, an
//! order listed twice refused with the line it was first on.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use paybridge::ledger::OrderKey;
use paybridge::{Error, Provider};

use super::bad_input;
use super::input::{job_of, open_csv};
use super::scratch::{Scratch, BATCH};

/// At most this many bad lines are named in the error.
const SHOWN_ERRORS: usize = 10;

/// The bad lines of a file: the first few by line, and how many in all.
#[derive(Default)]
struct BadLines {
    first: BTreeMap<u64, String>,
    count: usize,
}

impl BadLines {
    fn add(&mut self, line: u64, reason: String) {
        self.count += 1;
        self.first.insert(line, reason);
        if self.first.len() > SHOWN_ERRORS {
            self.first.pop_last();
        }
    }

    /// The error naming them, if any.
    fn into_error(self, path: &Path) -> Result<(), Error> {
        if self.count == 0 {
            return Ok(());
        }
        let shown: Vec<String> = self
            .first
            .into_iter()
            .map(|(line, reason)| format!("line {line}: {reason}"))
            .collect();
        let mut reason = shown.join("; ");
        let more = self.count - shown.len();
        if more > 0 {
            reason.push_str(&format!("; and {more} more"));
        }
        Err(bad_input(format!(
            "{}: nothing was queried: {reason}",
            path.display()
        )))
    }
}

/// The first pass: every line checked, nothing kept in memory but the
/// accounts to build gateways for; each order key goes to `scratch`, a batch
/// at a time, to refuse an order listed twice.
pub(super) async fn check_csv(
    path: &Path,
    scratch: &mut Scratch,
    providers: &[Provider],
) -> Result<(usize, HashSet<(String, String)>), Error> {
    let (mut reader, columns) = open_csv(path)?;
    let mut gateways = HashSet::new();
    let mut bad = BadLines::default();
    let mut count = 0;
    let mut batch: Vec<(String, u64)> = Vec::with_capacity(BATCH);
    let mut keys: Vec<OrderKey> = Vec::with_capacity(BATCH);
    let mut records = reader.records();
    loop {
        let record = records.next();
        if batch.len() == BATCH || (record.is_none() && !batch.is_empty()) {
            for (place, first) in scratch.seen_before(&batch).await? {
                let (key, line) = (&keys[place], batch[place].1);
                bad.add(
                    line,
                    format!("{key} is listed twice (first on line {first})"),
                );
            }
            batch.clear();
            keys.clear();
        }
        let Some(record) = record else { break };
        let record = record.map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        let line = record.position().map_or(0, csv::Position::line);
        match job_of(&columns, &record, providers) {
            Ok(job) => {
                gateways.insert((job.key.provider.clone(), job.key.account.clone()));
                batch.push((job.id(), line));
                keys.push(job.key);
                count += 1;
            }
            Err(reason) => bad.add(line, reason),
        }
    }
    bad.into_error(path)?;
    Ok((count, gateways))
}
