//! The conformance kit finds what a careless adapter gets wrong.

use std::sync::Arc;

use async_trait::async_trait;
use paybridge_core::{
    Capabilities, Currency, DepositOrder, DepositRequest, Error, Money, Operation, OrderId,
    PaymentGateway, Provider, Result, StatusQuery,
};
use paybridge_testkit::conformance::Adapter;

/// Resends a failed order, claims a balance it does not have, and derives
/// `Debug` over its key.
#[derive(Debug)]
struct Careless {
    base_url: String,
    key: String,
}

#[async_trait]
impl PaymentGateway for Careless {
    fn provider(&self) -> Provider {
        Provider::new("careless")
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Operation::CreateDeposit, Operation::Balance])
    }

    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        let client = reqwest::Client::new();
        for _ in 0..2 {
            if let Ok(answer) = client
                .post(format!("{}/orders", self.base_url))
                .header("x-key", &self.key)
                .send()
                .await
            {
                if answer.status().is_success() {
                    return Ok(DepositOrder::new(
                        request.order_id.clone(),
                        "https://pay".into(),
                        None,
                    ));
                }
            }
        }
        Err(Error::invalid("order", "the provider did not take it"))
    }

    async fn balance(&self, _currency: &Currency) -> Result<paybridge_core::Balance> {
        Err(self.unsupported(Operation::Balance))
    }
}

#[tokio::test]
async fn a_resending_leaking_overclaiming_adapter_fails_the_kit_on_each_count() {
    let report = Adapter::new("careless", |base_url, _| {
        Ok(Arc::new(Careless {
            base_url: base_url.to_owned(),
            key: "careless-key-1Ab".into(),
        }) as Arc<dyn PaymentGateway>)
    })
    .secret("careless-key-1Ab")
    .write_path("/orders")
    .deposit(
        DepositRequest::builder("C-1", Money::parse("1", "MYR").unwrap())
            .build()
            .unwrap(),
    )
    .invalid_deposit(
        DepositRequest::builder("C-2", Money::parse("1", "XXX").unwrap())
            .build()
            .unwrap(),
    )
    .status_query(StatusQuery::new(OrderId::new("C-1").unwrap()))
    .run()
    .await;
    let failed: Vec<&str> = report.failures().iter().map(|c| c.name.as_str()).collect();
    assert!(failed.contains(&"capabilities: balance"), "{failed:?}");
    assert!(
        failed.contains(&"deposit when the server answers HTTP 500"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"invalid deposit 1 is refused before any I/O"),
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|name| name.starts_with("secret car")),
        "{failed:?}"
    );
    let resent = report
        .checks
        .iter()
        .find(|c| c.name == "deposit when the server answers HTTP 500")
        .and_then(|c| c.failure.as_deref())
        .unwrap();
    assert!(resent.contains("sent 2 times"), "{resent}");
}
