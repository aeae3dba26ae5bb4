//! The scale section of `docs/benchmarks.md`: how each measured cost grows
//! with orders, concurrency and callbacks, and what a merchant at 10 million
//! orders a month should expect, the arithmetic shown from this run's figures.

// Reporting only: turning measured figures into a worked estimate. No money here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;

use serde_json::Value;

use crate::bench::ns;
use crate::ledger_bench::{CallbackRun, LedgerCost, Measured};

/// The merchant the estimate is for.
const ORDERS_PER_MONTH: f64 = 10_000_000.0;
/// Seconds in a 30-day month.
const MONTH_SECONDS: f64 = 30.0 * 86_400.0;
/// How far the busiest second is above the month's average (evenings, paydays).
const PEAK_FACTOR: f64 = 10.0;
/// Callbacks a provider sends per order (a first one and its retries, on average).
const CALLBACKS_PER_ORDER: f64 = 2.0;

/// Everything the section reads, from the run that measured it.
pub(crate) struct Figures<'a> {
    pub concurrency: &'a Value,
    pub ledger: &'a [LedgerCost],
    pub callbacks: &'a [CallbackRun],
    pub reconcile: &'a [Measured],
}

pub(crate) fn scale_section(f: &Figures<'_>) -> String {
    let mut d = String::new();
    let _ = writeln!(
        d,
        "## Scale: how the costs grow, and 10 million orders a month\n"
    );
    let _ = writeln!(
        d,
        "Every figure here is from the sections above, in this run.\n"
    );

    let _ = writeln!(d, "**With orders.**");
    if let [small, large] = f.reconcile {
        let growth = large.peak_kib / small.peak_kib.max(1.0) - 1.0;
        let _ = writeln!(d, "- Reconcile at {} and {} orders: peak memory {:.1} MiB and {:.1} MiB ({:+.1}%: flat, it streams), {:.0} and {:.0} orders per second (the time grows linearly with the orders).", small.orders, large.orders, small.peak_mib(), large.peak_mib(), growth * 100.0, small.per_second(), large.per_second());
    }
    for database in ["sqlite_full", "postgres"] {
        let runs: Vec<&CallbackRun> = f
            .callbacks
            .iter()
            .filter(|r| r.database == database)
            .collect();
        if let [small, large] = runs.as_slice() {
            let change = large.per_second() / small.per_second().max(1.0) - 1.0;
            let _ = writeln!(d, "- Callbacks on {database} with {} and {} orders in the ledger: {:.0} and {:.0} callbacks per second on one core ({:+.0}%). Each callback touches its own order's rows by key.", small.report["callbacks"], large.report["callbacks"], small.per_second(), large.per_second(), change * 100.0);
        }
    }

    let _ = writeln!(d, "\n**With concurrency.**");
    let levels = crate::bench_report::levels(f.concurrency);
    let rate = |level: &Value| level["per_second"].as_f64().unwrap_or(0.0);
    if let (Some(first), Some(last)) = (levels.first(), levels.last()) {
        let shown: Vec<String> = levels
            .iter()
            .map(|l| format!("{} at {}", l["per_second"], l["concurrency"]))
            .collect();
        let peak = levels
            .iter()
            .max_by(|a, b| rate(a).total_cmp(&rate(b)))
            .unwrap_or(first);
        let _ = writeln!(d, "- Deposits per second through one `Gateway`, by requests in flight: {}. The most is {} at {} in flight, on the two cores the sandbox and the client share; past it, p99 grows with the queue ({} at {}, {} at {}), and memory per in-flight request falls as the fixed part is shared ({} KiB at {}, {} KiB at {}).", shown.join(", "), peak["per_second"], peak["concurrency"], ns(first["p99_ns"].as_f64().unwrap_or(0.0)), first["concurrency"], ns(last["p99_ns"].as_f64().unwrap_or(0.0)), last["concurrency"], first["kib_per_in_flight"], first["concurrency"], last["kib_per_in_flight"], last["concurrency"]);
    }
    for run in f.callbacks.iter().step_by(2) {
        let one = &run.report["one_at_a_time"];
        let _ = writeln!(d, "- Callbacks on {}: one at a time {} per second (p99 {}), 32 at a time {:.0} per second (p99 {}).", run.database, one["per_second"], ns(one["p99_ns"].as_f64().unwrap_or(0.0)), run.per_second(), ns(run.report["concurrent"]["p99_ns"].as_f64().unwrap_or(0.0)));
    }

    let _ = writeln!(d, "\n**10 million orders a month**, worked from these figures (assumptions: a 30-day month, the busiest second {PEAK_FACTOR:.0}x the month's average, {CALLBACKS_PER_ORDER:.0} callbacks per order):\n");
    let average = ORDERS_PER_MONTH / MONTH_SECONDS;
    let peak = average * PEAK_FACTOR;
    let _ = writeln!(d, "- Orders: {ORDERS_PER_MONTH:.0} ÷ {MONTH_SECONDS:.0} s = **{average:.2} orders/s** on average, **{peak:.1}/s** at the peak.");
    for cost in f.ledger {
        let busy = peak * cost.record_and_outcome / 1e9;
        let _ = writeln!(d, "- Ledger on {}: {peak:.1} orders/s × {} (record + outcome) = **{:.1}%** of one connection's time at the peak.", cost.database, ns(cost.record_and_outcome), busy * 100.0);
    }
    let needed = peak * CALLBACKS_PER_ORDER;
    for database in ["sqlite_full", "sqlite_normal", "postgres"] {
        let best = f
            .callbacks
            .iter()
            .filter(|r| r.database == database)
            .map(CallbackRun::per_second)
            .fold(0.0, f64::max);
        if best > 0.0 {
            let _ = writeln!(d, "- Callbacks on {database}: {peak:.1} × {CALLBACKS_PER_ORDER:.0} = {needed:.0}/s needed at the peak against {best:.0}/s measured on one core: **{:.0}x headroom**.", best / needed);
        }
    }
    if let Some(large) = f.reconcile.last() {
        let daily = ORDERS_PER_MONTH / 30.0;
        let _ = writeln!(d, "- Reconcile: a day's {daily:.0} orders at {:.0} orders/s = **{:.0} s**; the whole month's {ORDERS_PER_MONTH:.0} in **{:.0} min**, in {:.1} MiB whatever the size (against the provider's rate limit in practice, which `--rate` sets: at 100 queries/s a day takes {:.0} min).", large.per_second(), daily / large.per_second(), ORDERS_PER_MONTH / large.per_second() / 60.0, large.peak_mib(), daily / 100.0 / 60.0);
    }
    let _ = writeln!(d, "- The ledger's growth: 10 million rows a month. Every query the hot paths make goes by key, so their cost grows with the index depth (logarithmically), not with the rows.\n");
    d
}
