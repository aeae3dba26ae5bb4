//! One1Pay through the adapter conformance kit.

use std::sync::Arc;

use paybridge_core::{DepositRequest, Money, OrderId, PaymentGateway, StatusQuery};
use paybridge_one1pay::One1Pay;
use paybridge_testkit::conformance::{
    payout, Adapter, FORM_API_KEY, FORM_API_MERCHANT, FORM_API_SECRET,
};

#[tokio::test]
async fn one1pay_conforms() {
    let deposit = |currency: &str| {
        DepositRequest::builder("KIT-1", Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    };
    let complete = || {
        deposit("THB")
            .bank_id("105")
            .payment_method("thaiqr")
            .redirect_url("https://merchant.example/back")
            .customer_bank_holder_name("tang")
            .customer_bank_account("1234")
    };
    Adapter::form_api("one1pay", |base_url, transport| {
        let gateway = One1Pay::builder(base_url, FORM_API_MERCHANT, FORM_API_KEY)
            .secret_key(FORM_API_SECRET)
            .transport(transport)
            .build()?;
        Ok(Arc::new(gateway) as Arc<dyn PaymentGateway>)
    })
    .deposit(complete().build().unwrap())
    .withdrawal(payout("THB"))
    // Complete but for an extra field named like one the form sets itself.
    .invalid_deposit(complete().extra("bank_id", "2").build().unwrap())
    .invalid_deposit(deposit("THB").build().unwrap())
    .invalid_deposit(deposit("THB").mode("DIGI").build().unwrap())
    .status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()))
    .run()
    .await
    .assert_passed();
}
