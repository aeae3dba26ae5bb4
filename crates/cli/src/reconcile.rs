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

mod check;
mod input;
mod orders;
mod print;
mod query;
mod resume;
mod scratch;
mod summary;

pub use print::{Format, Printer, Rows};
pub use resume::STATE_MARKER;
pub use summary::Report;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use futures_util::FutureExt;
use paybridge::{Config, Error, Gateway};
use serde::{Deserialize, Serialize};

use crate::meter::Meter;
use check::check_csv;
use input::csv_jobs;
use orders::{feed, Orders};
use query::{reconcile_one, reconcile_one_failed};
use resume::{keep_ledger_rows, report_recorded, Progress};
use scratch::Scratch;
use summary::report_row;

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

fn bad_input(reason: String) -> Error {
    Error::invalid("input", reason)
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
    let mut meter = Meter::new(
        "reconcile",
        "orders",
        total,
        done.min(total),
        options.progress,
    );
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
