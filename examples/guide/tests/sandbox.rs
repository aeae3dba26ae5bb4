use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{
    CallbackEvent, Config, DepositRequest, Gateway, Money, OrderId, OrderKind, OrderStatus,
    StatusQuery, StatusReport,
};
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};

/// Your handler's decision, kept apart from your database so it can be tested alone:
/// what to credit for a delivery, if anything.
fn to_credit(delivery: &Delivery) -> Option<(OrderId, Money)> {
    let confirmed = delivery.confirmed.as_ref()?;
    let paid = confirmed.status == OrderStatus::Completed && !delivery.duplicate;
    paid.then(|| (confirmed.order_id.clone(), delivery.event.amount.clone()))
}

#[tokio::test]
async fn a_paid_deposit_reaches_the_handler_through_the_callback_route() {
    // Your callback route on a free port; the sandbox calls it back as the provider would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_demo_callback_url(&callback_url),
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let config = Config::from_toml(
        &format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{}/vpay88\"\nusername = \"{}\"\n\
             api_key = \"{}\"\nsecret_key = \"{}\"\n",
            sandbox.base_url(),
            DEMO_USERNAME,
            DEMO_API_KEY,
            DEMO_SECRET_KEY,
        ),
        "test.toml",
    )
    .unwrap();
    let gateway = Gateway::from_config(&config).unwrap();

    let (credited, mut credits) = tokio::sync::mpsc::unbounded_channel();
    let route = CallbackRoute::new(gateway.clone(), move |delivery: Delivery| {
        let credited = credited.clone();
        async move {
            credited
                .send(to_credit(&delivery))
                .map_err(|_| "the test is over")
        }
    });
    let app = axum::Router::new().nest("/callbacks", route.into_router());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let amount = Money::parse("100.50", "MYR").unwrap();
    let request = DepositRequest::builder("ORDER-1", amount.clone())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .unwrap();
    let order = gateway.create_deposit(&request).await.unwrap();

    // The payer pays: the sandbox's control endpoint settles the order and calls back.
    let settle = format!(
        "{}/vpay88/_sandbox/deposits/{}/settle",
        sandbox.base_url(),
        order.order_id
    );
    let settled = reqwest::Client::new()
        .post(settle)
        .form(&[("outcome", "completed")])
        .send()
        .await
        .unwrap();
    assert!(settled.status().is_success());

    let credit = tokio::time::timeout(Duration::from_secs(10), credits.recv())
        .await
        .expect("the callback came within 10 s");
    assert_eq!(credit, Some(Some((order.order_id.clone(), amount))));
    let query = StatusQuery::new(order.order_id);
    let report = gateway.deposit_status(&query).await.unwrap();
    assert_eq!(report.status, OrderStatus::Completed);
}

#[test]
fn only_a_confirmed_first_delivery_of_a_payment_is_credited() {
    let order_id = OrderId::new("ORDER-2").unwrap();
    let amount = Money::parse("100.50", "MYR").unwrap();
    let event = CallbackEvent::new(
        paybridge::providers::VPAY88,
        OrderKind::Deposit,
        Some(order_id.clone()),
        OrderStatus::Completed,
        "completed".into(),
        amount.clone(),
        br#"{"order_id":"ORDER-2","order_status":"completed"}"#,
        0,
    );
    let report = StatusReport::new(
        OrderKind::Deposit,
        order_id.clone(),
        OrderStatus::Completed,
        "completed".into(),
    )
    .with_amount(amount.clone());

    let confirmed = Delivery::new(event.clone(), Some(report));
    assert_eq!(to_credit(&confirmed), Some((order_id, amount)));
    assert_eq!(to_credit(&confirmed.with_duplicate(true)), None);
    assert_eq!(to_credit(&Delivery::new(event, None)), None);
}
