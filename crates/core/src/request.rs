//! What a merchant asks for: deposits, payouts, their builders and the checks
//! every request passes before anything is sent.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::money::{Money, OrderId};

/// The most decimal places an amount of a currency [`MINOR_UNITS`](crate::MINOR_UNITS) does not
/// list may carry; the providers answer with four.
pub(crate) const MAX_AMOUNT_SCALE: u32 = 4;

/// The largest amount a request may carry: one trillion of any currency, far
/// above any provider's limit and far below what arithmetic on it could overflow.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Fields beyond a request's own, for a brand of a provider's API that takes
/// more than its documents show (`bank_code` beside `bank_id`, say): sent as
/// given, under the names given, after the adapter's own fields. A name is 1 to
/// 64 ASCII letters, digits, `_`, `-` or `.`; a value at most 1,024 characters
/// with no control characters. A name given twice is refused rather than one of
/// the two kept; a name the adapter sets itself, or one a PHP server reads as
/// it (`bank.id` for `bank_id`), is refused when the request is
/// sent ([`ExtraFields::refuse_names`]), so an extra field can never replace
/// what paybridge decided to send. An adapter whose provider takes no extra
/// field refuses a request that has any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ExtraFields(BTreeMap<String, String>);

/// The most characters an extra field's value may have.
const EXTRA_VALUE_MAX: usize = 1024;

impl ExtraFields {
    /// The fields, checked: valid names and values, no name twice.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut fields = BTreeMap::new();
        for (name, value) in pairs {
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid_name {
                return Err(Error::invalid(
                    "extra",
                    format!(
                        "'{}' is not a field name: use 1 to 64 ASCII letters, digits, '_', '-' or '.'",
                        name.escape_debug()
                    ),
                ));
            }
            check_text(
                &format!("extra.{name}"),
                &Some(value.clone()),
                EXTRA_VALUE_MAX,
            )?;
            if fields.insert(name.clone(), value).is_some() {
                return Err(Error::invalid(
                    "extra",
                    format!("{name} is given twice; give each extra field once"),
                ));
            }
        }
        Ok(Self(fields))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Refuses a field named (in any letter case) like one of `reserved`, the
    /// names `provider`'s requests carry already, or named so that a PHP
    /// server reads it as one: PHP turns `.` in a posted field's name into
    /// `_`, so `bank.id`, sent after the form's own fields, would replace
    /// `bank_id`.
    pub fn refuse_names(&self, reserved: &[&str], provider: crate::Provider) -> Result<()> {
        let as_php_reads = |name: &str, reserved: &str| {
            name.len() == reserved.len()
                && name.bytes().zip(reserved.bytes()).all(|(n, r)| {
                    let n = if n == b'.' { b'_' } else { n };
                    n.eq_ignore_ascii_case(&r)
                })
        };
        match self
            .0
            .keys()
            .find(|name| reserved.iter().any(|r| as_php_reads(name, r)))
        {
            Some(name) => Err(Error::invalid(
                "extra",
                format!(
                    "{name} is a field paybridge sets itself in {provider} requests; use the request's own field for it"
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Refuses an amount no order may be sent with, naming the field `amount`:
/// not positive, above [`MAX_AMOUNT`], or with more decimal places than its
/// currency's minor unit has ([`MINOR_UNITS`](crate::MINOR_UNITS); four places for a
/// currency the table does not list, which only an adapter that leaves its
/// currencies to the provider lets through). The request builders call it,
/// and every adapter again before it builds what it sends, so a request
/// changed after it was built is checked too.
pub fn check_request_amount(amount: &Money) -> Result<()> {
    let value = amount.amount();
    if value <= Decimal::ZERO {
        return Err(Error::invalid(
            "amount",
            format!("must be positive, got {value}"),
        ));
    }
    if value > MAX_AMOUNT {
        return Err(Error::invalid(
            "amount",
            format!("{value} is above the largest amount accepted, {MAX_AMOUNT}"),
        ));
    }
    let places = value.normalize().scale();
    match amount.currency().minor_units() {
        Some(allowed) if places > allowed => Err(Error::invalid(
            "amount",
            format!(
                "{value} {} has {places} decimal places; {} has {allowed}",
                amount.currency(),
                amount.currency()
            ),
        )),
        None if places > MAX_AMOUNT_SCALE => Err(Error::invalid(
            "amount",
            format!("{value} has more than {MAX_AMOUNT_SCALE} decimal places"),
        )),
        _ => Ok(()),
    }
}

fn check_text(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    if let Some(value) = value {
        if value.trim().is_empty() {
            return Err(Error::invalid(field, "must not be empty when given"));
        }
        if value.chars().count() > max {
            return Err(Error::invalid(
                field,
                format!("is longer than {max} characters"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(Error::invalid(field, "contains control characters"));
        }
    }
    Ok(())
}

fn check_url(field: &str, value: &Option<String>) -> Result<()> {
    check_text(field, value, 200)?;
    if let Some(url) = value {
        if !is_http_url(url) {
            return Err(Error::invalid(
                field,
                format!("{:?} is not an http(s) URL", crate::redact::Url(url)),
            ));
        }
    }
    Ok(())
}

/// A deposit (pay-in) to create. Build it with [`DepositRequest::builder`]; each
/// adapter then checks the fields its provider and currency need, and names the
/// missing one before anything is sent.
///
/// `Debug` shows its URLs with their credentials hidden ([`crate::redact`]).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DepositRequest {
    /// The merchant's order id.
    pub order_id: OrderId,
    /// What the customer pays.
    pub amount: Money,
    /// The customer's user name on the merchant's site (Vpay88/One1Pay `username`).
    pub customer_name: Option<String>,
    /// Customer e-mail.
    pub email: Option<String>,
    /// Customer phone number.
    pub phone: Option<String>,
    /// Bank id from the deposit bank list (Vpay88 THB/IDR, One1Pay).
    pub bank_id: Option<String>,
    /// Payment method: One1Pay `pay_method` (`thaiqr`, `truemoney`), ONE-PUNCH `payment_method`.
    pub payment_method: Option<String>,
    /// Vpay88 MYR prepaid-card mode: `DIGI`, `MAXIS` or `CELCOM`.
    pub mode: Option<String>,
    /// Where the payer returns afterwards (Vpay88/One1Pay `redirect_url`, ONE-PUNCH `return_url`).
    pub redirect_url: Option<String>,
    /// Per-order callback (One1Pay `callback_url`, ONE-PUNCH `notify_url`).
    pub callback_url: Option<String>,
    /// One1Pay: the customer's bank account holder name.
    pub customer_bank_holder_name: Option<String>,
    /// One1Pay: the customer's bank account number.
    pub customer_bank_account: Option<String>,
    /// ONE-PUNCH: the payer's IP address.
    pub ip_addr: Option<String>,
    /// ONE-PUNCH: the payer's MAC address.
    pub mac_addr: Option<String>,
    /// Fields a brand of a provider's API takes beyond the ones above
    /// (`bank_code`, say), sent under the names given; see [`ExtraFields`].
    pub extra: ExtraFields,
}

impl DepositRequest {
    /// Starts a deposit for `order_id` and `amount`.
    pub fn builder(order_id: impl AsRef<str>, amount: Money) -> DepositRequestBuilder {
        DepositRequestBuilder {
            order_id: order_id.as_ref().to_owned(),
            amount,
            fields: DepositFields::default(),
        }
    }
}

#[derive(Clone, Default)]
struct DepositFields {
    customer_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    bank_id: Option<String>,
    payment_method: Option<String>,
    mode: Option<String>,
    redirect_url: Option<String>,
    callback_url: Option<String>,
    customer_bank_holder_name: Option<String>,
    customer_bank_account: Option<String>,
    ip_addr: Option<String>,
    mac_addr: Option<String>,
    extra: Vec<(String, String)>,
}

/// A request builder's setters: one per optional text field, and `extra`.
macro_rules! setters {
    ($builder:ident { $($field:ident : $doc:literal),* $(,)? }) => {
        impl $builder {
            $(
                #[doc = $doc]
                pub fn $field(mut self, value: impl Into<String>) -> Self {
                    self.fields.$field = Some(value.into());
                    self
                }
            )*

            /// Adds a field a brand of the provider's API takes beyond the request's
            /// own (`bank_code`, say), sent under `name` exactly. A name given twice,
            /// or one the adapter sets itself, is refused when the request is built
            /// or sent; see [`ExtraFields`].
            pub fn extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.fields.extra.push((name.into(), value.into()));
                self
            }
        }
    };
}

/// The order id and amount every request is built with, checked.
fn checked_order(order_id: &str, amount: &Money) -> Result<OrderId> {
    let order_id = OrderId::new(order_id)?;
    check_request_amount(amount)?;
    Ok(order_id)
}

/// Builds a [`DepositRequest`]; [`build`](Self::build) validates everything up front.
#[derive(Debug, Clone)]
pub struct DepositRequestBuilder {
    order_id: String,
    amount: Money,
    fields: DepositFields,
}

setters!(DepositRequestBuilder {
    customer_name: "Sets the customer's user name.",
    email: "Sets the customer's e-mail.",
    phone: "Sets the customer's phone number.",
    bank_id: "Sets the bank id from the deposit bank list.",
    payment_method: "Sets the payment method.",
    mode: "Sets the Vpay88 MYR prepaid-card mode.",
    redirect_url: "Sets the URL the payer returns to.",
    callback_url: "Sets the per-order callback URL.",
    customer_bank_holder_name: "Sets the customer's bank account holder name.",
    customer_bank_account: "Sets the customer's bank account number.",
    ip_addr: "Sets the payer's IP address.",
    mac_addr: "Sets the payer's MAC address.",
});

impl DepositRequestBuilder {
    /// Validates and builds the request.
    pub fn build(self) -> Result<DepositRequest> {
        let order_id = checked_order(&self.order_id, &self.amount)?;
        let f = self.fields;
        check_text("customer_name", &f.customer_name, 64)?;
        check_text("email", &f.email, 128)?;
        if let Some(email) = &f.email {
            if !email.contains('@') {
                return Err(Error::invalid(
                    "email",
                    format!("{email:?} is not an e-mail address"),
                ));
            }
        }
        check_text("phone", &f.phone, 32)?;
        check_text("bank_id", &f.bank_id, 32)?;
        check_text("payment_method", &f.payment_method, 32)?;
        check_text("mode", &f.mode, 16)?;
        check_url("redirect_url", &f.redirect_url)?;
        check_url("callback_url", &f.callback_url)?;
        check_text(
            "customer_bank_holder_name",
            &f.customer_bank_holder_name,
            128,
        )?;
        check_text("customer_bank_account", &f.customer_bank_account, 64)?;
        check_text("ip_addr", &f.ip_addr, 65)?;
        check_text("mac_addr", &f.mac_addr, 65)?;
        Ok(DepositRequest {
            order_id,
            amount: self.amount,
            customer_name: f.customer_name,
            email: f.email,
            phone: f.phone,
            bank_id: f.bank_id,
            payment_method: f.payment_method,
            mode: f.mode,
            redirect_url: f.redirect_url,
            callback_url: f.callback_url,
            customer_bank_holder_name: f.customer_bank_holder_name,
            customer_bank_account: f.customer_bank_account,
            ip_addr: f.ip_addr,
            mac_addr: f.mac_addr,
            extra: ExtraFields::from_pairs(f.extra)?,
        })
    }
}

/// A payout to create. Build it with [`WithdrawalRequest::builder`]. `Debug`
/// shows its callback URL with its credentials hidden.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WithdrawalRequest {
    /// The merchant's withdrawal id.
    pub order_id: OrderId,
    /// What is paid out.
    pub amount: Money,
    /// Bank id from the withdrawal bank list.
    pub bank_id: String,
    /// Account holder name; must match the bank's record.
    pub holder_name: String,
    /// Account number.
    pub account_no: String,
    /// Optional bank branch.
    pub bank_branch: Option<String>,
    /// One1Pay: per-order callback URL.
    pub callback_url: Option<String>,
    /// Fields a brand of a provider's API takes beyond the ones above; see
    /// [`ExtraFields`].
    pub extra: ExtraFields,
}

#[derive(Clone, Default)]
struct WithdrawalFields {
    bank_branch: Option<String>,
    callback_url: Option<String>,
    extra: Vec<(String, String)>,
}

/// Builds a [`WithdrawalRequest`].
#[derive(Debug, Clone)]
pub struct WithdrawalRequestBuilder {
    order_id: String,
    amount: Money,
    bank_id: String,
    holder_name: String,
    account_no: String,
    fields: WithdrawalFields,
}

setters!(WithdrawalRequestBuilder {
    bank_branch: "Sets the bank branch.",
    callback_url: "Sets the per-order callback URL (One1Pay).",
});

impl WithdrawalRequest {
    /// Starts a payout of `amount` to an account.
    pub fn builder(
        order_id: impl AsRef<str>,
        amount: Money,
        bank_id: impl Into<String>,
        holder_name: impl Into<String>,
        account_no: impl Into<String>,
    ) -> WithdrawalRequestBuilder {
        WithdrawalRequestBuilder {
            order_id: order_id.as_ref().to_owned(),
            amount,
            bank_id: bank_id.into(),
            holder_name: holder_name.into(),
            account_no: account_no.into(),
            fields: WithdrawalFields::default(),
        }
    }
}

impl WithdrawalRequestBuilder {
    /// Validates and builds the request.
    pub fn build(self) -> Result<WithdrawalRequest> {
        let order_id = checked_order(&self.order_id, &self.amount)?;
        check_text("bank_id", &Some(self.bank_id.clone()), 32)?;
        check_text("holder_name", &Some(self.holder_name.clone()), 128)?;
        check_text("account_no", &Some(self.account_no.clone()), 64)?;
        check_text("bank_branch", &self.fields.bank_branch, 128)?;
        check_url("callback_url", &self.fields.callback_url)?;
        Ok(WithdrawalRequest {
            order_id,
            amount: self.amount,
            bank_id: self.bank_id,
            holder_name: self.holder_name,
            account_no: self.account_no,
            bank_branch: self.fields.bank_branch,
            callback_url: self.fields.callback_url,
            extra: ExtraFields::from_pairs(self.fields.extra)?,
        })
    }
}

/// A request's fields, or its builder's, as `Debug` shows them: `head` first,
/// then `fields`, each marked `url` with its credentials hidden.
macro_rules! fields_debug {
    ($f:expr, $name:literal, $fields:expr, [$($head:ident: $value:expr),*],
     [$($field:ident $($url:ident)?),* $(,)?]) => {{
        let fields = $fields;
        $f.debug_struct($name)
            $(.field(stringify!($head), $value))*
            $(.field(stringify!($field), &fields_debug!(@shown fields.$field $(, $url)?)))*
            .finish()
    }};
    (@shown $value:expr) => { $value };
    (@shown $value:expr, url) => { $value.as_deref().map(crate::redact::Url) };
}

/// The deposit fields, as `DepositRequest` and its builder show them in `Debug`.
macro_rules! deposit_fields_debug {
    ($f:expr, $name:literal, $fields:expr, $($head:ident: $value:expr),*) => {
        fields_debug!($f, $name, $fields, [$($head: $value),*], [
            customer_name, email, phone, bank_id, payment_method, mode, redirect_url url,
            callback_url url, customer_bank_holder_name, customer_bank_account, ip_addr,
            mac_addr, extra,
        ])
    };
}

impl std::fmt::Debug for DepositRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        deposit_fields_debug!(f, "DepositRequest", self, order_id: &self.order_id, amount: &self.amount)
    }
}

impl std::fmt::Debug for DepositFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        deposit_fields_debug!(f, "DepositFields", self,)
    }
}

impl std::fmt::Debug for WithdrawalRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fields_debug!(f, "WithdrawalRequest", self,
            [order_id: &self.order_id, amount: &self.amount, bank_id: &self.bank_id,
             holder_name: &self.holder_name, account_no: &self.account_no],
            [bank_branch, callback_url url, extra])
    }
}

impl std::fmt::Debug for WithdrawalFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fields_debug!(f, "WithdrawalFields", self, [], [bank_branch, callback_url url, extra])
    }
}

/// Whether `text` is an `http://` or `https://` URL.
pub fn is_http_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn myr(a: &str) -> Money {
        Money::parse(a, "MYR").unwrap()
    }

    #[test]
    fn extra_fields_refuse_bad_names_values_and_a_name_given_twice() {
        let built = |pairs: &[(&str, &str)]| {
            let mut builder = DepositRequest::builder("A1", myr("10"));
            for (name, value) in pairs {
                builder = builder.extra(*name, *value);
            }
            builder.build()
        };
        let ok = built(&[("bank_code", "MBB"), ("x.y-z", "1")]).unwrap();
        assert_eq!(
            ok.extra.iter().collect::<Vec<_>>(),
            [("bank_code", "MBB"), ("x.y-z", "1")]
        );
        for (pairs, named) in [
            (&[("", "1")][..], "not a field name"),
            (&[("bank code", "1")][..], "not a field name"),
            (&[("b\u{301}", "1")][..], "not a field name"),
            (&[("remark", "a\nb")][..], "control characters"),
            (&[("remark", " ")][..], "must not be empty"),
            (&[("bank_code", "1"), ("bank_code", "2")][..], "given twice"),
        ] {
            match built(pairs) {
                Err(Error::InvalidRequest { field, reason }) => {
                    assert!(field.starts_with("extra"), "{pairs:?}: {field}");
                    assert!(reason.contains(named), "{pairs:?}: {reason}");
                }
                other => panic!("{pairs:?} was not refused: {other:?}"),
            }
        }
        let long = "v".repeat(1025);
        assert!(built(&[("remark", long.as_str())]).is_err());
        match ok
            .extra
            .refuse_names(&["BANK_CODE"], crate::Provider::new("vpay88"))
        {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "extra");
                assert!(
                    reason.contains("bank_code") && reason.contains("vpay88"),
                    "{reason}"
                );
            }
            other => panic!("a reserved name in another case: {other:?}"),
        }
    }

    #[test]
    fn deposit_builder_validates_up_front() {
        let refusals = [
            (DepositRequest::builder("A1", myr("0")), "amount"),
            (
                DepositRequest::builder("A1", myr("1.00001")),
                "decimal places",
            ),
            (
                DepositRequest::builder("A1", myr("10")).email("nope"),
                "email",
            ),
            (
                DepositRequest::builder("A1", myr("10")).redirect_url("javascript:alert(1)"),
                "redirect_url",
            ),
        ];
        for (builder, named) in refusals {
            let err = builder.build().unwrap_err().to_string();
            assert!(err.contains(named), "{named}: {err}");
        }
        let ok = DepositRequest::builder("A1", myr("10.50"))
            .email("a@b.c")
            .build()
            .unwrap();
        assert_eq!(ok.amount.amount(), Decimal::new(1050, 2));
    }

    #[test]
    fn withdrawal_builder_validates_up_front() {
        let err = WithdrawalRequest::builder("W1", myr("10"), "", "John", "123")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("bank_id"), "{err}");
        let ok = WithdrawalRequest::builder("W1", myr("10"), "12", "John", "123")
            .bank_branch("KL")
            .build()
            .unwrap();
        assert_eq!(ok.bank_branch.as_deref(), Some("KL"));
    }

    #[test]
    fn amounts_are_bounded() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000u64));
        for huge in ["1e28", "79228162514264337593543950335", "1000000000000.01"] {
            let err = WithdrawalRequest::builder("W1", myr(huge), "12", "John", "123")
                .build()
                .unwrap_err()
                .to_string();
            assert!(err.contains("largest amount"), "{huge}: {err}");
        }
        assert!(DepositRequest::builder("A1", myr("1000000000000"))
            .build()
            .is_ok());
    }

    #[test]
    fn amounts_carry_no_more_decimals_than_their_currency() {
        let amount = |text: &str, currency: &str| Money::parse(text, currency).unwrap();
        let refused = [
            ("0.001", "MYR"),
            ("0.1", "VND"),
            ("1.0000001", "USDT-TRC20"),
        ];
        for (text, currency) in refused {
            for result in [
                DepositRequest::builder("A1", amount(text, currency))
                    .build()
                    .map(|_| ()),
                WithdrawalRequest::builder("W1", amount(text, currency), "12", "John", "123")
                    .build()
                    .map(|_| ()),
            ] {
                match result {
                    Err(Error::InvalidRequest { field, reason }) => {
                        assert_eq!(field, "amount", "{text} {currency}");
                        assert!(reason.contains("decimal places"), "{reason}");
                    }
                    other => panic!("{text} {currency}: {other:?}"),
                }
            }
        }
        let accepted = [
            ("0.01", "MYR"),
            ("0.010000", "MYR"),
            ("15000", "VND"),
            ("1.000001", "USDT-TRC20"),
            ("0.0001", "EUR"),
        ];
        for (text, currency) in accepted {
            assert!(
                DepositRequest::builder("A1", amount(text, currency))
                    .build()
                    .is_ok(),
                "{text} {currency}"
            );
        }
        let unlisted = DepositRequest::builder("A1", amount("0.00001", "EUR")).build();
        assert!(
            unlisted.is_err(),
            "a currency the table lacks keeps the four-place cap"
        );
    }
}
