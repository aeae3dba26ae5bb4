//! The ledger-backed callback route: what the provider is answered while the
//! merchant's handler is owed, that a recorded finish is the only way to a
//! duplicate's 200, that transitions learned without a callback reach the
//! handler, ONE-PUNCH verified over the ledger's payment token, and which
//! fields are unconfirmed. Each scenario runs on SQLite and on a PostgreSQL
//! server started for the test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use paybridge::axum::{CallbackRoute, Delivery, OwedDeliveries};
use paybridge::ledger::{Claim, Ledger, LedgerState, Observation, OrderKey, Source, SqlLedger};
use paybridge::{
    Config, DepositRequest, Gateway, Money, OrderId, OrderKind, OrderStatus, StatusQuery,
};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN};
use paybridge_signing::form_callback_token;
use paybridge_testkit::faulty_ledger::{FaultyLedger, LedgerCall};
use paybridge_testkit::on_every_database;
use paybridge_testkit::postgres::TestPostgres;
use serde_json::json;
use sqlx::Row;

const SECRET: &str = "s3cret";

/// Which calls of the test ledger time out now.
#[derive(Debug, Default)]
struct Switches {
    transitions_fail: AtomicBool,
    finish_fails: AtomicBool,
}

/// `real`, whose transition reads and handler finishes time out while their
/// switch is on.
fn failing(real: SqlLedger) -> (Arc<FaultyLedger<SqlLedger>>, Arc<Switches>) {
    let switches = Arc::new(Switches::default());
    let on = switches.clone();
    let ledger = FaultyLedger::new(real, move |call| match call {
        LedgerCall::TransitionInto => on.transitions_fail.load(Ordering::SeqCst),
        LedgerCall::FinishHandler => on.finish_fails.load(Ordering::SeqCst),
        _ => false,
    });
    (Arc::new(ledger), switches)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A Vpay88 whose status API says `completed` for 300 MYR for every order.
async fn completed_status_api() -> String {
    async fn check() -> String {
        json!({"status": true, "order_status": "completed", "amount": "300.0000",
               "currency": "MYR", "order_datetime": "2026-11-23 10:00:00"})
        .to_string()
    }
    let app = Router::new()
        .route("/merchant/check_status", post(check))
        .route("/merchant/check_withdraw_status", post(check));
    serve(app).await
}

fn vpay88(base: &str, ledger: Arc<dyn Ledger>) -> Gateway {
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base}\"\nusername = \"m\"\napi_key = \"k\"\n\
             secret_key = \"{SECRET}\"\n[http]\nread_attempts = 1\n"
        ),
        "ledger route",
    )
    .unwrap();
    Gateway::for_provider(&config, paybridge::providers::VPAY88)
        .unwrap()
        .with_ledger(ledger)
}

fn key(kind: OrderKind, order_id: &str) -> OrderKey {
    OrderKey::new(
        paybridge::providers::VPAY88,
        None,
        kind,
        &OrderId::new(order_id).unwrap(),
    )
}

/// A genuine Vpay88 deposit callback for `order_id`, completed, 300 MYR, with
/// the fee and name given.
fn callback(order_id: &str, charge: &str, name: &str) -> String {
    json!({"order_id": order_id, "amount": 300.0000, "currency": "MYR",
           "order_status": "completed", "status": true, "charge": charge, "name": name,
           "token": form_callback_token(SECRET, order_id), "type": "deposit"})
    .to_string()
}

/// What the handler was given, and whether it should fail.
#[derive(Default)]
struct Handled {
    deliveries: Mutex<Vec<Delivery>>,
    runs: AtomicUsize,
    fail: AtomicBool,
}

impl Handled {
    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn last(&self) -> Delivery {
        self.deliveries.lock().unwrap().last().cloned().unwrap()
    }
}

fn route(
    gateway: Gateway,
    handled: Arc<Handled>,
) -> CallbackRoute<impl Fn(Delivery) -> futures_ready::Ready + Clone + Send + Sync + 'static> {
    CallbackRoute::new(gateway, move |delivery: Delivery| {
        let handled = handled.clone();
        handled.runs.fetch_add(1, Ordering::SeqCst);
        let fail = handled.fail.load(Ordering::SeqCst);
        handled.deliveries.lock().unwrap().push(delivery);
        futures_ready::ready(fail)
    })
}

/// The handler's future, named so the route's type can be written down.
mod futures_ready {
    /// An answer already decided.
    pub type Ready = std::future::Ready<Result<(), &'static str>>;

    pub fn ready(fail: bool) -> Ready {
        std::future::ready(if fail {
            Err("the merchant's database said no")
        } else {
            Ok(())
        })
    }
}

/// A served route; its URL, and the worker beside it.
async fn serve_route(
    route: CallbackRoute<impl Fn(Delivery) -> futures_ready::Ready + Clone + Send + Sync + 'static>,
) -> (String, OwedDeliveries) {
    let (router, worker) = route.into_router_and_worker();
    let base = serve(Router::new().nest("/cb", router)).await;
    (format!("{base}/cb"), worker)
}

async fn post_to(url: &str, body: &str) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

fn ok() -> (u16, String) {
    (200, "success".into())
}

fn try_later() -> (u16, String) {
    (503, "try later".into())
}

/// Each callback the ledger recorded, oldest first: (verified, outcome).
async fn recorded_callbacks(ledger: &SqlLedger) -> Vec<(i64, String)> {
    sqlx::query("SELECT verified, outcome FROM paybridge_callbacks ORDER BY id")
        .fetch_all(ledger.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get::<i64, _>("verified"),
                row.get::<String, _>("outcome"),
            )
        })
        .collect()
}

/// A ledger holding deposit `order_id` of 300 MYR, as a create call leaves it.
async fn ledger_holding(url: &str, order_id: &str) -> SqlLedger {
    let ledger = SqlLedger::open(url).await.unwrap();
    let amount = Money::parse("300", "MYR").unwrap();
    ledger
        .begin(&key(OrderKind::Deposit, order_id), &amount)
        .await
        .unwrap();
    ledger
}

async fn a_duplicate_after_a_recorded_finish_is_200_and_not_run_again(url: &str) {
    let ledger = ledger_holding(url, "D1").await;
    let handled = Arc::new(Handled::default());
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (url, _) = serve_route(route(gateway, handled.clone())).await;
    assert_eq!(post_to(&url, &callback("D1", "5", "john")).await, ok());
    assert_eq!(post_to(&url, &callback("D1", "5", "john")).await, ok());
    assert_eq!(handled.runs(), 1, "a recorded finish: never run again");
    let outcomes: Vec<String> = recorded_callbacks(&ledger)
        .await
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(outcomes, ["applied", "duplicate"]);
}
on_every_database!(
    duplicate_after_finish,
    a_duplicate_after_a_recorded_finish_is_200_and_not_run_again
);

/// Another instance holds the handler (claimed, lease not run out): a
/// duplicate is told to try later, and nothing runs here.
async fn a_duplicate_while_another_instance_holds_the_handler_is_503(url: &str) {
    let ledger = ledger_holding(url, "D2").await;
    let key = key(OrderKind::Deposit, "D2");
    let seen = Observation::new(Source::Status, LedgerState::Completed)
        .amount(Some(Money::parse("300", "MYR").unwrap()));
    let id = ledger
        .observe(&key, &seen)
        .await
        .unwrap()
        .transition
        .unwrap();
    let Claim::Claimed { token } = ledger.claim_handler(id, 60_000).await.unwrap() else {
        panic!("the other instance claims it first");
    };
    let handled = Arc::new(Handled::default());
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (url, _) = serve_route(route(gateway, handled.clone())).await;
    assert_eq!(
        post_to(&url, &callback("D2", "5", "john")).await,
        try_later()
    );
    assert_eq!(handled.runs(), 0);
    // The other instance records its success: now a duplicate is acknowledged.
    ledger.finish_handler(id, token, true).await.unwrap();
    assert_eq!(post_to(&url, &callback("D2", "5", "john")).await, ok());
    assert_eq!(handled.runs(), 0);
}
on_every_database!(
    duplicate_while_held,
    a_duplicate_while_another_instance_holds_the_handler_is_503
);

/// The handler failed, so it is owed; then the ledger cannot read the
/// transition (a statement timeout): the duplicate is 503, never a 200 that
/// would lose the credit. Once the ledger answers, the next delivery runs the
/// handler once and is acknowledged.
async fn a_duplicate_whose_transition_cannot_be_read_is_503_then_handled_once(url: &str) {
    let real = ledger_holding(url, "T1").await;
    let (ledger, switches) = failing(real);
    let handled = Arc::new(Handled::default());
    handled.fail.store(true, Ordering::SeqCst);
    let gateway = vpay88(&completed_status_api().await, ledger.clone());
    let (url, _) = serve_route(route(gateway, handled.clone())).await;
    let body = callback("T1", "5", "john");
    assert_eq!(post_to(&url, &body).await, (500, "handler failed".into()));
    handled.fail.store(false, Ordering::SeqCst);
    switches.transitions_fail.store(true, Ordering::SeqCst);
    assert_eq!(post_to(&url, &body).await, try_later());
    assert_eq!(handled.runs(), 1, "only the failed run");
    switches.transitions_fail.store(false, Ordering::SeqCst);
    assert_eq!(post_to(&url, &body).await, ok());
    assert_eq!(post_to(&url, &body).await, ok());
    assert_eq!(handled.runs(), 2, "run again once, then a duplicate");
}
on_every_database!(
    unreadable_transition,
    a_duplicate_whose_transition_cannot_be_read_is_503_then_handled_once
);

/// The handler succeeded but its finish could not be recorded: the provider
/// is not told success, a delivery within the lease runs nothing, and one
/// after the lease runs the handler again (at least once), then is answered.
async fn a_finish_that_cannot_be_recorded_is_503_and_runs_again_after_the_lease(url: &str) {
    let real = ledger_holding(url, "F1").await;
    let (ledger, switches) = failing(real);
    switches.finish_fails.store(true, Ordering::SeqCst);
    let handled = Arc::new(Handled::default());
    let gateway = vpay88(&completed_status_api().await, ledger.clone());
    let lease = Duration::from_millis(400);
    let (url, worker) = serve_route(route(gateway, handled.clone()).handler_lease(lease)).await;
    let body = callback("F1", "5", "john");
    assert_eq!(post_to(&url, &body).await, try_later());
    assert_eq!(handled.runs(), 1);
    assert_eq!(post_to(&url, &body).await, try_later(), "within the lease");
    assert_eq!(worker.deliver_once().await.unwrap(), 0, "within the lease");
    assert_eq!(handled.runs(), 1, "never twice at once");
    switches.finish_fails.store(false, Ordering::SeqCst);
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert_eq!(post_to(&url, &body).await, ok());
    assert_eq!(
        handled.runs(),
        2,
        "at least once: run again after the lease"
    );
    assert_eq!(post_to(&url, &body).await, ok());
    assert_eq!(worker.deliver_once().await.unwrap(), 0);
    assert_eq!(handled.runs(), 2, "never again after a recorded finish");
}
on_every_database!(
    unrecorded_finish,
    a_finish_that_cannot_be_recorded_is_503_and_runs_again_after_the_lease
);

/// A payout the provider reports completed when its status is asked through
/// the ledger-backed gateway: the worker hands that transition to the handler
/// once, with its id, from and to; its callback later is a duplicate.
async fn a_withdrawal_status_query_reaching_completed_is_delivered_once(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let amount = Money::parse("300", "MYR").unwrap();
    let payout = key(OrderKind::Withdrawal, "W1");
    ledger.begin(&payout, &amount).await.unwrap();
    let handled = Arc::new(Handled::default());
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (url, worker) = serve_route(route(gateway.clone(), handled.clone())).await;
    let query = StatusQuery::new(OrderId::new("W1").unwrap());
    let report = gateway.withdrawal_status(&query).await.unwrap();
    assert_eq!(report.status, OrderStatus::Completed);
    assert_eq!(worker.deliver_once().await.unwrap(), 1);
    assert_eq!(worker.deliver_once().await.unwrap(), 0, "delivered once");
    let delivery = handled.last();
    let transition = delivery.transition.clone().expect("a ledger transition");
    let recorded = ledger
        .transition_into(&payout, LedgerState::Completed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transition.id, recorded.id, "the stable id");
    assert_eq!(
        (transition.from, transition.to, transition.source),
        (
            Some(LedgerState::Sending),
            LedgerState::Completed,
            Source::Status
        )
    );
    assert_eq!(delivery.event.kind, OrderKind::Withdrawal);
    assert_eq!(delivery.event.status, OrderStatus::Completed);
    assert_eq!(delivery.event.raw_body, "", "no callback carried it");
    let confirmed = delivery.confirmed.expect("a status query's facts");
    assert_eq!(confirmed.amount, Some(amount));
    let body = json!({"order_id": "W1", "amount": 300, "currency": "MYR",
        "order_status": "completed", "status": true, "type": "withdrawal",
        "token": form_callback_token(SECRET, "W1")})
    .to_string();
    assert_eq!(post_to(&url, &body).await, ok());
    assert_eq!(handled.runs(), 1, "the callback after it is a duplicate");
}
on_every_database!(
    status_query,
    a_withdrawal_status_query_reaching_completed_is_delivered_once
);

/// A forger holding one genuine token sends charge -500 and a `<script>`
/// name first: both reach the handler marked unconfirmed, and the genuine
/// callback after it is recorded as differing, not as a plain duplicate.
async fn a_callback_with_charge_minus_500_and_a_script_name_is_marked_unconfirmed(url: &str) {
    let ledger = ledger_holding(url, "U1").await;
    let handled = Arc::new(Handled::default());
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (url, _) = serve_route(route(gateway, handled.clone())).await;
    let forged = callback("U1", "-500", "<script>alert(1)</script>");
    assert_eq!(post_to(&url, &forged).await, ok());
    let delivery = handled.last();
    let unconfirmed = BTreeMap::from([
        ("charge".to_owned(), "-500".to_owned()),
        ("name".to_owned(), "<script>alert(1)</script>".to_owned()),
    ]);
    assert_eq!(delivery.unconfirmed, unconfirmed);
    let confirmed = delivery.confirmed.expect("confirmed");
    assert_eq!(
        (confirmed.status, confirmed.amount),
        (
            OrderStatus::Completed,
            Some(Money::parse("300", "MYR").unwrap())
        )
    );
    assert_eq!(post_to(&url, &callback("U1", "5", "john")).await, ok());
    assert_eq!(handled.runs(), 1);
    let outcomes: Vec<String> = recorded_callbacks(&ledger)
        .await
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(
        outcomes,
        [
            "applied",
            "duplicate; unconfirmed fields differ: charge, name"
        ]
    );
    let record = ledger
        .get(&key(OrderKind::Deposit, "U1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !format!("{record:?}").contains("-500"),
        "nothing unconfirmed among the order's facts: {record:?}"
    );
}
on_every_database!(
    unconfirmed,
    a_callback_with_charge_minus_500_and_a_script_name_is_marked_unconfirmed
);

async fn a_body_that_does_not_parse_is_recorded_as_not_verified(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (url, _) = serve_route(route(gateway, Arc::default())).await;
    let answer = post_to(&url, "{\"order_id\": <script>").await;
    assert_eq!(answer, (400, "rejected: malformed".into()));
    let recorded = recorded_callbacks(&ledger).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].0, 0, "not verified: {recorded:?}");
}
on_every_database!(
    unparsed,
    a_body_that_does_not_parse_is_recorded_as_not_verified
);

/// ONE-PUNCH end to end: a deposit created through a ledger-backed gateway
/// against the sandbox, settled there; the sandbox's notification (which
/// carries no payment token) is verified over the token the ledger holds,
/// confirmed, and handled once. A notification for an order the ledger does
/// not hold is answered 503, never 400.
async fn a_onepunch_notification_is_verified_with_the_ledgers_payment_token(url: &str) {
    let ledger = SqlLedger::open(url).await.unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify = format!("http://{}/cb", listener.local_addr().unwrap());
    let config = Config::from_toml(
        &format!(
            "[onepunch]\nbase_url = \"{}/onepunch\"\nmonster_token = \"{DEMO_MONSTER_TOKEN}\"\n\
             monster_key = \"{DEMO_MONSTER_KEY}\"\nnotify_url = \"{notify}\"\n\
             return_url = \"http://127.0.0.1:9/back\"\n",
            sandbox.base_url()
        ),
        "onepunch",
    )
    .unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::ONEPUNCH)
        .unwrap()
        .with_ledger(Arc::new(ledger.clone()));
    let handled = Arc::new(Handled::default());
    let (router, _) = route(gateway.clone(), handled.clone()).into_router_and_worker();
    tokio::spawn(async move { axum::serve(listener, Router::new().nest("/cb", router)).await });
    let request = DepositRequest::builder("P1", Money::parse("10", "CNY").unwrap())
        .payment_method("ali-person")
        .build()
        .unwrap();
    let order = gateway.create_deposit(&request).await.unwrap();
    let token = order.provider_ref.clone().expect("a payment token");
    let settled = reqwest::Client::new()
        .post(format!(
            "{}/onepunch/_sandbox/deposits/{token}/settle",
            sandbox.base_url()
        ))
        .form(&[("outcome", "completed")])
        .send()
        .await
        .unwrap();
    assert!(
        settled.status().is_success(),
        "{}",
        settled.text().await.unwrap()
    );
    for _ in 0..100 {
        if sandbox.deliveries().iter().any(|d| d.delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = sandbox.deliveries();
    assert!(
        deliveries.iter().any(|d| d.delivered && d.attempts == 1),
        "acknowledged at the first attempt: {deliveries:?}"
    );
    assert_eq!(handled.runs(), 1);
    let delivery = handled.last();
    assert_eq!(delivery.event.order_id, Some(OrderId::new("P1").unwrap()));
    assert_eq!(delivery.event.provider_ref.as_deref(), Some(token.as_str()));
    assert_eq!(
        delivery.confirmed.map(|c| c.status),
        Some(OrderStatus::Completed)
    );
    assert!(delivery.transition.is_some());
    let held = ledger
        .get(&OrderKey::new(
            paybridge::providers::ONEPUNCH,
            None,
            OrderKind::Deposit,
            &OrderId::new("P1").unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.state, LedgerState::Completed);
    let unknown = json!({"monster_token": DEMO_MONSTER_TOKEN, "transaction_status": true,
        "message": "TRANSACTION SUCCEED", "amount": 1000, "order_num": "NOT-HELD",
        "signature": "00"})
    .to_string();
    assert_eq!(post_to(&notify, &unknown).await, try_later());
    assert_eq!(handled.runs(), 1);
}
on_every_database!(
    onepunch,
    a_onepunch_notification_is_verified_with_the_ledgers_payment_token
);

/// PostgreSQL only: another connection takes `lock` in an open transaction
/// while the ledger's statements time out after 300 ms. The handler failed
/// before, so it is owed: the duplicate is told to try later, not 200; once
/// the lock is released the next delivery runs the handler once.
async fn while_another_connection_holds(test: &str, lock: &str) {
    let Some(server) = TestPostgres::start(test) else {
        return;
    };
    let url = format!("{}?options=-c%20statement_timeout%3D300", server.url());
    let ledger = ledger_holding(&url, "L1").await;
    let handled = Arc::new(Handled::default());
    handled.fail.store(true, Ordering::SeqCst);
    let gateway = vpay88(&completed_status_api().await, Arc::new(ledger.clone()));
    let (route_url, _) = serve_route(route(gateway, handled.clone())).await;
    let body = callback("L1", "5", "john");
    assert_eq!(
        post_to(&route_url, &body).await,
        (500, "handler failed".into())
    );
    handled.fail.store(false, Ordering::SeqCst);
    sqlx::any::install_default_drivers();
    let mut locker = <sqlx::AnyConnection as sqlx::Connection>::connect(&server.url())
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(lock).execute(&mut locker).await.unwrap();
    assert_eq!(post_to(&route_url, &body).await, try_later(), "{lock}");
    assert_eq!(handled.runs(), 1, "only the failed run");
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    assert_eq!(post_to(&route_url, &body).await, ok());
    assert_eq!(post_to(&route_url, &body).await, ok());
    assert_eq!(handled.runs(), 2, "run once more, then a duplicate");
}

/// Even reading the transition waits on this lock, and times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_while_another_connection_locks_the_transitions_table_is_503_then_handled_once()
{
    while_another_connection_holds(
        "locked_transitions_table",
        "LOCK TABLE paybridge_transitions IN ACCESS EXCLUSIVE MODE",
    )
    .await;
}

/// Reading the transition does not wait on a row lock; claiming it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_while_another_connection_holds_the_transition_row_for_update_is_503_then_handled_once(
) {
    while_another_connection_holds(
        "locked_transition_rows",
        "SELECT id FROM paybridge_transitions FOR UPDATE",
    )
    .await;
}
