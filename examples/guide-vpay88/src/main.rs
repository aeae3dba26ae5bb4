use std::io::Read;
use std::time::Duration;

use paybridge_vpay88::{
    confirm, CallbackRequest, DepositRequest, Money, PaymentGateway, StatusQuery, TransportConfig,
    Vpay88,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The sandbox's demo account (`paybridge sandbox`) unless the environment names yours.
    let var = |name: &str, demo: &str| std::env::var(name).unwrap_or_else(|_| demo.to_owned());
    let gateway = Vpay88::builder(
        var("VPAY88_BASE_URL", "http://127.0.0.1:7878/vpay88"),
        var("VPAY88_USERNAME", "demo"),
        var("VPAY88_API_KEY", "demo-api-key"),
    )
    .secret_key(var("VPAY88_SECRET_KEY", "demo-secret-key"))
    .transport(
        TransportConfig::default()
            .connect_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(20)),
    )
    .build()?;

    if std::env::args().nth(1).as_deref() == Some("callback") {
        // A callback's body on stdin: its token checked against the secret, then its
        // status and amount confirmed by the status API, since the token covers neither.
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body)?;
        let event = gateway.verify_callback(&CallbackRequest::new(&body))?;
        let report = confirm(&gateway, &event).await?;
        println!("{} is {}, confirmed", report.order_id, report.status);
        return Ok(());
    }

    let request = DepositRequest::builder("ORDER-1001", Money::parse("100.50", "MYR")?)
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()?;
    let order = gateway.create_deposit(&request).await?;
    println!("send the payer to {}", order.payment_url);
    let report = gateway
        .deposit_status(&StatusQuery::new(order.order_id))
        .await?;
    println!("{} is {}", report.order_id, report.status);
    Ok(())
}
