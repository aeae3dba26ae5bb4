//! A brand defined only in configuration, end to end against the sandbox
//! serving it under its own name: a deposit created and paid, a payout
//! settled, both callbacks verified and confirmed on `/callbacks/fpay`, and
//! the ledger keeping the orders under the brand's name.

use std::time::Duration;

use axum::Router;
use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::ledger::OrderKey;
use paybridge::{
    Config, DepositRequest, Gateway, Money, OrderKind, OrderStatus, StatusQuery, WithdrawalRequest,
};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};
use tokio::sync::mpsc;

/// The merchant's configuration: the brand, its account section, a ledger.
fn config(sandbox: &str, ledger: &str) -> Config {
    let brand = paybridge_testkit::FPAY_BRAND;
    let text = format!(
        r#"
provider = "fpay"

{brand}
[fpay]
base_url = "{sandbox}/fpay"
username = "{DEMO_USERNAME}"
api_key = "{DEMO_API_KEY}"
secret_key = "{DEMO_SECRET_KEY}"

[http]
resolve_delay_ms = 50

[ledger]
url = "{ledger}"
"#
    );
    Config::from_toml(&text, "the brand's flow").unwrap()
}

async fn next(deliveries: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(15), deliveries.recv())
        .await
        .expect("a callback within 15 s")
        .expect("the route is running")
}

async fn settle(sandbox: &str, what: &str, order_id: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{sandbox}/fpay/_sandbox/{what}/{order_id}/settle"))
        .form(&[("outcome", "completed")])
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_configured_brand_takes_a_deposit_and_sends_a_payout_through_the_sandbox() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}", listener.local_addr().unwrap());
    // The sandbox serves the brand as another mount of its own form API emulation.
    let sandbox_config = SandboxConfig::from_toml(
        "[[brands]]\nname = \"fpay\"\nlike = \"vpay88\"\ncurrencies = [\"MYR\", \"THB\"]\n",
    )
    .unwrap()
    .with_demo_callback_url(&format!("{receiver}/callbacks/fpay"));
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let dir = paybridge_testkit::temp_dir("paybridge-brand-flow");
    let ledger_url = format!("sqlite://{}", dir.join("orders.db").display());
    let config = config(&base, &ledger_url);
    let ledger = config.open_ledger().await.unwrap().expect("[ledger] url");
    let gateway = Gateway::from_config(&config)
        .unwrap()
        .with_ledger(ledger.clone());
    assert_eq!(gateway.provider().as_str(), "fpay");

    let (tx, mut deliveries) = mpsc::unbounded_channel();
    let handler = move |delivery: Delivery| {
        let tx = tx.clone();
        async move { tx.send(delivery).map_err(|e| e.to_string()) }
    };
    let route = CallbackRoute::new(gateway.clone(), handler).into_router();
    let app = Router::new().nest(&format!("/callbacks/{}", gateway.provider()), route);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A deposit, paid.
    let request = DepositRequest::builder("FP-D1", Money::parse("120", "MYR").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .unwrap();
    let order = gateway.create_deposit(&request).await.unwrap();
    assert!(
        order.payment_url.contains("/fpay/pay/"),
        "the brand's own payment page: {}",
        order.payment_url
    );
    settle(&base, "deposits", "FP-D1").await;
    let paid = next(&mut deliveries).await;
    assert_eq!(paid.event.provider.as_str(), "fpay");
    assert_eq!(paid.event.kind, OrderKind::Deposit);
    assert_eq!(paid.event.status, OrderStatus::Completed);
    let confirmed = paid.confirmed.expect("confirmed by the status API");
    assert_eq!(confirmed.status, OrderStatus::Completed);
    assert_eq!(confirmed.amount, Some(Money::parse("120", "MYR").unwrap()));

    // A payout, settled.
    let banks = gateway
        .withdrawal_banks(Some(&paybridge::Currency::new("MYR").unwrap()))
        .await
        .unwrap();
    let payout = WithdrawalRequest::builder(
        "FP-W1",
        Money::parse("50", "MYR").unwrap(),
        banks[0].id.clone(),
        "John Doe",
        "1234567890",
    )
    .build()
    .unwrap();
    let receipt = gateway.create_withdrawal(&payout).await.unwrap();
    assert!(!receipt.status.is_final(), "{}", receipt.status);
    settle(&base, "withdrawals", "FP-W1").await;
    let sent = next(&mut deliveries).await;
    assert_eq!(sent.event.provider.as_str(), "fpay");
    assert_eq!(sent.event.kind, OrderKind::Withdrawal);
    assert_eq!(
        sent.confirmed.expect("confirmed").status,
        OrderStatus::Completed
    );
    let status = gateway
        .withdrawal_status(&StatusQuery::new(payout.order_id.clone()))
        .await
        .unwrap();
    assert_eq!(status.status, OrderStatus::Completed);

    // The sandbox's journal kept the brand's exchanges and its callback.
    let detail: serde_json::Value = reqwest::get(format!("{base}/_sandbox/orders/fpay/FP-D1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["order"]["provider"], "fpay", "{detail}");
    assert!(
        !detail["exchanges"].as_array().unwrap().is_empty(),
        "{detail}"
    );
    assert_eq!(detail["deliveries"][0]["delivered"], true, "{detail}");

    // The ledger keeps both under the brand's name.
    for (kind, id) in [
        (OrderKind::Deposit, "FP-D1"),
        (OrderKind::Withdrawal, "FP-W1"),
    ] {
        let key = OrderKey {
            provider: "fpay".into(),
            account: String::new(),
            kind,
            order_id: id.into(),
        };
        let record = ledger.get(&key).await.unwrap().expect("recorded");
        assert_eq!(record.key.provider, "fpay");
        assert_eq!(
            record.state,
            paybridge::ledger::LedgerState::Completed,
            "{id}"
        );
    }
}
