//! The webhook soak, on PostgreSQL: two real `paybridge serve` processes on
//! one ledger take Vpay88 payouts and deposits over their HTTP API, the
//! sandbox settles them and calls back through a front that hands each
//! callback to a live instance, and both deliver the ledger's events to a
//! receiver that fails three deliveries in ten with a 500 and holds one in
//! ten past the attempt's limit. One instance is killed with SIGKILL three
//! times during the run and started again on its port.
//!
//! Afterwards, once the outbox has drained: every event the ledger holds was
//! delivered, each delivery verified and carrying its event's id and body
//! (the same on every retry); the receiver got nothing the ledger does not
//! hold; none is dead; each order's events are numbered 1, 2, ... in the
//! order of its transitions, each following the state the one before left,
//! the last one its final state; the faults were injected near their rates;
//! and each kill cut work in flight.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use paybridge::ledger::{
    DeliveryState, EventFilter, EventType, Ledger, ListFilter, SqlLedger, Which,
};
use paybridge::webhooks::WebhookSecret;
use paybridge_cli::harness::settle_in_back_office;
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};
use paybridge_testkit::postgres::TestPostgres;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const PAYOUTS: usize = 150;
const DEPOSITS: usize = 100;
const CONCURRENCY: usize = 16;
const KILLS: usize = 3;
const KEY: &str = "webhook-soak-key-51d3";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One attempt's limit, as configured; a held delivery answers after it.
const TIMEOUT: Duration = Duration::from_secs(1);
const HELD: Duration = Duration::from_millis(1_600);
/// Twenty waits: at four failures in ten, an event dies by chance one time in
/// 0.4^21 (about 5e-9); short, so that a run takes a minute, not days.
const SCHEDULE: &str = r#"["250ms", "500ms", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]"#;
/// The claim an instance holds on what it delivers: eight times `TIMEOUT`.
const LEASE: Duration = Duration::from_secs(8);

/// How the receiver answers a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Fail,
    Hold,
    Take,
}

/// The answer to the `attempt`-th delivery (from 0) of event `id`: a hash of
/// both, so a run's faults depend on nothing else (not on timing).
fn answer_for(id: &str, attempt: u32) -> Answer {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain(attempt.to_le_bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix, so that the last bytes move every bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    match h % 100 {
        0..=29 => Answer::Fail,
        30..=39 => Answer::Hold,
        _ => Answer::Take,
    }
}

/// One delivery the receiver got.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    body: String,
    answer: Answer,
    verified: bool,
    /// Seconds between the delivery's `webhook-timestamp` and its arrival.
    skew_s: i64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Received {
    got: Mutex<Vec<Got>>,
    in_flight: AtomicUsize,
}

/// Counts a request in flight while it lives (a held one may be dropped
/// when its sender gives up).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::SeqCst);
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The merchant's endpoint: verifies, records, answers as [`answer_for`] says.
async fn receiver(received: Arc<Received>) -> String {
    let secrets = Arc::new([WebhookSecret::parse(SECRET).unwrap()]);
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (received, secrets) = (received.clone(), secrets.clone());
            async move {
                let _counted = InFlight::new(&received.in_flight);
                let text = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let id = text("webhook-id");
                let timestamp: i64 = text("webhook-timestamp").parse().unwrap_or(0);
                let verified = paybridge_signing::webhook::verify(
                    secrets.as_slice(),
                    &id,
                    timestamp,
                    &body,
                    &text("webhook-signature"),
                );
                let now = paybridge::ledger::now_ms() / 1000;
                let answer = {
                    let mut got = received.got.lock().unwrap();
                    let attempt = got.iter().filter(|g| g.id == id).count() as u32;
                    let answer = answer_for(&id, attempt);
                    got.push(Got {
                        id,
                        body: String::from_utf8_lossy(&body).into_owned(),
                        answer,
                        verified,
                        skew_s: now - timestamp,
                        at: Instant::now(),
                    });
                    answer
                };
                if !verified {
                    return StatusCode::BAD_REQUEST.into_response();
                }
                match answer {
                    Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    Answer::Hold => {
                        tokio::time::sleep(HELD).await;
                        StatusCode::NO_CONTENT.into_response()
                    }
                    Answer::Take => StatusCode::NO_CONTENT.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A free loopback port (for an instance started, and started again, on it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A front on `front` handing each callback to the instances in turn, and to
/// the other when the one whose turn it is does not answer (killed).
async fn front(front: std::net::TcpListener, ports: [u16; 2]) {
    let targets: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}/v1/callbacks/vpay88"))
        .collect();
    let turn = Arc::new(AtomicU32::new(0));
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (turn, client, targets) = (turn.clone(), client.clone(), targets.clone());
            async move {
                let first = turn.fetch_add(1, Ordering::SeqCst) as usize;
                for target in [&targets[first % 2], &targets[(first + 1) % 2]] {
                    let mut forwarded = client.post(target).body(body.clone());
                    if let Some(content_type) = headers.get("content-type") {
                        forwarded = forwarded.header("content-type", content_type.clone());
                    }
                    if let Ok(answer) = forwarded.send().await {
                        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                        return (status, answer.text().await.unwrap_or_default()).into_response();
                    }
                }
                StatusCode::BAD_GATEWAY.into_response()
            }
        }),
    );
    front.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(front).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The configuration both instances run with.
fn write_config(dir: &Path, sandbox: &str, ledger: &str, receiver: &str) -> PathBuf {
    let hash = paybridge_serve::hash_key(KEY);
    let path = dir.join("paybridge.toml");
    std::fs::write(
        &path,
        format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{sandbox}/vpay88\"\nusername = \"{DEMO_USERNAME}\"\n\
             api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n[http]\nresolve_delay_ms = 50\n\
             [ledger]\nurl = \"{ledger}\"\n[serve]\napi_keys = [\"{hash}\"]\n\
             [serve.webhooks]\nurl = \"{receiver}\"\nsecrets = [\"{SECRET}\"]\n\
             retry_schedule = {SCHEDULE}\ntimeout = \"{}ms\"\n",
            TIMEOUT.as_millis()
        ),
    )
    .unwrap();
    path
}

/// A `paybridge serve` process; killed when dropped, so that a failing test
/// leaves none behind.
struct Instance {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Instance {
    async fn start(config: &Path, port: u16, log: PathBuf) -> Self {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_paybridge"));
        command
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, _) in std::env::vars() {
            if name.starts_with("PAYBRIDGE_") {
                command.env_remove(name);
            }
        }
        let mut instance = Self {
            child: command.spawn().unwrap(),
            port,
            log,
        };
        let health = format!("http://127.0.0.1:{port}/healthz");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(answer) = reqwest::get(&health).await {
                if answer.status().is_success() {
                    return instance;
                }
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!("serve exited {status} at start: {}", instance.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "serve never answered: {}",
                instance.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: nothing of the process runs after it.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn payout(i: usize) -> (String, Value) {
    let id = format!("WSOAK-W-{i}");
    let body = json!({
        "order_id": id, "amount": "30.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "Aminah", "account_no": "1234567890",
    });
    (id, body)
}

fn deposit(i: usize) -> (String, Value) {
    let id = format!("WSOAK-D-{i}");
    let body = json!({
        "order_id": id, "amount": "45.00", "currency": "MYR",
        "customer": {"name": "Aminah", "email": "aminah@example.com", "phone": "60123456789"},
    });
    (id, body)
}

/// One kill, and what was in flight when it came.
#[derive(Debug, Clone, Copy)]
struct Kill {
    /// When the process was seen dead.
    at: Instant,
    creates: usize,
    delivering: usize,
}

/// What the run shares between its orders and the task that kills.
#[derive(Default)]
struct Run {
    /// Orders whose create (and settle) are done.
    done: AtomicUsize,
    /// Creates in flight to the instance that is killed.
    creates_to_killed: AtomicUsize,
    /// Creates that got no answer (cut by a kill, or sent while it was down).
    unanswered: AtomicUsize,
    /// The kills: when, and the creates to it and deliveries at the
    /// receiver in flight then.
    kills: Mutex<Vec<Kill>>,
}

/// Creates an order through instance `first`, sent again to the one never
/// killed while it gets no answer; the status answered, if any.
async fn order(
    client: &reqwest::Client,
    ports: [u16; 2],
    first: usize,
    path: &str,
    body: &Value,
    run: &Run,
) -> Option<u16> {
    for attempt in 0..40 {
        let which = if attempt == 0 { first } else { 0 };
        let counted = which == 1;
        if counted {
            run.creates_to_killed.fetch_add(1, Ordering::SeqCst);
        }
        let sent = client
            .post(format!("http://127.0.0.1:{}/v1/{path}", ports[which]))
            .header("authorization", format!("Bearer {KEY}"))
            .json(body)
            .send()
            .await;
        let answered = match sent {
            Ok(answer) => Some(answer.status().as_u16()),
            Err(_) => None,
        };
        if counted {
            run.creates_to_killed.fetch_sub(1, Ordering::SeqCst);
        }
        match answered {
            // 409: the first attempt's create, cut by a kill, is still
            // claimed; the order is the ledger's to resolve.
            Some(status) => return Some(status),
            None => {
                run.unanswered.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_soak_loses_no_event_across_faults_and_kills() {
    let Some(postgres) = TestPostgres::start("webhook_soak") else {
        return;
    };
    let db = postgres.url();
    // Migrated once here, before two processes open it at once.
    let ledger = SqlLedger::open(&db).await.unwrap();
    let received = Arc::new(Received::default());
    let receiver_url = receiver(received.clone()).await;
    let ports = [free_port(), free_port()];
    let front_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front_addr = front_listener.local_addr().unwrap();
    front(front_listener, ports).await;
    let sandbox_config = SandboxConfig {
        callback_attempts: 40,
        callback_retry_ms: 50,
        ..SandboxConfig::default()
    }
    .with_demo_callback_url(&format!("http://{front_addr}/"));
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let dir = paybridge_testkit::temp_dir("paybridge-webhook-soak");
    let config = write_config(&dir, &sandbox.base_url(), &db, &receiver_url);
    let kept = Instance::start(&config, ports[0], dir.join("kept.log")).await;
    let killed = Instance::start(&config, ports[1], dir.join("killed.log")).await;
    let started = Instant::now();

    // The orders, alternately through each instance, each settled once its
    // create is answered: creates, callbacks and deliveries overlap.
    let run = Arc::new(Run::default());
    let total = PAYOUTS + DEPOSITS;
    let killer = {
        let (run, config, dir) = (run.clone(), config.clone(), dir.clone());
        let received = received.clone();
        let mut instance = killed;
        tokio::spawn(async move {
            for k in 0..KILLS {
                let at = total * (k + 1) / (KILLS + 1);
                while run.done.load(Ordering::SeqCst) < at {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let (creates, delivering) = (
                    run.creates_to_killed.load(Ordering::SeqCst),
                    received.in_flight.load(Ordering::SeqCst),
                );
                instance.kill();
                run.kills.lock().unwrap().push(Kill {
                    at: Instant::now(),
                    creates,
                    delivering,
                });
                tokio::time::sleep(Duration::from_millis(500)).await;
                let port = instance.port;
                drop(instance);
                instance = Instance::start(&config, port, dir.join("killed.log")).await;
            }
            instance
        })
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let orders: Vec<(&str, usize)> = (0..PAYOUTS)
        .map(|i| ("payouts", i))
        .chain((0..DEPOSITS).map(|i| ("deposits", i)))
        .collect();
    for (n, (path, i)) in orders.into_iter().enumerate() {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let (client, run, sandbox_url) = (client.clone(), run.clone(), sandbox.base_url());
        tasks.spawn(async move {
            let _permit = permit;
            let (id, body) = if path == "payouts" {
                payout(i)
            } else {
                deposit(i)
            };
            let status = order(&client, ports, n % 2, path, &body, &run).await;
            // One payout in ten fails at the provider; the rest complete.
            let (kind, outcome) = match path {
                "payouts" if i % 10 == 7 => ("withdrawals", "fail"),
                "payouts" => ("withdrawals", "completed"),
                _ => ("deposits", "completed"),
            };
            let settled = settle_in_back_office(
                &sandbox_url,
                paybridge::providers::VPAY88,
                kind,
                &id,
                outcome,
            )
            .await
            .is_ok_and(|answer| answer.status().is_success());
            run.done.fetch_add(1, Ordering::SeqCst);
            (id, status, settled)
        });
    }
    let mut statuses: HashMap<Option<u16>, usize> = HashMap::new();
    let mut settled = HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (id, status, was_settled) = done.unwrap();
        *statuses.entry(status).or_default() += 1;
        if was_settled {
            settled.insert(id);
        }
    }
    let mut killed = killer.await.unwrap();
    let driven = started.elapsed();

    // Wait (bounded) for every settled order's callback to be applied, then
    // for the outbox to drain: nothing pending or failed, past every lease a
    // killed instance held.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let finals: HashSet<String> = ledger
            .list(&ListFilter::new(Which::Final, None))
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.key.order_id)
            .collect();
        if settled.iter().all(|id| finals.contains(id)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drain_started = Instant::now();
    let deadline = Instant::now() + LEASE + Duration::from_secs(120);
    let events = loop {
        let events = ledger.events(&EventFilter::all()).await.unwrap();
        let owed = events
            .iter()
            .filter(|e| matches!(e.state, DeliveryState::Pending | DeliveryState::Failed))
            .count();
        if owed == 0 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let drained = drain_started.elapsed();
    assert!(killed.alive(), "{}", killed.log_text());
    let mut kept = kept;
    assert!(kept.alive(), "{}", kept.log_text());
    // Any delivery still arriving now would be one the ledger holds delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = received.got.lock().unwrap().clone();

    // 1. Every delivery was signed, and signed now.
    let unverified = got.iter().filter(|g| !g.verified).count();
    assert_eq!(unverified, 0, "deliveries failing verification");
    let stale: Vec<_> = got.iter().filter(|g| g.skew_s.abs() > 5).collect();
    assert!(stale.is_empty(), "timestamps not of the attempt: {stale:?}");

    // 2. Every event delivered, none dead or still owed; each delivery of an
    //    event carried its id and its body, the same each time, and one of
    //    them was taken in time; nothing delivered that the ledger lacks.
    let by_id: HashMap<&str, &paybridge::ledger::Event> =
        events.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut deliveries: HashMap<&str, Vec<&Got>> = HashMap::new();
    for g in &got {
        deliveries.entry(g.id.as_str()).or_default().push(g);
    }
    let invented: Vec<&&str> = deliveries
        .keys()
        .filter(|id| !by_id.contains_key(**id))
        .collect();
    assert!(
        invented.is_empty(),
        "delivered, not in the ledger: {invented:?}"
    );
    let not_delivered: Vec<_> = events
        .iter()
        .filter(|e| e.state != DeliveryState::Delivered)
        .map(|e| (&e.id, e.state, e.attempts))
        .collect();
    assert!(
        not_delivered.is_empty(),
        "{} of {} events not delivered: {not_delivered:?}",
        not_delivered.len(),
        events.len()
    );
    let mut taken_twice = Vec::new();
    let mut unrecorded = 0;
    for event in &events {
        let seen = deliveries
            .get(event.id.as_str())
            .unwrap_or_else(|| panic!("{} never reached the receiver", event.id));
        for g in seen {
            assert_eq!(g.body, event.body, "{}: another body on a retry", event.id);
        }
        let taken = seen.iter().filter(|g| g.answer == Answer::Take).count();
        assert!(taken >= 1, "{}: delivered, but never taken", event.id);
        if taken > 1 {
            taken_twice.push((event.id.clone(), seen.clone()));
        }
        // Deliveries the ledger has no attempt for: made by a process killed
        // before it recorded them, the event then taken over by the other.
        let recorded = ledger.event_attempts(&event.id).await.unwrap().len();
        unrecorded += seen.len().saturating_sub(recorded);
    }

    // 3. Per order: events numbered 1, 2, ... in the order the ledger wrote
    //    them, each body telling its number, each following the state the
    //    one before left; the last one tells the order's final state.
    let mut per_order: HashMap<(String, String), Vec<&paybridge::ledger::Event>> = HashMap::new();
    for event in &events {
        let kind = format!("{:?}", event.key.kind);
        per_order
            .entry((kind, event.key.order_id.clone()))
            .or_default()
            .push(event);
    }
    let records = ledger
        .list(&ListFilter::new(Which::All, None))
        .await
        .unwrap();
    let mut finals: HashMap<&str, usize> = HashMap::new();
    for record in &records {
        let kind = format!("{:?}", record.key.kind);
        let chain = per_order
            .remove(&(kind, record.key.order_id.clone()))
            .unwrap_or_default();
        let owed = EventType::of_transition(record.key.kind, record.state);
        if owed.is_some() {
            *finals.entry(record.state.as_str()).or_default() += 1;
        }
        let mut before: Option<String> = None;
        for (n, event) in chain.iter().enumerate() {
            let body: Value = serde_json::from_str(&event.body).unwrap();
            let data = &body["data"];
            assert_eq!(event.sequence, n as i64 + 1, "{}: numbered", event.id);
            assert_eq!(data["sequence"], json!(event.sequence), "{}", event.id);
            assert_eq!(body["id"], json!(event.id), "{}", event.id);
            assert_eq!(data["order_id"], json!(record.key.order_id), "{}", event.id);
            let status = data["status"].as_str().unwrap().to_owned();
            if let Some(before) = &before {
                assert_eq!(
                    data["previous_status"].as_str(),
                    Some(before.as_str()),
                    "{}: event {} does not follow the one before",
                    record.key.order_id,
                    n + 1
                );
            }
            before = Some(status);
        }
        match owed {
            Some(event_type) => {
                let last = chain.last().unwrap_or_else(|| {
                    panic!(
                        "{} is {} but has no event",
                        record.key.order_id,
                        record.state.as_str()
                    )
                });
                assert_eq!(last.event_type, event_type, "{}", record.key.order_id);
                assert_eq!(before.as_deref(), Some(record.state.as_str()));
            }
            None => assert!(
                chain.is_empty(),
                "{} is {} after events {:?}",
                record.key.order_id,
                record.state.as_str(),
                chain.iter().map(|e| e.event_type).collect::<Vec<_>>()
            ),
        }
    }
    assert!(
        per_order.is_empty(),
        "events of orders the ledger does not hold: {:?}",
        per_order.keys().collect::<Vec<_>>()
    );
    let settled_final = records
        .iter()
        .filter(|r| settled.contains(&r.key.order_id) && r.state.is_final())
        .count();
    assert_eq!(
        settled_final,
        settled.len(),
        "every order settled at the provider reached its final state"
    );

    // 4. The faults happened at their rates, and each kill cut work in flight.
    let failed = got.iter().filter(|g| g.answer == Answer::Fail).count();
    let held = got.iter().filter(|g| g.answer == Answer::Hold).count();
    let share = |n: usize| n as f64 * 100.0 / got.len() as f64;
    // Each answer is a draw of its own: its share lies within four standard
    // deviations of its rate but about once in 15,000 runs.
    let near = |count: usize, rate: f64| {
        let n = got.len() as f64;
        let deviation = (rate * (1.0 - rate) / n).sqrt();
        (count as f64 / n - rate).abs() <= 4.0 * deviation
    };
    assert!(near(failed, 0.30), "{failed} of {} failed", got.len());
    assert!(near(held, 0.10), "{held} of {} held", got.len());
    let kills = run.kills.lock().unwrap().clone();
    assert_eq!(kills.len(), KILLS);
    for (k, kill) in kills.iter().enumerate() {
        assert!(
            kill.creates + kill.delivering > 0,
            "kill {}: nothing was in flight",
            k + 1
        );
    }
    // An event taken twice was taken first by the instance then killed,
    // before it could record so, and again by the other once the claim ran
    // out: anything else is a delivery that should not have been repeated.
    // (A request the dead process wrote may still be read just after it died.)
    let unexplained: Vec<String> = taken_twice
        .iter()
        .filter(|(_, seen)| {
            let takes: Vec<Instant> = seen
                .iter()
                .filter(|g| g.answer == Answer::Take)
                .map(|g| g.at)
                .collect();
            !takes.windows(2).all(|pair| {
                kills.iter().any(|kill| {
                    pair[0] <= kill.at + Duration::from_millis(250)
                        && pair[1] >= kill.at
                        && pair[1] - pair[0] >= LEASE - Duration::from_secs(1)
                })
            })
        })
        .map(|(id, seen)| {
            let times: Vec<String> = seen
                .iter()
                .map(|g| {
                    format!(
                        "{:?} at {:.3}s",
                        g.answer,
                        g.at.duration_since(started).as_secs_f64()
                    )
                })
                .collect();
            format!("{id}: {}", times.join(", "))
        })
        .collect();
    let kill_times: Vec<String> = kills
        .iter()
        .map(|k| format!("{:.3}s", k.at.duration_since(started).as_secs_f64()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "taken twice with no kill between (kills at {kill_times:?}): {unexplained:#?}"
    );
    // Creates cut by a kill were asked again of the live instance under
    // the same order id: the provider still saw each order at most once.
    let sent_twice: Vec<String> = sandbox
        .create_requests()
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((_, kind, id), n)| format!("{kind:?} {id}: {n}"))
        .collect();
    assert!(
        sent_twice.is_empty(),
        "sent to the provider more than once: {sent_twice:?}"
    );
    let duplicates = got.len() - deliveries.len();
    let last = got.iter().map(|g| g.at).max().unwrap_or(started);
    let mut answers: Vec<String> = statuses
        .iter()
        .map(|(status, n)| match status {
            Some(status) => format!("{status}: {n}"),
            None => format!("none: {n}"),
        })
        .collect();
    answers.sort();
    println!(
        "webhook soak: {total} orders ({PAYOUTS} payouts, {DEPOSITS} deposits), {} settled, create answers {{{}}}, {} creates unanswered (asked again of the live instance under the same order id; each order reached the provider at most once); driven in {:.1} s",
        settled.len(),
        answers.join(", "),
        run.unanswered.load(Ordering::SeqCst),
        driven.as_secs_f64()
    );
    println!(
        "webhook soak: {} events ({} orders completed, {} failed), {} deliveries ({duplicates} retries or repeats), {failed} answered 500 ({:.1}%), {held} held past the timeout ({:.1}%)",
        events.len(),
        finals.get("completed").unwrap_or(&0),
        finals.get("failed").unwrap_or(&0),
        got.len(),
        share(failed),
        share(held),
    );
    println!(
        "webhook soak: {} kills (creates to it and deliveries at the receiver in flight: {}); {unrecorded} deliveries made by a killed instance and taken over; {} events taken twice, each across a kill",
        kills.len(),
        kills
            .iter()
            .map(|k| format!("{} and {}", k.creates, k.delivering))
            .collect::<Vec<_>>()
            .join(", "),
        taken_twice.len()
    );
    println!(
        "webhook soak: 0 lost, 0 dead, 0 unverified, 0 invented; drained {:.1} s after the last callback was applied ({:.1} s from start to the last delivery)",
        drained.as_secs_f64(),
        last.duration_since(started).as_secs_f64()
    );
    // The processes go before the database they use.
    drop(kept);
    drop(killed);
    drop(postgres);
}
