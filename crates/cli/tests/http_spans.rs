//! Every attempt at a provider is one `http.client` span with OpenTelemetry's
//! HTTP field names, and never the path: ONE-PUNCH's carries the payment token
//! and a signature.

use paybridge::{DepositRequest, Money, OrderId, StatusQuery};
use paybridge_cli::harness::Harness;
use paybridge_sandbox::SandboxConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpay88_status_and_a_onepunch_status_each_log_one_http_client_span_without_the_path() {
    let captured = paybridge_testkit::logs::capture(tracing::Level::INFO, true);
    let h = Harness::start(SandboxConfig::default()).await.unwrap();

    let vpay88 = h.gateway(paybridge::providers::VPAY88).unwrap();
    let order = DepositRequest::builder("SPAN-V", Money::parse("100", "MYR").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .unwrap();
    vpay88.create_deposit(&order).await.unwrap();
    let start = captured.len();
    vpay88
        .deposit_status(&StatusQuery::new(OrderId::new("SPAN-V").unwrap()))
        .await
        .unwrap();
    let status_log = captured.since(start);
    let spans: Vec<&str> = status_log
        .lines()
        .filter(|line| line.contains("http.client") && line.contains("close"))
        .collect();
    assert_eq!(spans.len(), 1, "one attempt, one span: {status_log}");
    for field in [
        "otel.kind=\"client\"",
        "http.request.method=\"POST\"",
        "server.address=\"127.0.0.1\"",
        "http.request.resend_count=0",
        "paybridge.operation=\"deposit_status\"",
        "http.response.status_code=200",
    ] {
        assert!(
            spans[0].contains(field),
            "{field} missing from {}",
            spans[0]
        );
    }
    assert!(!spans[0].contains("check_status"), "{}", spans[0]);

    let punch = h.gateway(paybridge::providers::ONEPUNCH).unwrap();
    let created = punch
        .create_deposit(
            &DepositRequest::builder("SPAN-P", Money::parse("10", "CNY").unwrap())
                .payment_method("ali-person")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let token = created.provider_ref.clone().unwrap();
    let start = captured.len();
    punch
        .deposit_status(
            &StatusQuery::new(OrderId::new("SPAN-P").unwrap()).with_provider_ref(&token),
        )
        .await
        .unwrap();
    let status_log = captured.since(start);
    assert!(
        status_log.contains("http.request.method=\"GET\""),
        "{status_log}"
    );
    // The sandbox (the provider's side, in the same process) logs its own
    // access lines; the client's lines are the rest.
    let client_log: Vec<&str> = status_log
        .lines()
        .filter(|line| !line.contains("paybridge_sandbox"))
        .collect();
    assert!(
        client_log.iter().any(|line| line.contains("http.client")),
        "{status_log}"
    );
    assert!(
        client_log.iter().all(|line| !line.contains(&token)),
        "the payment token reached the client's log: {status_log}"
    );
}
