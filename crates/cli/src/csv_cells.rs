//! Every CSV the command writes goes through here, so that a cell a provider
//! or a merchant filled in cannot run as a spreadsheet formula.
//!
//! As OWASP advises against CSV injection, a cell starting with `=`, `+`,
//! `-`, `@`, a tab or a carriage return is written with a `'` before it, which
//! spreadsheets read as "text" and do not show. One exception: a cell that is
//! a plain decimal number (`-5.00`, `-12`: an optional `-`, digits, an
//! optional `.` and digits) is left as it is, so that negative amounts stay
//! numbers; such a cell cannot be a formula.

use std::borrow::Cow;
use std::io::Write;

use serde::Serialize;

/// `cell` as written: prefixed with `'` when a spreadsheet would take it for
/// a formula.
pub fn neutralised(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_decimal(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-?[0-9]+(\.[0-9]+)?`
fn is_plain_decimal(cell: &str) -> bool {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// A CSV writer whose every cell is [`neutralised`]. Rows are given as
/// serde records (the header taken from the first, as `csv` does) or as
/// cells.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer to `out`.
    pub fn new(out: W) -> Self {
        Self {
            inner: csv::Writer::from_writer(out),
            header_written: false,
        }
    }

    /// Writes one row of cells.
    pub fn write_cells<I, S>(&mut self, cells: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralised(cell.as_ref()).into_owned())
            .collect();
        self.inner
            .write_record(&cells)
            .map_err(std::io::Error::other)
    }

    /// Writes `row` as `csv` would serialize it, its header first when it is
    /// the first row.
    pub fn write_row<T: Serialize>(&mut self, row: &T) -> std::io::Result<()> {
        let mut plain = csv::WriterBuilder::new()
            .has_headers(!self.header_written)
            .from_writer(Vec::new());
        plain.serialize(row).map_err(std::io::Error::other)?;
        let bytes = plain
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut records = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.as_slice());
        for record in records.records() {
            let record = record.map_err(std::io::Error::other)?;
            self.write_cells(record.iter())?;
        }
        self.header_written = true;
        Ok(())
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    /// The writer given, flushed.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_prefixed_and_plain_numbers_kept() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil.example\",\"x\")",
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("-.5", "'-.5"),
            ("+5", "'+5"),
            ("-5.00", "-5.00"),
            ("-12", "-12"),
            ("100.50", "100.50"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralised(cell), written, "{cell:?}");
        }
    }

    #[derive(Serialize)]
    struct Row {
        order_id: &'static str,
        amount: &'static str,
        detail: &'static str,
    }

    #[test]
    fn serialized_rows_get_a_header_once_and_every_cell_neutralised() {
        let mut writer = CsvWriter::new(Vec::new());
        for (order_id, detail) in [("=cmd|' /C calc'!A0", "fine"), ("A2", "@x, \"y\"")] {
            writer
                .write_row(&Row {
                    order_id,
                    amount: "-5.00",
                    detail,
                })
                .unwrap();
        }
        writer.write_cells(["+x", "1", "-"]).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(
            text,
            "order_id,amount,detail\n'=cmd|' /C calc'!A0,-5.00,fine\nA2,-5.00,\"'@x, \"\"y\"\"\"\n'+x,1,'-\n"
        );
    }
}
