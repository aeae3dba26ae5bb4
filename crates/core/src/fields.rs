//! How each field of a request is used, per provider, kind and currency: one
//! table an adapter declares and then uses itself, to check a request and to
//! decide what it sends. [`PaymentGateway::request_fields`](crate::PaymentGateway::request_fields)
//! hands the same table to the merchant before any request.
//!
//! The rule for a field a provider does not take: it is simply not sent
//! ([`FieldUse::NotSent`]) when leaving it out changes nothing the merchant
//! relies on; it is refused ([`FieldUse::Refused`]) when its absence would change
//! where money or callbacks go, or the way the payer was meant to pay.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::request::{DepositRequest, WithdrawalRequest};
use crate::status::OrderKind;

/// A field of [`DepositRequest`] or [`WithdrawalRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestField {
    /// The merchant's order id.
    OrderId,
    /// The amount, with its currency.
    Amount,
    /// The customer's user name (deposits).
    CustomerName,
    /// The customer's e-mail (deposits).
    Email,
    /// The customer's phone number (deposits).
    Phone,
    /// A bank id from the provider's own bank list.
    BankId,
    /// The payment method (deposits).
    PaymentMethod,
    /// Vpay88's MYR prepaid-card mode (deposits).
    Mode,
    /// Where the payer returns (deposits).
    RedirectUrl,
    /// The order's own callback URL.
    CallbackUrl,
    /// The payer's bank account holder name (deposits).
    CustomerBankHolderName,
    /// The payer's bank account number (deposits).
    CustomerBankAccount,
    /// The payer's IP address (deposits).
    IpAddr,
    /// The payer's MAC address (deposits).
    MacAddr,
    /// The payee's account holder name (withdrawals).
    HolderName,
    /// The payee's account number (withdrawals).
    AccountNo,
    /// The payee's bank branch (withdrawals).
    BankBranch,
    /// Fields beyond these, for a brand of the provider's API
    /// ([`ExtraFields`](crate::ExtraFields)).
    Extra,
}

impl RequestField {
    /// Every field a deposit request has, in the order tables list them.
    pub const DEPOSIT: [RequestField; 15] = [
        RequestField::OrderId,
        RequestField::Amount,
        RequestField::CustomerName,
        RequestField::Email,
        RequestField::Phone,
        RequestField::RedirectUrl,
        RequestField::IpAddr,
        RequestField::PaymentMethod,
        RequestField::CallbackUrl,
        RequestField::BankId,
        RequestField::CustomerBankHolderName,
        RequestField::CustomerBankAccount,
        RequestField::Mode,
        RequestField::MacAddr,
        RequestField::Extra,
    ];

    /// Every field a withdrawal request has, in the order tables list them.
    pub const WITHDRAWAL: [RequestField; 8] = [
        RequestField::OrderId,
        RequestField::Amount,
        RequestField::BankId,
        RequestField::HolderName,
        RequestField::AccountNo,
        RequestField::BankBranch,
        RequestField::CallbackUrl,
        RequestField::Extra,
    ];

    /// The fields a request of `kind` has.
    pub fn of(kind: OrderKind) -> &'static [RequestField] {
        match kind {
            OrderKind::Deposit => &Self::DEPOSIT,
            OrderKind::Withdrawal => &Self::WITHDRAWAL,
        }
    }

    /// The field's name, as the request types and errors spell it.
    pub fn name(self) -> &'static str {
        match self {
            RequestField::OrderId => "order_id",
            RequestField::Amount => "amount",
            RequestField::CustomerName => "customer_name",
            RequestField::Email => "email",
            RequestField::Phone => "phone",
            RequestField::BankId => "bank_id",
            RequestField::PaymentMethod => "payment_method",
            RequestField::Mode => "mode",
            RequestField::RedirectUrl => "redirect_url",
            RequestField::CallbackUrl => "callback_url",
            RequestField::CustomerBankHolderName => "customer_bank_holder_name",
            RequestField::CustomerBankAccount => "customer_bank_account",
            RequestField::IpAddr => "ip_addr",
            RequestField::MacAddr => "mac_addr",
            RequestField::HolderName => "holder_name",
            RequestField::AccountNo => "account_no",
            RequestField::BankBranch => "bank_branch",
            RequestField::Extra => "extra",
        }
    }
}

impl fmt::Display for RequestField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a provider uses one request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldUse {
    /// Sent; a request without it is refused by name before anything is sent.
    Required,
    /// Sent when given.
    Sent,
    /// Not sent, and no refusal: leaving it out changes nothing the merchant relies on.
    NotSent,
    /// A request carrying it is refused by name: the provider cannot honour it,
    /// and leaving it out would change where money or callbacks go.
    Refused,
}

impl FieldUse {
    /// `required`, `sent`, `not sent` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldUse::Required => "required",
            FieldUse::Sent => "sent",
            FieldUse::NotSent => "not sent",
            FieldUse::Refused => "refused",
        }
    }

    /// Whether a value given for the field goes on the wire.
    pub fn sends(self) -> bool {
        matches!(self, FieldUse::Required | FieldUse::Sent)
    }
}

impl fmt::Display for FieldUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a provider's table: a field, how it is used, the name it is
/// sent under, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FieldRule {
    /// The request field.
    pub field: RequestField,
    /// How the provider uses it.
    #[serde(rename = "use")]
    pub usage: FieldUse,
    /// The provider's own name for it on the wire, when it is sent.
    pub sent_as: Option<&'static str>,
    /// Why, in a few words.
    pub reason: Cow<'static, str>,
}

impl FieldRule {
    /// A rule.
    pub fn new(
        field: RequestField,
        usage: FieldUse,
        sent_as: Option<&'static str>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            field,
            usage,
            sent_as,
            reason: reason.into(),
        }
    }

    /// Required, sent as `sent_as`.
    pub fn required(
        field: RequestField,
        sent_as: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(field, FieldUse::Required, Some(sent_as), reason)
    }

    /// Sent as `sent_as` when given.
    pub fn sent(
        field: RequestField,
        sent_as: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(field, FieldUse::Sent, Some(sent_as), reason)
    }

    /// Not sent.
    pub fn not_sent(field: RequestField, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(field, FieldUse::NotSent, None, reason)
    }

    /// Refused when given.
    pub fn refused(field: RequestField, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(field, FieldUse::Refused, None, reason)
    }
}

/// `rules` in the order [`RequestField::of`] lists `kind`'s fields (a field
/// of another kind last), so every table reads the same way.
pub fn in_request_order(mut rules: Vec<FieldRule>, kind: OrderKind) -> Vec<FieldRule> {
    let order = RequestField::of(kind);
    rules.sort_by_key(|rule| {
        order
            .iter()
            .position(|f| *f == rule.field)
            .unwrap_or(usize::MAX)
    });
    rules
}

/// How `field` is used by `rules`; a field the table does not name is not sent.
pub fn field_use(rules: &[FieldRule], field: RequestField) -> FieldUse {
    rules
        .iter()
        .find(|rule| rule.field == field)
        .map_or(FieldUse::NotSent, |rule| rule.usage)
}

/// `value` when `rules` send `field`, else `None`.
pub fn sent_value<T: Clone>(
    rules: &[FieldRule],
    field: RequestField,
    value: &Option<T>,
) -> Option<T> {
    if field_use(rules, field).sends() {
        value.clone()
    } else {
        None
    }
}

/// Checks a request against `rules`: every required field present, no refused
/// one given. `present` says whether the request (with any configured default
/// applied) carries a field; `context` names what is sent (" MYR deposits").
pub fn check_fields(
    rules: &[FieldRule],
    provider: Provider,
    // Formatted only when a field is refused: most requests pass.
    context: impl std::fmt::Display,
    present: impl Fn(RequestField) -> bool,
) -> Result<()> {
    for rule in rules {
        match rule.usage {
            FieldUse::Required if !present(rule.field) => {
                return Err(Error::invalid(
                    rule.field.name(),
                    format!("is required by {provider}{context}: {}", rule.reason),
                ));
            }
            FieldUse::Refused if present(rule.field) => {
                return Err(Error::invalid(
                    rule.field.name(),
                    format!(
                        "does not apply to {provider}{context}; remove it: {}",
                        rule.reason
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

impl DepositRequest {
    /// Whether the request carries `field` (a field deposits do not have: no).
    pub fn has(&self, field: RequestField) -> bool {
        match field {
            RequestField::OrderId | RequestField::Amount => true,
            RequestField::Extra => !self.extra.is_empty(),
            other => self.text(other).is_some(),
        }
    }

    /// The text of an optional field, when given.
    pub fn text(&self, field: RequestField) -> Option<&str> {
        match field {
            RequestField::CustomerName => self.customer_name.as_deref(),
            RequestField::Email => self.email.as_deref(),
            RequestField::Phone => self.phone.as_deref(),
            RequestField::BankId => self.bank_id.as_deref(),
            RequestField::PaymentMethod => self.payment_method.as_deref(),
            RequestField::Mode => self.mode.as_deref(),
            RequestField::RedirectUrl => self.redirect_url.as_deref(),
            RequestField::CallbackUrl => self.callback_url.as_deref(),
            RequestField::CustomerBankHolderName => self.customer_bank_holder_name.as_deref(),
            RequestField::CustomerBankAccount => self.customer_bank_account.as_deref(),
            RequestField::IpAddr => self.ip_addr.as_deref(),
            RequestField::MacAddr => self.mac_addr.as_deref(),
            _ => None,
        }
    }
}

impl WithdrawalRequest {
    /// Whether the request carries `field` (a field withdrawals do not have: no).
    pub fn has(&self, field: RequestField) -> bool {
        match field {
            RequestField::OrderId
            | RequestField::Amount
            | RequestField::BankId
            | RequestField::HolderName
            | RequestField::AccountNo => true,
            RequestField::BankBranch => self.bank_branch.is_some(),
            RequestField::CallbackUrl => self.callback_url.is_some(),
            RequestField::Extra => !self.extra.is_empty(),
            _ => false,
        }
    }
}

/// A table as markdown: `| field | use | sent as | why |` rows under a header.
pub fn rules_markdown(rules: &[FieldRule]) -> String {
    let mut out = String::from("| field | use | sent as | why |\n|---|---|---|---|\n");
    for rule in rules {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            rule.field,
            rule.usage,
            rule.sent_as.map(|s| format!("`{s}`")).unwrap_or_default(),
            rule.reason
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    #[test]
    fn required_missing_and_refused_given_are_named_others_pass() {
        let rules = [
            FieldRule::required(RequestField::Email, "email", "the document lists it"),
            FieldRule::refused(
                RequestField::CallbackUrl,
                "only the account's URL is called",
            ),
            FieldRule::not_sent(RequestField::IpAddr, "not taken"),
        ];
        let base =
            DepositRequest::builder("A1", Money::parse("10", "MYR").unwrap()).ip_addr("1.2.3.4");
        let named = |request: DepositRequest| match check_fields(
            &rules,
            Provider::new("vpay88"),
            " MYR deposits",
            |f| request.has(f),
        ) {
            Err(Error::InvalidRequest { field, reason }) => (field, reason),
            other => panic!("expected a refusal, got {other:?}"),
        };
        let (field, reason) = named(base.clone().build().unwrap());
        assert_eq!(field, "email");
        assert!(reason.contains("the document lists it"), "{reason}");
        let (field, reason) = named(
            base.clone()
                .email("a@b.c")
                .callback_url("https://cb.example/")
                .build()
                .unwrap(),
        );
        assert_eq!(field, "callback_url");
        assert!(reason.contains("only the account's URL"), "{reason}");
        let ok = base.email("a@b.c").build().unwrap();
        assert!(check_fields(&rules, Provider::new("vpay88"), "", |f| ok.has(f)).is_ok());
        assert_eq!(sent_value(&rules, RequestField::IpAddr, &ok.ip_addr), None);
        assert_eq!(
            sent_value(&rules, RequestField::Email, &ok.email).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(field_use(&rules, RequestField::Mode), FieldUse::NotSent);
    }
}
