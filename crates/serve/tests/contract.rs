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

/// `GET url` answers 404 `not_found`.
async fn assert_not_found(url: &str) {
    let (status, answer, _) = call(Method::GET, url, None, &[]).await;
    assert_eq!(
        (status, answer["error"]["kind"].as_str()),
        (404, Some("not_found")),
        "{url}: {answer}"
    );
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
    assert_not_found(&format!("{}/v1/deposits/NEVER", running.api)).await;
    // Refreshing an order the ledger does not hold is the same 404.
    assert_not_found(&format!("{}/v1/deposits/NEVER?refresh=true", running.api)).await;
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
    // HTTP's scheme names are case-insensitive: `bearer` and `BEARER` are `Bearer`.
    for scheme in ["bearer", "BEARER"] {
        let keyed = reqwest::Client::new()
            .get(&webhooks)
            .header("authorization", format!("{scheme} {KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(keyed.status().as_u16(), 200, "{scheme}");
    }
    running.stop().await;
}
on_every_database!(
    webhooks_api,
    the_ledgers_events_are_listed_read_and_replayed_over_the_api
);

/// A named ONE-PUNCH account (it has no payouts) and a Vpay88 account whose
/// server is not there (nothing can reach it).
const MORE_ACCOUNTS: &str = "[accounts.punch]\nprovider = \"onepunch\"\nbase_url = \"http://127.0.0.1:9/onepunch\"\n\
    monster_token = \"MON-x\"\nmonster_key = \"punch-key\"\n\
    [accounts.gone]\nprovider = \"vpay88\"\nbase_url = \"http://127.0.0.1:9/vpay88\"\nusername = \"u\"\n\
    api_key = \"k\"\nsecret_key = \"s\"\n";

async fn each_way_a_create_ends_has_its_status_and_an_open_one_is_never_resent(url: &str) {
    use common::{faults, start_with};
    let running = start_with(url, None, MORE_ACCOUNTS).await;
    let payouts = format!("{}/v1/payouts", running.api);
    let sends = |order_id: &'static str| {
        sent(
            &running.sandbox_url,
            order_id,
            "withdrawal",
            "withdraw_orders",
        )
    };

    // The provider took the payout, its answer was lost and no status query
    // can tell what became of it: 202, unknown.
    faults(
        &running.sandbox_url,
        &[
            ("withdraw_orders", "drop_after_commit"),
            ("check_withdraw_status", "error5xx"),
        ],
        0,
    )
    .await;
    let (status, open, _) = call(Method::POST, &payouts, Some(&payout("OPEN-1")), &[]).await;
    assert_eq!(status, 202, "{open}");
    assert_eq!(open["status"], "unknown");
    assert_eq!(open["order_id"], "OPEN-1");
    assert_eq!(open["error"]["kind"], "ambiguous", "{open}");
    assert_eq!(sends("OPEN-1").await, 1);
    // The caller asks again under the same id: the ledger answers, nothing is resent.
    faults(&running.sandbox_url, &[], 0).await;
    let (status, again, _) = call(Method::POST, &payouts, Some(&payout("OPEN-1")), &[]).await;
    assert!([201, 202].contains(&status), "{status} {again}");
    assert_eq!(
        sends("OPEN-1").await,
        1,
        "an open payout is never sent again"
    );
    let (status, read, _) = call(
        Method::GET,
        &format!("{}/v1/payouts/OPEN-1?refresh=true", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, read["status"].as_str()),
        (200, Some("processing")),
        "{read}"
    );

    // Every status query answered 5xx: the read failed, nothing was acted on: 502.
    faults(
        &running.sandbox_url,
        &[("check_withdraw_status", "error5xx")],
        0,
    )
    .await;
    let (status, failed, _) = call(
        Method::GET,
        &format!("{}/v1/payouts/OPEN-1?refresh=true", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 502, "{failed}");
    assert!(
        ["transport", "decode", "http_status"]
            .contains(&failed["error"]["kind"].as_str().unwrap_or_default()),
        "{failed}"
    );
    faults(&running.sandbox_url, &[], 0).await;

    // A documented refusal: 422, and the order id is free again.
    let mut refused = payout("REFUSED-1");
    refused["bank_id"] = json!("999999");
    let (status, answer, _) = call(Method::POST, &payouts, Some(&refused), &[]).await;
    assert_eq!(
        (status, answer["error"]["kind"].as_str()),
        (422, Some("provider_refused")),
        "{answer}"
    );

    // A provider without payouts: 422 unsupported, before anything is sent.
    let mut punch = payout("PUNCH-1");
    punch["account"] = json!("punch");
    let (status, answer, _) = call(Method::POST, &payouts, Some(&punch), &[]).await;
    assert_eq!(
        (status, answer["error"]["kind"].as_str()),
        (422, Some("unsupported")),
        "{answer}"
    );

    // A server nothing reaches: nothing was sent, 502 transport.
    let mut gone = payout("GONE-1");
    gone["account"] = json!("gone");
    let (status, answer, _) = call(Method::POST, &payouts, Some(&gone), &[]).await;
    assert_eq!(
        (status, answer["error"]["kind"].as_str()),
        (502, Some("transport")),
        "{answer}"
    );

    // Reads are per account: OPEN-1 is the default account's, not punch's.
    assert_not_found(&format!("{}/v1/payouts/OPEN-1?account=punch", running.api)).await;
    let (status, answer, _) = call(
        Method::GET,
        &format!("{}/v1/payouts/OPEN-1?account=vpay88", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, answer["account"].as_str()),
        (200, Some("vpay88")),
        "{answer}"
    );
    let (status, answer, _) = call(
        Method::GET,
        &format!("{}/v1/payouts/OPEN-1?account=nobody", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("account")),
        "{answer}"
    );
    running.stop().await;
}
on_every_database!(
    create_outcomes,
    each_way_a_create_ends_has_its_status_and_an_open_one_is_never_resent
);

async fn an_idempotency_key_in_flight_is_409_and_each_api_key_has_its_own(url: &str) {
    use common::{faults, SECOND_KEY};
    let running = start(url, None).await;
    let payouts = format!("{}/v1/payouts", running.api);
    // The provider takes a second to answer a payout.
    faults(
        &running.sandbox_url,
        &[("withdraw_orders", "latency")],
        1000,
    )
    .await;
    let key = [("idempotency-key", "idem-flight-1")];
    let first = {
        let payouts = payouts.clone();
        tokio::spawn(async move {
            call(
                Method::POST,
                &payouts,
                Some(&payout("FLIGHT-1")),
                &[("idempotency-key", "idem-flight-1")],
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, busy, _) = call(Method::POST, &payouts, Some(&payout("FLIGHT-1")), &key).await;
    assert_eq!(
        (status, busy["error"]["kind"].as_str()),
        (409, Some("idempotency_key_in_use")),
        "{busy}"
    );
    let (status, done, _) = first.await.unwrap();
    assert_eq!(status, 201, "{done}");
    faults(&running.sandbox_url, &[], 0).await;

    // The same Idempotency-Key under another API key is that key's own: not
    // a replay of the first key's answer, and the order id still sent once.
    let response = reqwest::Client::new()
        .post(&payouts)
        .bearer_auth(SECOND_KEY)
        .header("idempotency-key", "idem-flight-1")
        .json(&payout("FLIGHT-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert!(response.headers().get("idempotent-replayed").is_none());
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["learned_from"], "ledger", "{answer}");
    let (_, _, headers) = call(Method::POST, &payouts, Some(&payout("FLIGHT-1")), &key).await;
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        sent(
            &running.sandbox_url,
            "FLIGHT-1",
            "withdrawal",
            "withdraw_orders"
        )
        .await,
        1
    );
    running.stop().await;
}
on_every_database!(
    idempotency_scope,
    an_idempotency_key_in_flight_is_409_and_each_api_key_has_its_own
);

/// This machine's address toward the outside, when it has one that is not
/// loopback (a UDP "connection" sends nothing; it only picks the source).
fn outside_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("203.0.113.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

async fn health_readiness_and_metrics_need_the_key_from_beyond_loopback(url: &str) {
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED: this machine has no address beyond loopback to call the service from");
        return;
    };
    let running = common::start_on(ip, url, None, "").await;
    let api = running.api.clone();
    for path in ["/healthz", "/readyz", "/metrics"] {
        // From this machine's outside address, the peer is not loopback.
        let bare = reqwest::get(format!("{api}{path}")).await.unwrap();
        assert_eq!(
            bare.status().as_u16(),
            401,
            "{path} without a key from {ip}"
        );
        let keyed = reqwest::Client::new()
            .get(format!("{api}{path}"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(
            keyed.status().as_u16(),
            200,
            "{path} with the key from {ip}"
        );
    }
    // The document describes the API and holds no secret: open to all.
    let document = reqwest::get(format!("{api}/openapi.json")).await.unwrap();
    assert_eq!(document.status().as_u16(), 200);
    assert!(running.stop().await, "stopped cleanly");
}
on_every_database!(
    beyond_loopback,
    health_readiness_and_metrics_need_the_key_from_beyond_loopback
);
