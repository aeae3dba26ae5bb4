//! Every line of the service's contract, through real HTTP, against the
//! sandbox, on SQLite and PostgreSQL.

mod common;

use common::{call, sent, start, KEY};
use paybridge_testkit::on_every_database;
use reqwest::Method;
use serde_json::json;

fn deposit(order_id: &str, amount: &str) -> serde_json::Value {
    json!({
        "order_id": order_id,
        "amount": amount,
        "currency": "MYR",
        "customer": {"name": "Aminah", "email": "aminah@example.com", "phone": "60123456789"},
    })
}

fn payout(order_id: &str) -> serde_json::Value {
    json!({
        "order_id": order_id, "amount": "80.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "Aminah", "account_no": "1234567890",
    })
}

async fn raw(
    url: &str,
    auth: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// What is sent (a name, the Authorization header, the content type, the
/// body) and what must come back (status, kind, field).
struct Bad {
    what: &'static str,
    auth: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    kind: &'static str,
    field: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
fn bad(
    what: &'static str,
    auth: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    kind: &'static str,
    field: Option<&'static str>,
) -> Bad {
    Bad {
        what,
        auth,
        content_type,
        body,
        status,
        kind,
        field,
    }
}

async fn every_bad_request_gets_the_one_error_shape_and_sends_nothing(url: &str) {
    let running = start(url, None).await;
    let deposits = format!("{}/v1/deposits", running.api);
    let good = serde_json::to_vec(&deposit("BAD-1", "10.00")).unwrap();
    let cases: Vec<Bad> = vec![
        bad(
            "no key",
            None,
            "application/json",
            good.clone(),
            401,
            "unauthorized",
            None,
        ),
        bad(
            "a wrong key",
            Some("Bearer nope".into()),
            "application/json",
            good.clone(),
            401,
            "unauthorized",
            None,
        ),
        bad(
            "a form body",
            Some(format!("Bearer {KEY}")),
            "application/x-www-form-urlencoded",
            good.clone(),
            415,
            "unsupported_media_type",
            None,
        ),
        bad(
            "malformed JSON",
            Some(format!("Bearer {KEY}")),
            "application/json",
            b"{\"order_id\": ".to_vec(),
            400,
            "invalid_request",
            None,
        ),
        bad(
            "an unknown field",
            Some(format!("Bearer {KEY}")),
            "application/json",
            br#"{"order_id":"BAD-1","amount":"1","currency":"MYR","colour":"red"}"#.to_vec(),
            400,
            "invalid_request",
            Some("colour"),
        ),
        bad(
            "a number for an amount",
            Some(format!("Bearer {KEY}")),
            "application/json",
            br#"{"order_id":"BAD-1","amount":1.5,"currency":"MYR"}"#.to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
        bad(
            "a body over max_body",
            Some(format!("Bearer {KEY}")),
            "application/json",
            vec![b' '; 5000],
            413,
            "body_too_large",
            None,
        ),
        bad(
            "an amount that is not a decimal",
            Some(format!("Bearer {KEY}")),
            "application/json",
            br#"{"order_id":"BAD-1","amount":"ten","currency":"MYR"}"#.to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
        bad(
            "an amount in exponent notation",
            Some(format!("Bearer {KEY}")),
            "application/json",
            br#"{"order_id":"BAD-1","amount":"1e3","currency":"MYR","customer":{"name":"A"}}"#
                .to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
        bad(
            "an amount with white space around it",
            Some(format!("Bearer {KEY}")),
            "application/json",
            br#"{"order_id":"BAD-1","amount":" 10.00","currency":"MYR","customer":{"name":"A"}}"#
                .to_vec(),
            400,
            "invalid_request",
            Some("amount"),
        ),
    ];
    for Bad {
        what,
        auth,
        content_type,
        body,
        status,
        kind,
        field,
    } in cases
    {
        let (got, answer) = raw(&deposits, auth.as_deref(), content_type, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["error"]["kind"], kind, "{what}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{what}: {answer}");
        }
    }
    assert_eq!(
        sent(&running.sandbox_url, "BAD-1", "deposit", "generate_orders").await,
        0,
        "nothing was sent"
    );
    let (status, answer, _) = call(
        Method::GET,
        &format!("{}/v1/deposits/NEVER", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, answer["error"]["kind"].as_str()),
        (404, Some("not_found"))
    );
    let (status, answer, _) = call(
        Method::GET,
        &format!("{}/v1/orders?state=sideways", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("state"))
    );
    assert!(running.stop().await, "stopped cleanly");
}
on_every_database!(
    bad_input,
    every_bad_request_gets_the_one_error_shape_and_sends_nothing
);

async fn a_payout_under_one_order_id_is_sent_once_whatever_the_caller_retries(url: &str) {
    let running = start(url, None).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let (status, first, _) = call(Method::POST, &payouts, Some(&payout("ONCE-1")), &[]).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["kind"], "payout");
    assert_eq!(first["account"], "vpay88");
    assert_eq!(first["provider"], "vpay88");
    // The same order id again, without a key: answered from the ledger, not sent.
    let (status, again, _) = call(Method::POST, &payouts, Some(&payout("ONCE-1")), &[]).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["learned_from"], "ledger");
    // The same id for another amount is a conflict, not a second payout.
    let mut other = payout("ONCE-1");
    other["amount"] = json!("81.00");
    let (status, conflict, _) = call(Method::POST, &payouts, Some(&other), &[]).await;
    assert_eq!(
        (status, conflict["error"]["kind"].as_str()),
        (409, Some("order_id_conflict")),
        "{conflict}"
    );
    assert_eq!(conflict["error"]["order_id"], "ONCE-1");
    assert_eq!(
        sent(
            &running.sandbox_url,
            "ONCE-1",
            "withdrawal",
            "withdraw_orders"
        )
        .await,
        1
    );
    let (status, read, _) = call(
        Method::GET,
        &format!("{}/v1/payouts/ONCE-1?refresh=true", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["amount"], "80.00");
    let (_, listed, _) = call(
        Method::GET,
        &format!("{}/v1/orders?state=open", running.api),
        None,
        &[],
    )
    .await;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == "ONCE-1"),
        "{listed}"
    );
    running.stop().await;
}
on_every_database!(
    once,
    a_payout_under_one_order_id_is_sent_once_whatever_the_caller_retries
);

async fn an_idempotency_key_replays_its_first_answer_and_refuses_another_body(url: &str) {
    let running = start(url, None).await;
    let deposits = format!("{}/v1/deposits", running.api);
    let key = [("idempotency-key", "idem-deposit-1")];
    let (status, first, headers) = call(
        Method::POST,
        &deposits,
        Some(&deposit("IDEM-1", "20.00")),
        &key,
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, again, headers) = call(
        Method::POST,
        &deposits,
        Some(&deposit("IDEM-1", "20.00")),
        &key,
    )
    .await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    let (status, reused, _) = call(
        Method::POST,
        &deposits,
        Some(&deposit("IDEM-1", "21.00")),
        &key,
    )
    .await;
    assert_eq!(
        (status, reused["error"]["kind"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(
        sent(&running.sandbox_url, "IDEM-1", "deposit", "generate_orders").await,
        1
    );
    running.stop().await;
}
on_every_database!(
    idempotency,
    an_idempotency_key_replays_its_first_answer_and_refuses_another_body
);

async fn health_readiness_metrics_and_the_openapi_document_answer_without_a_key_on_loopback(
    url: &str,
) {
    let running = start(url, None).await;
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let text = reqwest::get(format!("{}{path}", running.api))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, expected);
    }
    call(
        Method::POST,
        &format!("{}/v1/deposits", running.api),
        Some(&deposit("MET-1", "10.00")),
        &[],
    )
    .await;
    let metrics = reqwest::get(format!("{}/metrics", running.api))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("paybridge_http_request_duration_seconds_count{route=\"/v1/deposits\",status=\"201\"} 1"), "{metrics}");
    assert!(metrics.contains("paybridge_provider_call_duration_seconds_count{provider=\"vpay88\",operation=\"create_deposit\",outcome=\"ok\"} 1"), "{metrics}");
    assert!(
        metrics.contains("paybridge_ambiguous_orders 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("MET-1") && !metrics.contains("aminah"),
        "no order id or customer value in a label"
    );
    let document: serde_json::Value = reqwest::get(format!("{}/openapi.json", running.api))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/v1/deposits",
        "/v1/payouts",
        "/v1/deposits/{order_id}",
        "/v1/payouts/{order_id}",
        "/v1/orders",
        "/v1/webhooks",
        "/v1/webhooks/{id}",
        "/v1/webhooks/{id}/replay",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    assert_eq!(paths.len(), 8, "{paths:?}");
    running.stop().await;
}
on_every_database!(
    probes,
    health_readiness_metrics_and_the_openapi_document_answer_without_a_key_on_loopback
);

async fn the_ledgers_events_are_listed_read_and_replayed_over_the_api(url: &str) {
    use paybridge::ledger::{AfterAttempt, Attempt, EventClaim};
    let running = start(url, None).await;
    let (status, created, _) = call(
        Method::POST,
        &format!("{}/v1/payouts", running.api),
        Some(&payout("EVT-1")),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let webhooks = format!("{}/v1/webhooks", running.api);
    let (status, listed, _) = call(Method::GET, &webhooks, None, &[]).await;
    assert_eq!(status, 200, "{listed}");
    let events = listed["events"].as_array().unwrap();
    let event = events
        .iter()
        .find(|e| e["order_id"] == "EVT-1")
        .unwrap_or_else(|| panic!("no event for EVT-1 in {listed}"));
    assert_eq!(event["kind"], "payout");
    assert_eq!(event["state"], "pending");
    assert_eq!(event["payload"]["id"], event["id"]);
    assert_eq!(event["payload"]["data"]["order_id"], "EVT-1");
    let id = event["id"].as_str().unwrap().to_owned();

    // The event delivered, as an outbox would record it.
    let claimed = running
        .ledger
        .claim_events(&EventClaim {
            now: paybridge::ledger::now_ms(),
            limit: 100,
            lease_ms: 60_000,
        })
        .await
        .unwrap();
    let ours = claimed.iter().find(|c| c.event.id == id).unwrap();
    running
        .ledger
        .record_attempt(
            ours,
            &Attempt::new(paybridge::ledger::now_ms(), 12).answered(204, b""),
            AfterAttempt::Delivered,
        )
        .await
        .unwrap();
    let (status, delivered, _) = call(
        Method::GET,
        &format!("{webhooks}?state=delivered&since=2020-01-01&limit=10"),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{delivered}");
    assert!(
        delivered["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id.as_str()),
        "{delivered}"
    );
    let (status, detail, _) = call(Method::GET, &format!("{webhooks}/{id}"), None, &[]).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["event"]["state"], "delivered");
    assert_eq!(detail["attempts"][0]["status"], 204);
    assert_eq!(detail["attempts"][0]["duration_ms"], 12);

    let (status, replayed, _) =
        call(Method::POST, &format!("{webhooks}/{id}/replay"), None, &[]).await;
    assert_eq!(status, 202, "{replayed}");
    assert_eq!(replayed["id"], id.as_str());
    let (_, detail, _) = call(Method::GET, &format!("{webhooks}/{id}"), None, &[]).await;
    assert_eq!(detail["event"]["state"], "pending", "{detail}");
    assert_eq!(detail["event"]["attempts"], 0);
    assert_eq!(detail["event"]["id"], id.as_str(), "the id stays");

    for (what, path, method, status, kind, field) in [
        (
            "an unknown event",
            format!("{webhooks}/evt_none"),
            Method::GET,
            404,
            "not_found",
            None,
        ),
        (
            "replaying an unknown event",
            format!("{webhooks}/evt_none/replay"),
            Method::POST,
            404,
            "not_found",
            None,
        ),
        (
            "a state that is none",
            format!("{webhooks}?state=lost"),
            Method::GET,
            400,
            "invalid_request",
            Some("state"),
        ),
        (
            "a since that is no time",
            format!("{webhooks}?since=yesterday"),
            Method::GET,
            400,
            "invalid_request",
            Some("since"),
        ),
        (
            "a limit of 0",
            format!("{webhooks}?limit=0"),
            Method::GET,
            400,
            "invalid_request",
            Some("limit"),
        ),
        (
            "a limit over 1000",
            format!("{webhooks}?limit=1001"),
            Method::GET,
            400,
            "invalid_request",
            Some("limit"),
        ),
        (
            "an unknown parameter",
            format!("{webhooks}?order=EVT-1"),
            Method::GET,
            400,
            "invalid_request",
            None,
        ),
    ] {
        let (got, answer, _) = call(method, &path, None, &[]).await;
        assert_eq!(
            (
                got,
                answer["error"]["kind"].as_str(),
                answer["error"]["field"].as_str()
            ),
            (status, Some(kind), field),
            "{what}: {answer}"
        );
    }
    let unauthorized = reqwest::get(&webhooks).await.unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    running.stop().await;
}
on_every_database!(
    webhooks_api,
    the_ledgers_events_are_listed_read_and_replayed_over_the_api
);
