use paybridge::{DepositRequest, Money};

/// Only the currency differs between providers: Vpay88 and One1Pay both take MYR,
/// ONE-PUNCH takes CNY only.
pub fn request(currency: &str) -> Result<DepositRequest, paybridge::Error> {
    DepositRequest::builder("ORDER-1001", Money::parse("100", currency)?)
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .redirect_url("https://shop.example/paid")
        .ip_addr("203.0.113.7")
        // One1Pay needs the payer's bank unless the method is a wallet (truemoney);
        // the others do not send these. The bank id is one from One1Pay's list.
        .bank_id("101")
        .customer_bank_holder_name("John Tan")
        .customer_bank_account("1234567890")
        .build()
}
