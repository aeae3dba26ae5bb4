//! `Gateway::refresh`: the ledger's view of an order after asking the
//! provider, in one read, one status query and one observation; and the
//! status answers a ledger refuses to record, through `refresh` and through
//! the plain status query alike: answers about another order or payment. The
//! double below answers status queries as it is told and keeps every query
//! it got.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use paybridge::ledger::{Ledger, LedgerState, OrderKey, SqlLedger};
use paybridge::{
    Capabilities, DepositOrder, DepositRequest, Error, Gateway, Money, Operation, OrderId,
    OrderKind, OrderStatus, PaymentGateway, Provider, Result, StatusQuery, StatusReport,
};
use paybridge_testkit::faulty_ledger::{FaultyLedger, LedgerCall};

/// Creates every deposit under the reference `REF-1`; answers each status
/// query `completed` for 10.00 MYR, or a transport failure when told to.
/// The answer names the reference asked, unless told another reference or
/// another order id to name.
#[derive(Debug, Default)]
struct Told {
    queries: Mutex<Vec<StatusQuery>>,
    unreachable: AtomicBool,
    /// Knows orders by their reference, as ONE-PUNCH does.
    by_reference: bool,
    answers_reference: Option<&'static str>,
    answers_order_id: Option<&'static str>,
    /// Creates deposits with no reference in the answer.
    creates_without_reference: bool,
}

#[async_trait]
impl PaymentGateway for Told {
    fn provider(&self) -> Provider {
        Provider::new("told")
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Operation::CreateDeposit, Operation::DepositStatus])
    }

    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        Ok(DepositOrder::new(
            request.order_id.clone(),
            "https://pay.example/1".into(),
            (!self.creates_without_reference).then(|| "REF-1".into()),
        ))
    }

    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.queries.lock().unwrap().push(query.clone());
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(Error::Transport {
                operation: Operation::DepositStatus,
                may_have_been_delivered: false,
                source: "connection refused".into(),
            });
        }
        let order_id = match self.answers_order_id {
            Some(other) => OrderId::new(other).unwrap(),
            None => query.order_id.clone(),
        };
        let mut report = StatusReport::new(
            OrderKind::Deposit,
            order_id,
            OrderStatus::Completed,
            "success".into(),
        );
        report.amount = Some(money());
        report.provider_ref = match self.answers_reference {
            Some(other) => Some(other.into()),
            None => query.provider_ref.clone(),
        };
        Ok(report)
    }

    fn callbacks_need_stored_reference(&self) -> bool {
        self.by_reference
    }
}

fn money() -> Money {
    Money::parse("10.00", "MYR").unwrap()
}

fn key(order_id: &str) -> OrderKey {
    OrderKey::new(
        Provider::new("told"),
        None,
        OrderKind::Deposit,
        &OrderId::new(order_id).unwrap(),
    )
}

async fn ledger() -> SqlLedger {
    SqlLedger::open(&paybridge_testkit::postgres::sqlite_url())
        .await
        .unwrap()
}

/// A ledgered gateway over `told`, with deposit `D1` created.
async fn with_deposit(told: Arc<Told>, ledger: Arc<dyn Ledger>) -> Gateway {
    let gateway = Gateway::from_gateway(told, "success").with_ledger(ledger);
    let request = DepositRequest::builder("D1", money()).build().unwrap();
    gateway.create_deposit(&request).await.unwrap();
    gateway
}

/// What refreshing `D1` did, after creating it through a double.
struct RefreshedD1 {
    ledger: SqlLedger,
    gateway: Gateway,
    told: Arc<Told>,
    refreshed: Result<Option<paybridge::ledger::OrderRecord>>,
}

/// Creates `D1` through `told` on a fresh ledger and refreshes it.
async fn refreshed_d1(told: Told) -> RefreshedD1 {
    let told = Arc::new(told);
    let ledger = ledger().await;
    let gateway = with_deposit(told.clone(), Arc::new(ledger.clone())).await;
    let refreshed = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("D1").unwrap())
        .await;
    RefreshedD1 {
        ledger,
        gateway,
        told,
        refreshed,
    }
}

#[tokio::test]
async fn refresh_of_an_order_the_ledger_does_not_hold_answers_none_and_asks_nothing() {
    let told = Arc::new(Told::default());
    let gateway =
        Gateway::from_gateway(told.clone(), "success").with_ledger(Arc::new(ledger().await));
    let found = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("NEVER-CREATED").unwrap())
        .await
        .unwrap();
    assert_eq!(found, None);
    assert!(told.queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn refresh_asks_by_the_stored_reference_and_answers_the_recorded_order() {
    let told = Arc::new(Told::default());
    let real = ledger().await;
    let gateway = with_deposit(told.clone(), Arc::new(real.clone())).await;
    let refreshed = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("D1").unwrap())
        .await
        .unwrap()
        .expect("the ledger holds D1");
    let queries = told.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].provider_ref.as_deref(), Some("REF-1"));
    assert_eq!(refreshed.state, LedgerState::Completed);
    assert_eq!(refreshed.provider_status.as_deref(), Some("success"));
    // What refresh answered is what the ledger now holds.
    assert_eq!(real.get(&key("D1")).await.unwrap(), Some(refreshed));
}

#[tokio::test]
async fn refresh_when_the_provider_cannot_be_reached_is_that_error_and_the_order_stays_pending() {
    let told = Arc::new(Told::default());
    let real = ledger().await;
    let gateway = with_deposit(told.clone(), Arc::new(real.clone())).await;
    told.unreachable.store(true, Ordering::SeqCst);
    let err = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("D1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "transport");
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
}

#[tokio::test]
async fn refresh_whose_answer_the_ledger_cannot_record_is_an_error_not_the_stale_order() {
    let told = Arc::new(Told::default());
    let real = ledger().await;
    let observe_fails = Arc::new(AtomicBool::new(false));
    let failing = observe_fails.clone();
    let faulty = Arc::new(FaultyLedger::new(real.clone(), move |call| {
        call == LedgerCall::Observe && failing.load(Ordering::SeqCst)
    }));
    let gateway = with_deposit(told.clone(), faulty).await;
    observe_fails.store(true, Ordering::SeqCst);
    let err = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("D1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "local", "{err}");
    assert_eq!(told.queries.lock().unwrap().len(), 1);
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
}

#[tokio::test]
async fn refresh_on_a_gateway_without_a_ledger_is_a_configuration_error_and_asks_nothing() {
    let told = Arc::new(Told::default());
    let gateway = Gateway::from_gateway(told.clone(), "success");
    let err = gateway
        .refresh(OrderKind::Deposit, &OrderId::new("D1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(told.queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_answer_naming_another_reference_where_orders_are_known_by_reference_moves_nothing() {
    let RefreshedD1 {
        ledger: real,
        gateway,
        refreshed,
        ..
    } = refreshed_d1(Told {
        by_reference: true,
        answers_reference: Some("REF-2"),
        ..Told::default()
    })
    .await;
    let err = refreshed.unwrap_err();
    assert_eq!(err.kind(), "decode", "{err}");
    assert!(err.to_string().contains("REF-2"), "{err}");
    // The plain status call, by the stored reference, is refused the same way.
    let query = StatusQuery::new(OrderId::new("D1").unwrap()).with_provider_ref("REF-1");
    let err = gateway.deposit_status(&query).await.unwrap_err();
    assert_eq!(err.kind(), "decode", "{err}");
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
    assert_eq!(held.provider_ref.as_deref(), Some("REF-1"));
}

#[tokio::test]
async fn an_answer_about_another_order_id_moves_nothing() {
    let RefreshedD1 {
        ledger: real,
        refreshed,
        ..
    } = refreshed_d1(Told {
        answers_order_id: Some("D2"),
        ..Told::default()
    })
    .await;
    let err = refreshed.unwrap_err();
    assert_eq!(err.kind(), "decode", "{err}");
    assert!(err.to_string().contains("D2"), "{err}");
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
    assert!(real.get(&key("D2")).await.unwrap().is_none());
}

#[tokio::test]
async fn an_answer_by_order_id_naming_another_reference_is_applied_and_the_order_keeps_its_own() {
    let RefreshedD1 {
        ledger: real,
        refreshed,
        ..
    } = refreshed_d1(Told {
        answers_reference: Some("REF-2"),
        ..Told::default()
    })
    .await;
    let refreshed = refreshed.unwrap().expect("the ledger holds D1");
    assert_eq!(refreshed.state, LedgerState::Completed);
    assert_eq!(refreshed.provider_ref.as_deref(), Some("REF-1"));
    assert_eq!(real.get(&key("D1")).await.unwrap(), Some(refreshed));
}

#[tokio::test]
async fn refresh_of_an_order_held_without_the_reference_its_provider_answers_by_is_ambiguous_and_asks_nothing(
) {
    let RefreshedD1 {
        ledger: real,
        told,
        refreshed,
        ..
    } = refreshed_d1(Told {
        by_reference: true,
        creates_without_reference: true,
        ..Told::default()
    })
    .await;
    let err = refreshed.unwrap_err();
    assert_eq!(err.kind(), "ambiguous", "{err}");
    assert!(err.to_string().contains("reconcile"), "{err}");
    assert!(told.queries.lock().unwrap().is_empty());
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
}

#[tokio::test]
async fn a_status_query_naming_no_reference_is_asked_by_the_stored_one_and_checked_against_it() {
    let told = Arc::new(Told {
        by_reference: true,
        answers_reference: Some("REF-2"),
        ..Told::default()
    });
    let real = ledger().await;
    let gateway = with_deposit(told.clone(), Arc::new(real.clone())).await;
    let err = gateway
        .deposit_status(&StatusQuery::new(OrderId::new("D1").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "decode", "{err}");
    let asked = told.queries.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].provider_ref.as_deref(), Some("REF-1"));
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
    assert_eq!(held.provider_ref.as_deref(), Some("REF-1"));
}

#[tokio::test]
async fn a_status_query_naming_a_reference_for_an_order_held_without_one_is_answered_and_binds_nothing(
) {
    let told = Arc::new(Told {
        by_reference: true,
        creates_without_reference: true,
        ..Told::default()
    });
    let real = ledger().await;
    let gateway = with_deposit(told.clone(), Arc::new(real.clone())).await;
    let query = StatusQuery::new(OrderId::new("D1").unwrap()).with_provider_ref("ANOTHER-PAYMENT");
    let report = gateway.deposit_status(&query).await.unwrap();
    assert_eq!(report.provider_ref.as_deref(), Some("ANOTHER-PAYMENT"));
    let held = real.get(&key("D1")).await.unwrap().unwrap();
    assert_eq!(held.state, LedgerState::Pending);
    assert_eq!(held.provider_ref, None);
    // Asked with no reference, the order is ambiguous, and nothing is asked.
    let err = gateway
        .deposit_status(&StatusQuery::new(OrderId::new("D1").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "ambiguous", "{err}");
    assert_eq!(told.queries.lock().unwrap().len(), 1);
}
