//! Vpay88 through the adapter conformance kit.

use std::sync::Arc;

use paybridge_core::{
    DepositRequest, Money, OrderId, PaymentGateway, StatusQuery, WithdrawalRequest,
};
use paybridge_testkit::conformance::Adapter;
use paybridge_vpay88::{HttpOptions, Vpay88};

#[tokio::test]
async fn vpay88_conforms() {
    let deposit = |currency: &str| {
        DepositRequest::builder("KIT-1", Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    };
    Adapter::new("vpay88", |base_url, transport| {
        let gateway = Vpay88::builder(base_url, "kit-merchant", "kit-api-key-7Qz")
            .secret_key("kit-secret-key-9Xw")
            .transport(transport)
            .build()?;
        Ok(Arc::new(gateway) as Arc<dyn PaymentGateway>)
    })
    .secret("kit-api-key-7Qz")
    .secret("kit-secret-key-9Xw")
    .secret("kit-auth-token-3Lm")
    .canned(
        "/merchant/auth",
        r#"{"status": true, "auth": "kit-auth-token-3Lm"}"#,
    )
    .write_path("/merchant/generate_orders")
    .write_path("/merchant/withdraw_orders")
    .deposit(deposit("MYR").build().unwrap())
    .withdrawal(
        WithdrawalRequest::builder(
            "KIT-W-1",
            Money::parse("250", "MYR").unwrap(),
            "12",
            "John Doe",
            "123",
        )
        .build()
        .unwrap(),
    )
    .invalid_deposit(deposit("USD").build().unwrap())
    .invalid_deposit(deposit("THB").build().unwrap())
    .invalid_deposit(deposit("MYR").payment_method("thaiqr").build().unwrap())
    .status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()))
    .run()
    .await
    .assert_passed();
}
