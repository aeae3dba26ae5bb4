//! paybridge's own HTTP client under the faults a provider's server can put on
//! the wire. Each server here is a raw TCP listener on loopback writing exactly
//! the bytes named, and counting the requests it read in full; the gateway is
//! built from configuration as a merchant builds it.
//!
//! For every fault: the error's kind, whether it says the request may have
//! been delivered (only a connection never made proves it was not), that a
//! payout is never sent twice, and that no credential is shown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paybridge::{
    Config, Error, Gateway, LearnedFrom, Money, OrderStatus, StatusQuery, WithdrawalReceipt,
    WithdrawalRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const API_KEY: &str = "APIKEY-5e1f0c9a";
const SECRET_KEY: &str = "SECRETKEY-77d2b4";
const AUTH_TOKEN: &str = "AUTHTOKEN-c0ffee42";

const AUTH: &str = "/merchant/auth";
const CREATE: &str = "/merchant/withdraw_orders";
const STATUS: &str = "/merchant/check_withdraw_status";

/// What the server does with one request it has read in full.
#[derive(Clone)]
enum Act {
    /// Writes these bytes, then reads the connection's next request.
    Answer(Vec<u8>),
    /// Writes these bytes, then closes the connection.
    AnswerAndClose(Vec<u8>),
    /// Writes these bytes, keeps the connection idle this long, then closes it.
    AnswerThenCloseAfter(Vec<u8>, Duration),
    /// Waits this long, then writes these bytes.
    Late(Duration, Vec<u8>),
    /// Closes without answering.
    Close,
    /// Resets the connection (RST) without answering.
    Reset,
}

type Script = Arc<dyn Fn(&str, usize) -> Act + Send + Sync>;

/// How the server treats connections as it accepts them.
#[derive(Clone, Copy, Default)]
struct Accepting {
    /// The connection of this number (0-based) is closed as soon as it is
    /// accepted, its request unread.
    close_unread: Option<usize>,
    /// The listener is closed once this many connections were accepted: the
    /// port then refuses connections.
    at_most: Option<usize>,
}

/// A scripted provider on loopback.
struct Server {
    base: String,
    /// Every request read in full: (connection number, path).
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    async fn start(script: impl Fn(&str, usize) -> Act + Send + Sync + 'static) -> Self {
        Self::start_with(script, Accepting::default()).await
    }

    async fn start_with(
        script: impl Fn(&str, usize) -> Act + Send + Sync + 'static,
        accepting: Accepting,
    ) -> Self {
        let script: Script = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (seen_by_server, accepted_by_server) = (seen.clone(), accepted.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let number = accepted_by_server.fetch_add(1, Ordering::SeqCst);
                if accepting.close_unread == Some(number) {
                    drop(socket);
                } else {
                    let (script, seen) = (script.clone(), seen_by_server.clone());
                    tokio::spawn(serve_connection(socket, number, script, seen));
                }
                if accepting.at_most.is_some_and(|most| number + 1 >= most) {
                    return; // drops the listener
                }
            }
        });
        Self {
            base,
            seen,
            accepted,
        }
    }

    /// A server started elsewhere, at `base`, whose requests go uncounted.
    fn at(base: String) -> Self {
        Self {
            base,
            seen: Arc::default(),
            accepted: Arc::default(),
        }
    }

    /// How many requests for `path` the server read in full.
    fn count(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, seen)| seen == path)
            .count()
    }

    /// The connection numbers requests for `path` came on.
    fn connections_of(&self, path: &str) -> Vec<usize> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, seen)| seen == path)
            .map(|(number, _)| *number)
            .collect()
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn serve_connection(
    mut socket: TcpStream,
    number: usize,
    script: Script,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
) {
    let mut buffered = Vec::new();
    while let Some(path) = read_request(&mut socket, &mut buffered).await {
        let nth = {
            let mut seen = seen.lock().unwrap();
            seen.push((number, path.clone()));
            seen.iter().filter(|(_, p)| *p == path).count()
        };
        match script(&path, nth) {
            Act::Answer(bytes) => {
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Act::AnswerAndClose(bytes) => {
                let _ = socket.write_all(&bytes).await;
                return;
            }
            Act::AnswerThenCloseAfter(bytes, idle) => {
                let _ = socket.write_all(&bytes).await;
                tokio::time::sleep(idle).await;
                return;
            }
            Act::Late(pause, bytes) => {
                tokio::time::sleep(pause).await;
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Act::Close => return,
            Act::Reset => {
                let _ = socket.set_zero_linger();
                return;
            }
        }
    }
}

/// Reads one request (head and `Content-Length` body); its path, or `None`
/// when the connection ends first.
async fn read_request(socket: &mut TcpStream, buffered: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffered[..end]).into_owned();
            let path = head.split_whitespace().nth(1)?.to_owned();
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            while buffered.len() < total {
                fill(socket, buffered).await?;
            }
            buffered.drain(..total);
            return Some(path);
        }
        fill(socket, buffered).await?;
    }
}

async fn fill(socket: &mut TcpStream, buffered: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 16 * 1024];
    match socket.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buffered.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

/// A JSON answer with its length declared, on a connection kept alive.
fn json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn not_found() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
}

fn auth_answer() -> String {
    format!(r#"{{"status":true,"auth":"{AUTH_TOKEN}"}}"#)
}

const ACCEPTED: &str = r#"{"status":true,"message":"Success"}"#;

fn held(status: &str) -> String {
    format!(
        r#"{{"status":true,"order_status":"{status}","amount":"50.0000","currency":"MYR","order_datetime":"2026-12-01 10:00:00"}}"#
    )
}

/// Vpay88 as documented for every path but the create, which `create` scripts
/// (given how many creates arrived, this one included); the status query says
/// the payout is held as completed.
fn provider(create: impl Fn(usize) -> Act + Send + Sync + 'static) -> impl Fn(&str, usize) -> Act {
    move |path, nth| match path {
        AUTH => Act::Answer(json(&auth_answer())),
        CREATE => create(nth),
        STATUS => Act::Answer(json(&held("completed"))),
        _ => Act::Answer(not_found()),
    }
}

/// A Vpay88 gateway from configuration: one attempt per read and one status
/// query to resolve a lost answer unless `http` says otherwise.
fn gateway(server: &Server, http: &str) -> Gateway {
    let toml = format!(
        "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{}\"\nusername = \"m\"\n\
         api_key = \"{API_KEY}\"\nsecret_key = \"{SECRET_KEY}\"\n\
         [http]\nresolve_attempts = 1\nresolve_delay_ms = 0\n{http}\n",
        server.base
    );
    let toml = match http.contains("read_attempts") {
        true => toml,
        false => toml.replace("[http]\n", "[http]\nread_attempts = 1\n"),
    };
    Gateway::from_config(&Config::from_toml(&toml, "transport_faults").unwrap()).unwrap()
}

fn payout_request() -> WithdrawalRequest {
    WithdrawalRequest::builder(
        "W-FAULT-1",
        Money::parse("50", "MYR").unwrap(),
        "101",
        "John",
        "123",
    )
    .build()
    .unwrap()
}

async fn payout(gateway: &Gateway) -> Result<WithdrawalReceipt, Error> {
    let result = gateway.create_withdrawal(&payout_request()).await;
    if let Err(err) = &result {
        assert_shows_no_secret(err);
    }
    result
}

async fn status(gateway: &Gateway) -> Result<paybridge::StatusReport, Error> {
    let result = gateway
        .withdrawal_status(&StatusQuery::new(payout_request().order_id))
        .await;
    if let Err(err) = &result {
        assert_shows_no_secret(err);
    }
    result
}

/// The error's message, its sources' messages and its `Debug` name no
/// credential.
fn assert_shows_no_secret(err: &Error) {
    let mut shown = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        shown.push(cause.to_string());
        source = cause.source();
    }
    for text in shown {
        for secret in [API_KEY, SECRET_KEY, AUTH_TOKEN] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
}

/// A payout whose create may have been delivered: asked by status, never sent
/// again, and accepted as the status query says it is held.
fn assert_left_open_and_resolved(server: &Server, result: Result<WithdrawalReceipt, Error>) {
    let receipt = result.expect("resolved by the status query");
    assert_eq!(
        (receipt.status, receipt.learned_from),
        (OrderStatus::Completed, LearnedFrom::StatusQuery)
    );
    assert_eq!(server.count(STATUS), 1, "the status is asked once");
    assert!(server.count(CREATE) <= 1, "the payout was sent again");
}

// ---- Connections that end before an answer ---------------------------------

#[tokio::test]
async fn a_closed_port_is_not_delivered_on_a_read_and_on_a_payout() {
    // Auth answered and its connection closed; then the port closes.
    let server = Server::start_with(
        |path, _| match path {
            AUTH => Act::AnswerAndClose(json(&auth_answer())),
            _ => Act::Close,
        },
        Accepting {
            at_most: Some(1),
            ..Accepting::default()
        },
    )
    .await;
    let gateway = gateway(&server, "");
    let err = payout(&gateway).await.unwrap_err();
    assert!(err.nothing_sent(), "{err}");
    assert!(!err.may_have_been_delivered(), "{err}");
    assert_eq!(err.kind(), "transport", "{err}");
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert_eq!((server.count(CREATE), server.count(STATUS)), (0, 0));

    let err = status(&gateway).await.unwrap_err();
    assert!(err.nothing_sent(), "{err}");
    assert_eq!(err.kind(), "transport", "{err}");
}

#[tokio::test]
async fn a_connection_accepted_and_closed_unread_leaves_a_payout_open() {
    // Auth on connection 0, closed after its answer; the create's connection
    // is closed as accepted. A connection was made: the payout may have been
    // read, so it is asked by status (on connection 2), never sent again.
    let server = Server::start_with(
        |path, nth| match path {
            AUTH => Act::AnswerAndClose(json(&auth_answer())),
            _ => provider(|_| Act::Answer(json(ACCEPTED)))(path, nth),
        },
        Accepting {
            close_unread: Some(1),
            ..Accepting::default()
        },
    )
    .await;
    let result = payout(&gateway(&server, "")).await;
    assert_eq!(server.count(CREATE), 0);
    assert_left_open_and_resolved(&server, result);
}

#[tokio::test]
async fn a_connection_accepted_and_closed_unread_is_a_transport_failure_on_a_read() {
    let server = Server::start_with(
        provider(|_| Act::Close),
        Accepting {
            close_unread: Some(0),
            ..Accepting::default()
        },
    )
    .await;
    let err = status(&gateway(&server, "")).await.unwrap_err();
    assert_eq!(err.kind(), "transport", "{err}");
    assert!(err.may_have_been_delivered(), "{err}");
    assert!(err.to_string().contains("broke off"), "{err}");
}

#[tokio::test]
async fn a_payout_read_then_closed_or_reset_unanswered_is_sent_once_and_asked_by_status() {
    for ending in [Act::Close, Act::Reset] {
        let server = Server::start(provider(move |_| ending.clone())).await;
        let result = payout(&gateway(&server, "")).await;
        assert_eq!(server.count(CREATE), 1);
        assert_left_open_and_resolved(&server, result);
    }
}

#[tokio::test]
async fn a_read_reset_after_it_was_read_may_have_been_delivered_and_is_retried() {
    // Two resets, then the answer: a read is retried on a new connection.
    let server = Server::start(|path, nth| match (path, nth) {
        (STATUS, 1 | 2) => Act::Reset,
        (STATUS, _) => Act::Answer(json(&held("pending"))),
        _ => Act::Answer(not_found()),
    })
    .await;
    let report = status(&gateway(&server, "read_attempts = 3"))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Processing);
    assert_eq!(server.count(STATUS), 3);

    let server = Server::start(|_, _| Act::Reset).await;
    let err = status(&gateway(&server, "")).await.unwrap_err();
    assert_eq!(err.kind(), "transport", "{err}");
    assert!(err.may_have_been_delivered(), "{err}");
}

// ---- Answers that break off or never end ------------------------------------

#[tokio::test]
async fn half_the_headers_then_close_leaves_a_payout_open() {
    let server = Server::start(provider(|_| {
        Act::AnswerAndClose(b"HTTP/1.1 200 OK\r\nContent-Type: appl".to_vec())
    }))
    .await;
    let result = payout(&gateway(&server, "")).await;
    assert_eq!(server.count(CREATE), 1);
    assert_left_open_and_resolved(&server, result);
}

#[tokio::test]
async fn half_a_body_shorter_than_its_content_length_then_close_leaves_a_payout_open() {
    let server = Server::start(provider(|_| {
        Act::AnswerAndClose(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"status\":tr"
                .to_vec(),
        )
    }))
    .await;
    let result = payout(&gateway(&server, "")).await;
    assert_eq!(server.count(CREATE), 1);
    assert_left_open_and_resolved(&server, result);

    // On a read: a transport failure after sending.
    let server = Server::start(|_, _| {
        Act::AnswerAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{\"sta".to_vec())
    })
    .await;
    let err = status(&gateway(&server, "")).await.unwrap_err();
    assert_eq!(err.kind(), "transport", "{err}");
    assert!(err.may_have_been_delivered(), "{err}");
}

#[tokio::test]
async fn an_http_1_0_answer_without_a_length_ended_by_close_is_read_whole() {
    let server = Server::start(provider(|_| {
        Act::AnswerAndClose(
            format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{ACCEPTED}")
                .into_bytes(),
        )
    }))
    .await;
    let receipt = payout(&gateway(&server, "")).await.unwrap();
    assert_eq!(receipt.learned_from, LearnedFrom::CreateAnswer);
    assert_eq!((server.count(CREATE), server.count(STATUS)), (1, 0));
}

#[tokio::test]
async fn a_chunked_answer_that_never_ends_times_out_a_payout_left_open() {
    let server = Server::start(provider(|_| {
        Act::Answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"sta\r\n".to_vec(),
        )
    }))
    .await;
    let result = payout(&gateway(&server, "request_timeout_ms = 300")).await;
    assert_eq!(server.count(CREATE), 1);
    assert_left_open_and_resolved(&server, result);
}

#[tokio::test]
async fn an_answer_slower_than_the_request_timeout_is_a_timeout_that_may_have_been_delivered() {
    let slow = || Act::Late(Duration::from_secs(5), json(ACCEPTED));
    let server = Server::start(provider(move |_| slow())).await;
    let result = payout(&gateway(&server, "request_timeout_ms = 300")).await;
    assert_eq!(server.count(CREATE), 1);
    assert_left_open_and_resolved(&server, result);

    let server = Server::start(move |_, _| slow()).await;
    let err = status(&gateway(&server, "request_timeout_ms = 300"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(err.may_have_been_delivered(), "{err}");
    assert!(!err.nothing_sent(), "{err}");
}

#[tokio::test]
async fn an_answer_over_max_answer_bytes_leaves_a_payout_open_with_and_without_a_length() {
    let big = format!(r#"{{"status":true,"message":"{}"}}"#, "x".repeat(4096));
    for declared in [true, false] {
        let answer = match declared {
            true => json(&big),
            false => format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
                big.len()
            )
            .into_bytes(),
        };
        let server = Server::start(provider(move |_| Act::Answer(answer.clone()))).await;
        let result = payout(&gateway(&server, "max_answer_bytes = 1024")).await;
        assert_eq!(server.count(CREATE), 1, "declared: {declared}");
        assert_left_open_and_resolved(&server, result);
    }
}

// ---- Answers HTTP allows that a client must read right ----------------------

#[tokio::test]
async fn an_interim_100_continue_before_the_answer_is_skipped() {
    let server = Server::start(provider(|_| {
        let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        bytes.extend(json(ACCEPTED));
        Act::Answer(bytes)
    }))
    .await;
    let receipt = payout(&gateway(&server, "")).await.unwrap();
    assert_eq!(receipt.learned_from, LearnedFrom::CreateAnswer);
    assert_eq!((server.count(CREATE), server.count(STATUS)), (1, 0));
}

#[tokio::test]
async fn a_302_with_a_location_is_not_followed_and_leaves_a_payout_open() {
    let other = Server::start(|_, _| Act::Answer(json(ACCEPTED))).await;
    let location = format!("{}{CREATE}", other.base);
    let server = Server::start(provider(move |_| {
        Act::Answer(
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes(),
        )
    }))
    .await;
    let result = payout(&gateway(&server, "")).await;
    assert_eq!(server.count(CREATE), 1);
    assert_left_open_and_resolved(&server, result);
    assert_eq!(other.connections(), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_second_answer_sent_unasked_is_never_read_as_the_next_requests_answer() {
    // The first status answer carries a second, unasked answer behind it on
    // the kept-alive connection; the next status query must get its own.
    let server = Server::start(|path, nth| match (path, nth) {
        (STATUS, 1) => {
            let mut bytes = json(&held("pending"));
            bytes.extend(json(&held("completed")));
            Act::Answer(bytes)
        }
        (STATUS, _) => Act::Answer(json(&held("fail"))),
        _ => Act::Answer(not_found()),
    })
    .await;
    let gateway = gateway(&server, "");
    assert_eq!(
        status(&gateway).await.unwrap().status,
        OrderStatus::Processing
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(status(&gateway).await.unwrap().status, OrderStatus::Failed);
    assert_eq!(server.count(STATUS), 2);
}

// ---- Pooled connections ------------------------------------------------------

#[tokio::test]
async fn a_kept_alive_connection_the_server_closes_between_requests_is_not_reused() {
    // The status answer keeps the connection alive, then the server closes it
    // while idle; the payout that follows goes on a new connection, once.
    let server = Server::start(|path, nth| match path {
        STATUS => Act::AnswerThenCloseAfter(json(&held("pending")), Duration::from_millis(20)),
        _ => provider(|_| Act::Answer(json(ACCEPTED)))(path, nth),
    })
    .await;
    let gateway = gateway(&server, "");
    status(&gateway).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let receipt = payout(&gateway).await.unwrap();
    assert_eq!(receipt.learned_from, LearnedFrom::CreateAnswer);
    assert_eq!((server.count(AUTH), server.count(CREATE)), (1, 1));
    assert_eq!(server.connections(), 2);
    assert_eq!(server.connections_of(CREATE), vec![1]);
}

#[tokio::test]
async fn a_payout_on_a_kept_alive_connection_read_then_closed_is_not_resent_on_a_new_one() {
    // Auth and the create share the kept-alive connection; the server reads
    // the create and closes, as a server does whose keep-alive ran out.
    let server = Server::start(provider(|_| Act::Close)).await;
    let result = payout(&gateway(&server, "read_attempts = 3")).await;
    assert_eq!(server.connections_of(AUTH), vec![0]);
    assert_eq!(server.connections_of(CREATE), vec![0]);
    assert_left_open_and_resolved(&server, result);
}

// ---- ONE-PUNCH: a create it cannot look up, and a status path that is signed --

const MONSTER_TOKEN: &str = "MON-7c1d";
const MONSTER_KEY: &str = "MONSTERKEY-9b8a";
const CREATE_PAYMENT: &str = "/api/v0/payment/";

fn onepunch(server: &Server) -> Gateway {
    let toml = format!(
        "[onepunch]\nbase_url = \"{}\"\nmonster_token = \"{MONSTER_TOKEN}\"\n\
         monster_key = \"{MONSTER_KEY}\"\nnotify_url = \"https://shop.example/cb\"\n\
         return_url = \"https://shop.example/back\"\n[http]\nread_attempts = 1\n",
        server.base
    );
    let config = Config::from_toml(&toml, "transport_faults").unwrap();
    Gateway::for_provider(&config, paybridge::providers::ONEPUNCH).unwrap()
}

/// The error shows neither the key nor anything of the signed path: the
/// account's token, the payment token, the signature.
fn assert_shows_no_signed_path(err: &Error, payment_token: &str) {
    let mut shown = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        shown.push(cause.to_string());
        source = cause.source();
    }
    for text in shown {
        for hidden in [
            MONSTER_KEY,
            MONSTER_TOKEN,
            payment_token,
            "/api/v0/payment/status",
        ] {
            assert!(!text.contains(hidden), "{hidden} shown in {text}");
        }
    }
}

#[tokio::test]
async fn a_onepunch_payment_read_then_closed_is_ambiguous_and_sent_once() {
    let server = Server::start(|_, _| Act::Close).await;
    let request =
        paybridge::DepositRequest::builder("D-FAULT-1", Money::parse("100", "CNY").unwrap())
            .payment_method("ali-person")
            .build()
            .unwrap();
    let err = onepunch(&server)
        .create_deposit(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Ambiguous { order_id, .. } if order_id.as_str() == "D-FAULT-1"),
        "{err}"
    );
    assert_eq!(server.count(CREATE_PAYMENT), 1);
    assert_shows_no_signed_path(&err, "none");
}

#[tokio::test]
async fn a_onepunch_status_query_reset_shows_nothing_of_its_signed_path() {
    let server = Server::start(|_, _| Act::Reset).await;
    let query = StatusQuery::new(paybridge::OrderId::new("D-FAULT-2").unwrap())
        .with_provider_ref("OPa1b2c3d4e5");
    let err = onepunch(&server).deposit_status(&query).await.unwrap_err();
    assert_eq!(err.kind(), "transport", "{err}");
    assert_eq!(server.connections(), 1);
    assert_shows_no_signed_path(&err, "OPa1b2c3d4e5");
}

#[tokio::test]
async fn a_payment_token_too_long_for_a_url_is_refused_without_quoting_the_signed_path() {
    let server = Server::start(|_, _| Act::Answer(not_found())).await;
    let token = "T".repeat(70_000);
    let query = StatusQuery::new(paybridge::OrderId::new("D-FAULT-3").unwrap())
        .with_provider_ref(token.as_str());
    let err = onepunch(&server).deposit_status(&query).await.unwrap_err();
    assert!(err.nothing_sent(), "{err}");
    assert_eq!(server.connections(), 0);
    assert_shows_no_signed_path(&err, &token);
}

#[test]
fn a_request_s_debug_shows_neither_its_signed_path_nor_its_form() {
    use paybridge::transport::{BaseUrl, Outgoing};
    let base = BaseUrl::parse("onepunch.base_url", "https://api.one-punch.example").unwrap();
    let signed = format!("/api/v0/payment/status/OPa1b2/{MONSTER_TOKEN}/123456/0f1e2d3c4b5a");
    let get = Outgoing::get(base.endpoint(&signed).unwrap());
    let form = format!("api_key={API_KEY}&auth={AUTH_TOKEN}");
    let post = Outgoing::post(
        base.endpoint("/merchant/withdraw_orders").unwrap(),
        paybridge::wire::HeaderValue::from_static("application/x-www-form-urlencoded"),
        form.clone().into(),
    );
    for shown in [format!("{get:?}"), format!("{post:?}"), format!("{get:#?}")] {
        for hidden in [MONSTER_TOKEN, "0f1e2d3c4b5a", "OPa1b2", API_KEY, AUTH_TOKEN] {
            assert!(!shown.contains(hidden), "{hidden} shown in {shown}");
        }
        assert!(shown.contains("api.one-punch.example"), "{shown}");
    }
    assert!(format!("{post:?}").contains(&form.len().to_string()));
}

// ---- Connects that never complete -------------------------------------------

/// A listener whose accept queue (one connection) is full and never drained,
/// so a connection to it is never made; with `auth`, the one connection
/// accepted first answers a payout's requests up to its auth. Returns the
/// base URL.
async fn unconnectable(auth: bool) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let (ready, filled) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let accepted = match auth {
            true => Some(listener.accept().await.unwrap().0),
            false => None,
        };
        // Takes the queue's one place: no other connection completes.
        let filler = TcpStream::connect(addr).await.unwrap();
        let _ = ready.send(());
        if let Some(mut socket) = accepted {
            // The currency list (not found), then auth, answered with close.
            let mut buffered = Vec::new();
            while let Some(path) = read_request(&mut socket, &mut buffered).await {
                if path != AUTH {
                    let _ = socket.write_all(&not_found()).await;
                    continue;
                }
                let mut answer = json(&auth_answer());
                answer.splice(17..17, b"Connection: close\r\n".iter().copied());
                let _ = socket.write_all(&answer).await;
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop((listener, filler));
    });
    if !auth {
        filled.await.unwrap();
    }
    format!("http://{addr}")
}

#[tokio::test]
async fn a_connect_past_the_connect_timeout_is_a_timeout_that_was_not_delivered() {
    let http = "connect_timeout_ms = 200\nrequest_timeout_ms = 5000";
    let server = Server::at(unconnectable(false).await);
    let err = status(&gateway(&server, http)).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(err.nothing_sent(), "{err}");

    // A payout whose auth was answered and whose create could not connect.
    let server = Server::at(unconnectable(true).await);
    let err = payout(&gateway(&server, http)).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(err.nothing_sent(), "{err}");
    assert!(!err.may_have_been_delivered(), "{err}");
}

#[tokio::test]
async fn a_merchant_clients_connect_past_its_connect_timeout_is_a_timeout_not_delivered() {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(200))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let gateway = paybridge::adapters::Vpay88::builder(unconnectable(false).await, "m", API_KEY)
        .secret_key(SECRET_KEY)
        .http_client(client)
        .build()
        .unwrap();
    let query = StatusQuery::new(payout_request().order_id);
    let err = paybridge::PaymentGateway::withdrawal_status(&gateway, &query)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(err.nothing_sent(), "{err}");
}

#[test]
fn a_pooled_connection_whose_runtime_ended_is_not_used_for_the_next_payout() {
    // A program that runs each call on a runtime of its own: the connection
    // pooled on the first is gone with it; the payout on the second must go
    // on a new connection, once, and be read as answered.
    let serving = tokio::runtime::Runtime::new().unwrap();
    let server = serving.block_on(Server::start(provider(|_| Act::Answer(json(ACCEPTED)))));
    let gateway = gateway(&server, "");
    let first = tokio::runtime::Runtime::new().unwrap();
    first.block_on(status(&gateway)).unwrap();
    drop(first);
    let second = tokio::runtime::Runtime::new().unwrap();
    let receipt = second.block_on(payout(&gateway)).unwrap();
    assert_eq!(receipt.learned_from, LearnedFrom::CreateAnswer);
    assert_eq!((server.count(CREATE), server.count(STATUS)), (1, 1));
}
