//! The soak with a ledger, on SQLite and PostgreSQL: Vpay88 payouts and
//! deposits through two instances of a merchant's service sharing one ledger,
//! against a sandbox that faults creates and reads (lost and unreadable
//! answers, refusals no document writes, a documented refusal with HTTP 409,
//! redirects), while the ledger times out one call in ten (a statement
//! timeout, a held lock) and the merchant's handler fails one run in twenty.
//! A create outcome the ledger fails to record leaves its order `sending`, as
//! a process killed between send and record does; every order the ledger then
//! holds unresolved is run again, as a restarted service would. Every order is then settled and its callback
//! delivered, duplicated and jittered, to the two instances' ledger-backed
//! routes, whose workers run the handlers owed.
//!
//! Afterwards: no order reached the provider twice; nothing reported accepted
//! is held as failed or for another amount, nothing reported refused is held;
//! no handler is owed; every settled order's final transition reached the
//! handler; and every extra successful run of a transition's handler is
//! explained by a finish the ledger failed to record.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use paybridge::axum::{CallbackRoute, Delivery, OwedDeliveries};
use paybridge::ledger::{Ledger, ListFilter, OwedQuery, SqlLedger, Which};
use paybridge::{Error, Gateway, Money, WithdrawalRequest};
use paybridge_cli::harness::{demo_config, myr_deposit, settle_in_back_office};
use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
use paybridge_sandbox::state::Kind;
use paybridge_sandbox::{Sandbox, SandboxConfig};
use paybridge_testkit::faulty_ledger::{FaultyLedger, LedgerCall};
use paybridge_testkit::on_every_database;
use tokio::sync::Semaphore;

const PAYOUTS: usize = 240;
const DEPOSITS: usize = 120;
const CONCURRENCY: usize = 16;

fn rule(endpoint: &str, kind: FaultKind, percent: u8) -> FaultRule {
    FaultRule {
        provider: "vpay88".into(),
        endpoint: endpoint.into(),
        kind,
        percent,
        latency_ms: 20,
    }
}

fn faults() -> FaultConfig {
    let mut rules = Vec::new();
    for create in ["generate_orders", "withdraw_orders"] {
        rules.extend([
            rule(create, FaultKind::DropAfterCommit, 8),
            rule(create, FaultKind::Malformed, 4),
            rule(create, FaultKind::Error5xx, 4),
            rule(create, FaultKind::DuplicateAfterCommit, 4),
            rule(create, FaultKind::FailAfterCommit, 4),
            rule(create, FaultKind::OtherAmountAfterCommit, 4),
            rule(create, FaultKind::UndocumentedRefusalAfterCommit, 5),
            rule(create, FaultKind::ConflictStatusAfterCommit, 4),
            rule(create, FaultKind::RedirectAfterCommit, 4),
        ]);
    }
    for read in ["auth", "check_status", "check_withdraw_status"] {
        rules.extend([
            rule(read, FaultKind::Error5xx, 8),
            rule(read, FaultKind::Redirect, 3),
        ]);
    }
    FaultConfig {
        seed: 20261202,
        rules,
        duplicate_callbacks_percent: 20,
        callback_jitter_ms: 30,
    }
}

/// Where the ledger times out: a seeded one call in ten of those that write
/// or decide, while `chaos` is on; it counts the finishes it failed.
#[derive(Debug)]
struct Chaos {
    on: AtomicBool,
    seed: AtomicU64,
    failed_finishes: Arc<AtomicU32>,
}

impl Chaos {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            on: AtomicBool::new(true),
            seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
            failed_finishes: Arc::new(AtomicU32::new(0)),
        })
    }

    /// A xorshift draw: one in ten.
    fn one_in_ten(&self) -> bool {
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        x % 10 == 0
    }

    fn fails(&self, call: LedgerCall) -> bool {
        if !self.on.load(Ordering::SeqCst) {
            return false;
        }
        let timed_out = matches!(
            call,
            LedgerCall::Observe
                | LedgerCall::RecordCallback
                | LedgerCall::SettleCallback
                | LedgerCall::TransitionInto
                | LedgerCall::OwedTransitions
                | LedgerCall::ClaimHandler
                | LedgerCall::FinishHandler
                | LedgerCall::KeepUnconfirmed
        ) && self.one_in_ten();
        if timed_out && call == LedgerCall::FinishHandler {
            self.failed_finishes.fetch_add(1, Ordering::SeqCst);
        }
        timed_out
    }
}

/// How long a handler's claim holds. A run that outlives it may be run again by
/// the other instance (at least once, by design), which the count of runs after
/// a first success below would blame on the ledger: long enough, then, that a
/// run on a loaded machine finishes inside it (2 s was not, with the whole
/// suite running beside it on 2 cores).
const HANDLER_LEASE: Duration = Duration::from_secs(10);

/// What the handler saw: successful runs per transition id, and the final
/// states reached per order id.
#[derive(Debug, Default)]
struct Handled {
    runs: Mutex<HashMap<i64, u32>>,
    finals: Mutex<HashMap<String, String>>,
    draws: AtomicU64,
}

/// One instance of the merchant's service: a ledger-backed gateway on its own
/// connection to the shared database, its route and its worker.
async fn instance(
    db: &str,
    sandbox: &Sandbox,
    chaos: &Arc<Chaos>,
    handled: &Arc<Handled>,
) -> (Gateway, axum::Router, OwedDeliveries) {
    let real = SqlLedger::open(db).await.unwrap();
    let chaos = chaos.clone();
    let counter = chaos.failed_finishes.clone();
    let ledger: Arc<dyn Ledger> = Arc::new(
        FaultyLedger::new(real, move |call| chaos.fails(call))
            .counting_real_finish_failures(counter),
    );
    let config = demo_config(&sandbox.base_url(), None).unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::VPAY88)
        .unwrap()
        .with_ledger(ledger);
    let handled = handled.clone();
    let handler = move |delivery: Delivery| {
        let handled = handled.clone();
        async move {
            // One run in twenty fails, before anything is done.
            if handled.draws.fetch_add(1, Ordering::SeqCst) % 20 == 7 {
                return Err("the merchant's database is busy");
            }
            let transition = delivery
                .transition
                .expect("a ledger route names its transition");
            *handled
                .runs
                .lock()
                .unwrap()
                .entry(transition.id)
                .or_default() += 1;
            if transition.to.is_final() {
                handled.finals.lock().unwrap().insert(
                    transition.key.order_id.clone(),
                    transition.to.as_str().to_owned(),
                );
            }
            Ok(())
        }
    };
    let (router, worker) = CallbackRoute::new(gateway.clone(), handler)
        .handler_lease(HANDLER_LEASE)
        .into_router_and_worker();
    (gateway, router, worker)
}

/// A front on `front` that hands each callback to one of the two instances in
/// turn and gives back its answer, as a load balancer would.
async fn balance(front: std::net::SocketAddr, first: axum::Router, second: axum::Router) {
    let mut backends = Vec::new();
    for router in [first, second] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        backends.push(format!("http://{}/", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    let turn = Arc::new(AtomicU32::new(0));
    let client = reqwest::Client::new();
    let targets = backends;
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let (turn, client, targets) = (turn.clone(), client.clone(), targets.clone());
            async move {
                let target = &targets[turn.fetch_add(1, Ordering::SeqCst) as usize % 2];
                let mut forwarded = client.post(target).body(body);
                if let Some(content_type) = headers.get("content-type") {
                    forwarded = forwarded.header("content-type", content_type.clone());
                }
                match forwarded.send().await {
                    Ok(answer) => {
                        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                        (status, answer.text().await.unwrap_or_default()).into_response()
                    }
                    Err(_) => StatusCode::BAD_GATEWAY.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(front).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// How the SDK reported an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reported {
    Accepted,
    Refused,
    HeldAsFailed,
    IdConflict,
    Ambiguous,
    /// The ledger could not record the order before sending: nothing sent.
    NotSent,
}

fn reported<T>(result: &Result<T, Error>) -> Reported {
    match result {
        Ok(_) => Reported::Accepted,
        Err(Error::HeldAsFailed { .. }) => Reported::HeldAsFailed,
        Err(Error::OrderIdConflict { .. }) => Reported::IdConflict,
        Err(Error::Ambiguous { .. }) => Reported::Ambiguous,
        Err(Error::Provider {
            documented: true, ..
        }) => Reported::Refused,
        Err(err) if err.nothing_sent() => Reported::NotSent,
        Err(other) => panic!("an unclassified error escaped: {} ({other})", other.kind()),
    }
}

fn payout(i: usize) -> WithdrawalRequest {
    WithdrawalRequest::builder(
        format!("LSOAK-W-{i}"),
        Money::parse("10", "MYR").unwrap(),
        "101",
        "John Doe",
        "1",
    )
    .build()
    .unwrap()
}

/// Sends order `i` of `kind` through `gateway`.
async fn send(gateway: &Gateway, kind: Kind, i: usize) -> (String, Reported) {
    match kind {
        Kind::Withdrawal => {
            let request = payout(i);
            let result = gateway.create_withdrawal(&request).await;
            (request.order_id.to_string(), reported(&result))
        }
        Kind::Deposit => {
            let request = myr_deposit(&format!("LSOAK-D-{i}"), "25").unwrap();
            let result = gateway.create_deposit(&request).await;
            (request.order_id.to_string(), reported(&result))
        }
    }
}

async fn send_all(
    gateways: &[Gateway; 2],
    orders: Vec<(Kind, usize)>,
) -> HashMap<(Kind, String), Reported> {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (kind, i)) in orders.into_iter().enumerate() {
        let gateway = gateways[n % 2].clone();
        let permit = limit.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let _permit = permit;
            let (id, outcome) = send(&gateway, kind, i).await;
            ((kind, id), outcome)
        });
    }
    let mut results = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (key, outcome) = done.unwrap();
        results.insert(key, outcome);
    }
    results
}

fn index_of(order_id: &str) -> usize {
    order_id.rsplit('-').next().unwrap().parse().unwrap()
}

fn kind_of(order_id: &str) -> Kind {
    match order_id.starts_with("LSOAK-W-") {
        true => Kind::Withdrawal,
        false => Kind::Deposit,
    }
}

async fn the_ledger_soak_loses_no_owed_handler_and_sends_nothing_twice(db: &str) {
    let chaos = Chaos::new();
    let handled = Arc::new(Handled::default());
    // The callback address must be known before the sandbox starts.
    let placeholder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = placeholder.local_addr().unwrap();
    drop(placeholder);
    let sandbox_config = SandboxConfig {
        faults: faults(),
        callback_attempts: 40,
        callback_retry_ms: 20,
        ..SandboxConfig::default()
    }
    .with_demo_callback_url(&format!("http://{front_addr}/"));
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let (first, first_router, first_worker) = instance(db, &sandbox, &chaos, &handled).await;
    let (second, second_router, second_worker) = instance(db, &sandbox, &chaos, &handled).await;
    balance(front_addr, first_router, second_router).await;
    let gateways = [first.clone(), second.clone()];

    // 1. Every order once, through either instance.
    let orders: Vec<(Kind, usize)> = (0..PAYOUTS)
        .map(|i| (Kind::Withdrawal, i))
        .chain((0..DEPOSITS).map(|i| (Kind::Deposit, i)))
        .collect();
    let mut outcomes = send_all(&gateways, orders).await;

    // 2. A restart: every order the ledger holds unresolved (its answer lost
    //    between send and record, or left open) is run again, never resent.
    let ledger = SqlLedger::open(db).await.unwrap();
    let unresolved: Vec<(Kind, usize)> = ledger
        .list(&ListFilter::new(Which::Open, None))
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.state.is_unresolved())
        .map(|record| {
            (
                kind_of(&record.key.order_id),
                index_of(&record.key.order_id),
            )
        })
        .collect();
    let rerun = unresolved.len();
    outcomes.extend(send_all(&gateways, unresolved).await);

    // 3. Sent at most once; reported as the provider holds it.
    let creates = sandbox.create_requests();
    let resent: Vec<_> = creates.iter().filter(|(_, n)| **n > 1).collect();
    assert!(resent.is_empty(), "orders sent more than once: {resent:?}");
    let held: HashMap<(Kind, String), paybridge_sandbox::state::Order> = sandbox
        .orders()
        .into_iter()
        .map(|order| ((order.kind, order.order_id.clone()), order))
        .collect();
    let requested = |kind: Kind| match kind {
        Kind::Withdrawal => rust_decimal::Decimal::new(10, 0),
        Kind::Deposit => rust_decimal::Decimal::new(25, 0),
    };
    let mut tally: HashMap<Reported, u32> = HashMap::new();
    for (key, outcome) in &outcomes {
        *tally.entry(*outcome).or_default() += 1;
        let order = held.get(key);
        match outcome {
            Reported::Accepted => {
                let order = order.unwrap_or_else(|| panic!("{key:?} accepted but not held"));
                assert!(
                    order.status != "fail" && order.amount == requested(key.0),
                    "{key:?} reported accepted, held as {} for {}",
                    order.status,
                    order.amount
                );
            }
            Reported::HeldAsFailed => {
                assert_eq!(order.map(|o| o.status), Some("fail"), "{key:?}")
            }
            Reported::IdConflict => assert!(
                order.is_some_and(|o| o.amount != requested(key.0)),
                "{key:?} reported as another order's id"
            ),
            Reported::Refused | Reported::NotSent => {
                assert!(order.is_none(), "{key:?} reported not held, but held")
            }
            Reported::Ambiguous => {}
        }
    }

    // 4. Settle every order the provider holds and has not failed; the
    //    callbacks go to the two instances while the ledger keeps timing out,
    //    and their workers run what is owed.
    let workers = [first_worker, second_worker];
    let mut settled: HashMap<String, &str> = HashMap::new();
    for order in held.values().filter(|o| o.status != "fail") {
        let (path, outcome) = match order.kind {
            Kind::Deposit => ("deposits", "completed"),
            Kind::Withdrawal if order.order_id.ends_with('7') => ("withdrawals", "fail"),
            Kind::Withdrawal => ("withdrawals", "completed"),
        };
        let answer = settle_in_back_office(
            &sandbox.base_url(),
            paybridge::providers::VPAY88,
            path,
            &order.order_id,
            outcome,
        )
        .await
        .unwrap();
        assert!(answer.status().is_success(), "settling {}", order.order_id);
        let word = if outcome == "fail" {
            "failed"
        } else {
            "completed"
        };
        settled.insert(order.order_id.clone(), word);
    }
    let reached = |handled: &Handled| {
        let finals = handled.finals.lock().unwrap();
        settled
            .iter()
            .filter(|(id, word)| finals.get(*id).map(String::as_str) == Some(**word))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while reached(&handled) < settled.len() && tokio::time::Instant::now() < deadline {
        for worker in &workers {
            let _ = worker.deliver_once().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The ledger answers again; whatever is still owed is delivered now.
    chaos.on.store(false, Ordering::SeqCst);
    tokio::time::sleep(HANDLER_LEASE + Duration::from_millis(100)).await; // past every lease
    for _ in 0..20 {
        let mut delivered = 0;
        for worker in &workers {
            delivered += worker.deliver_once().await.unwrap();
        }
        if delivered == 0 {
            break;
        }
    }

    // 5. Nothing owed; every settled order's final state reached the handler;
    //    a transition's handler ran again only where its finish went unrecorded.
    let owed = ledger
        .owed_transitions(&OwedQuery {
            provider: paybridge::providers::VPAY88.as_str(),
            account: "",
            lease_ms: 0,
            limit: 100_000,
        })
        .await
        .unwrap();
    assert!(
        owed.is_empty(),
        "{} handlers still owed: {owed:?}",
        owed.len()
    );
    // An order the ledger holds in conflict (another amount under its id) is
    // surfaced there, never applied: no handler is owed for it.
    let conflicts: HashSet<String> = ledger
        .list(&ListFilter::new(Which::Conflict, None))
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.key.order_id)
        .collect();
    for ((_, id), outcome) in &outcomes {
        if *outcome == Reported::IdConflict {
            assert!(
                conflicts.contains(id),
                "{id}: reported as another order's id, but the ledger shows no conflict"
            );
        }
    }
    let missing: Vec<_> = settled
        .iter()
        .filter(|(id, word)| {
            !conflicts.contains(*id)
                && handled.finals.lock().unwrap().get(*id).map(String::as_str) != Some(**word)
        })
        .map(|(id, _)| id.clone())
        .collect();
    let mut explained = Vec::new();
    for id in &missing {
        let key = paybridge::ledger::OrderKey::new(
            paybridge::providers::VPAY88,
            None,
            match kind_of(id) {
                Kind::Withdrawal => paybridge::OrderKind::Withdrawal,
                Kind::Deposit => paybridge::OrderKind::Deposit,
            },
            &paybridge::OrderId::new(id).unwrap(),
        );
        let record = ledger.get(&key).await.unwrap();
        explained.push(format!(
            "{id}: reported {:?}, ledger {:?}",
            outcomes.get(&(kind_of(id), id.clone())),
            record.map(|r| (r.state, r.conflict, r.amount.to_string()))
        ));
    }
    assert!(
        missing.is_empty(),
        "{} settled orders never reached the handler in their final state: {:#?}",
        missing.len(),
        explained
    );
    let runs = handled.runs.lock().unwrap().clone();
    let again: u32 = runs.values().map(|n| n - 1).sum();
    let failed_finishes = chaos.failed_finishes.load(Ordering::SeqCst);
    assert!(
        again <= failed_finishes,
        "{again} handler runs after a first success, but only {failed_finishes} finishes went unrecorded"
    );
    let unique: HashSet<&i64> = runs.keys().collect();
    let (seen, injected) = sandbox.fault_counts();
    println!(
        "ledger soak: {} orders ({PAYOUTS} payouts, {DEPOSITS} deposits); {seen} provider calls, {injected} faulted; {rerun} run again after a restart",
        outcomes.len()
    );
    println!(
        "ledger soak: accepted {}, ambiguous {}, held as failed {}, id conflict {}, refused {}, not sent {}",
        tally.get(&Reported::Accepted).unwrap_or(&0),
        tally.get(&Reported::Ambiguous).unwrap_or(&0),
        tally.get(&Reported::HeldAsFailed).unwrap_or(&0),
        tally.get(&Reported::IdConflict).unwrap_or(&0),
        tally.get(&Reported::Refused).unwrap_or(&0),
        tally.get(&Reported::NotSent).unwrap_or(&0),
    );
    println!(
        "ledger soak: {} settled ({} held in conflict, surfaced); {} transitions handled ({again} runs again, {failed_finishes} finishes unrecorded); 0 resent, 0 owed handlers lost, 0 reported accepted while held as failed or for another amount",
        settled.len(),
        conflicts.len(),
        unique.len(),
    );
    assert!(rerun > 0, "some orders were left unresolved and run again");
    assert!(injected > 0);
}

on_every_database!(
    ledger_soak,
    the_ledger_soak_loses_no_owed_handler_and_sends_nothing_twice
);
