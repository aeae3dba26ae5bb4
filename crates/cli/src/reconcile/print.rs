//! The report as it is written: each row as soon as it is decided, the
//! summary at the end, so that a run over any number of orders holds none of
//! its rows.

use std::io::Write;

use super::{Report, Row};
use crate::csv_cells::CsvWriter;

/// Where a run's rows go, each as it is decided.
pub trait Rows {
    /// One order's row.
    fn row(&mut self, row: &Row) -> std::io::Result<()>;

    /// The run is waiting on its queries: a good moment to push out what is
    /// buffered, so that a reader sees each row without waiting for the next.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every row, kept: for a caller that wants them (a handful of orders).
impl Rows for Vec<Row> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        self.push(row.clone());
        Ok(())
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Columns for people, then a count per verdict.
    Table,
    /// `{"orders": [...], "summary": {...}}`, each row on a line of its own.
    Json,
    /// A header and a line per row; the count per verdict on stderr.
    Csv,
}

/// The table's column widths (the detail, last, is not padded): wide enough
/// for every status and verdict word; a longer cell pushes the rest of its
/// line along, as the widths of rows not yet decided cannot be known.
const WIDTHS: [usize; 7] = [20, 9, 7, 10, 15, 15, 17];

enum Out<W: Write> {
    Plain(W),
    // Boxed: the CSV writer's buffer is far larger than a bare writer.
    Csv(Box<CsvWriter<W>>),
}

/// Writes a report in `format` to a writer, row by row ([`Rows`]), then its
/// summary ([`Printer::finish`]).
pub struct Printer<W: Write> {
    format: Format,
    out: Out<W>,
    rows: usize,
}

impl<W: Write> std::fmt::Debug for Printer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Printer<W> {
    /// A printer to `out`, nothing written yet.
    pub fn new(format: Format, out: W) -> Self {
        let out = match format {
            Format::Csv => Out::Csv(Box::new(CsvWriter::new(out))),
            Format::Table | Format::Json => Out::Plain(out),
        };
        Self {
            format,
            out,
            rows: 0,
        }
    }

    /// What comes before the first row.
    fn start(&mut self) -> std::io::Result<()> {
        match (&mut self.out, self.format) {
            (Out::Plain(out), Format::Json) => writeln!(out, "{{\"orders\": ["),
            (Out::Plain(out), Format::Table) => table_line(out, &HEADER.map(str::to_owned)),
            _ => Ok(()),
        }
    }

    /// Ends the report with `report`'s summary, and hands back the writer.
    pub fn finish(mut self, report: &Report) -> std::io::Result<W> {
        if self.rows == 0 {
            self.start()?;
        }
        let summary = report.summary();
        let mut out = match self.out {
            Out::Plain(out) => out,
            Out::Csv(writer) => {
                let counts: Vec<String> = summary
                    .iter()
                    .map(|(verdict, count)| format!("{verdict} {count}"))
                    .collect();
                // Stdout holds the rows alone, for a spreadsheet.
                eprintln!("reconcile: {}", counts.join(", "));
                writer.into_inner()?
            }
        };
        match self.format {
            Format::Json => {
                let counts: serde_json::Map<String, serde_json::Value> = summary
                    .iter()
                    .map(|(verdict, count)| ((*verdict).to_owned(), (*count).into()))
                    .collect();
                writeln!(
                    out,
                    "], \"summary\": {}}}",
                    serde_json::Value::Object(counts)
                )?;
            }
            Format::Table => {
                writeln!(out)?;
                for (verdict, count) in &summary {
                    writeln!(out, "{verdict:<20} {count}")?;
                }
            }
            Format::Csv => {}
        }
        out.flush()?;
        Ok(out)
    }
}

const HEADER: [&str; 8] = [
    "order_id",
    "provider",
    "account",
    "kind",
    "merchant_status",
    "provider_status",
    "verdict",
    "detail",
];

fn table_line(out: &mut impl Write, cells: &[String; 8]) -> std::io::Result<()> {
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(WIDTHS) {
        line.push_str(&format!("{cell:<width$}  "));
    }
    line.push_str(&cells[7]);
    writeln!(out, "{}", line.trim_end())
}

/// An empty cell as the table shows it.
fn dash(cell: &str) -> String {
    if cell.is_empty() {
        "-".into()
    } else {
        cell.to_owned()
    }
}

impl<W: Write> Rows for Printer<W> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        if self.rows == 0 {
            self.start()?;
        }
        let first = self.rows == 0;
        self.rows += 1;
        match &mut self.out {
            Out::Csv(writer) => writer.write_row(row),
            Out::Plain(out) => match self.format {
                Format::Json => {
                    // The separator begins the next row's line, so that each
                    // row's line is whole as soon as it is written.
                    write!(out, "{}", if first { "  " } else { ", " })?;
                    serde_json::to_writer(&mut *out, row)?;
                    writeln!(out)
                }
                _ => table_line(
                    out,
                    &[
                        row.order_id.clone(),
                        row.provider.clone(),
                        dash(&row.account),
                        row.kind.clone(),
                        dash(&row.merchant_status),
                        dash(&row.provider_status),
                        row.verdict.clone(),
                        row.detail.clone(),
                    ],
                ),
            },
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Plain(out) => out.flush(),
            Out::Csv(writer) => writer.flush(),
        }
    }
}
