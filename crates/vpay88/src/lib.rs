//! paybridge adapter for Vpay88: the merchant form API with Vpay88's currencies
//! and per-currency deposit rules.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, PaymentGateway, Operation};
//! use paybridge_vpay88::Vpay88;
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
//! let err = gateway.deposit_form(&request).unwrap_err();
//! assert!(err.to_string().contains("bank_id"));
//! ```
#![deny(missing_docs)]

use paybridge_core::{Capabilities, DepositRequest, Error, Result, WithdrawalRequest};
use paybridge_formapi::{inapplicable, Dialect, FormApiGateway, FormFields, FORM_API_OPERATIONS};

pub use paybridge_formapi::{AuthPolicy, FormApiBuilder};

/// The provider name.
pub const PROVIDER: &str = "vpay88";

/// Currencies Vpay88 documents.
pub const CURRENCIES: &[&str] = &["MYR", "SGD", "VND", "THB", "IDR"];

/// Prepaid-card modes for MYR deposits.
pub const MYR_MODES: &[&str] = &["DIGI", "MAXIS", "CELCOM"];

/// Vpay88's rules over the shared wire protocol.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vpay88Dialect;

/// A Vpay88 gateway.
pub type Vpay88 = FormApiGateway<Vpay88Dialect>;

impl Dialect for Vpay88Dialect {
    const PROVIDER: &'static str = PROVIDER;

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&FORM_API_OPERATIONS)
    }

    fn currencies(&self) -> &'static [&'static str] {
        CURRENCIES
    }

    fn deposit_fields(&self, request: &DepositRequest, form: &mut FormFields) -> Result<()> {
        let currency = request.amount.currency().as_str();
        let context = format!(" {currency} deposits");
        // Fields only One1Pay or ONE-PUNCH take.
        for (field, value) in [
            ("payment_method", &request.payment_method),
            ("callback_url", &request.callback_url),
            (
                "customer_bank_holder_name",
                &request.customer_bank_holder_name,
            ),
            ("customer_bank_account", &request.customer_bank_account),
            ("ip_addr", &request.ip_addr),
            ("mac_addr", &request.mac_addr),
        ] {
            if value.is_some() {
                return Err(inapplicable(field, PROVIDER, " deposits"));
            }
        }
        let needs_bank = matches!(currency, "THB" | "IDR");
        let takes_redirect = matches!(currency, "MYR" | "SGD");
        match (&request.bank_id, needs_bank) {
            (None, true) => {
                return Err(Error::missing(
                    "bank_id",
                    PROVIDER,
                    &format!(" for{context}"),
                ))
            }
            (Some(_), false) => return Err(inapplicable("bank_id", PROVIDER, &context)),
            _ => {}
        }
        if let Some(mode) = &request.mode {
            if currency != "MYR" {
                return Err(inapplicable("mode", PROVIDER, &context));
            }
            if !MYR_MODES.contains(&mode.as_str()) {
                return Err(Error::invalid(
                    "mode",
                    format!("{mode:?} is not one of {}", MYR_MODES.join(", ")),
                ));
            }
        }
        if request.redirect_url.is_some() && !takes_redirect {
            return Err(inapplicable("redirect_url", PROVIDER, &context));
        }
        form.push_opt("mode", request.mode.as_ref());
        form.push_opt("redirect_url", request.redirect_url.as_ref());
        form.push_opt("bank_id", request.bank_id.as_ref());
        Ok(())
    }

    fn withdrawal_fields(&self, request: &WithdrawalRequest, _form: &mut FormFields) -> Result<()> {
        if request.callback_url.is_some() {
            return Err(inapplicable("callback_url", PROVIDER, " withdrawals"));
        }
        Ok(())
    }
}
