//! paybridge adapter for Vpay88: the merchant form API in Vpay88's dialect,
//! its currencies and per-currency deposit rules written as data in
//! `vpay88.toml`, the same way a brand is configured.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_vpay88::{DepositForm, Vpay88};
//!
//! let gateway = Vpay88::builder("https://pay.example", "merchant", "api-key")
//!     .secret_key("secret-key")
//!     .build()
//!     .unwrap();
//! assert!(!gateway.capabilities().supports(Operation::Balance));
//!
//! // THB deposits need a bank id; the error names it before anything is sent.
//! let request = DepositRequest::builder("ORDER-1", Money::parse("100", "THB").unwrap())
//!     .customer_name("john")
//!     .email("john@example.com")
//!     .phone("601012456789")
//!     .build()
//!     .unwrap();
//! let err = DepositForm::new(&Vpay88::dialect(), &request).unwrap_err();
//! assert!(err.to_string().contains("bank_id"));
//! ```
#![deny(missing_docs)]

pub use paybridge_formapi::config::{AuthPolicySetting, FormApiSection};
pub use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
pub use paybridge_formapi::{transformers, AuthPolicy, FormApiBuilder, FormApiGateway};
// The types this adapter's API speaks, so a program needs no other paybridge crate.
pub use paybridge_wire::prelude::*;

/// The provider.
pub const PROVIDER: Provider = Provider::new("vpay88");

paybridge_formapi::built_in_dialect!(
    /// Vpay88: its gateways are [`FormApiGateway`]s speaking [`Vpay88::dialect`].
    Vpay88,
    PROVIDER,
    "vpay88.toml"
);

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use paybridge_core::{DepositRequest, Error, Money};

    use super::*;

    #[test]
    fn the_dialect_reads_and_names_its_provider() {
        assert_eq!(Vpay88::dialect().provider(), PROVIDER);
        assert_eq!(Vpay88::dialect().currencies().len(), 5);
    }

    #[test]
    fn a_base_url_ending_in_merchant_is_refused_naming_the_key() {
        for url in [
            "https://api.example/merchant",
            "https://api.example/Merchant/",
        ] {
            match Vpay88::builder(url, "demo", "key").build() {
                Err(Error::Config { key, reason }) => {
                    assert_eq!(key, "vpay88.base_url");
                    assert!(reason.contains("ends in /merchant"), "{reason}");
                }
                other => panic!("{url}: expected a configuration error, got {other:?}"),
            }
        }
        assert!(
            Vpay88::builder("https://api.example/merchants", "demo", "key")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn redirect_url_is_sent_for_every_currency_but_sgd() {
        for currency in ["MYR", "THB", "IDR", "VND", "SGD"] {
            let mut request = DepositRequest::builder("A1", Money::parse("100", currency).unwrap())
                .customer_name("john")
                .email("john@example.com")
                .phone("601012456789")
                .redirect_url("https://r.example/");
            if matches!(currency, "THB" | "IDR") {
                request = request.bank_id("1");
            }
            let form = DepositForm::new(&Vpay88::dialect(), &request.build().unwrap()).unwrap();
            let expected = (currency != "SGD").then_some("https://r.example/");
            assert_eq!(form.fields.redirect_url.as_deref(), expected, "{currency}");
        }
    }

    fn deposit(currency: &str) -> paybridge_core::DepositRequestBuilder {
        DepositRequest::builder("A1", Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
    }

    #[test]
    fn per_currency_fields_are_refused_by_name_before_any_form_exists() {
        let named = |request: DepositRequest| match DepositForm::new(&Vpay88::dialect(), &request) {
            Err(Error::InvalidRequest { field, reason }) => (field, reason),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(named(deposit("THB").build().unwrap()).0, "bank_id");
        assert_eq!(
            named(deposit("SGD").mode("DIGI").build().unwrap()).0,
            "mode"
        );
        assert_eq!(
            named(deposit("MYR").mode("VISA").build().unwrap()).0,
            "mode"
        );
        assert_eq!(
            named(deposit("MYR").payment_method("x").build().unwrap()).0,
            "payment_method"
        );
        let (field, reason) = named(
            deposit("MYR")
                .callback_url("https://cb.example/")
                .build()
                .unwrap(),
        );
        assert_eq!(field, "callback_url");
        assert!(
            reason.contains("account page"),
            "the reason says why: {reason}"
        );
        // The currencies an account takes are the provider's published list,
        // checked by the gateway; the form itself refuses no currency.
        assert!(DepositForm::new(&Vpay88::dialect(), &deposit("USDT").build().unwrap()).is_ok());
        let (field, reason) = named(deposit("MYR").extra("bank_id", "1").build().unwrap());
        assert_eq!(field, "extra");
        assert!(reason.contains("bank_id"), "{reason}");
    }

    #[test]
    fn extra_fields_are_sent_as_named_after_the_form_s_own() {
        let request = deposit("MYR")
            .extra("bank_code", "MBB")
            .extra("remark", "vip")
            .build()
            .unwrap();
        let form = DepositForm::new(&Vpay88::dialect(), &request).unwrap();
        let pairs = paybridge_wire::form_pairs(&form).unwrap();
        let without = DepositForm::new(&Vpay88::dialect(), &deposit("MYR").build().unwrap());
        let mut expected = paybridge_wire::form_pairs(&without.unwrap()).unwrap();
        expected.extend([
            ("bank_code".into(), "MBB".into()),
            ("remark".into(), "vip".into()),
        ]);
        assert_eq!(
            pairs, expected,
            "the form's own fields, then the extra ones"
        );
    }

    #[test]
    fn fields_vpay88_does_not_take_are_not_sent_and_refuse_nothing() {
        let request = deposit("MYR")
            .bank_id("1")
            .ip_addr("203.0.113.7")
            .mac_addr("00-14-22-01-23-45")
            .customer_bank_holder_name("John")
            .customer_bank_account("1234")
            .build()
            .unwrap();
        let form = DepositForm::new(&Vpay88::dialect(), &request).unwrap();
        let pairs = paybridge_wire::form_pairs(&form).unwrap();
        let without_contact = DepositRequest::builder("A2", Money::parse("100", "MYR").unwrap())
            .customer_name("john")
            .build()
            .unwrap();
        let bare = DepositForm::new(&Vpay88::dialect(), &without_contact).unwrap();
        let bare_pairs = paybridge_wire::form_pairs(&bare).unwrap();
        let bare_names: Vec<&str> = bare_pairs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            bare_names,
            ["username", "amount", "currency", "orderid"],
            "e-mail and phone are sent when given, not required"
        );
        let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "username",
                "amount",
                "currency",
                "orderid",
                "email",
                "phone_number"
            ]
        );
    }
}
