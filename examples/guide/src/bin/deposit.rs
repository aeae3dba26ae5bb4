use paybridge::{Config, DepositRequest, Gateway, Money};

#[tokio::main]
async fn main() -> Result<(), paybridge::Error> {
    let config = Config::load(std::path::Path::new("paybridge.toml"))?;
    let gateway = Gateway::from_config(&config)?;
    let request = DepositRequest::builder("ORDER-1001", Money::parse("100.50", "MYR")?)
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()?; // invalid input is refused here, naming the field
    let order = gateway.create_deposit(&request).await?;
    // Store order.provider_ref with the order (ONE-PUNCH needs it for status and callbacks),
    // then send the payer to order.payment_url.
    println!("{}: {}", order.order_id, order.payment_url);
    Ok(())
}
