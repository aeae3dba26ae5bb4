//! paybridge adapter for Vpay88: the merchant form API with Vpay88's currencies
//! and per-currency deposit rules.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_vpay88::{DepositForm, Vpay88, Vpay88Dialect};
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
//! let err = DepositForm::<Vpay88Dialect>::try_from(&request).unwrap_err();
//! assert!(err.to_string().contains("bank_id"));
//! ```
#![deny(missing_docs)]

use paybridge_core::{Capabilities, DepositRequest, Error, Provider, Result, WithdrawalRequest};
use paybridge_formapi::transformers::{refuse_inapplicable, DepositFields, WithdrawalFields};
use paybridge_formapi::{Dialect, FormApiGateway, FORM_API_OPERATIONS};

pub use paybridge_core::HttpOptions;
pub use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
pub use paybridge_formapi::{transformers, AuthPolicy, FormApiBuilder};

/// The provider.
pub const PROVIDER: Provider = Provider::Vpay88;

/// Prepaid-card modes for MYR deposits.
pub const MYR_MODES: &[&str] = &["DIGI", "MAXIS", "CELCOM"];

/// Vpay88's rules over the shared wire protocol.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vpay88Dialect;

/// A Vpay88 gateway.
pub type Vpay88 = FormApiGateway<Vpay88Dialect>;

impl Dialect for Vpay88Dialect {
    const PROVIDER: Provider = PROVIDER;

    /// Currencies Vpay88 documents.
    const CURRENCIES: &'static [&'static str] = &["MYR", "SGD", "VND", "THB", "IDR"];

    fn capabilities() -> Capabilities {
        Capabilities::of(&FORM_API_OPERATIONS)
    }

    fn deposit_fields(request: &DepositRequest) -> Result<DepositFields> {
        let currency = request.amount.currency().as_str();
        let context = format!(" {currency} deposits");
        // Fields only One1Pay or ONE-PUNCH take.
        refuse_inapplicable(
            &[
                ("payment_method", &request.payment_method),
                ("callback_url", &request.callback_url),
                (
                    "customer_bank_holder_name",
                    &request.customer_bank_holder_name,
                ),
                ("customer_bank_account", &request.customer_bank_account),
                ("ip_addr", &request.ip_addr),
                ("mac_addr", &request.mac_addr),
            ],
            PROVIDER,
            " deposits",
        )?;
        let needs_bank = matches!(currency, "THB" | "IDR");
        if needs_bank && request.bank_id.is_none() {
            return Err(Error::missing(
                "bank_id",
                PROVIDER.as_str(),
                &format!(" for{context}"),
            ));
        }
        let bank_id = (!needs_bank).then_some(&request.bank_id);
        let mode = (currency != "MYR").then_some(&request.mode);
        // MYR documents `redirect_url`; THB, IDR and VND do not forbid it; SGD has no
        // section in the document, so nothing beyond the common fields is sent for it.
        let redirect_url = (currency == "SGD").then_some(&request.redirect_url);
        let refused: Vec<_> = [
            ("bank_id", bank_id),
            ("mode", mode),
            ("redirect_url", redirect_url),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field, value?)))
        .collect();
        refuse_inapplicable(&refused, PROVIDER, &context)?;
        if let Some(mode) = &request.mode {
            if !MYR_MODES.contains(&mode.as_str()) {
                return Err(Error::invalid(
                    "mode",
                    format!("{mode:?} is not one of {}", MYR_MODES.join(", ")),
                ));
            }
        }
        Ok(DepositFields {
            mode: request.mode.clone(),
            redirect_url: request.redirect_url.clone(),
            bank_id: request.bank_id.clone(),
            ..DepositFields::default()
        })
    }

    fn withdrawal_fields(request: &WithdrawalRequest) -> Result<WithdrawalFields> {
        refuse_inapplicable(
            &[("callback_url", &request.callback_url)],
            PROVIDER,
            " withdrawals",
        )?;
        Ok(WithdrawalFields::default())
    }
}

#[cfg(test)]
mod tests {
    use paybridge_core::{DepositRequest, Money};

    use super::*;

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
        for currency in ["MYR", "THB", "IDR", "VND"] {
            let mut request = DepositRequest::builder("A1", Money::parse("100", currency).unwrap())
                .customer_name("john")
                .email("john@example.com")
                .phone("601012456789")
                .redirect_url("https://r.example/");
            if matches!(currency, "THB" | "IDR") {
                request = request.bank_id("1");
            }
            let form = DepositForm::<Vpay88Dialect>::try_from(&request.build().unwrap()).unwrap();
            assert_eq!(
                form.fields.redirect_url.as_deref(),
                Some("https://r.example/"),
                "{currency}"
            );
        }
    }

    #[test]
    fn per_currency_fields_are_refused_by_name_before_any_form_exists() {
        let deposit = |currency: &str| {
            DepositRequest::builder("A1", Money::parse("100", currency).unwrap())
                .customer_name("john")
                .email("john@example.com")
                .phone("601012456789")
        };
        let named = |request: DepositRequest| match DepositForm::<Vpay88Dialect>::try_from(&request)
        {
            Err(Error::InvalidRequest { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(named(deposit("THB").build().unwrap()), "bank_id");
        assert_eq!(
            named(deposit("MYR").bank_id("1").build().unwrap()),
            "bank_id"
        );
        assert_eq!(named(deposit("SGD").mode("DIGI").build().unwrap()), "mode");
        assert_eq!(named(deposit("MYR").mode("VISA").build().unwrap()), "mode");
        assert_eq!(
            named(
                deposit("SGD")
                    .redirect_url("https://r.example")
                    .build()
                    .unwrap()
            ),
            "redirect_url"
        );
        assert_eq!(
            named(deposit("MYR").payment_method("x").build().unwrap()),
            "payment_method"
        );
        assert_eq!(named(deposit("USD").build().unwrap()), "currency");
    }
}
