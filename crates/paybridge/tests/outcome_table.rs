//! Walks every row of the outcome table (`paybridge::outcome::table`) for Vpay88,
//! One1Pay and ONE-PUNCH against a scripted provider: the create endpoint answers
//! as the row says, the status endpoint resolves as the row says. Each row must
//! come back as its verdict, and the create endpoint must be hit at most once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use paybridge::outcome::{table, CreateAnswer, Holding, Resolution, Row, Verdict};
use paybridge::{
    Config, DepositRequest, Error, Gateway, LearnedFrom, Money, OrderKind, OrderStatus, Provider,
    WithdrawalRequest,
};
use serde_json::{json, Value};

/// What the scripted provider does for one row.
#[derive(Debug)]
struct Script {
    provider: Provider,
    row: Row,
    requested: Money,
    /// A documented refusal message, for the `Refused` row.
    refusal: &'static str,
    creates: AtomicU32,
}

fn status_word(kind: OrderKind, status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        // One1Pay's own spelling of a payout not yet settled; the SDK reads every
        // provider's words from either.
        OrderStatus::Processing => "proccess",
        OrderStatus::Completed => "completed",
        OrderStatus::Failed => "fail",
        OrderStatus::Rejected if kind == OrderKind::Withdrawal => "rejected",
        _ => "fail",
    }
}

fn json_answer(status: StatusCode, value: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A 200 whose body breaks off: the client sees the connection drop after sending.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("dropped"))
    });
    Response::new(Body::from_stream(stream))
}

fn html(status: StatusCode) -> Response {
    (status, "<html><body>Bad Gateway</body></html>").into_response()
}

async fn create(State(script): State<Arc<Script>>) -> Response {
    script.creates.fetch_add(1, Ordering::SeqCst);
    let accepted = match (script.provider, script.row.kind) {
        (Provider::OnePunch, _) => json!({
            "status": true, "message": "REGISTER PAYMENT SUCCEED", "user_info": {},
            "payload": {"payment_url": "https://pay.example/p/1", "payment_token": "OPT1", "amount": 1000}
        }),
        (_, OrderKind::Withdrawal) => json!({"status": true, "message": "Success"}),
        _ => json!({"status": true, "p_url": "https://pay.example/p/1"}),
    };
    let duplicate = match script.row.kind {
        OrderKind::Withdrawal => "Order id exist!",
        _ => "Order ID Exist.",
    };
    match script.row.answer {
        CreateAnswer::Accepted => json_answer(StatusCode::OK, accepted),
        CreateAnswer::Refused => json_answer(
            StatusCode::OK,
            json!({"status": false, "message": script.refusal}),
        ),
        CreateAnswer::DuplicateId => json_answer(
            StatusCode::OK,
            json!({"status": false, "message": duplicate}),
        ),
        CreateAnswer::ClientError => html(StatusCode::BAD_REQUEST),
        CreateAnswer::ServerError => html(StatusCode::BAD_GATEWAY),
        CreateAnswer::Lost => dropped(),
        CreateAnswer::Undecodable => html(StatusCode::OK),
        other => panic!("{other:?} is not scripted at the create endpoint"),
    }
}

async fn status(State(script): State<Arc<Script>>) -> Response {
    let (kind, requested) = (script.row.kind, &script.requested);
    match script.row.resolution {
        Resolution::Found { status, holding } => {
            let amount = match holding {
                Holding::OtherAmount => {
                    (requested.amount() + rust_decimal::Decimal::ONE).to_string()
                }
                _ => format!("{:.4}", requested.amount()),
            };
            let currency = match holding {
                Holding::OtherCurrency => "VND".to_owned(),
                _ => requested.currency().to_string(),
            };
            json_answer(
                StatusCode::OK,
                json!({
                    "status": true,
                    "order_status": status_word(kind, status),
                    "order_datetime": "2026-11-23 10:00:00",
                    "amount": amount,
                    "currency": currency,
                }),
            )
        }
        Resolution::NotFound => json_answer(
            StatusCode::OK,
            json!({"status": false, "message": "Order not found."}),
        ),
        Resolution::QueryFailed => html(StatusCode::SERVICE_UNAVAILABLE),
        Resolution::QueryGarbage => html(StatusCode::OK),
        other => panic!("{other:?} is not scripted at the status endpoint"),
    }
}

async fn auth() -> Response {
    json_answer(StatusCode::OK, json!({"status": true, "auth": "T0KEN"}))
}

async fn serve(script: Arc<Script>) -> SocketAddr {
    let app = Router::new()
        .route("/merchant/auth", post(auth))
        .route("/merchant/generate_orders", post(create))
        .route("/merchant/withdraw_orders", post(create))
        .route("/merchant/check_status", post(status))
        .route("/merchant/check_withdraw_status", post(status))
        .route("/api/v0/payment/", post(create))
        .route("/api/v0/payment/status/{*rest}", get(status))
        .with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A loopback port nothing listens on: connecting fails before anything is sent.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn gateway(provider: Provider, base: &str) -> Gateway {
    let config = Config::from_toml(
        &format!(
            r#"
[vpay88]
base_url = "{base}"
username = "m"
api_key = "k"
secret_key = "s"
[one1pay]
base_url = "{base}"
username = "m"
api_key = "k"
secret_key = "s"
[onepunch]
base_url = "{base}"
monster_token = "MON-x"
monster_key = "key"
notify_url = "https://merchant.example/notify"
return_url = "https://merchant.example/back"
[http]
read_attempts = 1
resolve_attempts = 2
resolve_delay_ms = 1
request_timeout_ms = 5000
"#
        ),
        "outcome table",
    )
    .unwrap();
    Gateway::for_provider(&config, provider).unwrap()
}

fn requested(provider: Provider, kind: OrderKind) -> Money {
    match (provider, kind) {
        (Provider::OnePunch, _) => Money::parse("10", "CNY").unwrap(),
        (Provider::Vpay88, _) => Money::parse("25", "MYR").unwrap(),
        _ => Money::parse("25", "THB").unwrap(),
    }
}

fn deposit(provider: Provider, amount: Money) -> DepositRequest {
    let b = DepositRequest::builder("ROW-1", amount);
    match provider {
        Provider::OnePunch => b.payment_method("ali-person"),
        Provider::Vpay88 => b
            .customer_name("john")
            .email("john@example.com")
            .phone("60123"),
        _ => b
            .customer_name("john")
            .email("john@example.com")
            .phone("60123")
            .bank_id("101")
            .payment_method("thaiqr")
            .redirect_url("https://merchant.example/back")
            .customer_bank_holder_name("John")
            .customer_bank_account("1"),
    }
    .build()
    .unwrap()
}

/// What the SDK's result says, as a verdict.
fn verdict_of<T>(result: &Result<T, Error>) -> Verdict {
    match result {
        Ok(_) => Verdict::Accepted,
        Err(Error::HeldAsFailed { .. }) => Verdict::HeldAsFailed,
        Err(Error::OrderIdConflict { .. }) => Verdict::IdHeldByAnotherOrder,
        Err(Error::Ambiguous { order_id, .. }) => {
            assert_eq!(
                order_id.as_str(),
                "ROW-1",
                "an ambiguous order names its id"
            );
            Verdict::Ambiguous
        }
        Err(err) if !err.may_have_been_delivered() => Verdict::Refused,
        Err(err) => panic!("an unclassified error escaped: {} ({err})", err.kind()),
    }
}

/// Whether the provider can produce this row at all.
fn applies(provider: Provider, row: &Row) -> bool {
    match provider {
        // No withdrawals, no duplicate-id answer, no status by order number.
        Provider::OnePunch => {
            row.kind == OrderKind::Deposit
                && row.answer != CreateAnswer::DuplicateId
                && matches!(
                    row.resolution,
                    Resolution::NotAsked | Resolution::Unavailable
                )
        }
        _ => row.resolution != Resolution::Unavailable,
    }
}

/// The documented refusals of each create call, plus one undocumented message.
fn refusals(provider: Provider, kind: OrderKind) -> &'static [&'static str] {
    match (provider, kind) {
        (Provider::OnePunch, _) => &["INVALID SIGNATURE"],
        (_, OrderKind::Withdrawal) => &[
            "Params incorrect",
            "Params missing.",
            "bank_id invalid.",
            "Balance not enough!",
            "Amount Invalid!",
            "Bank Maintenance.",
        ],
        (Provider::Vpay88, _) => &[
            "email incorrect.",
            "Params missing.",
            "Currency invalid.",
            "Invalid Amount.",
            "Params incorrect.",
        ],
        _ => &[
            "email incorrect.",
            "Params missing.",
            "Invalid Amount.",
            "Params incorrect.",
        ],
    }
}

async fn run_row(provider: Provider, row: Row, refusal: &'static str) {
    let amount = requested(provider, row.kind);
    let script = Arc::new(Script {
        provider,
        row,
        requested: amount.clone(),
        refusal,
        creates: AtomicU32::new(0),
    });
    let addr = if row.answer == CreateAnswer::NotSent {
        closed_port().await
    } else {
        serve(script.clone()).await
    };
    let gateway = gateway(provider, &format!("http://{addr}"));
    let label = format!(
        "{provider} {} | {} | {} | {refusal}",
        row.kind,
        row.answer.describe(),
        row.resolution.describe()
    );
    let got = match row.kind {
        OrderKind::Withdrawal => {
            let request = WithdrawalRequest::builder("ROW-1", amount, "101", "John Doe", "1")
                .build()
                .unwrap();
            let result = gateway.create_withdrawal(&request).await;
            if let Ok(receipt) = &result {
                let expected = match row.resolution {
                    // A payout the provider holds unsettled is in flight,
                    // whichever word says so (`pending` or `proccess`).
                    Resolution::Found {
                        status: OrderStatus::Pending,
                        ..
                    } => (OrderStatus::Processing, LearnedFrom::StatusQuery),
                    Resolution::Found { status, .. } => (status, LearnedFrom::StatusQuery),
                    _ => (OrderStatus::Processing, LearnedFrom::CreateAnswer),
                };
                assert_eq!(
                    (receipt.status, receipt.learned_from),
                    expected,
                    "{label}: the receipt says what the provider holds"
                );
            }
            verdict_of(&result)
        }
        _ => verdict_of(&gateway.create_deposit(&deposit(provider, amount)).await),
    };
    assert_eq!(got, row.verdict, "{label}");
    let creates = script.creates.load(Ordering::SeqCst);
    let expected_creates = u32::from(row.answer != CreateAnswer::NotSent);
    assert_eq!(creates, expected_creates, "{label}: create endpoint hits");
}

async fn walk(provider: Provider) -> usize {
    let mut walked = 0;
    for row in table().into_iter().filter(|row| applies(provider, row)) {
        let messages: &[&'static str] = if row.answer == CreateAnswer::Refused {
            refusals(provider, row.kind)
        } else {
            &[""]
        };
        for refusal in messages {
            run_row(provider, row, refusal).await;
            walked += 1;
        }
    }
    walked
}

#[tokio::test]
async fn every_row_for_vpay88() {
    // 2 kinds x (accepted + refusals + not sent + 5 open answers x 10 resolutions).
    assert_eq!(
        walk(Provider::Vpay88).await,
        (1 + 6 + 1 + 50) + (1 + 5 + 1 + 50)
    );
}

#[tokio::test]
async fn every_row_for_one1pay() {
    assert_eq!(
        walk(Provider::One1Pay).await,
        (1 + 6 + 1 + 50) + (1 + 4 + 1 + 50)
    );
}

#[tokio::test]
async fn every_row_for_onepunch() {
    // Deposits only: accepted, refused, not sent, and 4 open answers, each unresolvable.
    assert_eq!(walk(Provider::OnePunch).await, 1 + 1 + 1 + 4);
}
