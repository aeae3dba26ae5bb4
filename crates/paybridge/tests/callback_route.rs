//! The axum callback route: what whoever posted is answered, per rejection class,
//! and that nothing internal reaches them. The status API is a scripted server.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{Config, Gateway, Provider};
use paybridge_signing::form_callback_token;
use serde_json::json;

/// A provider whose status API says `order_status` for every order.
async fn status_api(order_status: &'static str) -> String {
    async fn check(State(word): State<&'static str>) -> String {
        json!({"status": true, "order_status": word, "amount": "300.0000", "currency": "MYR",
               "order_datetime": "2026-11-23 10:00:00"})
        .to_string()
    }
    let app = Router::new()
        .route("/merchant/check_status", post(check))
        .with_state(order_status);
    serve(app).await
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn gateway(provider: Provider, base: &str) -> Gateway {
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base}\"\nusername = \"m\"\napi_key = \"k\"\nsecret_key = \"s3cret\"\n\
             [onepunch]\nbase_url = \"{base}\"\nmonster_token = \"MON-x\"\nmonster_key = \"op-key\"\n\
             [http]\nread_attempts = 1\n"
        ),
        "route",
    )
    .unwrap();
    Gateway::for_provider(&config, provider).unwrap()
}

fn callback(order_id: &str, order_status: &str, secret: &str) -> String {
    json!({"order_id": order_id, "amount": 300.0000, "currency": "MYR", "order_status": order_status,
           "status": true, "token": form_callback_token(secret, order_id), "type": "deposit"})
    .to_string()
}

async fn post_to(route: Router, body: String) -> (u16, String) {
    let base = serve(Router::new().nest("/cb", route)).await;
    let answer = reqwest::Client::new()
        .post(format!("{base}/cb"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

type Seen = Arc<Mutex<Vec<String>>>;

fn recording_route(gateway: Gateway, seen: Seen) -> Router {
    CallbackRoute::new(gateway, move |delivery: Delivery| {
        let seen = seen.clone();
        async move {
            let id = delivery
                .event
                .order_id
                .map(|o| o.to_string())
                .unwrap_or_default();
            seen.lock().unwrap().push(id);
            Ok::<(), String>(())
        }
    })
    .into_router()
}

/// Posts a Vpay88 callback for `A1` claiming `claimed` to a route whose status
/// API reports `reported`; the answer, and the orders the handler saw.
async fn deliver(reported: &'static str, claimed: &str) -> ((u16, String), Vec<String>) {
    let base = status_api(reported).await;
    let seen = Seen::default();
    let route = recording_route(gateway(paybridge::providers::VPAY88, &base), seen.clone());
    let answer = post_to(route, callback("A1", claimed, "s3cret")).await;
    let handled = seen.lock().unwrap().clone();
    (answer, handled)
}

#[tokio::test]
async fn a_confirmed_callback_sent_as_a_form_content_type_is_handled_and_answered_success() {
    let (answer, handled) = deliver("completed", "completed").await;
    assert_eq!(answer, (200, "success".into()));
    assert_eq!(handled, vec!["A1".to_owned()]);
}

#[tokio::test]
async fn a_final_status_the_provider_still_reports_pending_is_answered_try_later() {
    let (answer, handled) = deliver("pending", "completed").await;
    assert_eq!(answer, (503, "try later".into()));
    assert!(handled.is_empty(), "nothing reached the handler");
}

#[tokio::test]
async fn a_final_status_contradicted_by_another_final_status_is_refused() {
    let (answer, handled) = deliver("fail", "completed").await;
    assert_eq!(answer, (400, "rejected: not confirmed".into()));
    assert!(handled.is_empty());
}

#[tokio::test]
async fn a_token_made_with_another_secret_is_answered_with_the_class_only() {
    let base = status_api("completed").await;
    let route = recording_route(
        gateway(paybridge::providers::VPAY88, &base),
        Seen::default(),
    );
    let answer = post_to(route, callback("A1", "completed", "guessed")).await;
    assert_eq!(answer, (400, "rejected: signature".into()));
}

#[tokio::test]
async fn a_body_that_is_not_a_callback_is_answered_without_echoing_it() {
    let base = status_api("completed").await;
    let route = recording_route(
        gateway(paybridge::providers::VPAY88, &base),
        Seen::default(),
    );
    let answer = post_to(route, "{\"order_id\": <script>alert(1)</script>".into()).await;
    assert_eq!(answer, (400, "rejected: malformed".into()));
}

#[tokio::test]
async fn handler_errors_and_panics_answer_500_without_their_text() {
    let base = status_api("completed").await;
    let failing = CallbackRoute::new(
        gateway(paybridge::providers::VPAY88, &base),
        |_: Delivery| async { Err::<(), _>("db password=hunter2 refused") },
    )
    .into_router();
    assert_eq!(
        post_to(failing, callback("A1", "completed", "s3cret")).await,
        (500, "handler failed".into())
    );
    let panicking = CallbackRoute::new(
        gateway(paybridge::providers::VPAY88, &base),
        |_: Delivery| async {
            if true {
                panic!("internal state hunter2");
            }
            Ok::<(), String>(())
        },
    )
    .into_router();
    assert_eq!(
        post_to(panicking, callback("A1", "completed", "s3cret")).await,
        (500, "handler failed".into())
    );
}

#[tokio::test]
async fn onepunch_route_with_neither_stored_tokens_nor_confirmation_refuses_to_trust() {
    let base = status_api("completed").await;
    let seen = Seen::default();
    let seen_in_handler = seen.clone();
    let route = CallbackRoute::new(
        gateway(paybridge::providers::ONEPUNCH, &base),
        move |delivery: Delivery| {
            let seen = seen_in_handler.clone();
            async move {
                seen.lock().unwrap().push(delivery.event.amount.to_string());
                Ok::<(), String>(())
            }
        },
    )
    .confirm(false)
    .into_router();
    let body = json!({"monster_token": "MON-x", "transaction_status": true,
        "message": "TRANSACTION SUCCEED", "amount": 1000, "order_num": "A1",
        "payment_token": "OPT1", "signature": "00"})
    .to_string();
    assert_eq!(post_to(route, body).await, (503, "try later".into()));
    assert!(seen.lock().unwrap().is_empty());
}
