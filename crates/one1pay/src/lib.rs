//! paybridge adapter for One1Pay: the merchant form API with One1Pay's extra
//! deposit fields, per-order callback URLs, `payment_id` references and balance.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_one1pay::{DepositForm, One1Pay, One1PayDialect};
//!
//! let gateway = One1Pay::builder("https://pay.example", "merchant", "api-key")
//!     .secret_key("secret-key")
//!     .build()
//!     .unwrap();
//! assert!(gateway.capabilities().supports(Operation::Balance));
//!
//! let request = DepositRequest::builder("ORDER-1", Money::parse("100", "THB").unwrap())
//!     .customer_name("john")
//!     .email("john@example.com")
//!     .phone("601012456789")
//!     .redirect_url("https://shop.example/back")
//!     .build()
//!     .unwrap();
//! let err = DepositForm::<One1PayDialect>::try_from(&request).unwrap_err();
//! assert!(err.to_string().contains("payment_method"));
//!
//! // The same table, asked before any request.
//! let thb = paybridge_core::Currency::new("THB").unwrap();
//! let rules = gateway.request_fields(paybridge_core::OrderKind::Deposit, &thb);
//! assert!(rules.iter().any(|r| r.field == paybridge_core::RequestField::PaymentMethod
//!     && r.usage == paybridge_core::FieldUse::Required));
//! ```
#![deny(missing_docs)]

use paybridge_core::{
    Capabilities, Currency, DepositRequest, Error, FieldRule, Operation, Provider, RequestField,
    Result,
};
use paybridge_formapi::transformers::{common_deposit_rules, common_withdrawal_rules};
use paybridge_formapi::{Dialect, FormApiGateway, FORM_API_OPERATIONS};

pub use paybridge_core::HttpOptions;
pub use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
pub use paybridge_formapi::{transformers, AuthPolicy, FormApiBuilder};

/// The provider.
pub const PROVIDER: Provider = Provider::One1Pay;

/// Values of `pay_method` for THB, the only currency whose methods the document names.
pub const THB_PAY_METHODS: &[&str] = &["thaiqr", "truemoney"];

/// One1Pay's rules over the shared wire protocol.
#[derive(Debug, Default, Clone, Copy)]
pub struct One1PayDialect;

/// A One1Pay gateway.
pub type One1Pay = FormApiGateway<One1PayDialect>;

impl Dialect for One1PayDialect {
    const PROVIDER: Provider = PROVIDER;

    /// Currencies One1Pay documents.
    const CURRENCIES: &'static [&'static str] = &[
        "THB",
        "CNY",
        "VND",
        "INR",
        "USDT-TRC20",
        "MYR",
        "BDT",
        "SGD",
    ];

    fn capabilities() -> Capabilities {
        let mut operations = FORM_API_OPERATIONS.to_vec();
        operations.push(Operation::Balance);
        Capabilities::of(&operations)
    }

    fn deposit_rules(_currency: &Currency) -> Vec<FieldRule> {
        use RequestField as F;
        let mut rules = common_deposit_rules();
        let payer_bank = "the document lists the payer's bank for every deposit";
        rules.extend([
            FieldRule::required(F::RedirectUrl, "redirect_url", "the document lists it for every deposit"),
            FieldRule::sent(F::CallbackUrl, "callback_url", "optional: this order's own callback URL"),
            FieldRule::required(F::PaymentMethod, "pay_method", "the document lists it for every deposit; `[one1pay] payment_method` is used when the request names none"),
            FieldRule::required(F::BankId, "bank_id", "from One1Pay's deposit bank list; the document lists it for every deposit"),
            FieldRule::required(F::CustomerBankHolderName, "customer_bank_holder_name", payer_bank),
            FieldRule::required(F::CustomerBankAccount, "customer_bank_account", payer_bank),
            FieldRule::refused(F::Mode, "the prepaid-card mode is Vpay88's; without it the payer would be offered another channel"),
        ]);
        rules
    }

    fn withdrawal_rules(_currency: &Currency) -> Vec<FieldRule> {
        let mut rules = common_withdrawal_rules();
        rules.push(FieldRule::sent(
            RequestField::CallbackUrl,
            "callback_url",
            "optional: this payout's own callback URL",
        ));
        rules
    }

    fn check_deposit_values(request: &DepositRequest) -> Result<()> {
        // The document names THB's two methods only; other currencies' methods
        // are the merchant's to know (and to list in configuration).
        let currency = request.amount.currency().as_str();
        match &request.payment_method {
            Some(method) if currency == "THB" && !THB_PAY_METHODS.contains(&method.as_str()) => {
                Err(Error::invalid(
                    "payment_method",
                    format!(
                        "{method:?} is not a THB method ({})",
                        THB_PAY_METHODS.join(", ")
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}
