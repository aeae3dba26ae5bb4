//! Each request is one `http.server` span with OpenTelemetry's HTTP names
//! (the route template, never the path, which holds order ids), and the
//! provider calls it makes are `http.client` spans inside it.

mod common;

use common::{call, start};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_and_its_read_are_http_server_spans_holding_the_provider_calls() {
    let captured = paybridge_testkit::logs::capture(tracing::Level::INFO, true);
    let running = start(&paybridge_testkit::postgres::sqlite_url(), None).await;
    let body = serde_json::json!({
        "order_id": "SPAN-SECRET-ORDER", "amount": "10.00", "currency": "MYR",
        "customer": {"name": "Aminah", "email": "aminah@example.com", "phone": "60123456789"},
    });
    let (status, _, _) = call(
        Method::POST,
        &format!("{}/v1/deposits", running.api),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, _) = call(
        Method::GET,
        &format!("{}/v1/deposits/SPAN-SECRET-ORDER?refresh=true", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    running.stop().await;

    let log = captured.text();
    // The closing line of a request's own span: `http.server{FIELDS}: paybridge_serve: close`.
    let closed = |route: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains("}: paybridge_serve: close"))
            .filter_map(|l| l.split_once("http.server{").map(|(_, rest)| rest))
            .filter_map(|rest| {
                rest.rsplit_once("}: paybridge_serve: close")
                    .map(|(fields, _)| fields.to_owned())
            })
            .filter(|fields| fields.contains(&format!("http.route={route} ")))
            .collect()
    };
    let created = closed("/v1/deposits");
    assert_eq!(created.len(), 1, "one span for the POST: {log}");
    for field in [
        "otel.kind=\"server\"",
        "http.request.method=POST",
        "http.response.status_code=201",
    ] {
        assert!(created[0].contains(field), "{field} in {}", created[0]);
    }
    let read = closed("/v1/deposits/{order_id}");
    assert_eq!(read.len(), 1, "one span for the GET: {log}");
    assert!(
        read[0].contains("http.request.method=GET")
            && read[0].contains("http.response.status_code=200")
    );
    for line in created.iter().chain(&read) {
        assert!(
            !line.contains("SPAN-SECRET-ORDER"),
            "no order id in a server span: {line}"
        );
    }
    // The provider calls ran inside the requests' spans.
    let nested = log
        .lines()
        .filter(|l| l.contains("close") && l.contains("http.server{") && l.contains("http.client{"))
        .count();
    assert!(
        nested >= 2,
        "the create and the status query, each under its request: {log}"
    );
}
