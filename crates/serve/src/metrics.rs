//! `/metrics` in Prometheus's text format: request durations by route and
//! status, provider calls by provider, operation and outcome, callbacks by
//! answer, ambiguous orders. No label carries an order id or a customer value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use paybridge::Gateway;

/// A count and a sum of seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    count: u64,
    micros: u64,
}

/// The service's figures since it started.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Timing>>,
    provider_calls: Mutex<BTreeMap<(String, &'static str, &'static str), Timing>>,
    callbacks: Mutex<BTreeMap<(String, u16), u64>>,
}

fn add(timing: &mut Timing, started: Instant) {
    timing.count += 1;
    timing.micros += u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
}

impl Metrics {
    /// One request to `route` (its template, `/v1/deposits/{order_id}`), answered `status`.
    pub(crate) fn request(&self, route: &str, status: u16, started: Instant) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        add(
            requests.entry((route.to_owned(), status)).or_default(),
            started,
        );
    }

    /// One call to a provider, its outcome an error kind or `ok`.
    pub(crate) fn provider_call<T>(
        &self,
        gateway: &Gateway,
        operation: &'static str,
        result: &paybridge::Result<T>,
        started: Instant,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(err) => err.kind(),
        };
        let mut calls = self
            .provider_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        add(
            calls
                .entry((gateway.provider().to_string(), operation, outcome))
                .or_default(),
            started,
        );
    }

    /// One callback to `account`'s route, answered `status`.
    pub(crate) fn callback(&self, account: &str, status: u16) {
        let mut callbacks = self.callbacks.lock().unwrap_or_else(|p| p.into_inner());
        *callbacks.entry((account.to_owned(), status)).or_default() += 1;
    }

    /// The text `/metrics` answers, with `ambiguous` orders open now.
    pub(crate) fn render(&self, ambiguous: usize) -> String {
        let mut out = String::new();
        // Integer arithmetic only: seconds written from microseconds.
        let seconds = |t: &Timing| format!("{}.{:06}", t.micros / 1_000_000, t.micros % 1_000_000);
        let _ = writeln!(out, "# HELP paybridge_http_request_duration_seconds Requests answered, by route template and status.\n# TYPE paybridge_http_request_duration_seconds summary");
        for ((route, status), t) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("route=\"{route}\",status=\"{status}\"");
            let _ = writeln!(
                out,
                "paybridge_http_request_duration_seconds_sum{{{labels}}} {}",
                seconds(t)
            );
            let _ = writeln!(
                out,
                "paybridge_http_request_duration_seconds_count{{{labels}}} {}",
                t.count
            );
        }
        let _ = writeln!(out, "# HELP paybridge_provider_call_duration_seconds Calls to providers, by provider, operation and outcome.\n# TYPE paybridge_provider_call_duration_seconds summary");
        for ((provider, operation, outcome), t) in self
            .provider_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels =
                format!("provider=\"{provider}\",operation=\"{operation}\",outcome=\"{outcome}\"");
            let _ = writeln!(
                out,
                "paybridge_provider_call_duration_seconds_sum{{{labels}}} {}",
                seconds(t)
            );
            let _ = writeln!(
                out,
                "paybridge_provider_call_duration_seconds_count{{{labels}}} {}",
                t.count
            );
        }
        let _ = writeln!(out, "# HELP paybridge_callbacks_total Provider callbacks, by account and the status answered (200 applied, 400 refused, 503 retry later).\n# TYPE paybridge_callbacks_total counter");
        for ((account, status), n) in self
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "paybridge_callbacks_total{{account=\"{account}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP paybridge_ambiguous_orders Orders whose outcome is open (state unknown) in the ledger.\n# TYPE paybridge_ambiguous_orders gauge\npaybridge_ambiguous_orders {ambiguous}");
        out
    }
}
