//! ONE-PUNCH through the adapter conformance kit.

use std::sync::Arc;

use paybridge_core::{DepositRequest, Money, OrderId, PaymentGateway, StatusQuery};
use paybridge_onepunch::OnePunch;
use paybridge_testkit::conformance::Adapter;

#[tokio::test]
async fn onepunch_conforms() {
    let deposit = |amount: &str| {
        DepositRequest::builder("KIT-1", Money::parse(amount, "CNY").unwrap())
            .payment_method("ali-person")
    };
    // The builder refuses a sub-fen amount; one set after building reaches
    // the adapter, which must refuse it too.
    let mut sub_fen = deposit("100").build().unwrap();
    sub_fen.amount = Money::parse("0.001", "CNY").unwrap();
    Adapter::new("onepunch", |base_url, transport| {
        let gateway = OnePunch::builder("MON-kit", "kit-monster-key-5Rt")
            .base_url(base_url)
            .notify_url("https://merchant.example/notify")
            .return_url("https://merchant.example/back")
            .transport(transport)
            .build()?;
        Ok(Arc::new(gateway) as Arc<dyn PaymentGateway>)
    })
    .secret("kit-monster-key-5Rt")
    .write_path("/api/v0/payment/")
    .deposit(deposit("100").build().unwrap())
    .invalid_deposit(sub_fen)
    .invalid_deposit(
        DepositRequest::builder("KIT-2", Money::parse("100", "USD").unwrap())
            .payment_method("x")
            .build()
            .unwrap(),
    )
    // A prepaid-card mode is a channel ONE-PUNCH cannot offer: refused, where
    // an e-mail it does not take is simply not sent.
    .invalid_deposit(deposit("100").mode("DIGI").build().unwrap())
    // ONE-PUNCH signs a fixed list of fields: an extra one is refused.
    .invalid_deposit(deposit("100").extra("bank_code", "ICBC").build().unwrap())
    .status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()).with_provider_ref("OPkit1"))
    .run()
    .await
    .assert_passed();
}
