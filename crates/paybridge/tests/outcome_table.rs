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

/// A refusal body `{"status": false, "message": ...}` with its HTTP status.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    http: u16,
    message: &'static str,
}

const NO_REFUSAL: Refusal = Refusal {
    http: 200,
    message: "",
};

/// What the scripted provider does for one row.
#[derive(Debug)]
struct Script {
    provider: Provider,
    row: Row,
    requested: Money,
    /// The refusal the create endpoint answers, for the `Refused` and
    /// `UndocumentedRefusal` rows.
    refusal: Refusal,
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
        (paybridge::providers::ONEPUNCH, _) => json!({
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
        CreateAnswer::Refused | CreateAnswer::UndocumentedRefusal => json_answer(
            StatusCode::from_u16(script.refusal.http).unwrap(),
            json!({"status": false, "message": script.refusal.message}),
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
        // A refusal of a query that no document writes says nothing of the order.
        Resolution::QueryRefused => json_answer(
            StatusCode::OK,
            json!({"status": false, "message": "Too many requests"}),
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
        (paybridge::providers::ONEPUNCH, _) => Money::parse("10", "CNY").unwrap(),
        (paybridge::providers::VPAY88, _) => Money::parse("25", "MYR").unwrap(),
        _ => Money::parse("25", "THB").unwrap(),
    }
}

fn deposit(provider: Provider, amount: Money) -> DepositRequest {
    let b = DepositRequest::builder("ROW-1", amount);
    match provider {
        paybridge::providers::ONEPUNCH => b.payment_method("ali-person"),
        paybridge::providers::VPAY88 => b
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

/// Whether the provider can produce this row at all. No provider's document
/// gives a not-found answer to a status query, so no provider produces the
/// "not found" rows; `Resolution::of` reads every refusal of a query as
/// "query refused".
fn applies(provider: Provider, row: &Row) -> bool {
    if row.resolution == Resolution::NotFound {
        return false;
    }
    match provider {
        // No withdrawals, no documented refusal, no status by order number.
        paybridge::providers::ONEPUNCH => {
            row.kind == OrderKind::Deposit
                && !matches!(
                    row.answer,
                    CreateAnswer::DuplicateId | CreateAnswer::Refused
                )
                && matches!(
                    row.resolution,
                    Resolution::NotAsked | Resolution::Unavailable
                )
        }
        _ => row.resolution != Resolution::Unavailable,
    }
}

/// Refusals no document writes for a create of `kind`: another message, a
/// near-variant of the documented duplicate-id answer, and the documented one
/// carried by HTTP 409.
fn undocumented_refusals(kind: OrderKind) -> [Refusal; 3] {
    let (near_variant, documented) = match kind {
        OrderKind::Withdrawal => ("Order ID exist!", "Order id exist!"),
        _ => ("Order ID Exist!", "Order ID Exist."),
    };
    [
        Refusal {
            http: 200,
            message: "Bank Maintenance.",
        },
        Refusal {
            http: 200,
            message: near_variant,
        },
        Refusal {
            http: 409,
            message: documented,
        },
    ]
}

/// The documented refusals of each create call, other than a duplicate id.
fn refusals(provider: Provider, kind: OrderKind) -> &'static [&'static str] {
    match (provider, kind) {
        (paybridge::providers::ONEPUNCH, _) => &[],
        (_, OrderKind::Withdrawal) => &[
            "Params incorrect",
            "Params missing.",
            "bank_id invalid.",
            "Balance not enough!",
            "Amount Invalid!",
        ],
        (paybridge::providers::VPAY88, _) => &[
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

async fn run_row(provider: Provider, row: Row, refusal: Refusal) {
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
        "{provider} {} | {} | {} | HTTP {} {:?}",
        row.kind,
        row.answer.describe(),
        row.resolution.describe(),
        refusal.http,
        refusal.message
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
        let refusals: Vec<Refusal> = match row.answer {
            CreateAnswer::Refused => refusals(provider, row.kind)
                .iter()
                .map(|&message| Refusal { http: 200, message })
                .collect(),
            CreateAnswer::UndocumentedRefusal => undocumented_refusals(row.kind).to_vec(),
            _ => vec![NO_REFUSAL],
        };
        for refusal in refusals {
            run_row(provider, row, refusal).await;
            walked += 1;
        }
    }
    walked
}

#[tokio::test]
async fn every_row_for_vpay88() {
    // Per kind: accepted + documented refusals + not sent + (5 open answers
    // + 3 undocumented refusals) x 10 resolutions.
    assert_eq!(
        walk(paybridge::providers::VPAY88).await,
        (1 + 5 + 1 + 80) + (1 + 5 + 1 + 80)
    );
}

#[tokio::test]
async fn every_row_for_one1pay() {
    assert_eq!(
        walk(paybridge::providers::ONE1PAY).await,
        (1 + 5 + 1 + 80) + (1 + 4 + 1 + 80)
    );
}

#[tokio::test]
async fn every_row_for_onepunch() {
    // Deposits only: accepted, not sent, 4 open answers and 3 undocumented
    // refusals, each unresolvable.
    assert_eq!(walk(paybridge::providers::ONEPUNCH).await, 1 + 1 + 4 + 3);
}
