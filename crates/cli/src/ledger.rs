//! `paybridge ledger list` and `paybridge ledger export`.

use std::io::Write;

use paybridge::ledger::{Ledger, ListFilter, OrderRecord, Which};
use paybridge::Error;
use serde::Serialize;

use crate::args::{Cli, ExportFormat, LedgerCommand, LedgerStates};

/// An order as listed and exported: times in RFC 3339, amounts as decimal text.
#[derive(Debug, Serialize)]
struct Listed {
    provider: String,
    account: String,
    kind: String,
    order_id: String,
    amount: String,
    currency: String,
    state: String,
    provider_status: String,
    provider_ref: String,
    conflict: String,
    created_at: String,
    updated_at: String,
}

pub(crate) fn time(ms: i64) -> String {
    paybridge_serve::time::format(ms)
}

impl From<OrderRecord> for Listed {
    fn from(r: OrderRecord) -> Self {
        Self {
            provider: r.key.provider,
            account: r.key.account,
            kind: r.key.kind.to_string(),
            order_id: r.key.order_id,
            amount: r.amount.amount().to_string(),
            currency: r.amount.currency().to_string(),
            state: r.state.to_string(),
            provider_status: r.provider_status.unwrap_or_default(),
            provider_ref: r.provider_ref.unwrap_or_default(),
            conflict: r.conflict.unwrap_or_default(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

/// `--since`: RFC 3339, or a date (midnight UTC).
pub(crate) fn since(text: &str) -> Result<i64, Error> {
    paybridge_serve::time::parse("since", text)
}

/// The configured ledger, which a command that reads it needs, and the
/// configuration: without `[ledger]`, the one `paybridge serve` keeps beside
/// the configuration when there is one (never created here).
pub(crate) async fn required_ledger(
    cli: &Cli,
) -> Result<(paybridge::Config, std::sync::Arc<dyn Ledger>), Error> {
    let mut config = crate::commands::config(cli)?;
    if config.ledger.url.is_none() {
        let served = crate::serve::default_ledger(&config);
        if served.exists() {
            eprintln!(
                "paybridge: {} has no [ledger]; reading paybridge serve's sqlite://{}",
                config.source,
                served.display()
            );
            config.ledger.url = Some(format!("sqlite://{}", served.display()));
        }
    }
    let ledger = config.open_ledger().await?.ok_or_else(|| Error::Config {
        key: "ledger.url".into(),
        reason: format!(
            "is missing in {} (or set PAYBRIDGE_LEDGER_URL), and there is no paybridge.db of paybridge serve beside it: there is no ledger to read",
            config.source
        ),
    })?;
    Ok((config, ledger))
}

/// Runs a ledger command, writing to stdout.
pub async fn run(cli: &Cli, command: &LedgerCommand) -> Result<(), Error> {
    let (_, ledger) = required_ledger(cli).await?;
    match command {
        LedgerCommand::List { state, since: from } => {
            let which = match state {
                None => Which::All,
                Some(LedgerStates::Open) => Which::Open,
                Some(LedgerStates::Final) => Which::Final,
                Some(LedgerStates::Conflict) => Which::Conflict,
            };
            let from = from.as_deref().map(since).transpose()?;
            let records = ledger.list(&ListFilter::new(which, from)).await?;
            let rows: Vec<serde_json::Value> = records
                .into_iter()
                .map(|r| serde_json::to_value(Listed::from(r)).unwrap_or_default())
                .collect();
            cli.output.print(&serde_json::Value::Array(rows));
            Ok(())
        }
        LedgerCommand::Export { format } => export(ledger.as_ref(), *format).await,
    }
}

/// Every order, written one at a time.
async fn export(ledger: &dyn Ledger, format: ExportFormat) -> Result<(), Error> {
    let records = ledger.list(&ListFilter::default()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written: std::io::Result<()> = (|| {
        match format {
            ExportFormat::Csv => {
                let mut writer = paybridge_cli::csv_cells::CsvWriter::new(&mut out);
                for record in records {
                    writer.write_row(&Listed::from(record))?;
                }
                writer.flush()?;
            }
            ExportFormat::Json => {
                write!(out, "[")?;
                for (i, record) in records.into_iter().enumerate() {
                    write!(out, "{}", if i == 0 { "\n  " } else { ",\n  " })?;
                    serde_json::to_writer(&mut out, &Listed::from(record))?;
                }
                writeln!(out, "\n]")?;
            }
        }
        out.flush()
    })();
    written.map_err(|e| Error::local("the export", e))
}
