//! The soak: 1,000 withdrawals and 1,000 deposits through the SDK against a
//! sandbox that faults more than a fifth of all calls, among them `Order id
//! exist!` after the order was taken, a lost answer with the payout already
//! failed, a lost answer with another amount held under the id, refusals no
//! document writes (and a documented one with HTTP 409) after the order was
//! taken, and redirects before and after the work was done. Afterwards
//! no order was sent twice, every order is in its true state or reported
//! ambiguous with its id, nothing reported accepted is held as failed or for
//! another amount, and every settled order's callback reached the handler.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use paybridge::{DepositRequest, Error, Gateway, Money, Provider, WithdrawalRequest};
use paybridge_cli::harness::{settle_in_back_office, Harness};
use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
use paybridge_sandbox::state::Kind;
use paybridge_sandbox::SandboxConfig;
use tokio::sync::Semaphore;

const PER_PROVIDER: usize = 500;
const CONCURRENCY: usize = 32;

fn rule(endpoint: &str, kind: FaultKind, percent: u8) -> FaultRule {
    FaultRule {
        provider: "*".into(),
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
            rule(create, FaultKind::DropAfterCommit, 10),
            rule(create, FaultKind::Malformed, 6),
            rule(create, FaultKind::Error5xx, 6),
            rule(create, FaultKind::CloseBeforeResponse, 6),
            rule(create, FaultKind::Latency, 5),
            rule(create, FaultKind::DuplicateAfterCommit, 5),
            rule(create, FaultKind::FailAfterCommit, 4),
            rule(create, FaultKind::OtherAmountAfterCommit, 4),
            rule(create, FaultKind::UndocumentedRefusalAfterCommit, 4),
            rule(create, FaultKind::ConflictStatusAfterCommit, 3),
            rule(create, FaultKind::RedirectAfterCommit, 3),
        ]);
    }
    for read in ["auth", "check_status", "check_withdraw_status"] {
        rules.extend([
            rule(read, FaultKind::Error5xx, 12),
            rule(read, FaultKind::CloseBeforeResponse, 5),
            rule(read, FaultKind::Latency, 5),
            rule(read, FaultKind::Redirect, 3),
        ]);
    }
    FaultConfig {
        seed: 20261123,
        rules,
        duplicate_callbacks_percent: 20,
        callback_jitter_ms: 30,
    }
}

#[derive(Debug, Default)]
struct Tally {
    accepted: u32,
    resolved_by_status: u32,
    ambiguous: u32,
    refused: u32,
    not_sent: u32,
    held_as_failed: u32,
    id_conflict: u32,
}

enum Outcome {
    Accepted { by_status: bool },
    Ambiguous,
    Refused,
    NotSent,
    HeldAsFailed,
    IdConflict,
}

fn classify<T>(
    result: Result<T, Error>,
    by_status: impl Fn(&T) -> bool,
    order_id: &str,
) -> Outcome {
    match result {
        Ok(value) => Outcome::Accepted {
            by_status: by_status(&value),
        },
        Err(Error::Ambiguous {
            order_id: reported, ..
        }) => {
            assert_eq!(
                reported.as_str(),
                order_id,
                "an ambiguous order carries its own id"
            );
            Outcome::Ambiguous
        }
        Err(Error::Provider { .. }) => Outcome::Refused,
        Err(Error::HeldAsFailed { .. }) => Outcome::HeldAsFailed,
        Err(Error::OrderIdConflict { .. }) => Outcome::IdConflict,
        Err(Error::Transport {
            may_have_been_delivered: false,
            ..
        }) => Outcome::NotSent,
        Err(other) => panic!("{order_id}: an unexpected error escaped: {other}"),
    }
}

fn withdrawal(provider: &str, i: usize) -> WithdrawalRequest {
    let currency = if provider == "vpay88" { "MYR" } else { "THB" };
    WithdrawalRequest::builder(
        format!("SOAK-W-{provider}-{i}"),
        Money::parse("10", currency).unwrap(),
        "101",
        "John Doe",
        "1",
    )
    .build()
    .unwrap()
}

fn deposit(provider: &str, i: usize) -> DepositRequest {
    let id = format!("SOAK-D-{provider}-{i}");
    let b = DepositRequest::builder(
        &id,
        Money::parse("25", if provider == "vpay88" { "MYR" } else { "THB" }).unwrap(),
    )
    .customer_name("john")
    .email("john@example.com")
    .phone("601012456789");
    let b = if provider == "one1pay" {
        b.bank_id("101")
            .payment_method("thaiqr")
            .redirect_url("http://127.0.0.1:9/back")
            .customer_bank_holder_name("John")
            .customer_bank_account("1")
    } else {
        b
    };
    b.build().unwrap()
}

async fn run_all(gateway: Gateway, provider: &'static str, kind: Kind) -> Vec<(String, Outcome)> {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PER_PROVIDER {
        let gateway = gateway.clone();
        let permit = limit.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let _permit = permit;
            match kind {
                Kind::Withdrawal => {
                    let request = withdrawal(provider, i);
                    let id = request.order_id.to_string();
                    let outcome = classify(
                        gateway.create_withdrawal(&request).await,
                        |r| r.learned_from == paybridge::LearnedFrom::StatusQuery,
                        &id,
                    );
                    (id, outcome)
                }
                Kind::Deposit => {
                    let request = deposit(provider, i);
                    let id = request.order_id.to_string();
                    (
                        id.clone(),
                        classify(gateway.create_deposit(&request).await, |_| false, &id),
                    )
                }
            }
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        results.push(done.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_under_faults_loses_nothing_and_sends_nothing_twice() {
    let config = SandboxConfig {
        faults: faults(),
        callback_attempts: 40,
        callback_retry_ms: 20,
        ..SandboxConfig::default()
    };
    let mut h = Harness::start(config).await.unwrap();
    let mut tallies: HashMap<(&str, Kind), Tally> = HashMap::new();
    let mut outcomes: HashMap<(String, Kind, String), Outcome> = HashMap::new();
    for provider in ["vpay88", "one1pay"] {
        let gateway = h
            .gateway(paybridge::Provider::parse(provider).unwrap())
            .unwrap()
            .clone();
        for kind in [Kind::Withdrawal, Kind::Deposit] {
            for (id, outcome) in run_all(gateway.clone(), provider, kind).await {
                let tally = tallies.entry((provider, kind)).or_default();
                match outcome {
                    Outcome::Accepted { by_status } => {
                        tally.accepted += 1;
                        tally.resolved_by_status += u32::from(by_status);
                    }
                    Outcome::Ambiguous => tally.ambiguous += 1,
                    Outcome::Refused => tally.refused += 1,
                    Outcome::NotSent => tally.not_sent += 1,
                    Outcome::HeldAsFailed => tally.held_as_failed += 1,
                    Outcome::IdConflict => tally.id_conflict += 1,
                }
                outcomes.insert((provider.to_owned(), kind, id), outcome);
            }
        }
    }

    // 1. Nothing was sent twice.
    let requests = h.sandbox.create_requests();
    let resent: Vec<_> = requests.iter().filter(|(_, n)| **n > 1).collect();
    assert!(resent.is_empty(), "orders sent more than once: {resent:?}");

    // 2. Every order is in its true state or reported ambiguous with its id.
    let provider_of = |kind: Kind, order_id: &str| {
        if requests.contains_key(&("vpay88".to_owned(), kind, order_id.to_owned())) {
            "vpay88"
        } else {
            "one1pay"
        }
    };
    let held: HashMap<(String, Kind, String), paybridge_sandbox::state::Order> = h
        .sandbox
        .orders()
        .into_iter()
        .map(|o| {
            (
                (
                    provider_of(o.kind, &o.order_id).to_owned(),
                    o.kind,
                    o.order_id.clone(),
                ),
                o,
            )
        })
        .collect();
    let requested = |kind: Kind| match kind {
        Kind::Withdrawal => rust_decimal::Decimal::new(10, 0),
        Kind::Deposit => rust_decimal::Decimal::new(25, 0),
    };
    let mut accepted_but_failed_or_other_amount = 0;
    for (key, outcome) in &outcomes {
        let order = held.get(key);
        match outcome {
            Outcome::Accepted { .. } => {
                let order = order.unwrap_or_else(|| panic!("{key:?} accepted but not held"));
                if order.status == "fail" || order.amount != requested(key.1) {
                    accepted_but_failed_or_other_amount += 1;
                }
            }
            Outcome::HeldAsFailed => assert_eq!(
                order.map(|o| o.status),
                Some("fail"),
                "{key:?} reported held as failed"
            ),
            Outcome::IdConflict => assert!(
                order.is_some_and(|o| o.amount != requested(key.1)),
                "{key:?} reported as another order's id"
            ),
            Outcome::Refused | Outcome::NotSent => assert!(
                order.is_none(),
                "{key:?} reported not created but the provider holds it"
            ),
            Outcome::Ambiguous => {}
        }
    }
    assert_eq!(
        accepted_but_failed_or_other_amount, 0,
        "orders reported accepted that the provider holds as failed or for another amount"
    );

    // 3. Settle everything the provider holds; every callback must reach the handler.
    let mut settled = HashSet::new();
    // Orders a fault already failed are final: nothing to settle, no callback due.
    for order in h
        .sandbox
        .orders()
        .into_iter()
        .filter(|o| o.status != "fail")
    {
        let provider = provider_of(order.kind, &order.order_id);
        let (path, outcome) = match order.kind {
            Kind::Deposit => ("deposits", "completed"),
            // `rejected` is One1Pay's word alone; Vpay88 refuses a payout as `fail`.
            Kind::Withdrawal => (
                "withdrawals",
                match (provider, order.order_id.ends_with('7')) {
                    ("one1pay", true) => "rejected",
                    (_, true) => "fail",
                    _ => "completed",
                },
            ),
        };
        let answer = settle_in_back_office(
            &h.sandbox.base_url(),
            Provider::parse(provider).unwrap(),
            path,
            &order.order_id,
            outcome,
        )
        .await
        .unwrap();
        assert!(
            answer.status().is_success(),
            "settling {}: {}",
            order.order_id,
            answer.status()
        );
        settled.insert(order.order_id.clone());
    }
    let (received, duplicates_flagged) =
        h.receiver.collect(&settled, Duration::from_secs(120)).await;
    let lost: Vec<_> = settled
        .iter()
        .filter(|id| !received.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} callbacks never reached the handler: {:?}",
        lost.len(),
        lost.iter().take(10).collect::<Vec<_>>()
    );

    let (seen, injected) = h.sandbox.fault_counts();
    let deliveries: u32 = received.values().sum();
    println!(
        "soak: {seen} provider calls, {injected} faulted ({}%)",
        injected * 100 / seen.max(1)
    );
    for ((provider, kind), t) in &tallies {
        println!(
            "soak: {provider:<8} {kind:?}: {} accepted ({} resolved by status), {} held as failed, {} id held by another order, {} ambiguous, {} refused, {} not sent",
            t.accepted, t.resolved_by_status, t.held_as_failed, t.id_conflict, t.ambiguous, t.refused, t.not_sent
        );
    }
    println!(
        "soak: {} orders settled; {} callbacks delivered to the handler ({} flagged duplicate); 0 resent, 0 lost, 0 reported accepted while held as failed or for another amount",
        settled.len(),
        deliveries,
        duplicates_flagged
    );
    assert!(
        injected * 5 >= seen,
        "at least 20% of calls faulted: {injected} of {seen}"
    );
    for (what, count) in [
        (
            "held as failed",
            tallies.values().map(|t| t.held_as_failed).sum::<u32>(),
        ),
        (
            "id held by another order",
            tallies.values().map(|t| t.id_conflict).sum(),
        ),
    ] {
        assert!(count > 0, "the new faults produced some outcomes {what}");
    }
    assert!(
        tallies.values().map(|t| t.resolved_by_status).sum::<u32>() > 0,
        "some outcomes were resolved by status"
    );
    assert!(
        duplicates_flagged > 0,
        "duplicate callbacks were delivered and flagged"
    );
}
