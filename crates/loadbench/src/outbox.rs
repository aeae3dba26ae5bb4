//! `outbox DATABASE COUNT`: the ledger's events delivered to a local
//! receiver. COUNT payouts completed in the ledger (each writing its
//! `payout.completed` event; not timed), then `Outbox::deliver_due` rounds,
//! signed per Standard Webhooks and POSTed through paybridge's own client to
//! an axum receiver on a thread of its own that answers 204, until nothing is
//! due: events delivered per second, at two batch sizes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use paybridge::ledger::{Ledger, LedgerState, Observation, OrderKey, Source};
use paybridge::webhooks::{HttpReceiver, Outbox, WebhookEndpoint, WebhookSecret};
use paybridge::{Money, OrderId, OrderKind, Provider};
use serde_json::{json, Value};

use crate::callbacks::{open_ledger, serve_on_own_thread};

/// Claims per round measured: the default, and a larger one.
const BATCHES: [u32; 2] = [32, 128];

/// Completes `count` payouts named after `pass`: one event each.
async fn completed(ledger: &dyn Ledger, pass: &str, count: usize) {
    let completed = Observation::new(Source::Callback, LedgerState::Completed)
        .amount(Some(Money::parse("80.00", "MYR").expect("an amount")));
    for n in 0..count {
        let key = OrderKey::new(
            Provider::new("vpay88"),
            None,
            OrderKind::Withdrawal,
            &OrderId::new(&format!("OUTBOX-{pass}-{n}")).expect("an order id"),
        );
        ledger.observe(&key, &completed).await.expect("observed");
    }
}

/// Runs the measurement and returns its JSON report.
pub(crate) async fn outbox(database: &str, count: usize) -> Value {
    let (ledger, _server) = match open_ledger(database).await {
        Ok(opened) => opened,
        Err(why) => return json!({ "skipped": why }),
    };
    let ledger: Arc<dyn Ledger> = Arc::new(ledger);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = taken.clone();
    let url = serve_on_own_thread(move || {
        axum::Router::new().route(
            "/hooks",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async { axum::http::StatusCode::NO_CONTENT }
            }),
        )
    });
    let secret = WebhookSecret::from_bytes(&[7u8; 32]).expect("a secret");
    let endpoint =
        WebhookEndpoint::new("bench", &format!("{url}/hooks"), vec![secret]).expect("an endpoint");
    let receiver = Arc::new(HttpReceiver::new(endpoint).expect("a receiver"));
    let mut passes = Vec::new();
    for batch in BATCHES {
        completed(ledger.as_ref(), &batch.to_string(), count).await;
        let before = taken.load(Ordering::Relaxed);
        let outbox = Outbox::new(ledger.clone(), receiver.clone()).batch(batch);
        let started = Instant::now();
        let mut delivered = 0;
        loop {
            let round = outbox.deliver_due().await.expect("a round");
            if round.attempted == 0 {
                break;
            }
            delivered += round.delivered;
        }
        let elapsed = started.elapsed();
        passes.push(json!({
            "batch": batch,
            "events": count,
            "delivered": delivered,
            "received": taken.load(Ordering::Relaxed) - before,
            "elapsed_ns": crate::nanos(elapsed),
            "per_second": (delivered as u128 * 1_000_000_000 / elapsed.as_nanos().max(1)) as u64,
        }));
    }
    json!({ "database": database, "passes": passes })
}
