//! `overhead ITERATIONS`: the same Vpay88 deposit creation (auth, then the
//! order) and status query sent, alternately in one run, by four clients
//! against one local server:
//!
//! - `plain`: reqwest as a hand-written integration uses it (a shared client,
//!   reqwest's own multipart `Form`, each URL given as text);
//! - `fast`: the fastest hand-written client on the same crate (each body
//!   encoded once into one buffer, each URL parsed once, the same shared client
//!   and timeouts);
//! - `hyper`: hyper-util's own client sending the same pre-encoded bytes, with
//!   no timeouts: the floor of the HTTP stack;
//! - `paybridge`: a `Gateway` built from configuration.
//!
//! Each answer is read and its one field checked, as every client must.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::routing::post;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use paybridge::{Config, DepositRequest, Gateway, Money, OrderId, StatusQuery};
use reqwest::multipart::Form;
use serde_json::{json, Value};

use crate::{nanos, ratio_of, spread};

/// What the local provider saw: each connection's peer address, once, and how
/// many requests came.
#[derive(Default)]
pub(crate) struct Seen {
    peers: Mutex<HashSet<SocketAddr>>,
    requests: AtomicUsize,
}

fn answer(seen: Arc<Seen>, body: &'static str) -> axum::routing::MethodRouter {
    post(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, _body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.requests.fetch_add(1, Ordering::Relaxed);
                seen.peers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(peer);
                ([("content-type", "application/json")], body)
            }
        },
    )
}

pub(crate) async fn local_provider() -> (String, Arc<Seen>) {
    let seen: Arc<Seen> = Arc::default();
    let app = axum::Router::new()
        .route("/merchant/auth", answer(seen.clone(), r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv"}"#))
        // Asked once by paybridge (its limits are kept), so its amount check runs on every deposit.
        .route(
            "/merchant/currency",
            answer(seen.clone(), r#"{"status":true,"rate":[{"currency":"MYR","min":10.0000,"max":42000.0000}]}"#),
        )
        .route(
            "/merchant/generate_orders",
            answer(seen.clone(), r#"{"status":true,"p_url":"https://pay.example/checkout/order-pay/92/?key=1234"}"#),
        )
        // The amount of every order deposit() creates: the status a ledger
        // records is the usual one, a duplicate, not a conflict.
        .route(
            "/merchant/check_status",
            answer(
                seen.clone(),
                r#"{"status":true,"order_status":"completed","order_datetime":"2021-11-18 15:00:00","amount":100.5000,"currency":"MYR"}"#,
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (url, seen)
}

/// A Vpay88 gateway on `base_url`, built from configuration as a merchant builds it.
pub(crate) fn gateway(base_url: &str) -> Gateway {
    let config = Config::from_toml(
        &format!("[vpay88]\nbase_url = \"{base_url}\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n"),
        "loadbench",
    )
    .expect("valid configuration");
    Gateway::for_provider(&config, paybridge::providers::VPAY88).expect("a gateway")
}

/// The deposit every client sends.
pub(crate) fn deposit(order_id: &str) -> DepositRequest {
    DepositRequest::builder(order_id, Money::parse("100.50", "MYR").expect("amount"))
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .expect("valid deposit")
}

const AUTH_FIELDS: [(&str, &str); 2] = [("username", "demo"), ("api_key", "demo-api-key")];

fn order_fields<'a>(token: &'a str, order_id: &'a str) -> [(&'a str, &'a str); 7] {
    [
        ("auth", token),
        ("username", "john"),
        ("amount", "100.5"),
        ("currency", "MYR"),
        ("orderid", order_id),
        ("email", "john@example.com"),
        ("phone_number", "601012456789"),
    ]
}

fn status_fields(order_id: &str) -> [(&str, &str); 2] {
    [("username", "demo"), ("id", order_id)]
}

/// The answer's `field`, which must be a string: every client checks what it was told.
fn text_of(answer: &Value, field: &str) -> String {
    answer[field]
        .as_str()
        .unwrap_or_else(|| panic!("the local provider's answer has no {field}"))
        .to_owned()
}

/// reqwest as a hand-written integration uses it.
struct Plain {
    client: reqwest::Client,
    base: String,
}

impl Plain {
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Value {
        let form = fields.iter().fold(Form::new(), |form, (name, value)| {
            form.text(name.to_string(), value.to_string())
        });
        let url = format!("{}{path}", self.base);
        let response = self.client.post(url).multipart(form).send().await;
        response
            .expect("the local provider answers")
            .json()
            .await
            .expect("the local provider answers JSON")
    }

    async fn deposit(&self, order_id: &str) -> String {
        let token = text_of(&self.post("/merchant/auth", &AUTH_FIELDS).await, "auth");
        let order = order_fields(&token, order_id);
        text_of(
            &self.post("/merchant/generate_orders", &order).await,
            "p_url",
        )
    }

    async fn status(&self, order_id: &str) -> String {
        let fields = status_fields(order_id);
        text_of(
            &self.post("/merchant/check_status", &fields).await,
            "order_status",
        )
    }
}

const BOUNDARY: &str = "loadbench-7d1e5c2a9b304f68";
const MULTIPART: &str = "multipart/form-data; boundary=loadbench-7d1e5c2a9b304f68";

/// A multipart body encoded once into one buffer, as the fastest hand-written client does.
fn multipart(fields: &[(&str, &str)]) -> Bytes {
    let mut body = Vec::with_capacity(256);
    for (name, value) in fields {
        for piece in [
            "--",
            BOUNDARY,
            "\r\nContent-Disposition: form-data; name=\"",
            name,
            "\"\r\n\r\n",
            value,
            "\r\n",
        ] {
            body.extend_from_slice(piece.as_bytes());
        }
    }
    for piece in ["--", BOUNDARY, "--\r\n"] {
        body.extend_from_slice(piece.as_bytes());
    }
    Bytes::from(body)
}

/// The endpoints the clients post to.
#[derive(Clone, Copy)]
enum Endpoint {
    Auth,
    Order,
    Status,
}

/// The three endpoints' URLs, parsed once.
struct Endpoints<U> {
    auth: U,
    order: U,
    status: U,
}

impl<U: std::str::FromStr> Endpoints<U>
where
    U::Err: std::fmt::Debug,
{
    fn parse(base: &str) -> Self {
        let at = |path: &str| format!("{base}{path}").parse().expect("a loopback URL");
        Endpoints {
            auth: at("/merchant/auth"),
            order: at("/merchant/generate_orders"),
            status: at("/merchant/check_status"),
        }
    }

    fn at(&self, endpoint: Endpoint) -> &U {
        match endpoint {
            Endpoint::Auth => &self.auth,
            Endpoint::Order => &self.order,
            Endpoint::Status => &self.status,
        }
    }
}

/// A client that posts bodies encoded once into one buffer; the deposit and
/// status query written once over its `post`.
trait PreEncoded {
    async fn post(&self, endpoint: Endpoint, body: Bytes) -> Value;

    async fn deposit(&self, order_id: &str) -> String {
        let auth = self.post(Endpoint::Auth, multipart(&AUTH_FIELDS)).await;
        let token = text_of(&auth, "auth");
        let order = multipart(&order_fields(&token, order_id));
        text_of(&self.post(Endpoint::Order, order).await, "p_url")
    }

    async fn status(&self, order_id: &str) -> String {
        let body = multipart(&status_fields(order_id));
        text_of(&self.post(Endpoint::Status, body).await, "order_status")
    }
}

/// The same shared reqwest client, each body encoded once and each URL parsed once.
struct Fast {
    client: reqwest::Client,
    urls: Endpoints<reqwest::Url>,
}

impl PreEncoded for Fast {
    async fn post(&self, endpoint: Endpoint, body: Bytes) -> Value {
        let response = self
            .client
            .post(self.urls.at(endpoint).clone())
            .header(reqwest::header::CONTENT_TYPE, MULTIPART)
            .body(body)
            .send()
            .await
            .expect("the local provider answers");
        let bytes = response.bytes().await.expect("the local provider's body");
        serde_json::from_slice(&bytes).expect("the local provider answers JSON")
    }
}

/// hyper-util's own pooled client with the same pre-encoded bytes.
struct Hyper {
    client: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    urls: Endpoints<hyper::Uri>,
}

impl PreEncoded for Hyper {
    async fn post(&self, endpoint: Endpoint, body: Bytes) -> Value {
        let request = hyper::Request::post(self.urls.at(endpoint).clone())
            .header(hyper::header::CONTENT_TYPE, MULTIPART)
            .body(Full::new(body))
            .expect("a request");
        let response = self
            .client
            .request(request)
            .await
            .expect("the local provider answers");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the local provider's body")
            .to_bytes();
        serde_json::from_slice(&bytes).expect("the local provider answers JSON")
    }
}

/// The clients, in the order their columns are reported.
pub(crate) const CLIENTS: [&str; 4] = ["plain", "fast", "hyper", "paybridge"];

struct Clients {
    plain: Plain,
    fast: Fast,
    hyper: Hyper,
    paybridge: Gateway,
}

impl Clients {
    async fn deposit(&self, client: usize, order_id: &str) {
        match client {
            0 => drop(self.plain.deposit(order_id).await),
            1 => drop(self.fast.deposit(order_id).await),
            2 => drop(self.hyper.deposit(order_id).await),
            _ => drop(
                self.paybridge
                    .create_deposit(&deposit(order_id))
                    .await
                    .expect("paybridge's deposit"),
            ),
        }
    }

    async fn status(&self, client: usize, order_id: &str) {
        match client {
            0 => drop(self.plain.status(order_id).await),
            1 => drop(self.fast.status(order_id).await),
            2 => drop(self.hyper.status(order_id).await),
            _ => {
                let query = StatusQuery::new(OrderId::new(order_id).expect("an order id"));
                let status = self
                    .paybridge
                    .deposit_status(&query)
                    .await
                    .expect("paybridge's status query");
                drop(status);
            }
        }
    }
}

/// Runs the overhead measurement and returns its JSON report. With `only`,
/// just that client runs (by its column name): a profiler's view of one
/// client's cost per call, with no ratio worth reading.
pub(crate) async fn overhead(iterations: usize, only: Option<&str>) -> Value {
    let runs = |client: usize| only.is_none_or(|name| name == CLIENTS[client]);
    let (base, seen) = local_provider().await;
    // The same timeouts paybridge sets by default: a serious integration sets them too
    // (the documents' PHP sets a 400 s one), and each costs a timer per request.
    let reqwest_client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let clients = Clients {
        plain: Plain {
            client: reqwest_client.clone(),
            base: base.clone(),
        },
        fast: Fast {
            client: reqwest_client,
            urls: Endpoints::parse(&base),
        },
        hyper: Hyper {
            client: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http(),
            urls: Endpoints::parse(&base),
        },
        paybridge: gateway(&base),
    };
    // Warm every pool first.
    for client in (0..CLIENTS.len()).filter(|&c| runs(c)) {
        clients.deposit(client, "WARM").await;
    }
    let mut deposits = vec![Vec::with_capacity(iterations); CLIENTS.len()];
    let mut statuses = vec![Vec::with_capacity(iterations); CLIENTS.len()];
    for i in 0..iterations {
        let id = format!("ORDER-{i}");
        // Rotate which goes first, so no client always meets a warmer cache.
        for turn in 0..CLIENTS.len() {
            let client = (i + turn) % CLIENTS.len();
            if !runs(client) {
                continue;
            }
            let started = Instant::now();
            clients.deposit(client, &id).await;
            deposits[client].push(nanos(started.elapsed()));
            let started = Instant::now();
            clients.status(client, &id).await;
            statuses[client].push(nanos(started.elapsed()));
        }
    }
    let connections = seen.peers.lock().unwrap_or_else(|p| p.into_inner()).len();
    let requests = seen.requests.load(Ordering::Relaxed);
    json!({
        "iterations": iterations,
        "deposit": report(deposits),
        "status": report(statuses),
        "requests": requests,
        "connections": connections,
    })
}

/// Each client's spread, and paybridge's median over each other client's.
fn report(samples: Vec<Vec<u64>>) -> Value {
    let spreads: Vec<Value> = samples.into_iter().map(spread).collect();
    let median = |i: usize| spreads[i]["median_ns"].as_u64().unwrap_or(0);
    let ours = median(CLIENTS.len() - 1);
    let mut out = serde_json::Map::new();
    for (i, name) in CLIENTS.iter().enumerate() {
        out.insert((*name).to_owned(), spreads[i].clone());
    }
    for (i, name) in CLIENTS.iter().enumerate().take(CLIENTS.len() - 1) {
        out.insert(
            format!("ratio_{name}"),
            json!(format!("{:.3}", ratio_of(ours, median(i)))),
        );
    }
    Value::Object(out)
}
