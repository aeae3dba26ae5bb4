//! Table and JSON output, errors and exit codes. JSON keys are snake_case;
//! amounts are decimal strings.

use clap::ValueEnum;
use paybridge::{Error, Money, StatusReport};
use paybridge_cli::csv_cells::CsvWriter;
use serde_json::{json, Value};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned text for people.
    Table,
    /// One JSON document for scripts.
    Json,
    /// Comma-separated values with a header, for spreadsheets.
    Csv,
}

impl Output {
    /// How `reconcile` writes its report in this format.
    pub fn reconcile(self) -> paybridge_cli::reconcile::Format {
        use paybridge_cli::reconcile::Format;
        match self {
            Output::Table => Format::Table,
            Output::Json => Format::Json,
            Output::Csv => Format::Csv,
        }
    }

    pub fn print(self, value: &Value) {
        match self {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            ),
            Output::Table => print!("{}", table(value)),
            Output::Csv => print!("{}", csv_text(value)),
        }
    }

    pub fn print_error(self, err: &Error) {
        eprintln!("error: {err}");
        if self == Output::Json {
            let mut value = json!({ "error": err.kind(), "message": err.to_string() });
            match err {
                Error::Ambiguous { order_id, .. } => value["order_id"] = json!(order_id),
                Error::HeldAsFailed {
                    order_id,
                    status,
                    provider_status,
                    ..
                } => {
                    value["order_id"] = json!(order_id);
                    value["status"] = json!(status);
                    value["provider_status"] = json!(provider_status);
                }
                Error::OrderIdConflict {
                    order_id,
                    requested,
                    held,
                    ..
                } => {
                    value["order_id"] = json!(order_id);
                    value["requested"] = json!(requested.to_string());
                    value["held"] = json!(held.to_string());
                }
                _ => {}
            }
            if let Error::Provider { message, kind, .. } = err {
                value["provider_message"] = json!(message);
                value["refusal"] = json!(kind);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
    }
}

/// Adds `amount_key` and `currency` fields for `money`.
pub fn money_fields(mut value: Value, amount_key: &str, money: &Money) -> Value {
    value[amount_key] = json!(money.amount().to_string());
    value["currency"] = json!(money.currency());
    value
}

/// A status report as the command prints it.
pub fn report_json(report: &StatusReport) -> Value {
    let value = json!({
        "kind": report.kind,
        "order_id": report.order_id,
        "status": report.status,
        "provider_status": report.provider_status,
        "order_datetime": report.order_datetime.map(|t| t.to_string()),
        "provider_ref": report.provider_ref,
    });
    match &report.amount {
        Some(money) => money_fields(value, "amount", money),
        None => value,
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// An array of objects as CSV (one object as one row), columns from the first.
pub fn csv_text(value: &Value) -> String {
    let rows: Vec<&Value> = match value {
        Value::Array(rows) => rows.iter().collect(),
        other => vec![other],
    };
    let columns: Vec<String> = match rows.first() {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => return rows.iter().map(|r| format!("{}\n", cell(r))).collect(),
    };
    let mut writer = CsvWriter::new(Vec::new());
    let mut lines = vec![columns.clone()];
    lines.extend(rows.iter().map(|row| {
        columns
            .iter()
            .map(|c| match &row[c.as_str()] {
                Value::Null => String::new(),
                other => cell(other),
            })
            .collect()
    }));
    for line in lines {
        // Writing to memory cannot fail.
        let _ = writer.write_cells(&line);
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn table(value: &Value) -> String {
    match value {
        Value::Array(rows) if rows.is_empty() => "(none)\n".into(),
        Value::Array(rows) => {
            let columns: Vec<String> = match &rows[0] {
                Value::Object(map) => map.keys().cloned().collect(),
                _ => return rows.iter().map(|r| format!("{}\n", cell(r))).collect(),
            };
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| columns.iter().map(|c| cell(&r[c.as_str()])).collect())
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].len())
                        .chain([c.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |items: &[String]| {
                let padded: Vec<String> = items
                    .iter()
                    .zip(&widths)
                    .map(|(s, w)| format!("{s:<w$}"))
                    .collect();
                format!("{}\n", padded.join("  ").trim_end())
            };
            let mut out = line(&columns);
            for row in &cells {
                out.push_str(&line(row));
            }
            out
        }
        Value::Object(map) => {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            map.iter()
                .map(|(k, v)| format!("{k:<width$}  {}\n", cell(v)))
                .collect()
        }
        other => format!("{}\n", cell(other)),
    }
}

/// Exit codes, part of the command's contract (README, "Exit codes").
pub mod exit {
    use paybridge::Error;

    /// Some demo step failed.
    pub const DEMO_FAILED: u8 = 1;
    /// Bad arguments, configuration or input.
    pub const USAGE: u8 = 2;
    /// The provider refused the request.
    pub const REFUSED: u8 = 3;
    /// The provider could not be reached or answered nonsense.
    pub const TRANSPORT: u8 = 4;
    /// A callback failed verification or confirmation.
    pub const CALLBACK_REJECTED: u8 = 5;
    /// A payout the provider holds as failed.
    pub const HELD_AS_FAILED: u8 = 7;
    /// Reconcile found an order to look into (a verdict other than
    /// unchanged or advanced).
    pub const RECONCILE_FINDINGS: u8 = 6;
    /// The order id is taken by a different order.
    pub const ORDER_ID_CONFLICT: u8 = 8;
    /// Interrupted (Ctrl-C); run again to resume.
    pub const INTERRUPTED: u8 = 130;

    /// The exit code for `err`.
    pub fn code(err: &Error) -> u8 {
        match err {
            Error::Provider { .. } => REFUSED,
            Error::HttpStatus { status, .. } if *status < 500 => REFUSED,
            Error::Transport { .. }
            | Error::Timeout { .. }
            | Error::HttpStatus { .. }
            | Error::Ambiguous { .. }
            | Error::Decode { .. } => TRANSPORT,
            Error::CallbackRejected(_) => CALLBACK_REJECTED,
            Error::HeldAsFailed { .. } => HELD_AS_FAILED,
            Error::OrderIdConflict { .. } => ORDER_ID_CONFLICT,
            _ => USAGE,
        }
    }
}
