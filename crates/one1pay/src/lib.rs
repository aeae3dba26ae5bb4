//! paybridge adapter for One1Pay: the merchant form API with One1Pay's extra
//! deposit fields, per-order callback URLs, `payment_id` references and balance.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_one1pay::One1Pay;
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
//!     .build()
//!     .unwrap();
//! let err = gateway.deposit_form(&request).unwrap_err();
//! assert!(err.to_string().contains("payment_method"));
//! ```
#![deny(missing_docs)]

use paybridge_core::{Capabilities, DepositRequest, Error, Operation, Result, WithdrawalRequest};
use paybridge_formapi::{inapplicable, Dialect, FormApiGateway, FormFields, FORM_API_OPERATIONS};

pub use paybridge_formapi::{AuthPolicy, FormApiBuilder};

/// The provider name.
pub const PROVIDER: &str = "one1pay";

/// Currencies One1Pay documents.
pub const CURRENCIES: &[&str] = &[
    "THB",
    "CNY",
    "VND",
    "INR",
    "USDT-TRC20",
    "MYR",
    "BDT",
    "SGD",
];

/// Values of `pay_method`.
pub const PAY_METHODS: &[&str] = &["thaiqr", "truemoney"];

/// One1Pay's rules over the shared wire protocol.
#[derive(Debug, Default, Clone, Copy)]
pub struct One1PayDialect;

/// A One1Pay gateway.
pub type One1Pay = FormApiGateway<One1PayDialect>;

impl Dialect for One1PayDialect {
    const PROVIDER: &'static str = PROVIDER;

    fn capabilities(&self) -> Capabilities {
        let mut operations = FORM_API_OPERATIONS.to_vec();
        operations.push(Operation::Balance);
        Capabilities::of(&operations)
    }

    fn currencies(&self) -> &'static [&'static str] {
        CURRENCIES
    }

    fn deposit_fields(&self, request: &DepositRequest, form: &mut FormFields) -> Result<()> {
        for (field, value) in [
            ("mode", &request.mode),
            ("ip_addr", &request.ip_addr),
            ("mac_addr", &request.mac_addr),
        ] {
            if value.is_some() {
                return Err(inapplicable(field, PROVIDER, " deposits"));
            }
        }
        let required = |field: &'static str, value: &Option<String>| {
            value
                .clone()
                .ok_or_else(|| Error::missing(field, PROVIDER, " deposits"))
        };
        let pay_method = required("payment_method", &request.payment_method)?;
        if !PAY_METHODS.contains(&pay_method.as_str()) {
            return Err(Error::invalid(
                "payment_method",
                format!("{pay_method:?} is not one of {}", PAY_METHODS.join(", ")),
            ));
        }
        form.push(
            "redirect_url",
            required("redirect_url", &request.redirect_url)?,
        );
        form.push(
            "customer_bank_holder_name",
            required(
                "customer_bank_holder_name",
                &request.customer_bank_holder_name,
            )?,
        );
        form.push(
            "customer_bank_account",
            required("customer_bank_account", &request.customer_bank_account)?,
        );
        form.push("bank_id", required("bank_id", &request.bank_id)?);
        form.push("pay_method", pay_method);
        form.push_opt("callback_url", request.callback_url.as_ref());
        Ok(())
    }

    fn withdrawal_fields(&self, request: &WithdrawalRequest, form: &mut FormFields) -> Result<()> {
        form.push_opt("callback_url", request.callback_url.as_ref());
        Ok(())
    }
}
