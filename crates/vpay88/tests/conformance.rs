//! Vpay88 through the adapter conformance kit.

use std::sync::Arc;

use paybridge_core::{DepositRequest, Money, OrderId, PaymentGateway, StatusQuery};
use paybridge_testkit::conformance::{
    payout, Adapter, FORM_API_KEY, FORM_API_MERCHANT, FORM_API_SECRET,
};
use paybridge_vpay88::Vpay88;

#[tokio::test]
async fn vpay88_conforms() {
    let deposit = |currency: &str| {
        DepositRequest::builder("KIT-1", Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    };
    Adapter::form_api("vpay88", |base_url, transport| {
        let gateway = Vpay88::builder(base_url, FORM_API_MERCHANT, FORM_API_KEY)
            .secret_key(FORM_API_SECRET)
            .transport(transport)
            .build()?;
        Ok(Arc::new(gateway) as Arc<dyn PaymentGateway>)
    })
    .deposit(deposit("MYR").build().unwrap())
    .withdrawal(payout("MYR"))
    .invalid_deposit(deposit("MYR").extra("orderid", "KIT-2").build().unwrap())
    .invalid_deposit(deposit("THB").build().unwrap())
    .invalid_deposit(deposit("MYR").payment_method("thaiqr").build().unwrap())
    .status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()))
    .run()
    .await
    .assert_passed();
}
