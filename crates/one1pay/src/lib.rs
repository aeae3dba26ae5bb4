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

use paybridge_formapi::transformers::{common_deposit_rules, common_withdrawal_rules};
use paybridge_formapi::{Dialect, FormApiGateway, FORM_API_OPERATIONS};

// The types this adapter's API speaks, so a program needs no other paybridge crate.
pub use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
pub use paybridge_formapi::{transformers, AuthPolicy, FormApiBuilder};
pub use paybridge_wire::prelude::*;

/// The provider.
pub const PROVIDER: Provider = Provider::new("one1pay");

/// Values of `pay_method` for THB, the only currency whose methods the document names.
pub const THB_PAY_METHODS: &[&str] = &["thaiqr", "truemoney"];

/// Methods that pay from a wallet, not a bank account: live servers take their
/// deposits without the payer's bank (`bank_id`, `customer_bank_holder_name`,
/// `customer_bank_account`), which the document lists for every deposit.
pub const WALLET_PAY_METHODS: &[&str] = &["truemoney"];

/// Why the payer's bank fields are sent when given rather than required.
const PAYER_BANK: &str = "required unless the method is a wallet (truemoney): the document lists the payer's bank for every deposit, and live servers take wallet deposits without it";

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
        rules.extend([
            FieldRule::required(F::RedirectUrl, "redirect_url", "the document lists it for every deposit"),
            FieldRule::sent(F::CallbackUrl, "callback_url", "optional: this order's own callback URL"),
            FieldRule::required(F::PaymentMethod, "pay_method", "the document lists it for every deposit; `[one1pay] payment_method` is used when the request names none"),
            FieldRule::sent(F::BankId, "bank_id", "from One1Pay's deposit bank list; required unless the method is a wallet (truemoney): the document lists it for every deposit, and live servers take wallet deposits without it"),
            FieldRule::sent(F::CustomerBankHolderName, "customer_bank_holder_name", PAYER_BANK),
            FieldRule::sent(F::CustomerBankAccount, "customer_bank_account", PAYER_BANK),
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
        let by_wallet = request
            .payment_method
            .as_deref()
            .is_some_and(|method| WALLET_PAY_METHODS.contains(&method));
        if !by_wallet {
            let payer_bank = [
                RequestField::BankId,
                RequestField::CustomerBankHolderName,
                RequestField::CustomerBankAccount,
            ];
            if let Some(missing) = payer_bank.into_iter().find(|f| !request.has(*f)) {
                return Err(Error::invalid(
                    missing.name(),
                    format!("is required by {PROVIDER} {currency} deposits not paid by a wallet: {PAYER_BANK}"),
                ));
            }
        }
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
        let wallet = DepositForm::<One1PayDialect>::try_from(&thb("truemoney").build().unwrap())
            .expect("truemoney without the payer's bank");
        assert_eq!(wallet.fields.bank_id, None);
        assert_eq!(wallet.fields.customer_bank_account, None);
        let with_bank = thb("truemoney")
            .bank_id("105")
            .customer_bank_holder_name("tang")
            .customer_bank_account("1234")
            .build()
            .unwrap();
        let sent = DepositForm::<One1PayDialect>::try_from(&with_bank).unwrap();
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
            match DepositForm::<One1PayDialect>::try_from(&request) {
                Err(Error::InvalidRequest { field, reason }) => {
                    assert_eq!(field, missing);
                    assert!(reason.contains("wallet"), "{reason}");
                }
                other => panic!("{missing} is missing: {other:?}"),
            }
        }
    }
}
