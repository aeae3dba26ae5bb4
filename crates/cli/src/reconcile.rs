//! `paybridge reconcile`: every order not final yet, resolved by a status
//! query, from the ledger or from a CSV file the merchant exported.
//!
//! The CSV file is read twice, streamed both times: once to check every line
//! (nothing is queried when one is wrong), once to query. Progress is kept as
//! each order is done (a ledger run in the ledger, a CSV run in `--state
//! FILE`), so a run stopped by Ctrl-C or killed resumes where it stopped: it
//! reports the rows it recorded and asks every other order, and those whose
//! query failed, again. A ledger run asks the orders that were open when it
//! began, kept with the run. A finished run is marked so; the next run asks
//! every order again.
//!
//! Nothing is held per order: each row is written as it is decided
//! ([`Rows`]), the summary is a count per verdict, and what must be known of
//! every order (the keys seen, to refuse one listed twice; the rows a resumed
//! run recorded) is kept on disk (`scratch`), so memory stays the same
//! whatever the number of orders.

mod print;
mod scratch;

pub use print::{Format, Printer, Rows};
use scratch::{Scratch, BATCH};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use futures_util::FutureExt;
use paybridge::ledger::reconcile::{verdict, Verdict};
use paybridge::ledger::{Ledger, LedgerState, Observation, OrderKey, ReconcilePage, Source};
use paybridge::{Config, Error, Gateway, Money, OrderId, OrderKind, Provider, StatusQuery};
use serde::{Deserialize, Serialize};

/// The CSV columns, required first.
const REQUIRED: [&str; 5] = ["provider", "kind", "order_id", "amount", "currency"];
const OPTIONAL: [&str; 3] = ["account", "provider_ref", "merchant_status"];
/// At most this many bad lines are named in the error.
const SHOWN_ERRORS: usize = 10;

/// One order to reconcile.
#[derive(Debug, Clone)]
struct Job {
    key: OrderKey,
    amount: Money,
    provider_ref: Option<String>,
    merchant_status: Option<LedgerState>,
}

impl Job {
    fn id(&self) -> String {
        key_id(&self.key)
    }
}

fn key_id(key: &OrderKey) -> String {
    format!(
        "{}/{}/{}/{}",
        key.provider, key.account, key.kind, key.order_id
    )
}

/// One order's result, as printed and as kept for resuming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The merchant's order id.
    pub order_id: String,
    /// The provider.
    pub provider: String,
    /// The named account, or empty.
    pub account: String,
    /// `deposit` or `withdrawal`.
    pub kind: String,
    /// The status the merchant holds, or empty.
    pub merchant_status: String,
    /// The provider's status, normalized, or empty when it gave none.
    pub provider_status: String,
    /// The verdict (`unchanged`, `advanced`...).
    pub verdict: String,
    /// What the provider said, the amount it holds, or why the query failed.
    pub detail: String,
}

impl Row {
    /// The order's key, as one text.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.provider, self.account, self.kind, self.order_id
        )
    }
}

/// Reads one CSV record into a job; the reason when it cannot.
fn job_of(
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

fn bad_input(reason: String) -> Error {
    Error::invalid("input", reason)
}

/// Opens the CSV file and maps its header to column positions, refusing a
/// missing required column or an unknown one (a misspelt optional column
/// would otherwise be ignored).
fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, HashMap<String, usize>), Error> {
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
async fn check_csv(
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

/// The gateway of every (provider, account) the run needs, built before any
/// query so a configuration error stops it at once.
fn gateways(
    config: &Config,
    needed: &HashSet<(String, String)>,
) -> Result<HashMap<(String, String), Gateway>, Error> {
    needed
        .iter()
        .map(|(provider, account)| {
            let gateway = if account.is_empty() {
                Gateway::for_provider(config, config.provider_named(provider)?)?
            } else {
                let gateway = Gateway::for_account(config, account)?;
                if gateway.provider().as_str() != provider {
                    return Err(bad_input(format!(
                        "account {account} is a {} account, not {provider}",
                        gateway.provider()
                    )));
                }
                gateway
            };
            Ok(((provider.clone(), account.clone()), gateway))
        })
        .collect()
}

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
        .map(|(row, text)| (row.id(), row.verdict != Verdict::Error.as_str(), text))
        .collect();
    scratch.record(&rows).await
}

/// Hands each recorded row of a ledger run to `scratch`, a page at a time.
async fn keep_ledger_rows(
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
enum Progress {
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
    async fn open_file(path: &Path, input: &Path, scratch: &mut Scratch) -> Result<Self, Error> {
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

    async fn record(&mut self, key: &OrderKey, row: &Row) -> Result<(), Error> {
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

    async fn finish(&mut self) -> Result<(), Error> {
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

/// Progress for people: a bar on a terminal, a plain line now and then otherwise.
struct Meter {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
    every: usize,
    shown: bool,
}

impl Meter {
    fn new(total: usize, already: usize, shown: bool) -> Self {
        let bar = (shown && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "reconcile {bar:30} {pos}/{len} orders  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(already as u64);
            bar
        });
        Self {
            bar,
            total,
            done: already,
            every: (total / 20).max(1),
            shown,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if self.shown && (self.done % self.every == 0 || self.done == self.total) => {
                eprintln!("reconcile: {}/{} orders", self.done, self.total);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Asks one order's status and judges it; applies it to the ledger when the
/// order came from there.
async fn reconcile_one(
    job: Job,
    gateway: &Gateway,
    ledger: Option<&Arc<dyn Ledger>>,
) -> (OrderKey, Row) {
    let order_id = OrderId::new(&job.key.order_id).ok();
    let asked = match order_id {
        Some(order_id) => {
            let mut query = StatusQuery::new(order_id);
            if let Some(reference) = &job.provider_ref {
                query = query.with_provider_ref(reference.clone());
            }
            match job.key.kind {
                OrderKind::Deposit => gateway.deposit_status(&query).await,
                _ => gateway.withdrawal_status(&query).await,
            }
        }
        None => Err(Error::invalid("order_id", "is not an order id")),
    };
    let judged = verdict(&job.amount, job.merchant_status, &asked);
    let (provider_status, detail) = match &asked {
        Ok(report) => {
            let held = report.amount.as_ref().map(ToString::to_string);
            let detail = match judged {
                Verdict::AmountMismatch | Verdict::CurrencyMismatch => {
                    format!("held {}, not {}", held.unwrap_or_default(), job.amount)
                }
                _ => format!("provider says {}", report.provider_status),
            };
            (report.status.to_string(), detail)
        }
        Err(err) => (String::new(), err.to_string()),
    };
    if let (Some(ledger), Ok(report)) = (ledger, &asked) {
        let observation = Observation::new(Source::Reconcile, LedgerState::from(report.status))
            .provider_status(report.provider_status.clone())
            .amount(report.amount.clone())
            .provider_ref(report.provider_ref.clone());
        if let Err(err) = ledger.observe(&job.key, &observation).await {
            tracing::error!(order = %job.key, error = %err, "the ledger could not record a reconcile status");
        }
    }
    let row = Row {
        order_id: job.key.order_id.clone(),
        provider: job.key.provider.clone(),
        account: job.key.account.clone(),
        kind: job.key.kind.to_string(),
        merchant_status: job
            .merchant_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        provider_status,
        verdict: judged.to_string(),
        detail,
    };
    (job.key, row)
}

/// The CSV's second pass, streamed through a channel from a reading thread.
fn csv_jobs(
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

/// How many orders or rows a ledger run reads at a time.
const PAGE: u32 = 1000;

/// Where a run's orders come from, a batch at a time.
enum Orders {
    Csv(tokio::sync::mpsc::Receiver<Job>),
    /// The ledger, the run, and the last order read.
    Ledger(Arc<dyn Ledger>, i64, Option<OrderKey>),
}

impl Orders {
    /// The next orders; none at the end.
    async fn next(&mut self) -> Result<Vec<Job>, Error> {
        match self {
            Orders::Csv(rx) => {
                let mut batch = Vec::with_capacity(BATCH);
                rx.recv_many(&mut batch, BATCH).await;
                Ok(batch)
            }
            Orders::Ledger(ledger, run, after) => {
                let page = ledger
                    .reconcile_orders(&ReconcilePage {
                        run: *run,
                        after: after.as_ref(),
                        limit: PAGE,
                    })
                    .await?;
                *after = page.last().map(|order| order.key.clone());
                Ok(page
                    .into_iter()
                    .map(|order| Job {
                        merchant_status: Some(order.state),
                        provider_ref: order.provider_ref,
                        amount: order.amount,
                        key: order.key,
                    })
                    .collect())
            }
        }
    }
}

/// The orders to ask, from `source`, by a task of their own into a channel
/// that holds a batch: with `resumed`, those `scratch` holds as answered are
/// left out. The task ends with the first failed read, and says so: a run
/// whose feed failed is not finished.
fn feed(
    mut source: Orders,
    mut scratch: Scratch,
    resumed: bool,
) -> (
    tokio::sync::mpsc::Receiver<Job>,
    tokio::task::JoinHandle<Result<(), Error>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(BATCH);
    let feed = tokio::spawn(async move {
        loop {
            let mut batch = source.next().await?;
            if batch.is_empty() {
                return Ok(());
            }
            if resumed {
                let ids: Vec<String> = batch.iter().map(Job::id).collect();
                let answered = scratch.answered_among(&ids).await?;
                batch.retain(|job| !answered.contains(&job.id()));
            }
            for job in batch {
                if tx.send(job).await.is_err() {
                    // The run stopped taking orders (Ctrl-C).
                    return Ok(());
                }
            }
        }
    });
    (rx, feed)
}

/// What a reconcile run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The merchant's CSV export; the ledger's open orders when `None`.
    pub input: Option<PathBuf>,
    /// Status queries in flight at once.
    pub concurrency: u16,
    /// At most this many status queries a second.
    pub rate: Option<u32>,
    /// Where a CSV run keeps its progress.
    pub state: Option<PathBuf>,
    /// Whether to show progress on stderr.
    pub progress: bool,
}

/// What a run found: how many rows of each verdict (the rows themselves went
/// to the run's [`Rows`] as they were decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How many orders the run had.
    pub total: usize,
    /// The rows reported, resumed ones included.
    pub reported: usize,
    /// Rows of each verdict, in the order of [`Verdict::ALL`].
    counts: [usize; Verdict::ALL.len()],
    /// Rows of no verdict this version knows (a `--state` file written by
    /// another version), which are not clean.
    unknown: usize,
    /// Stopped by Ctrl-C before the end: run again to resume.
    pub interrupted: bool,
}

impl Report {
    fn new(total: usize) -> Self {
        Self {
            total,
            reported: 0,
            counts: [0; Verdict::ALL.len()],
            unknown: 0,
            interrupted: false,
        }
    }

    /// Counts `row`.
    fn count(&mut self, row: &Row) {
        self.reported += 1;
        match Verdict::ALL.iter().position(|v| v.as_str() == row.verdict) {
            Some(i) => self.counts[i] += 1,
            None => self.unknown += 1,
        }
    }

    /// Whether every order is unchanged or advanced.
    pub fn is_clean(&self) -> bool {
        self.unknown == 0
            && Verdict::ALL
                .iter()
                .zip(self.counts)
                .all(|(v, count)| count == 0 || v.is_clean())
    }

    /// The count of each verdict, every verdict named, in the order they are checked.
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        Verdict::ALL
            .iter()
            .zip(self.counts)
            .map(|(v, count)| (v.as_str(), count))
            .collect()
    }
}

/// Hands `row` to `out` and counts it.
fn report_row(out: &mut dyn Rows, report: &mut Report, row: &Row) -> Result<(), Error> {
    out.row(row)
        .map_err(|e| Error::local("the report could not be written", e))?;
    report.count(row);
    Ok(())
}

/// Reports the rows a resumed run recorded, read back from `scratch` a batch
/// at a time.
async fn report_recorded(
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

/// Reconciles the orders `options` names with the gateways `config` builds,
/// handing each row to `out` as it is decided.
pub async fn run(config: &Config, options: &Options, out: &mut dyn Rows) -> Result<Report, Error> {
    let args = options;
    let ledger = config.open_ledger().await?;
    let mut scratch = Scratch::open().await?;
    let (total, needed, source, mut progress) = match &args.input {
        Some(path) => {
            let (total, needed) = check_csv(path, &mut scratch, &config.providers()).await?;
            // A CSV run keeps its progress in --state only, never in the ledger.
            let progress = match &args.state {
                Some(state) => Progress::open_file(state, path, &mut scratch).await?,
                None => Progress::Nowhere,
            };
            (
                total,
                needed,
                Orders::Csv(csv_jobs(path, config.providers())?),
                progress,
            )
        }
        None => {
            if args.state.is_some() {
                return Err(Error::invalid(
                    "state",
                    "is for a run with --input; a ledger run keeps its progress in the ledger",
                ));
            }
            let Some(ledger) = &ledger else {
                return Err(Error::Config {
                    key: "ledger.url".into(),
                    reason: "is needed to reconcile without --input (or give --input orders.csv)"
                        .into(),
                });
            };
            let run = ledger.resume_reconcile().await?;
            keep_ledger_rows(ledger.as_ref(), run.id, &mut scratch).await?;
            let source = Orders::Ledger(ledger.clone(), run.id, None);
            let progress = Progress::Ledger(ledger.clone(), run.id);
            (
                run.orders,
                run.accounts.into_iter().collect(),
                source,
                progress,
            )
        }
    };
    let gateways = gateways(config, &needed)?;
    let from_ledger = args.input.is_none();
    let done = scratch.answered().await?;
    if done > 0 {
        eprintln!("reconcile: resuming, {done} of {total} orders already done");
    }
    let mut report = Report::new(total);
    report_recorded(&mut scratch, out, &mut report).await?;
    let limiter = args.rate.and_then(NonZeroU32::new).map(|rate| {
        Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(
            rate,
        )))
    });
    let mut meter = Meter::new(total, done.min(total), options.progress);
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    let (jobs, feed) = feed(source, scratch, done > 0);
    let jobs = stream::unfold(jobs, |mut rx| async move {
        rx.recv().await.map(|job| (job, rx))
    })
    .take_while(|_| std::future::ready(!interrupted.load(std::sync::atomic::Ordering::SeqCst)));
    let ledger_for_jobs = if from_ledger { ledger.clone() } else { None };
    // In a block of its own: the stream, dropped at its end, lets go of a feed
    // waiting to hand it one more order after Ctrl-C.
    {
        let results = jobs
            .map(|job| {
                let gateway = gateways
                    .get(&(job.key.provider.clone(), job.key.account.clone()))
                    .cloned();
                let limiter = limiter.clone();
                let ledger = ledger_for_jobs.clone();
                // A task of its own: a query holding the ledger's connection goes
                // on while the loop below records a row with it.
                tokio::spawn(async move {
                    if let Some(limiter) = limiter {
                        limiter.until_ready().await;
                    }
                    match gateway {
                        Some(gateway) => reconcile_one(job, &gateway, ledger.as_ref()).await,
                        None => {
                            let key = job.key.clone();
                            let err = Error::local("reconcile", format!("no gateway for {key}"));
                            let row = reconcile_one_failed(job, err);
                            (key, row)
                        }
                    }
                })
            })
            .buffer_unordered(usize::from(args.concurrency));
        let mut results = std::pin::pin!(results);
        loop {
            let next = match results.next().now_or_never() {
                Some(next) => next,
                None => {
                    // Nothing decided yet: what is written goes out while the run waits.
                    out.flush()
                        .map_err(|e| Error::local("the report could not be written", e))?;
                    results.next().await
                }
            };
            let Some(joined) = next else { break };
            let (key, row) = joined.map_err(|e| Error::local("a reconcile query", e))?;
            // Recorded before it is reported, so that any row a reader saw is
            // reported again by a resumed run.
            progress.record(&key, &row).await?;
            report_row(out, &mut report, &row)?;
            meter.tick();
        }
    }
    meter.finish();
    feed.await
        .map_err(|e| Error::local("reading the run's orders", e))??;
    report.interrupted = interrupted.load(std::sync::atomic::Ordering::SeqCst);
    if !report.interrupted {
        progress.finish().await?;
    }
    Ok(report)
}

fn reconcile_one_failed(job: Job, err: Error) -> Row {
    Row {
        order_id: job.key.order_id,
        provider: job.key.provider,
        account: job.key.account,
        kind: job.key.kind.to_string(),
        merchant_status: job
            .merchant_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        provider_status: String::new(),
        verdict: Verdict::Error.to_string(),
        detail: err.to_string(),
    }
}
