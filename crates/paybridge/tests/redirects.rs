//! paybridge follows no redirect. A scripted provider answers auth, create and
//! status with 3xx pointing at a second loopback server that must receive
//! nothing; each answer is read as the outcome table says, never as the other
//! host's.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use paybridge::{
    Config, Error, Gateway, LearnedFrom, Money, OrderStatus, StatusQuery, WithdrawalRequest,
};
use serde_json::json;

/// The other host: it answers every path as a provider that accepts
/// everything, and counts what reached it.
async fn elsewhere() -> (SocketAddr, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(any(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            json_answer(
                json!({"status": true, "auth": "STOLEN", "message": "Success",
                "order_status": "completed", "amount": "50", "currency": "MYR"}),
            )
        }
    }));
    (serve(app).await, hits)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn json_answer(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn redirect(status: StatusCode, to: SocketAddr, path: &str) -> Response {
    (status, [(header::LOCATION, format!("http://{to}{path}"))]).into_response()
}

/// Which endpoint redirects, and what the status query says.
#[derive(Debug, Clone, Copy)]
struct Script {
    redirect_auth: bool,
    redirect_create: Option<StatusCode>,
    redirect_status: bool,
    held: &'static str,
}

async fn provider(script: Script, other: SocketAddr, creates: Arc<AtomicU32>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/merchant/auth",
            post(move || async move {
                match script.redirect_auth {
                    true => redirect(StatusCode::TEMPORARY_REDIRECT, other, "/merchant/auth"),
                    false => json_answer(json!({"status": true, "auth": "T0KEN"})),
                }
            }),
        )
        .route(
            "/merchant/withdraw_orders",
            post(move || {
                let creates = creates.clone();
                async move {
                    creates.fetch_add(1, Ordering::SeqCst);
                    match script.redirect_create {
                        Some(status) => redirect(status, other, "/merchant/withdraw_orders"),
                        None => json_answer(json!({"status": true, "message": "Success"})),
                    }
                }
            }),
        )
        .route(
            "/merchant/check_withdraw_status",
            post(move || async move {
                match script.redirect_status {
                    true => redirect(
                        StatusCode::MOVED_PERMANENTLY,
                        other,
                        "/merchant/check_withdraw_status",
                    ),
                    false => json_answer(json!({"status": true, "order_status": script.held,
                        "amount": "50.0000", "currency": "MYR", "order_datetime": "2026-12-01 10:00:00"})),
                }
            }),
        );
    serve(app).await
}

fn config(base: SocketAddr) -> Config {
    Config::from_toml(
        &format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"http://{base}\"\nusername = \"m\"\n\
             api_key = \"k\"\nsecret_key = \"s\"\n[http]\nread_attempts = 1\nresolve_attempts = 1\n"
        ),
        "redirects",
    )
    .unwrap()
}

fn payout() -> WithdrawalRequest {
    WithdrawalRequest::builder(
        "W-REDIRECT",
        Money::parse("50", "MYR").unwrap(),
        "101",
        "John",
        "123",
    )
    .build()
    .unwrap()
}

/// Runs one payout against `script`; the result, the provider's create hits
/// and the other host's hits.
async fn run(script: Script) -> (Result<paybridge::WithdrawalReceipt, Error>, u32, u32) {
    let (other, elsewhere_hits) = elsewhere().await;
    let creates = Arc::new(AtomicU32::new(0));
    let base = provider(script, other, creates.clone()).await;
    let gateway = Gateway::from_config(&config(base)).unwrap();
    let result = gateway.create_withdrawal(&payout()).await;
    (
        result,
        creates.load(Ordering::SeqCst),
        elsewhere_hits.load(Ordering::SeqCst),
    )
}

const PLAIN: Script = Script {
    redirect_auth: false,
    redirect_create: None,
    redirect_status: false,
    held: "completed",
};

#[tokio::test]
async fn a_307_on_auth_sends_neither_credentials_nor_the_payout_elsewhere() {
    let (result, creates, elsewhere) = run(Script {
        redirect_auth: true,
        ..PLAIN
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.nothing_sent(), "{err}");
    assert!(err.to_string().contains("307"), "{err}");
    assert_eq!((creates, elsewhere), (0, 0));
}

#[tokio::test]
async fn a_307_on_create_is_resolved_by_status_at_the_provider_not_accepted_from_elsewhere() {
    let (result, creates, elsewhere) = run(Script {
        redirect_create: Some(StatusCode::TEMPORARY_REDIRECT),
        ..PLAIN
    })
    .await;
    let receipt = result.unwrap();
    assert_eq!(
        (receipt.status, receipt.learned_from),
        (OrderStatus::Completed, LearnedFrom::StatusQuery)
    );
    assert_eq!((creates, elsewhere), (1, 0));
}

#[tokio::test]
async fn a_307_on_create_then_a_failed_status_is_held_as_failed() {
    let (result, creates, elsewhere) = run(Script {
        redirect_create: Some(StatusCode::TEMPORARY_REDIRECT),
        held: "fail",
        ..PLAIN
    })
    .await;
    assert!(
        matches!(result, Err(Error::HeldAsFailed { .. })),
        "{result:?}"
    );
    assert_eq!((creates, elsewhere), (1, 0));
}

#[tokio::test]
async fn a_302_after_create_with_a_redirected_status_query_is_ambiguous_not_undelivered() {
    let (result, creates, elsewhere) = run(Script {
        redirect_create: Some(StatusCode::FOUND),
        redirect_status: true,
        ..PLAIN
    })
    .await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Ambiguous { order_id, .. } if order_id.as_str() == "W-REDIRECT"),
        "{err}"
    );
    assert!(err.may_have_been_delivered(), "{err}");
    assert_eq!((creates, elsewhere), (1, 0));
}

#[tokio::test]
async fn a_301_on_a_status_query_is_an_error_and_reaches_nothing_else() {
    let (other, elsewhere_hits) = elsewhere().await;
    let base = provider(
        Script {
            redirect_status: true,
            ..PLAIN
        },
        other,
        Arc::default(),
    )
    .await;
    let gateway = Gateway::from_config(&config(base)).unwrap();
    let err = gateway
        .withdrawal_status(&StatusQuery::new(payout().order_id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 301, .. }),
        "{err}"
    );
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_merchant_client_that_follows_redirects_is_caught_and_the_payout_left_open() {
    let (other, _) = elsewhere().await;
    let base = provider(
        Script {
            redirect_create: Some(StatusCode::TEMPORARY_REDIRECT),
            redirect_status: true,
            ..PLAIN
        },
        other,
        Arc::default(),
    )
    .await;
    let gateway = paybridge::adapters::Vpay88::builder(format!("http://{base}"), "m", "k")
        .secret_key("s")
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = paybridge::PaymentGateway::create_withdrawal(&gateway, &payout())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Ambiguous { .. }),
        "an answer from another address is not the provider's: {err}"
    );
}
