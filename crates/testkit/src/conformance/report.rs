//! What a run of the kit found.

use std::fmt::Write as _;

/// One check's result.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// What went wrong; `None` when it passed.
    pub failure: Option<String>,
}

/// The results of [`Adapter::run`](super::Adapter::run).
#[derive(Debug)]
pub struct Report {
    /// The adapter's name.
    pub adapter: String,
    /// Every check made.
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that failed.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.failure.is_some()).collect()
    }

    /// Panics listing every failed check.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        if failures.is_empty() {
            return;
        }
        let mut text = format!("{}: {} check(s) failed\n", self.adapter, failures.len());
        for check in failures {
            let _ = writeln!(
                text,
                "- {}: {}",
                check.name,
                check.failure.as_deref().unwrap_or("")
            );
        }
        panic!("{text}");
    }
}
