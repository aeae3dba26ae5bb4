//! paybridge adapter for One1Pay: the merchant form API in One1Pay's dialect
//! (extra deposit fields, per-order callback URLs, `payment_id` references and
//! balance), written as data in `one1pay.toml`, the same way a brand is configured.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_one1pay::{DepositForm, One1Pay};
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
//! let err = DepositForm::new(&One1Pay::dialect(), &request).unwrap_err();
//! assert!(err.to_string().contains("payment_method"));
//!
//! // The same table, asked before any request.
//! let thb = paybridge_core::Currency::new("THB").unwrap();
//! let rules = gateway.request_fields(paybridge_core::OrderKind::Deposit, &thb);
//! assert!(rules.iter().any(|r| r.field == paybridge_core::RequestField::PaymentMethod
//!     && r.usage == paybridge_core::FieldUse::Required));
//! ```
#![deny(missing_docs)]

pub use paybridge_formapi::config::{AuthPolicySetting, FormApiSection};
pub use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
pub use paybridge_formapi::{transformers, AuthPolicy, FormApiBuilder, FormApiGateway};
// The types this adapter's API speaks, so a program needs no other paybridge crate.
pub use paybridge_wire::prelude::*;

/// The provider.
pub const PROVIDER: Provider = Provider::new("one1pay");

paybridge_formapi::built_in_dialect!(
    /// One1Pay: its gateways are [`FormApiGateway`]s speaking [`One1Pay::dialect`].
    One1Pay,
    PROVIDER,
    "one1pay.toml"
);

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use paybridge_core::{DepositRequest, Error, Money};

    use super::*;

    fn thb(method: &str) -> paybridge_core::DepositRequestBuilder {
        DepositRequest::builder("A1", Money::parse("100", "THB").unwrap())
            .customer_name("john")
            .redirect_url("https://shop.example/back")
            .payment_method(method)
    }

    #[test]
    fn a_wallet_deposit_needs_no_payer_bank_and_a_bank_deposit_names_the_missing_field() {
        let wallet = DepositForm::new(&One1Pay::dialect(), &thb("truemoney").build().unwrap())
            .expect("truemoney without the payer's bank");
        assert_eq!(wallet.fields.bank_id, None);
        assert_eq!(wallet.fields.customer_bank_account, None);
        let with_bank = thb("truemoney")
            .bank_id("105")
            .customer_bank_holder_name("tang")
            .customer_bank_account("1234")
            .build()
            .unwrap();
        let sent = DepositForm::new(&One1Pay::dialect(), &with_bank).unwrap();
        assert_eq!(
            sent.fields.bank_id.as_deref(),
            Some("105"),
            "sent when given"
        );
        for (request, missing) in [
            (thb("thaiqr").build().unwrap(), "bank_id"),
            (
                thb("thaiqr").bank_id("105").build().unwrap(),
                "customer_bank_holder_name",
            ),
            (
                thb("thaiqr")
                    .bank_id("105")
                    .customer_bank_holder_name("tang")
                    .build()
                    .unwrap(),
                "customer_bank_account",
            ),
        ] {
            match DepositForm::new(&One1Pay::dialect(), &request) {
                Err(Error::InvalidRequest { field, reason }) => {
                    assert_eq!(field, missing);
                    assert!(reason.contains("wallet"), "{reason}");
                }
                other => panic!("{missing} is missing: {other:?}"),
            }
        }
    }
}
