//! The merchant form API's wire schema, as types: every request a `Serialize`
//! struct built from paybridge's request, every answer a `Deserialize` struct
//! mapped by `TryFrom` into paybridge's type, and the status words and refusal
//! messages mapped here. No I/O: the fixtures feed these types directly in the
//! tests (`transformers/tests.rs`).
//!
//! Every answer field is optional on the wire, so that a refusal (which carries
//! none of them) reads; the `TryFrom` mappings say which are required.
//!
//! A dialect's own rules (currencies, which fields each currency takes) are
//! data, a [`DialectSpec`](crate::DialectSpec), and reach the requests through it.
//!
//! One file per exchange: `token.rs` (auth), `listings.rs` (currencies and
//! banks), `balance.rs`, `deposit.rs`, `withdrawal.rs`, `status.rs` and
//! `callback.rs`, with `refusals.rs`; what several of them share is here.

use paybridge_core::{Currency, Decimal, FieldRule, RequestField};
use paybridge_wire::{AnswerError, Scalar};

mod balance;
mod callback;
mod deposit;
mod listings;
mod refusals;
mod status;
mod token;
mod withdrawal;

pub use balance::*;
pub use callback::*;
pub use deposit::*;
pub use listings::*;
pub use refusals::*;
pub use status::*;
pub use token::*;
pub use withdrawal::*;

/// Brands of this API take fields beyond the documents' (`bank_code`, say):
/// sent as named, after the form's own.
fn extra_rule() -> FieldRule {
    FieldRule::new(
        RequestField::Extra,
        paybridge_core::FieldUse::Sent,
        None,
        "sent as named, after the form's own fields; a name the form sets itself is refused",
    )
}

/// Every field name this API's requests carry, paybridge's to set: an extra
/// field of one of these names is refused, so it can never replace what was
/// checked and decided.
pub const FORM_FIELD_NAMES: &[&str] = &[
    "auth",
    "username",
    "api_key",
    "amount",
    "currency",
    "orderid",
    "id",
    "email",
    "phone_number",
    "mode",
    "redirect_url",
    "customer_bank_holder_name",
    "customer_bank_account",
    "bank_id",
    "pay_method",
    "callback_url",
    "bank_branch",
    "holder_name",
    "account_no",
];

/// `rules` with `row` in place of the row for the same field (or added).
pub fn with_rule(mut rules: Vec<FieldRule>, row: FieldRule) -> Vec<FieldRule> {
    match rules.iter_mut().find(|r| r.field == row.field) {
        Some(existing) => *existing = row,
        None => rules.push(row),
    }
    rules
}

/// Formats an amount for the wire: no exponent, no trailing zeros (`100`, `100.5`).
pub fn format_amount(amount: Decimal) -> String {
    amount.normalize().to_string()
}

/// An answer's currency field, which must be present and a currency code.
fn currency(value: Option<Scalar>, name: &str) -> Result<Currency, AnswerError> {
    Currency::new(&Scalar::required_text(value, name)?).map_err(|e| AnswerError::field(name, e))
}

/// An answer's amount field, which must be present and an exact decimal.
fn decimal(value: Option<Scalar>, name: &str) -> Result<Decimal, AnswerError> {
    let value = value.ok_or_else(|| AnswerError::missing(name))?;
    value.decimal().map_err(|e| AnswerError::field(name, e))
}

#[cfg(test)]
mod tests;
