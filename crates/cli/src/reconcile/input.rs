//! The merchant's CSV export: its header checked, each line read into an
//! order, and the second pass streamed to the run.

use std::collections::HashMap;
use std::path::Path;

use paybridge::ledger::{LedgerState, OrderKey};
use paybridge::{Error, Money, OrderId, OrderKind, Provider};

use super::bad_input;
use super::orders::Job;
use super::scratch::BATCH;

/// The CSV columns, required first.
const REQUIRED: [&str; 5] = ["provider", "kind", "order_id", "amount", "currency"];

const OPTIONAL: [&str; 3] = ["account", "provider_ref", "merchant_status"];

/// Reads one CSV record into a job; the reason when it cannot.
pub(super) fn job_of(
    columns: &HashMap<String, usize>,
    record: &csv::StringRecord,
    providers: &[Provider],
) -> Result<Job, String> {
    let field = |name: &str| {
        columns
            .get(name)
            .and_then(|i| record.get(*i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let required = |name: &str| field(name).ok_or_else(|| format!("{name} is empty"));
    let provider =
        paybridge::providers::named(required("provider")?, providers).map_err(|e| e.to_string())?;
    let kind = match required("kind")? {
        "deposit" => OrderKind::Deposit,
        "withdrawal" => OrderKind::Withdrawal,
        other => return Err(format!("kind {other:?} is neither deposit nor withdrawal")),
    };
    let order_id = OrderId::new(required("order_id")?).map_err(|e| e.to_string())?;
    let amount =
        Money::parse(required("amount")?, required("currency")?).map_err(|e| e.to_string())?;
    let merchant_status = match field("merchant_status") {
        None => None,
        Some(word) => match LedgerState::parse(word).filter(|s| s.status().is_some()) {
            Some(state) => Some(state),
            None => {
                return Err(format!(
                    "merchant_status {word:?} is not one of pending, processing, completed, failed, rejected"
                ))
            }
        },
    };
    Ok(Job {
        key: OrderKey::new(provider, field("account"), kind, &order_id),
        amount,
        provider_ref: field("provider_ref").map(str::to_owned),
        merchant_status,
    })
}

/// Opens the CSV file and maps its header to column positions, refusing a
/// missing required column or an unknown one (a misspelt optional column
/// would otherwise be ignored).
pub(super) fn open_csv(
    path: &Path,
) -> Result<(csv::Reader<std::fs::File>, HashMap<String, usize>), Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let header = reader
        .headers()
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?
        .clone();
    let columns: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_ascii_lowercase(), i))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    let unknown: Vec<&String> = columns
        .keys()
        .filter(|c| !REQUIRED.contains(&c.as_str()) && !OPTIONAL.contains(&c.as_str()))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(bad_input(format!(
            "{}: the header must name {} (and may name {}); missing: {}; unknown: {}",
            path.display(),
            REQUIRED.join(","),
            OPTIONAL.join(","),
            if missing.is_empty() {
                "none".to_owned()
            } else {
                missing.join(",")
            },
            if unknown.is_empty() {
                "none".to_owned()
            } else {
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            },
        )));
    }
    Ok((reader, columns))
}

/// The CSV's second pass, streamed through a channel from a reading thread.
pub(super) fn csv_jobs(
    path: &Path,
    providers: Vec<Provider>,
) -> Result<tokio::sync::mpsc::Receiver<Job>, Error> {
    let (mut reader, columns) = open_csv(path)?;
    let (tx, rx) = tokio::sync::mpsc::channel(BATCH);
    std::thread::spawn(move || {
        for record in reader.records() {
            // Checked by the first pass; a file changed in between stops the feed.
            let Some(job) = record
                .ok()
                .and_then(|r| job_of(&columns, &r, &providers).ok())
            else {
                break;
            };
            if tx.blocking_send(job).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
