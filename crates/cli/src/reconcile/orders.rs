//! The orders a run asks, from the CSV's second pass or a page at a time
//! from the ledger, fed to the run by a task of their own.

use std::sync::Arc;

use paybridge::ledger::{Ledger, LedgerState, OrderKey, ReconcilePage};
use paybridge::{Error, Money};

use super::scratch::{Scratch, BATCH};

/// One order to reconcile.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) key: OrderKey,
    pub(super) amount: Money,
    pub(super) provider_ref: Option<String>,
    pub(super) merchant_status: Option<LedgerState>,
}

impl Job {
    pub(super) fn id(&self) -> String {
        key_id(&self.key)
    }
}

fn key_id(key: &OrderKey) -> String {
    format!(
        "{}/{}/{}/{}",
        key.provider, key.account, key.kind, key.order_id
    )
}

/// How many orders or rows a ledger run reads at a time.
pub(super) const PAGE: u32 = 1000;

/// Where a run's orders come from, a batch at a time.
pub(super) enum Orders {
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
pub(super) fn feed(
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
