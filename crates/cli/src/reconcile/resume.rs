//! What lets a run resume: each order's row kept as it is decided (in the
//! ledger for a ledger run, in the `--state` file for a CSV run), read back
//! into the scratch tables when the run starts again.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use paybridge::ledger::reconcile::ReconcileVerdict;
use paybridge::ledger::{Ledger, OrderKey, ReconcilePage};
use paybridge::Error;
use serde::{Deserialize, Serialize};

use super::orders::PAGE;
use super::scratch::{Scratch, BATCH};
use super::summary::{report_row, Report};
use super::{bad_input, Row, Rows};

/// A line of the `--state` file: one order's row, or the mark a finished run
/// ends with.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum StateLine {
    /// The run finished at this time (milliseconds since the Unix epoch): a
    /// run given the file again asks every order again.
    Finished {
        /// When.
        finished_at_ms: i64,
    },
    /// An order's row.
    Row(Row),
}

/// Keeps `rows` recorded by a run being resumed in `scratch`: the last one
/// of each order stands, and it answers the order unless its query failed
/// (such an order is asked again).
async fn keep_recorded(scratch: &mut Scratch, rows: Vec<(Row, String)>) -> Result<(), Error> {
    let rows: Vec<(String, bool, String)> = rows
        .into_iter()
        .map(|(row, text)| {
            (
                row.id(),
                row.verdict != ReconcileVerdict::Error.as_str(),
                text,
            )
        })
        .collect();
    scratch.record(&rows).await
}

/// Hands each recorded row of a ledger run to `scratch`, a page at a time.
pub(super) async fn keep_ledger_rows(
    ledger: &dyn Ledger,
    run: i64,
    scratch: &mut Scratch,
) -> Result<(), Error> {
    let mut after: Option<OrderKey> = None;
    loop {
        let page = ledger
            .reconcile_rows(&ReconcilePage {
                run,
                after: after.as_ref(),
                limit: PAGE,
            })
            .await?;
        let last = page.len() < PAGE as usize;
        after = page.last().map(|(key, _)| key.clone());
        let rows = page
            .into_iter()
            .filter_map(|(_, text)| Some((serde_json::from_str(&text).ok()?, text)))
            .collect();
        keep_recorded(scratch, rows).await?;
        if last {
            return Ok(());
        }
    }
}

/// The first line of every `--state` file: what makes a file the run's own.
pub const STATE_MARKER: &str = r#"{"paybridge_reconcile_state":1}"#;

/// Where finished rows are kept so a run can resume.
pub(super) enum Progress {
    Ledger(Arc<dyn Ledger>, i64),
    File(std::fs::File),
    Nowhere,
}

impl Progress {
    /// Opens the `--state` file at `path` and hands the rows it keeps to
    /// `scratch`, read a line at a time: none when it is new or holds a
    /// finished run (which is then emptied, the file holding one run only).
    ///
    /// The file is the run's own: a new one is created readable by its owner
    /// only (0600) and begins with [`STATE_MARKER`]; an existing one whose
    /// first line is not that marker (the `--input` CSV, any other file) is
    /// refused, naming it, and left untouched. An empty file is taken as new.
    pub(super) async fn open_file(
        path: &Path,
        input: &Path,
        scratch: &mut Scratch,
    ) -> Result<Self, Error> {
        let failed = |e: std::io::Error| bad_input(format!("--state {}: {e}", path.display()));
        let same_file = std::fs::canonicalize(path)
            .ok()
            .is_some_and(|state| std::fs::canonicalize(input).is_ok_and(|input| input == state));
        if same_file {
            return Err(Error::invalid(
                "state",
                format!(
                    "{} is the --input file; give the run's progress a file of its own",
                    path.display()
                ),
            ));
        }
        let mut reader = match std::fs::File::open(path) {
            Ok(file) => Some(std::io::BufReader::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(failed(e)),
        };
        let mut line = Vec::new();
        let mut empty = true;
        let mut finished = false;
        let mut ends_whole = true;
        if let Some(reader) = &mut reader {
            let mut rows = Vec::with_capacity(BATCH);
            let mut first = true;
            while reader.read_until(b'\n', &mut line).map_err(failed)? > 0 {
                empty = false;
                ends_whole = line.ends_with(b"\n");
                let text = String::from_utf8_lossy(&line);
                if first && text.trim() != STATE_MARKER {
                    return Err(Error::invalid(
                        "state",
                        format!(
                            "{} is not a reconcile state file (its first line is not \
                             {STATE_MARKER}); it is left as it is: give a new file, or remove \
                             this one",
                            path.display()
                        ),
                    ));
                }
                first = false;
                // A line cut short by a kill is no row, and is skipped (the marker too).
                match serde_json::from_str::<StateLine>(&text) {
                    Ok(StateLine::Row(row)) if !finished => {
                        rows.push((row, text.trim_end().to_owned()));
                        if rows.len() == BATCH {
                            keep_recorded(scratch, std::mem::take(&mut rows)).await?;
                        }
                    }
                    Ok(StateLine::Finished { .. }) => finished = true,
                    _ => {}
                }
                line.clear();
            }
            keep_recorded(scratch, rows).await?;
        }
        if finished {
            scratch.forget_recorded().await?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let fresh = finished || empty;
        if fresh {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let mut file = options.open(path).map_err(failed)?;
        if fresh {
            file.write_all(format!("{STATE_MARKER}\n").as_bytes())
                .map_err(failed)?;
        } else if !ends_whole {
            // The next row starts a line of its own, after one cut short.
            file.write_all(b"\n").map_err(failed)?;
        }
        Ok(Progress::File(file))
    }

    /// Writes one line to the `--state` file, whole, so a line is there whole
    /// or not at all.
    fn write_line(file: &mut std::fs::File, line: &StateLine) -> Result<(), Error> {
        let text = serde_json::to_string(line).map_err(|e| Error::local("a reconcile row", e))?;
        file.write_all(format!("{text}\n").as_bytes())
            .map_err(|e| Error::local("the --state file", e))
    }

    pub(super) async fn record(&mut self, key: &OrderKey, row: &Row) -> Result<(), Error> {
        match self {
            Progress::Ledger(ledger, run) => {
                let text =
                    serde_json::to_string(row).map_err(|e| Error::local("a reconcile row", e))?;
                ledger.reconciled(*run, key, &text).await
            }
            Progress::File(file) => Self::write_line(file, &StateLine::Row(row.clone())),
            Progress::Nowhere => Ok(()),
        }
    }

    pub(super) async fn finish(&mut self) -> Result<(), Error> {
        match self {
            Progress::Ledger(ledger, run) => ledger.finish_reconcile(*run).await,
            Progress::File(file) => Self::write_line(
                file,
                &StateLine::Finished {
                    finished_at_ms: paybridge::ledger::now_ms(),
                },
            ),
            Progress::Nowhere => Ok(()),
        }
    }
}

/// Reports the rows a resumed run recorded, read back from `scratch` a batch
/// at a time.
pub(super) async fn report_recorded(
    scratch: &mut Scratch,
    out: &mut dyn Rows,
    report: &mut Report,
) -> Result<(), Error> {
    let mut after = String::new();
    loop {
        let rows = scratch.answered_rows(&after, BATCH).await?;
        let last = rows.len() < BATCH;
        for (id, text) in rows {
            if let Ok(row) = serde_json::from_str::<Row>(&text) {
                report_row(out, report, &row)?;
            }
            after = id;
        }
        if last {
            return Ok(());
        }
    }
}
