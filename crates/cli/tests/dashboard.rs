//! The sandbox's dashboard API against orders made through the SDK: every
//! request and delivery journaled with secrets scrubbed, resend, duplicate and
//! out-of-order deliveries, callbacks only to allowed hosts, a token beyond
//! loopback, cross-site and foreign-Host requests refused, the dashboard's
//! policy headers, and bounded state, in orders and in bytes.

use std::time::Duration;

use paybridge_cli::harness::{myr_deposit, pay, Harness};
use paybridge_sandbox::{Held, Sandbox, SandboxConfig};
use serde_json::Value;

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(url: String) -> (u16, Value) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits until the order's deliveries satisfy `done`, and returns them.
async fn deliveries_until(base: &str, order: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let (_, detail) = get(format!("{base}/_sandbox/orders/vpay88/{order}")).await;
        let deliveries = detail["deliveries"].as_array().cloned().unwrap_or_default();
        if done(&deliveries) {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries of {order} never got there");
}

fn delivered(d: &Value) -> bool {
    d["delivered"] == Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_shows_requests_and_deliveries_and_sends_them_again() {
    let h = Harness::start(SandboxConfig::default()).await.unwrap();
    let base = h.sandbox.base_url();
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap();
    let order = vpay
        .create_deposit(&myr_deposit("DASH-API-1", "100").unwrap())
        .await
        .unwrap();
    let (status, listed) = get(format!("{base}/_sandbox/orders?provider=vpay88")).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["order_id"], "DASH-API-1");
    assert_eq!(listed[0]["status"], "pending");
    let (_, others) = get(format!("{base}/_sandbox/orders?provider=onepunch")).await;
    assert_eq!(others, serde_json::json!([]));

    pay(&order.payment_url, "completed").await.unwrap();
    let first = deliveries_until(&base, "DASH-API-1", |d| d.len() == 1 && delivered(&d[0])).await;
    assert_eq!(first[0]["label"], "callback");
    assert_eq!(first[0]["attempts"][0]["http_status"], 200);
    assert_eq!(first[0]["body"]["token"], "<scrubbed>");

    let (_, detail) = get(format!("{base}/_sandbox/orders/vpay88/DASH-API-1")).await;
    let text = detail.to_string();
    assert!(text.contains("/vpay88/merchant/generate_orders"), "{text}");
    for secret in ["demo-api-key", "demo-secret-key"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    let created = &detail["exchanges"][0];
    assert_eq!(created["fields"]["auth"], "<scrubbed>");
    assert_eq!(created["fields"]["orderid"], "DASH-API-1");
    assert_eq!(created["answer"]["status"], true);

    let id = first[0]["id"].as_u64().unwrap();
    assert_eq!(
        post(format!("{base}/_sandbox/deliveries/{id}/resend"))
            .await
            .0,
        200
    );
    assert_eq!(
        post(format!(
            "{base}/_sandbox/orders/vpay88/DASH-API-1/duplicate"
        ))
        .await
        .0,
        200
    );
    assert_eq!(
        post(format!(
            "{base}/_sandbox/orders/vpay88/DASH-API-1/out_of_order"
        ))
        .await
        .0,
        200
    );
    let all = deliveries_until(&base, "DASH-API-1", |d| {
        d.len() == 6
            && d[..5].iter().all(delivered)
            && !d[5]["attempts"].as_array().unwrap().is_empty()
    })
    .await;
    // The merchant's route does not take the older status after the final one.
    let stale = &all[5]["attempts"][0];
    assert_eq!(
        (stale["http_status"].as_u64(), stale["response"].as_str()),
        (Some(400), Some("rejected: not confirmed")),
        "{stale}"
    );
    let labels: Vec<&str> = all.iter().map(|d| d["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "callback",
            "resend",
            "duplicate",
            "duplicate",
            "out of order",
            "out of order"
        ]
    );
    let statuses: Vec<&str> = all[4..]
        .iter()
        .map(|d| d["body"]["order_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["completed", "pending"],
        "the final status first, then an older one"
    );

    assert_eq!(
        post(format!("{base}/_sandbox/deliveries/999999/resend"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(format!("{base}/_sandbox/orders/vpay88/NOPE")).await.0,
        404
    );
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("DASH-API-1") && page.contains("<h2 id=\"vpay88\">"),
        "{page}"
    );
}

#[tokio::test]
async fn callbacks_go_only_to_loopback_and_allowed_hosts() {
    let mut config = SandboxConfig::default().with_demo_callback_url("http://merchant.invalid/cb");
    config.callback_attempts = 1;
    let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let gateway_config = paybridge_cli::harness::demo_config(&base, None).unwrap();
    let vpay =
        paybridge::Gateway::for_provider(&gateway_config, paybridge::providers::VPAY88).unwrap();
    let order = vpay
        .create_deposit(&myr_deposit("DASH-HOST-1", "100").unwrap())
        .await
        .unwrap();
    pay(&order.payment_url, "completed").await.unwrap();
    let refused = deliveries_until(&base, "DASH-HOST-1", |d| {
        d.first()
            .is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty())
    })
    .await;
    let attempt = &refused[0]["attempts"][0];
    assert_eq!(attempt["http_status"], Value::Null);
    assert_eq!(
        attempt["response"],
        "not sent: merchant.invalid is not loopback and not in allow_callback_hosts"
    );
}

#[tokio::test]
async fn beyond_loopback_the_dashboard_and_controls_need_the_token() {
    let sandbox = Sandbox::start(SandboxConfig::default(), ([0, 0, 0, 0], 0).into())
        .await
        .unwrap();
    let token = sandbox.token().expect("a token beyond loopback").to_owned();
    let base = format!("http://127.0.0.1:{}", sandbox.addr().port());
    for path in ["/", "/_sandbox/orders", "/_sandbox/faults"] {
        assert_eq!(
            reqwest::get(format!("{base}{path}"))
                .await
                .unwrap()
                .status(),
            401,
            "{path}"
        );
        let with = reqwest::get(format!("{base}{path}?token={token}"))
            .await
            .unwrap();
        assert_eq!(with.status(), 200, "{path}");
    }
    let bearer = reqwest::Client::new()
        .get(format!("{base}/_sandbox/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let settle = reqwest::Client::new()
        .post(format!("{base}/vpay88/_sandbox/deposits/X/settle"))
        .form(&[("outcome", "completed")])
        .send()
        .await
        .unwrap();
    assert_eq!(settle.status(), 401, "control endpoints need it too");
    // The provider's API stays open: merchants and their SDKs reach it.
    let currency = reqwest::Client::new()
        .post(format!("{base}/vpay88/merchant/currency"))
        .form(&[("username", "demo")])
        .send()
        .await
        .unwrap();
    assert_eq!(currency.status(), 200);
    let local = Sandbox::start(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    assert_eq!(local.token(), None, "no token on loopback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_limit_the_oldest_orders_are_forgotten_and_the_state_stays_flat() {
    let config = SandboxConfig {
        max_orders: 40,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let gateway_config = paybridge_cli::harness::demo_config(&sandbox.base_url(), None).unwrap();
    let vpay =
        paybridge::Gateway::for_provider(&gateway_config, paybridge::providers::VPAY88).unwrap();
    let client = reqwest::Client::new();
    let mut held = Vec::new();
    for round in 0..4 {
        for n in 0..40 {
            let id = format!("BOUND-{round}-{n:02}");
            vpay.create_deposit(&myr_deposit(&id, "100").unwrap())
                .await
                .unwrap();
            // A status query for an order never made still leaves a tally.
            let unknown = format!("NEVER-{round}-{n:02}");
            let asked = client
                .post(format!(
                    "{}/vpay88/merchant/check_status",
                    sandbox.base_url()
                ))
                .form(&[("username", "demo"), ("id", unknown.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(asked.status(), 200);
            let issued = client
                .post(format!("{}/vpay88/merchant/auth", sandbox.base_url()))
                .form(&[("username", "demo"), ("api_key", "demo-api-key")])
                .send()
                .await
                .unwrap();
            assert_eq!(issued.status(), 200);
        }
        held.push(sandbox.held());
    }
    // The same after each round: nothing grows past the limit.
    let flat = Held {
        orders: 40,
        payments: 0,
        pages: 40,
        journaled: 40,
        auth_tokens: 40,
        create_tallies: 40,
        status_tallies: 40,
    };
    assert_eq!(held, vec![flat; 4]);
    let tallied = sandbox.status_requests();
    assert!(
        tallied.keys().all(|(_, _, id)| id.starts_with("NEVER-3-")),
        "only the newest tallies are kept: {tallied:?}"
    );
    let ids: Vec<String> = sandbox.orders().into_iter().map(|o| o.order_id).collect();
    assert!(
        ids.iter().all(|id| id.starts_with("BOUND-3-")),
        "only the newest are kept: {ids:?}"
    );
    let (status, _) = get(format!(
        "{}/_sandbox/orders/vpay88/BOUND-0-00",
        sandbox.base_url()
    ))
    .await;
    assert_eq!(status, 404, "the oldest is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_and_foreign_hosts_are_refused_and_the_dashboard_sets_its_policy() {
    let sandbox = Sandbox::start(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let own = sandbox.addr().to_string();
    let port = sandbox.addr().port();
    let client = reqwest::Client::new();
    let faults = |headers: &[(&str, String)]| {
        let mut request = client
            .post(format!("{base}/_sandbox/faults"))
            .header("content-type", "application/json")
            .body("{}");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send()
    };
    for (headers, says) in [
        (
            vec![("sec-fetch-site", "cross-site".to_owned())],
            "cross-site",
        ),
        (vec![("origin", "http://evil.example".to_owned())], "Origin"),
        (vec![("origin", "null".to_owned())], "Origin"),
        (vec![("host", format!("evil.example:{port}"))], "Host"),
        (vec![("host", "127.0.0.1:1".to_owned())], "Host"),
    ] {
        let response = faults(&headers).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{headers:?}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{headers:?}: {text}");
    }
    // A cross-site form post to a settle endpoint and to the dashboard.
    for path in ["/vpay88/_sandbox/deposits/X/settle", "/"] {
        let response = client
            .post(format!("{base}{path}"))
            .header("origin", "http://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("outcome=completed")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{path}");
    }
    // The sandbox's own page, and clients that send no Origin, pass.
    for headers in [
        vec![
            ("origin", format!("http://{own}")),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
        vec![("host", format!("localhost:{port}"))],
        vec![("sec-fetch-site", "none".to_owned())],
        vec![],
    ] {
        let response = faults(&headers).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{headers:?}");
    }
    // Provider API endpoints answer whatever the Host: SDK clients reach them.
    let api = client
        .post(format!("{base}/vpay88/merchant/auth"))
        .header("host", format!("sandbox.internal:{port}"))
        .form(&[("username", "demo"), ("api_key", "demo-api-key")])
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 200);

    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let policy = header("content-security-policy");
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("a nonce in {policy}"))
        .to_owned();
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")),
        "{html}"
    );
    assert_eq!(html.matches("<style").count(), 1);
    assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
    assert!(!html.contains(" style=\""), "no inline style attribute");
    let again = client.get(format!("{base}/")).send().await.unwrap();
    let second = again
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_ne!(policy, second, "a fresh nonce each time");
    let json = client
        .get(format!("{base}/_sandbox/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json.headers()["x-content-type-options"].to_str().unwrap(),
        "nosniff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_status_queries_of_a_mebibyte_keep_the_journal_within_its_budget() {
    let sandbox = Sandbox::start(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let client = reqwest::Client::new();
    let padding = "x".repeat(1 << 20);
    let mut largest = 0;
    for n in 0..400 {
        let body = format!("username=demo&id=BIG-{n}&pad={padding}");
        let response = client
            .post(format!("{base}/vpay88/merchant/check_status"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let _ = response.bytes().await;
        let (held, budget) = sandbox.journal_bytes();
        assert!(
            held <= budget,
            "{held} bytes held past the budget of {budget} after {n}"
        );
        largest = largest.max(held);
    }
    assert!(
        sandbox.held().journaled >= 400,
        "every query was journaled: {}",
        sandbox.held().journaled
    );
    assert!(largest > 0, "the journal counted what it held");
    println!("journal: {largest} bytes at most for 400 MiB of queries");
}
