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
//!     .build()
//!     .unwrap();
//! let err = DepositForm::<One1PayDialect>::try_from(&request).unwrap_err();
//! assert!(err.to_string().contains("payment_method"));
//! ```
#![deny(missing_docs)]

use paybridge_core::{
    Capabilities, DepositRequest, Error, Operation, Provider, Result, WithdrawalRequest,
};
use paybridge_formapi::transformers::{
    refuse_inapplicable, required, DepositFields, WithdrawalFields,
};
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

    fn deposit_fields(request: &DepositRequest) -> Result<DepositFields> {
        refuse_inapplicable(
            &[
                ("mode", &request.mode),
                ("ip_addr", &request.ip_addr),
                ("mac_addr", &request.mac_addr),
            ],
            PROVIDER,
            " deposits",
        )?;
        let need = |field, value| required(field, value, PROVIDER, " deposits");
        let pay_method = need("payment_method", &request.payment_method)?;
        // The document names THB's two methods only; other currencies' methods
        // are the merchant's to know (and to list in configuration).
        let currency = request.amount.currency().as_str();
        if currency == "THB" && !THB_PAY_METHODS.contains(&pay_method.as_str()) {
            return Err(Error::invalid(
                "payment_method",
                format!(
                    "{pay_method:?} is not a THB method ({})",
                    THB_PAY_METHODS.join(", ")
                ),
            ));
        }
        Ok(DepositFields {
            mode: None,
            redirect_url: Some(need("redirect_url", &request.redirect_url)?),
            customer_bank_holder_name: Some(need(
                "customer_bank_holder_name",
                &request.customer_bank_holder_name,
            )?),
            customer_bank_account: Some(need(
                "customer_bank_account",
                &request.customer_bank_account,
            )?),
            bank_id: Some(need("bank_id", &request.bank_id)?),
            pay_method: Some(pay_method),
            callback_url: request.callback_url.clone(),
        })
    }

    fn withdrawal_fields(request: &WithdrawalRequest) -> Result<WithdrawalFields> {
        Ok(WithdrawalFields {
            callback_url: request.callback_url.clone(),
        })
    }
}
