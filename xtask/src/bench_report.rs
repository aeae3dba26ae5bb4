//! The HTTP half of `docs/benchmarks.md`: per-call costs (criterion), the
//! overhead against hand-written clients, concurrency through one gateway and
//! the sandbox under `wrk`, each with its target.

// Reporting only: turning nanoseconds into readable figures. No money here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;

use serde_json::Value;

use crate::bench::{criterion_estimate, ns};

/// The floor's row in the wrk table.
pub(crate) const FLOOR: &str = "status, bare axum answering the same bytes";

/// paybridge's largest ratio over the fastest hand-written reqwest client.
const OVER_FAST: f64 = 1.03;
/// paybridge's largest ratio over hyper-util's own client.
const OVER_HYPER: f64 = 1.10;
/// The least share of bare axum's status throughput the sandbox keeps.
const SANDBOX_SHARE: f64 = 0.65;

/// One wrk run: requests per second, p50 and p99 as wrk prints them.
pub(crate) type WrkRow = (String, String, String);

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// The criterion micro-benchmarks and callback verification against plain parsing.
pub(crate) fn micro_section(d: &mut String) {
    let _ = writeln!(d, "## Per-call cost with no network (criterion)\n");
    let _ = writeln!(
        d,
        "`cargo bench -p paybridge --bench micro`. Median, with criterion's 95% interval.\n"
    );
    let _ = writeln!(d, "| benchmark | median | interval |\n|---|---|---|");
    let ids = [
        "signature/form_callback_token",
        "signature/onepunch_listing",
        "signature/onepunch_create",
        "signature/onepunch_status",
        "signature/verify_hex",
        "callback/vpay88/serde_json_only",
        "callback/vpay88/verify",
        "callback/onepunch/serde_json_only",
        "callback/onepunch/verify",
        "decimal/300.0000",
        "decimal/1",
        "decimal/9.0000",
        "decimal/0.00",
        "decimal/123456789.1234",
        "request/vpay88/deposit_form",
        "request/one1pay/deposit_form",
        "request/vpay88/withdrawal_form",
        "request/onepunch/create_body",
        "request/vpay88/status_decode",
        "request/vpay88/status_serde_json_only",
        "request/builder/deposit",
    ];
    for id in ids {
        if let Some((m, lo, hi)) = criterion_estimate(id) {
            let _ = writeln!(d, "| `{id}` | {} | {} – {} |", ns(m), ns(lo), ns(hi));
        }
    }
    let _ = writeln!(d, "\nCallback verification (parse, verify in constant time, build the event) against plain `serde_json` parsing of the same bytes into a `Value` (targets: Vpay88 at most 1.5x, ONE-PUNCH at most 1.1x, and 500,000 verifications per second on one core):\n");
    for name in ["vpay88", "onepunch"] {
        if let Some(v) = verification(name) {
            let _ = writeln!(d, "- {name}: **{:.2}x** plain parsing; {:.0} verifications per second on one core — {}.", v.ratio, v.per_second, verdict(v.met()));
        }
    }
}

/// The fewest verifications a second on one core.
const VERIFICATIONS_PER_SECOND: f64 = 500_000.0;

/// One provider's callback verification against plain parsing, and its target.
struct Verification {
    ratio: f64,
    per_second: f64,
    /// The largest ratio over plain parsing.
    limit: f64,
}

impl Verification {
    fn met(&self) -> bool {
        self.ratio <= self.limit && self.per_second >= VERIFICATIONS_PER_SECOND
    }
}

/// `name`'s verification over plain parsing, verifications per second, and its limit.
fn verification(name: &str) -> Option<Verification> {
    let verify = criterion_estimate(&format!("callback/{name}/verify"))?;
    let plain = criterion_estimate(&format!("callback/{name}/serde_json_only"))?;
    Some(Verification {
        ratio: verify.0 / plain.0,
        per_second: 1e9 / verify.0,
        limit: if name == "onepunch" { 1.1 } else { 1.5 },
    })
}

/// A difference of times, signed.
fn added(nanos: f64) -> String {
    match nanos < 0.0 {
        true => format!("−{}", ns(-nanos)),
        false => ns(nanos),
    }
}

fn median(v: &Value) -> f64 {
    v["median_ns"].as_f64().unwrap_or(0.0)
}

fn ratio(run: &Value, operation: &str, client: &str) -> f64 {
    median(&run[operation]["paybridge"]) / median(&run[operation][client]).max(1.0)
}

/// paybridge against plain reqwest, the fastest reqwest client and hyper, every run.
pub(crate) fn overhead_section(d: &mut String, runs: &[Value]) {
    let _ = writeln!(
        d,
        "\n## paybridge against hand-written clients (`paybridge-loadbench overhead`)\n"
    );
    let _ = writeln!(d, "The same Vpay88 deposit creation (a fresh auth token, then the order: two requests) and the same status query, sent alternately in one run, one call at a time, by four clients against one local server on loopback, each reading its answer and checking its one field:\n\n- **plain**: reqwest as a hand-written integration uses it: a shared client with paybridge's timeouts, each form built with reqwest's `multipart::Form`, each URL given as text;\n- **fast**: the fastest hand-written client on the same crate: the same shared client, each body encoded once into one buffer, each URL parsed once;\n- **hyper**: hyper-util's own pooled client sending the same pre-encoded bytes, with no timeouts: the floor of the HTTP stack;\n- **paybridge**: a `Gateway` built from configuration.\n\nMedians per call, 10th–90th percentile in brackets. Targets, every run: paybridge at most {OVER_FAST:.2}x of fast and at most {OVER_HYPER:.2}x of hyper, for deposit and status.\n");
    let _ = writeln!(d, "The ratios move with the machine's state: when the loopback wakeups between client, server and runtime threads are slow, every client's median grows by the same time and the ratios shrink. The time paybridge adds to hyper's median, in the last column, is the steadier figure.\n");
    let _ = writeln!(d, "| run | call | plain | fast | hyper | paybridge | over plain | over fast | over hyper | added to hyper |\n|---|---|---|---|---|---|---|---|---|---|");
    let cell = |v: &Value| {
        format!(
            "{} [{}–{}]",
            ns(median(v)),
            ns(v["p10_ns"].as_f64().unwrap_or(0.0)),
            ns(v["p90_ns"].as_f64().unwrap_or(0.0))
        )
    };
    for (i, run) in runs.iter().enumerate() {
        for operation in ["deposit", "status"] {
            let o = &run[operation];
            let _ = writeln!(
                d,
                "| {} | {operation} | {} | {} | {} | {} | {:.3} | **{:.3}** | **{:.3}** | {} |",
                i + 1,
                cell(&o["plain"]),
                cell(&o["fast"]),
                cell(&o["hyper"]),
                cell(&o["paybridge"]),
                ratio(run, operation, "plain"),
                ratio(run, operation, "fast"),
                ratio(run, operation, "hyper"),
                added(median(&o["paybridge"]) - median(&o["hyper"])),
            );
        }
    }
    if let Some(run) = runs.first() {
        let _ = writeln!(d, "\nConnection reuse: run 1 sent {} requests over {} connections, so no call builds a client, a TLS configuration or a connection of its own. The floor itself: fast over hyper is what reqwest adds to hyper's client on the same bytes ({:.3}x on status in run 1). paybridge's own transport is hyper-util's client (reqwest only for a merchant's own client, or when a proxy is set in the environment), so what it adds over hyper is its own work: encoding and signing the form, reading and checking the answer, the outcome table.", run["requests"], run["connections"], median(&run["status"]["fast"]) / median(&run["status"]["hyper"]).max(1.0));
    }
}

/// Deposit creations through one gateway at each concurrency level.
pub(crate) fn concurrency_section(d: &mut String, concurrency: &Value) {
    let _ = writeln!(
        d,
        "\n## Concurrency through one `Gateway` (`paybridge-loadbench concurrency`)\n"
    );
    let _ = writeln!(d, "Deposit creations (auth + order) through one cloned `Gateway` against the sandbox (release build, its own process) on the same 2 cores. Memory per in-flight request is (peak − baseline resident memory of the client process) ÷ concurrency.\n");
    let _ = writeln!(d, "| concurrency | requests | errors | deposits/s | p50 | p99 | KiB per in-flight request |\n|---|---|---|---|---|---|---|");
    for level in levels(concurrency) {
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | {} | {} | {} |",
            level["concurrency"],
            level["requests"],
            level["errors"],
            level["per_second"],
            ns(level["p50_ns"].as_f64().unwrap_or(0.0)),
            ns(level["p99_ns"].as_f64().unwrap_or(0.0)),
            level["kib_per_in_flight"]
        );
    }
}

/// The concurrency run's levels.
pub(crate) fn levels(concurrency: &Value) -> Vec<Value> {
    concurrency["levels"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The sandbox under wrk, with bare axum's floor beside it.
pub(crate) fn sandbox_section(d: &mut String, wrk: &[(&str, WrkRow)]) {
    let _ = writeln!(d, "\n## Sandbox throughput under `wrk`\n");
    let _ = writeln!(d, "`wrk -t2 -c64 --latency` against `paybridge sandbox` (release, its journal recording every order request for the dashboard), urlencoded bodies, on the same 2 cores as the sandbox. The last row is the same load against a bare axum server answering the sandbox's status answer byte for byte and doing nothing else: the most this machine's HTTP stack allows with the load generator beside it. Guard: the sandbox's status keeps at least {SANDBOX_SHARE:.2}x of bare axum's throughput (a guard against regressions, not a target to chase).\n");
    let _ = writeln!(
        d,
        "| endpoint | requests/s | p50 | p99 |\n|---|---|---|---|"
    );
    for (name, (rps, p50, p99)) in wrk {
        let _ = writeln!(d, "| {name} | {rps} | {p50} | {p99} |");
    }
    let _ = writeln!(d, "\nThe bench's sandbox keeps every order of the run (`max_orders` raised), so create deposit grows its order book and journal by one order per request for the whole run.");
}

fn requests_per_second(wrk: &[(&str, WrkRow)], name: &str) -> Option<f64> {
    wrk.iter()
        .find(|(row, _)| *row == name)
        .and_then(|(_, (rps, _, _))| rps.parse().ok())
}

/// The targets of the sections above, each with its figure and verdict.
pub(crate) fn targets(d: &mut String, runs: &[Value], wrk: &[(&str, WrkRow)]) {
    for name in ["vpay88", "onepunch"] {
        if let Some(v) = verification(name) {
            let _ = writeln!(d, "- Callback verification, {name}: {:.2}x plain parsing (at most {}x), {:.0}/s on one core (at least {VERIFICATIONS_PER_SECOND:.0}) — {}.", v.ratio, v.limit, v.per_second, verdict(v.met()));
        }
    }
    for (client, limit) in [("fast", OVER_FAST), ("hyper", OVER_HYPER)] {
        for operation in ["deposit", "status"] {
            let ratios: Vec<f64> = runs.iter().map(|r| ratio(r, operation, client)).collect();
            let met = ratios.iter().filter(|r| **r <= limit).count();
            let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
            let _ = writeln!(
                d,
                "- paybridge over {client}, {operation}: {} — at most {limit:.2}x in {met} of {} runs: {}.",
                shown.join(", "),
                ratios.len(),
                verdict(met == ratios.len())
            );
        }
    }
    if let (Some(sandbox), Some(floor)) = (
        requests_per_second(wrk, "status"),
        requests_per_second(wrk, FLOOR),
    ) {
        let share = sandbox / floor.max(1.0);
        let _ = writeln!(d, "- Sandbox status, journal on: {sandbox:.0} requests/s, {share:.2}x of bare axum's {floor:.0} — at least {SANDBOX_SHARE:.2}x: {}.", verdict(share >= SANDBOX_SHARE));
    }
}

/// The most `paybridge serve` may add at p99, at concurrency 1, in nanoseconds.
const SERVE_ADDED_P99_NS: f64 = 500_000.0;

/// `paybridge serve` against the library in-process; whether its target was met.
pub(crate) fn serve_section(d: &mut String, serve: &Value) -> bool {
    let _ = writeln!(
        d,
        "\n## `paybridge serve` against the library in-process (`paybridge-loadbench serve`)\n"
    );
    let _ = writeln!(d, "The same Vpay88 deposit creation and status query (asked of the provider, through the ledger: `GET /v1/deposits/{{id}}?refresh=true` against `Gateway::deposit_status`), {} calls each, through a `Gateway` with its ledger and through the service on loopback (JSON, the API key checked, the route's metrics), each on a SQLite ledger of its own with `synchronous = NORMAL`, against one local provider answering the order's own amount (so each status is recorded as the usual duplicate, not a conflict); client, service and provider share the 2 cores, and both paths' calls are made from a task on the runtime's worker threads, as a merchant's service makes them (made from the thread blocked on the runtime instead, each of the service's HTTP exchanges crossed threads twice more, which once put 1.6 ms at the service's status median against 0.85 ms). At concurrency 1 the two paths alternate call by call, so that what the machine does meanwhile (a ledger's WAL checkpoint, say) falls on both alike; at 64, each path runs in turn. A status read through the service touches the ledger as the library's call does (`Gateway::refresh`: the order read once, for its provider reference or a 404, then the answer applied, the order after it taken from that write, not read again). Target: the service adds at most 0.5 ms at p99 at concurrency 1.\n", serve["count"]);
    let _ = writeln!(d, "| concurrency | call | library p50 | library p99 | serve p50 | serve p99 | added at p99 | library calls/s | serve calls/s | library calls per CPU-second | serve calls per CPU-second | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut met = true;
    for concurrency in ["1", "64"] {
        for call in ["deposit", "status"] {
            let library = &serve["library"][concurrency][call];
            let served = &serve["serve"][concurrency][call];
            let p = |v: &Value, q: &str| v["spread"][q].as_f64().unwrap_or(0.0);
            let added = p(served, "p99_ns") - p(library, "p99_ns");
            if concurrency == "1" && added > SERVE_ADDED_P99_NS {
                met = false;
            }
            let errors =
                library["errors"].as_u64().unwrap_or(0) + served["errors"].as_u64().unwrap_or(0);
            if errors > 0 {
                met = false;
            }
            let _ = writeln!(
                d,
                "| {concurrency} | {call} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
                ns(p(library, "median_ns")),
                ns(p(library, "p99_ns")),
                ns(p(served, "median_ns")),
                ns(p(served, "p99_ns")),
                if added >= 0.0 {
                    ns(added)
                } else {
                    format!("−{}", ns(-added))
                },
                library["per_second"],
                served["per_second"],
                library["per_cpu_second"],
                served["per_cpu_second"],
            );
        }
    }
    let _ = writeln!(d, "\nCalls per second are what the 2 cores give client, service and provider together. Calls per CPU-second divide the calls by the CPU time the process spent on them (client, service and provider, from `/proc/self/stat`): what one core carries of the whole path; their ratio is what the service multiplies the CPU cost of a call by.");
    met
}
