//! The merchant form API's wire schema, as types: every request a `Serialize`
//! struct built by `TryFrom` from paybridge's request, every answer a
//! `Deserialize` struct mapped by `TryFrom` into paybridge's type, and the
//! status words and refusal messages mapped here. No I/O: the fixtures feed
//! these types directly in the tests below.
//!
//! A dialect's own rules (currencies, which fields each currency takes) are
//! data, a [`DialectSpec`], and reach the requests through it.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use paybridge_core::fields::{check_fields, sent_value};
use paybridge_core::refusal::{DocumentedRefusal, RefusalTable};
use paybridge_core::ExtraFields;
use paybridge_core::{
    check_request_amount, Balance, Bank, CallbackEvent, CallbackRejection, Currency, CurrencyLimit,
    Decimal, Money, OrderId, OrderKind, OrderStatus, RefusalKind, Result, SecretString,
    StatusQuery, StatusReport, WithdrawalRequest,
};
use paybridge_core::{DepositRequest, FieldRule, Operation, RequestField};
use paybridge_wire::{parse_callback_body, parse_decimal_str, AnswerError, Scalar, ScalarRef};
use serde::{Deserialize, Serialize};

use crate::DialectSpec;

/// Every operation that fetches an auth token first: the token's refusal,
/// `Params incorrect`, can answer any of them.
const AUTHED: &[Operation] = &[
    Operation::CreateDeposit,
    Operation::CreateWithdrawal,
    Operation::Balance,
];

const CREATE_DEPOSIT: &[Operation] = &[Operation::CreateDeposit];
const CREATE_WITHDRAWAL: &[Operation] = &[Operation::CreateWithdrawal];

/// The refusals the form API's documents write, exactly, per operation. Every
/// other refusal (another message, a near-variant, a non-2xx status) is
/// undocumented: a create it answers is resolved by status. The documents
/// show no answer to a status query for an order the provider does not hold,
/// so no status refusal reads as "not found".
pub const REFUSALS: RefusalTable = RefusalTable::new(&[
    refusal("Params incorrect", RefusalKind::Unauthorized, AUTHED),
    refusal(
        "Params incorrect.",
        RefusalKind::Unauthorized,
        CREATE_DEPOSIT,
    ),
    refusal(
        "email incorrect.",
        RefusalKind::InvalidEmail,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Params missing.",
        RefusalKind::MissingParameter,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Currency invalid.",
        RefusalKind::InvalidCurrency,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Order ID Exist.",
        RefusalKind::DuplicateOrder,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Invalid Amount.",
        RefusalKind::InvalidAmount,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Params missing.",
        RefusalKind::MissingParameter,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "bank_id invalid.",
        RefusalKind::InvalidBank,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Balance not enough!",
        RefusalKind::InsufficientBalance,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Amount Invalid!",
        RefusalKind::InvalidAmount,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Order id exist!",
        RefusalKind::DuplicateOrder,
        CREATE_WITHDRAWAL,
    ),
]);

const fn refusal(
    message: &'static str,
    kind: RefusalKind,
    operations: &'static [Operation],
) -> DocumentedRefusal {
    DocumentedRefusal {
        message,
        kind,
        operations,
    }
}

/// Maps an `order_status` word of a `kind` of order as the whole family
/// spells it (a dialect adds its own words over these); `None` for a word nobody
/// has documented, which callers surface rather than guess about.
pub fn order_status(kind: OrderKind, word: &str) -> Option<OrderStatus> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "pending" if kind == OrderKind::Deposit => OrderStatus::Pending,
        // Vpay88's word for a payout it holds but has not settled, One1Pay's
        // `proccess`: the provider accepted it, so it is in flight.
        "pending" => OrderStatus::Processing,
        // `proccess` is the documents' own spelling for a payout in flight.
        "proccess" | "process" | "processing" => OrderStatus::Processing,
        "completed" | "complete" | "success" => OrderStatus::Completed,
        "fail" | "failed" => OrderStatus::Failed,
        "rejected" | "reject" => OrderStatus::Rejected,
        _ => return None,
    })
}

// ---------------------------------------------------------------- requests

/// `/merchant/auth`. `Debug` shows no key.
#[derive(Serialize)]
pub struct AuthForm<'a> {
    /// The merchant user name.
    pub username: &'a str,
    /// The API key.
    pub api_key: &'a str,
}

/// A form sent with an auth token, the token first. `Debug` shows no token.
#[derive(Serialize)]
pub struct Authed<'a, F> {
    /// The auth token.
    pub auth: &'a str,
    /// The form.
    #[serde(flatten)]
    pub form: &'a F,
}

impl fmt::Debug for AuthForm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthForm")
            .field("username", &self.username)
            .field("api_key", &"[REDACTED]")
            .finish()
    }
}

impl<F: fmt::Debug> fmt::Debug for Authed<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authed")
            .field("auth", &"[REDACTED]")
            .field("form", self.form)
            .finish()
    }
}

/// `/merchant/currency`, `/wallet/bank_list`, `/wallet/withdraw_bank_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingForm {
    /// The merchant user name.
    pub username: String,
    /// Only this currency's entries (bank lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `/merchant/check_status` and `/merchant/check_withdraw_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusForm {
    /// The merchant user name (a channel's own, when the query names one).
    pub username: String,
    /// The merchant order id.
    pub id: String,
}

impl StatusForm {
    /// The form for `query`, as `username` unless the query names an account.
    pub fn new(query: &StatusQuery, username: &str) -> Self {
        Self {
            username: query.username.as_deref().unwrap_or(username).to_owned(),
            id: query.order_id.as_str().to_owned(),
        }
    }
}

/// `/wallet/get_balance`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceForm {
    /// The currency.
    pub currency: String,
}

/// The deposit fields only some providers or currencies take; each is set
/// when the dialect's table sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DepositFields {
    /// Vpay88 MYR prepaid-card mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Where the payer returns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// One1Pay: the payer's account holder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_bank_holder_name: Option<String>,
    /// One1Pay: the payer's account number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_bank_account: Option<String>,
    /// The payer's bank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_id: Option<String>,
    /// One1Pay: the payment method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_method: Option<String>,
    /// One1Pay: this order's callback URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `/merchant/generate_orders`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositForm {
    /// The payer's name (the document calls the payer `username`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The amount, without trailing zeros.
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// The merchant order id.
    pub orderid: String,
    /// The payer's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The payer's phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The dialect's fields.
    #[serde(flatten)]
    pub fields: DepositFields,
    /// The request's extra fields, last.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The payout fields only some providers take.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WithdrawalFields {
    /// One1Pay: this payout's callback URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `/merchant/withdraw_orders`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalForm {
    /// The amount, without trailing zeros.
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// The merchant order id.
    pub orderid: String,
    /// The payee's bank.
    pub bank_id: String,
    /// The payee's branch, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_branch: Option<String>,
    /// The payee's name.
    pub holder_name: String,
    /// The payee's account number.
    pub account_no: String,
    /// The dialect's fields.
    #[serde(flatten)]
    pub fields: WithdrawalFields,
    /// The request's extra fields, last.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Why e-mail and phone are sent when given, not required.
const LIVE_WITHOUT_CONTACT: &str =
    "sent when given: the documents list it, but live servers accept deposits without it";

/// The rows every deposit of this family shares: what the documents list for
/// both providers. A dialect's table starts from them.
pub fn common_deposit_rules() -> Vec<FieldRule> {
    use RequestField as F;
    vec![
        FieldRule::required(
            F::OrderId,
            "orderid",
            "the merchant's order id, the key of every status query and callback",
        ),
        FieldRule::required(F::Amount, "amount", "with `currency`"),
        FieldRule::required(
            F::CustomerName,
            "username",
            "the documents list the payer's user name for every deposit",
        ),
        FieldRule::sent(F::Email, "email", LIVE_WITHOUT_CONTACT),
        FieldRule::sent(F::Phone, "phone_number", LIVE_WITHOUT_CONTACT),
        FieldRule::not_sent(F::IpAddr, "the form API takes no payer address"),
        FieldRule::not_sent(F::MacAddr, "the form API takes no payer address"),
        extra_rule(),
    ]
}

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

/// The rows every withdrawal of this family shares.
pub fn common_withdrawal_rules() -> Vec<FieldRule> {
    use RequestField as F;
    vec![
        FieldRule::required(
            F::OrderId,
            "orderid",
            "the merchant's withdrawal id, the key of every status query and callback",
        ),
        FieldRule::required(F::Amount, "amount", "with `currency`"),
        FieldRule::required(F::BankId, "bank_id", "from the withdrawal bank list"),
        FieldRule::required(F::HolderName, "holder_name", "must match the bank's record"),
        FieldRule::required(F::AccountNo, "account_no", "the payee's account"),
        FieldRule::sent(F::BankBranch, "bank_branch", "optional in the documents"),
        extra_rule(),
    ]
}

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

/// Parses `order_datetime` (`YYYY-MM-DD HH:MM:SS`). Read field by field rather
/// than through a format string: every status answer carries one, and chrono's
/// format parser costs more than the rest of the answer's mapping.
pub fn parse_order_datetime(text: &str) -> Result<NaiveDateTime, String> {
    let bad = |why: &str| format!("{text:?} is not YYYY-MM-DD HH:MM:SS ({why})");
    let mut numbers = [0u32; 6];
    let mut parts = text.trim().split(['-', ' ', ':']);
    for slot in &mut numbers {
        let part = parts.next().ok_or_else(|| bad("too few fields"))?;
        if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("a field is not a number"));
        }
        *slot = part.parse().map_err(|_| bad("a field is not a number"))?;
    }
    if parts.next().is_some() {
        return Err(bad("too many fields"));
    }
    let [year, month, day, hour, minute, second] = numbers;
    let date = i32::try_from(year)
        .ok()
        .and_then(|year| chrono::NaiveDate::from_ymd_opt(year, month, day))
        .ok_or_else(|| bad("no such date"))?;
    let time =
        chrono::NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(|| bad("no such time"))?;
    Ok(NaiveDateTime::new(date, time))
}

impl DepositForm {
    /// The form `dialect` sends for `request`, or the error naming the first
    /// field its table refuses or misses.
    pub fn new(dialect: &DialectSpec, request: &DepositRequest) -> Result<Self> {
        use RequestField as F;
        check_request_amount(&request.amount)?;
        let currency = request.amount.currency();
        let rules = dialect.rules(OrderKind::Deposit, currency);
        let context = format!(" {currency} deposits");
        let provider = dialect.provider();
        check_fields(&rules, provider, &context, |f| request.has(f))?;
        request.extra.refuse_names(FORM_FIELD_NAMES, provider)?;
        dialect.check_deposit_values(request)?;
        let sent = |field, value: &Option<String>| sent_value(&rules, field, value);
        Ok(Self {
            username: sent(F::CustomerName, &request.customer_name),
            amount: format_amount(request.amount.amount()),
            currency: currency.as_str().to_owned(),
            orderid: request.order_id.as_str().to_owned(),
            email: sent(F::Email, &request.email),
            phone_number: sent(F::Phone, &request.phone),
            fields: DepositFields {
                mode: sent(F::Mode, &request.mode),
                redirect_url: sent(F::RedirectUrl, &request.redirect_url),
                customer_bank_holder_name: sent(
                    F::CustomerBankHolderName,
                    &request.customer_bank_holder_name,
                ),
                customer_bank_account: sent(F::CustomerBankAccount, &request.customer_bank_account),
                bank_id: sent(F::BankId, &request.bank_id),
                pay_method: sent(F::PaymentMethod, &request.payment_method),
                callback_url: sent(F::CallbackUrl, &request.callback_url),
            },
            extra: request.extra.clone(),
        })
    }
}

impl WithdrawalForm {
    /// The form `dialect` sends for `request`, or the error naming the first
    /// field its table refuses or misses.
    pub fn new(dialect: &DialectSpec, request: &WithdrawalRequest) -> Result<Self> {
        check_request_amount(&request.amount)?;
        let currency = request.amount.currency();
        let rules = dialect.rules(OrderKind::Withdrawal, currency);
        let context = format!(" {currency} withdrawals");
        check_fields(&rules, dialect.provider(), &context, |f| request.has(f))?;
        request
            .extra
            .refuse_names(FORM_FIELD_NAMES, dialect.provider())?;
        Ok(Self {
            amount: format_amount(request.amount.amount()),
            currency: currency.as_str().to_owned(),
            orderid: request.order_id.as_str().to_owned(),
            bank_id: request.bank_id.clone(),
            bank_branch: sent_value(&rules, RequestField::BankBranch, &request.bank_branch),
            holder_name: request.holder_name.clone(),
            account_no: request.account_no.clone(),
            fields: WithdrawalFields {
                callback_url: sent_value(&rules, RequestField::CallbackUrl, &request.callback_url),
            },
            extra: request.extra.clone(),
        })
    }
}

// ----------------------------------------------------------------- answers
// Every field is optional on the wire, so that a refusal (which carries none of
// them) reads; the `TryFrom` mappings say which are required.

/// `/merchant/auth`.
#[derive(Debug, Deserialize)]
pub struct AuthAnswer {
    /// The token.
    pub auth: Option<Scalar>,
    /// Live servers answer an `order_id` beside the token (observed by public
    /// integrations, which keep it as the provider's reference; the documents
    /// show none).
    pub order_id: Option<Scalar>,
}

/// An auth token, and the `order_id` the server answered beside it. `Debug`
/// shows no token.
#[derive(Debug)]
pub struct AuthToken {
    /// The token.
    pub token: SecretString,
    /// The server's id for what this token is fetched for: the provider's
    /// reference of the order sent with it, when the order's own answer names none.
    pub order_id: Option<String>,
}

impl TryFrom<AuthAnswer> for AuthToken {
    type Error = AnswerError;

    fn try_from(answer: AuthAnswer) -> Result<Self, AnswerError> {
        Ok(AuthToken {
            token: SecretString::from(Scalar::required_text(answer.auth, "auth")?),
            order_id: Scalar::optional_text(answer.order_id),
        })
    }
}

/// One `rate` entry of `/merchant/currency`.
#[derive(Debug, Deserialize)]
pub struct RateEntry {
    /// The currency code.
    pub currency: Option<Scalar>,
    /// The smallest amount.
    pub min: Option<Scalar>,
    /// The largest amount.
    pub max: Option<Scalar>,
}

/// `/merchant/currency`.
#[derive(Debug, Deserialize)]
pub struct CurrencyAnswer {
    /// The limits per currency.
    pub rate: Option<Vec<RateEntry>>,
}

fn currency(value: Option<Scalar>, name: &str) -> Result<Currency, AnswerError> {
    Currency::new(&Scalar::required_text(value, name)?).map_err(|e| AnswerError::field(name, e))
}

fn decimal(value: Option<Scalar>, name: &str) -> Result<Decimal, AnswerError> {
    let value = value.ok_or_else(|| AnswerError::missing(name))?;
    value.decimal().map_err(|e| AnswerError::field(name, e))
}

impl TryFrom<CurrencyAnswer> for Vec<CurrencyLimit> {
    type Error = AnswerError;

    fn try_from(answer: CurrencyAnswer) -> Result<Self, AnswerError> {
        let rates = answer.rate.ok_or_else(|| AnswerError::missing("rate"))?;
        rates
            .into_iter()
            .map(|entry| {
                Ok(CurrencyLimit::range(
                    currency(entry.currency, "currency")?,
                    decimal(entry.min, "min")?,
                    decimal(entry.max, "max")?,
                ))
            })
            .collect()
    }
}

/// One entry of `/wallet/bank_list` or `/wallet/withdraw_bank_list`.
#[derive(Debug, Deserialize)]
pub struct BankEntry {
    /// The bank id to send back.
    pub id: Option<Scalar>,
    /// Its name.
    pub bank_name: Option<Scalar>,
    /// Its currency.
    pub currency: Option<Scalar>,
}

/// `/wallet/bank_list` and `/wallet/withdraw_bank_list`.
#[derive(Debug, Deserialize)]
pub struct BankListAnswer {
    /// The banks.
    pub data: Option<Vec<BankEntry>>,
}

impl TryFrom<BankListAnswer> for Vec<Bank> {
    type Error = AnswerError;

    fn try_from(answer: BankListAnswer) -> Result<Self, AnswerError> {
        let data = answer.data.ok_or_else(|| AnswerError::missing("data"))?;
        data.into_iter()
            .map(|entry| {
                Ok(Bank::new(
                    Scalar::required_text(entry.id, "id")?,
                    Scalar::required_text(entry.bank_name, "bank_name")?,
                    currency(entry.currency, "currency")?,
                ))
            })
            .collect()
    }
}

/// `/merchant/generate_orders`.
#[derive(Debug, Deserialize)]
pub struct DepositCreatedAnswer {
    /// The payment page.
    pub p_url: Option<Scalar>,
    /// One1Pay's reference.
    pub payment_id: Option<Scalar>,
}

/// What a created deposit answers: where to send the payer, and a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDeposit {
    /// The payment page.
    pub payment_url: String,
    /// The provider's reference, when it gives one.
    pub provider_ref: Option<String>,
}

impl TryFrom<DepositCreatedAnswer> for CreatedDeposit {
    type Error = AnswerError;

    fn try_from(answer: DepositCreatedAnswer) -> Result<Self, AnswerError> {
        let payment_url = Scalar::required_text(answer.p_url, "p_url")?;
        if !paybridge_wire::is_http_url(&payment_url) {
            return Err(AnswerError::field("p_url", "is not an http(s) URL"));
        }
        Ok(Self {
            payment_url,
            provider_ref: Scalar::optional_text(answer.payment_id),
        })
    }
}

/// `/merchant/withdraw_orders`.
#[derive(Debug, Deserialize)]
pub struct WithdrawalCreatedAnswer {
    /// One1Pay's reference.
    pub payment_id: Option<Scalar>,
    /// Vpay88's reference.
    pub withdraw_order_id: Option<Scalar>,
}

/// A payout the provider took, and its reference when it gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWithdrawal {
    /// The provider's reference.
    pub provider_ref: Option<String>,
}

impl TryFrom<WithdrawalCreatedAnswer> for CreatedWithdrawal {
    type Error = AnswerError;

    fn try_from(answer: WithdrawalCreatedAnswer) -> Result<Self, AnswerError> {
        Ok(Self {
            provider_ref: Scalar::optional_text(answer.payment_id)
                .or_else(|| Scalar::optional_text(answer.withdraw_order_id)),
        })
    }
}

/// `/merchant/check_status` and `/merchant/check_withdraw_status`.
#[derive(Debug, Deserialize)]
pub struct StatusAnswer {
    /// The status word.
    pub order_status: Option<Scalar>,
    /// The order's amount.
    pub amount: Option<Scalar>,
    /// Its currency.
    pub currency: Option<Scalar>,
    /// When it was made, provider local time.
    pub order_datetime: Option<Scalar>,
    /// One1Pay's reference.
    pub payment_id: Option<Scalar>,
}

/// A status answer with the order it was asked about (the answer names none)
/// and the dialect whose words it reads.
#[derive(Debug)]
pub struct StatusOf<'a> {
    /// The dialect answering.
    pub dialect: &'a DialectSpec,
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The order id asked about.
    pub order_id: OrderId,
    /// The answer.
    pub answer: StatusAnswer,
}

impl TryFrom<StatusOf<'_>> for StatusReport {
    type Error = AnswerError;

    fn try_from(
        StatusOf {
            dialect,
            kind,
            order_id,
            answer,
        }: StatusOf<'_>,
    ) -> Result<Self, AnswerError> {
        let word = Scalar::required_text(answer.order_status, "order_status")?;
        let status = dialect
            .status(kind, &word)
            .ok_or_else(|| AnswerError(format!("unknown order_status {word:?}")))?;
        let amount = Money::new(
            decimal(answer.amount, "amount")?,
            currency(answer.currency, "currency")?,
        );
        let mut report = StatusReport::new(kind, order_id, status, word).with_amount(amount);
        if let Some(at) = Scalar::optional_text(answer.order_datetime) {
            let at = parse_order_datetime(&at).map_err(AnswerError)?;
            report = report.with_order_datetime(at);
        }
        Ok(report.with_provider_ref(Scalar::optional_text(answer.payment_id)))
    }
}

/// `/wallet/get_balance`.
#[derive(Debug, Deserialize)]
pub struct BalanceAnswer {
    /// The balance.
    pub balance: Option<Scalar>,
}

/// A balance answer with the currency it was asked about (the answer names none).
#[derive(Debug)]
pub struct BalanceOf {
    /// The currency asked about.
    pub currency: Currency,
    /// The answer.
    pub answer: BalanceAnswer,
}

impl TryFrom<BalanceOf> for Balance {
    type Error = AnswerError;

    fn try_from(BalanceOf { currency, answer }: BalanceOf) -> Result<Self, AnswerError> {
        Ok(Balance::new(Money::new(
            decimal(answer.balance, "balance")?,
            currency,
        )))
    }
}

// --------------------------------------------------------------- callbacks

/// A callback's fields as they came, borrowed from the body where they can
/// be; every one optional until checked.
#[derive(Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub struct WireCallback<'a> {
    /// `order_id`.
    pub order_id: Option<ScalarRef<'a>>,
    /// `amount`.
    pub amount: Option<ScalarRef<'a>>,
    /// `currency`.
    pub currency: Option<ScalarRef<'a>>,
    /// `order_status`.
    pub order_status: Option<ScalarRef<'a>>,
    /// `charge`.
    pub charge: Option<ScalarRef<'a>>,
    /// `token`.
    pub token: Option<ScalarRef<'a>>,
    /// `name`.
    pub name: Option<ScalarRef<'a>>,
    /// `remarks`.
    pub remarks: Option<ScalarRef<'a>>,
    /// `type`: `deposit` or `withdrawal`.
    #[serde(rename = "type")]
    pub kind: Option<ScalarRef<'a>>,
}

/// The fields of a callback before its token is checked.
#[derive(Debug)]
pub struct UnverifiedCallback<'a> {
    /// The other fields as they came.
    pub fields: WireCallback<'a>,
    /// `order_id`, as text.
    pub order_id: Cow<'a, str>,
    /// `token`.
    pub token: Cow<'a, str>,
}

fn present<'a>(value: Option<ScalarRef<'a>>, field: &'static str) -> Result<Cow<'a, str>> {
    value
        .map(|s| s.0)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CallbackRejection::MissingField(field).into())
}

/// Parses a callback body (JSON, trailing commas, BOM or form) far enough to
/// verify its token: `order_id` and `token` must be present. The fields
/// borrow from `body`, or from `rewritten` where the body had to be rewritten
/// to be read (start it as `None`).
pub fn unverified_callback<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    rewritten: &'a mut Option<String>,
) -> Result<UnverifiedCallback<'a>> {
    let mut fields: WireCallback =
        parse_callback_body(body, content_type, rewritten).map_err(CallbackRejection::Malformed)?;
    let order_id = present(fields.order_id.take(), "order_id")?;
    let token = present(fields.token.take(), "token")?;
    Ok(UnverifiedCallback {
        fields,
        order_id,
        token,
    })
}

/// Builds the event from a callback whose token verified, its status word
/// read as `dialect` spells it.
pub fn callback_event(
    dialect: &DialectSpec,
    callback: UnverifiedCallback<'_>,
    raw_body: &[u8],
    secret_index: usize,
) -> Result<CallbackEvent> {
    let invalid = CallbackRejection::invalid;
    let f = callback.fields;
    let order_id =
        OrderId::new(&callback.order_id).map_err(|e| invalid("order_id", e.to_string()))?;
    let kind = match present(f.kind, "type")?.trim() {
        "deposit" => OrderKind::Deposit,
        "withdrawal" => OrderKind::Withdrawal,
        other => {
            return Err(invalid(
                "type",
                format!("{other:?} is neither deposit nor withdrawal"),
            ))
        }
    };
    let word = present(f.order_status, "order_status")?;
    let status = dialect
        .status(kind, &word)
        .ok_or_else(|| invalid("order_status", format!("unknown status {word:?}")))?;
    let amount =
        parse_decimal_str(&present(f.amount, "amount")?).map_err(|r| invalid("amount", r))?;
    let currency = Currency::new(&present(f.currency, "currency")?)
        .map_err(|e| invalid("currency", e.to_string()))?;
    let charge = f
        .charge
        .map(|c| c.decimal().map_err(|r| invalid("charge", r)))
        .transpose()?;
    Ok(CallbackEvent::new(
        dialect.provider(),
        kind,
        Some(order_id),
        status,
        word.into_owned(),
        Money::new(amount, currency),
        raw_body,
        secret_index,
    )
    .with_details(
        charge,
        ScalarRef::optional_text(f.name),
        ScalarRef::optional_text(f.remarks),
    ))
}

#[cfg(test)]
mod tests;
