//! The count per verdict a run ends with: the rows themselves are written as
//! they are decided, never held.

use paybridge::ledger::reconcile::ReconcileVerdict;
use paybridge::Error;

use super::{Row, Rows};

/// What a run found: how many rows of each verdict (the rows themselves went
/// to the run's [`Rows`] as they were decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How many orders the run had.
    pub total: usize,
    /// The rows reported, resumed ones included.
    pub reported: usize,
    /// Rows of each verdict, in the order of [`ReconcileVerdict::ALL`].
    counts: [usize; ReconcileVerdict::ALL.len()],
    /// Rows of no verdict this version knows (a `--state` file written by
    /// another version), which are not clean.
    unknown: usize,
    /// Stopped by Ctrl-C before the end: run again to resume.
    pub interrupted: bool,
}

impl Report {
    pub(super) fn new(total: usize) -> Self {
        Self {
            total,
            reported: 0,
            counts: [0; ReconcileVerdict::ALL.len()],
            unknown: 0,
            interrupted: false,
        }
    }

    /// Counts `row`.
    fn count(&mut self, row: &Row) {
        self.reported += 1;
        match ReconcileVerdict::ALL
            .iter()
            .position(|v| v.as_str() == row.verdict)
        {
            Some(i) => self.counts[i] += 1,
            None => self.unknown += 1,
        }
    }

    /// Whether every order is unchanged or advanced.
    pub fn is_clean(&self) -> bool {
        self.unknown == 0
            && ReconcileVerdict::ALL
                .iter()
                .zip(self.counts)
                .all(|(v, count)| count == 0 || v.is_clean())
    }

    /// The count of each verdict, every verdict named, in the order they are checked.
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        ReconcileVerdict::ALL
            .iter()
            .zip(self.counts)
            .map(|(v, count)| (v.as_str(), count))
            .collect()
    }
}

/// Hands `row` to `out` and counts it.
pub(super) fn report_row(out: &mut dyn Rows, report: &mut Report, row: &Row) -> Result<(), Error> {
    out.row(row)
        .map_err(|e| Error::local("the report could not be written", e))?;
    report.count(row);
    Ok(())
}
