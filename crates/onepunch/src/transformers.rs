//! ONE-PUNCH's wire schema, as types: the signed create-payment body built by
//! `TryFrom` from paybridge's request, every answer's payload a `Deserialize`
//! struct mapped by `TryFrom` into paybridge's type, the status flags and
//! refusal messages mapped here, and the notification read before its signature
//! is checked. No I/O: the fixtures feed these types directly in the tests below.

use std::borrow::Cow;

use paybridge_core::fields::{check_fields, in_request_order, sent_value};
use paybridge_core::refusal::RefusalTable;
use paybridge_core::{
    check_request_amount, CallbackEvent, CallbackRejection, Currency, CurrencyLimit, Decimal,
    DepositRequest, Error, ExposeSecret, FieldRule, Money, OrderId, OrderKind, OrderStatus,
    PaymentMethod, RequestField, Result, SecretString, StatusReport,
};
use paybridge_signing::{onepunch_create_signature, OnepunchCreateFields};
use paybridge_wire::{
    parse_callback_body, text_of, u64_from_value, AnswerError, Scalar, ScalarRef,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::PROVIDER;

/// The only currency ONE-PUNCH takes; its amounts are in fen (1/100 CNY).
pub const CURRENCY: &str = "CNY";

/// An amount in CNY as whole fen. Other currencies are refused, and every
/// amount no order may carry ([`check_request_amount`]: CNY has two decimal
/// places, so a sub-fen amount among them).
pub fn to_fen(amount: &Money) -> Result<u64> {
    if amount.currency().as_str() != CURRENCY {
        return Err(Error::invalid(
            "currency",
            format!(
                "{} is not offered by ONE-PUNCH; it takes CNY only",
                amount.currency()
            ),
        ));
    }
    check_request_amount(amount)?;
    let out_of_range =
        || Error::invalid("amount", format!("{} CNY is out of range", amount.amount()));
    let fen = amount
        .amount()
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(out_of_range)?;
    u64::try_from(fen).map_err(|_| out_of_range())
}

/// Whole fen as CNY, exactly.
pub fn from_fen(fen: u64) -> Money {
    Money::new(
        Decimal::from_i128_with_scale(i128::from(fen), 2).normalize(),
        cny(),
    )
}

/// ONE-PUNCH's one currency, validated once: every notification's amount is in it.
fn cny() -> Currency {
    static CNY: std::sync::LazyLock<Currency> =
        std::sync::LazyLock::new(|| Currency::new(CURRENCY).expect("CNY is a valid currency code"));
    CNY.clone()
}

/// ONE-PUNCH's document writes no refusal, so none is read for what it says:
/// a create it refuses is ambiguous (ONE-PUNCH cannot be asked by the merchant's
/// order id), and a refused status query says nothing about the order. The
/// message is kept verbatim, whatever the HTTP status.
pub const REFUSALS: RefusalTable = RefusalTable::EMPTY;

/// An answer outside 2xx whose body is a refusal (`{"status":false,"message":...}`,
/// as the provider's Express template answers errors with HTTP 500) read as
/// that refusal, its message kept, exactly as a refusal in a 2xx or 4xx answer
/// is read; any other error is left as it is.
pub fn refusal_in_status(operation: paybridge_core::Operation, err: Error) -> Error {
    let Error::HttpStatus { status, body, .. } = &err else {
        return err;
    };
    let Ok(Value::Object(answer)) = serde_json::from_str::<Value>(body) else {
        return err;
    };
    let refused = answer.get("status").and_then(Value::as_bool) == Some(false);
    match (refused, answer.get("message").and_then(Value::as_str)) {
        (true, Some(message)) => {
            let read = REFUSALS.read(operation, *status, message);
            Error::Provider {
                provider: PROVIDER,
                operation,
                kind: read.kind,
                message: message.to_owned(),
                documented: read.documented,
            }
        }
        _ => err,
    }
}

/// The part of every answer paybridge reads beside `status` and `message`.
#[derive(Debug, Deserialize)]
pub struct Payload<P> {
    /// The payload.
    pub payload: Option<P>,
}

impl<P> Payload<P> {
    fn required(self) -> Result<P, AnswerError> {
        self.payload.ok_or_else(|| AnswerError::missing("payload"))
    }
}

// ---------------------------------------------------------------- requests

/// The merchant's side of a create-payment body: sub-account, signing key and
/// default URLs, as configured. `Debug` shows no secret, nor a URL's credentials.
#[derive(Clone)]
pub struct Account {
    /// Sub-account id (`monster_token`).
    pub monster_token: String,
    /// Signing key.
    pub monster_key: SecretString,
    /// `notify_url` for deposits that name no `callback_url`.
    pub notify_url: Option<String>,
    /// `return_url` for deposits that name no `redirect_url`.
    pub return_url: Option<String>,
    /// `payment_method` for deposits that name none.
    pub payment_method: Option<String>,
}

/// How ONE-PUNCH uses each deposit field (it takes CNY deposits only): the one
/// table the create-payment body is checked against and built from.
pub fn deposit_rules() -> Vec<FieldRule> {
    use RequestField as F;
    let payer = "ONE-PUNCH takes no payer details beyond an address";
    let payer_bank = "ONE-PUNCH takes no payer's bank; the payer pays by the method's QR page";
    in_request_order(
        vec![
            FieldRule::required(F::OrderId, "order_num", "the merchant's order number, signed"),
            FieldRule::required(F::Amount, "amount", "in fen, CNY only"),
            FieldRule::not_sent(F::CustomerName, payer),
            FieldRule::not_sent(F::Email, payer),
            FieldRule::not_sent(F::Phone, payer),
            FieldRule::required(F::RedirectUrl, "return_url", "signed; `[onepunch] return_url` is used when the request names none"),
            FieldRule::sent(F::IpAddr, "ip_addr", "optional: the payer's IP address"),
            FieldRule::required(F::CallbackUrl, "notify_url", "signed; `[onepunch] notify_url` is used when the request names none"),
            FieldRule::required(F::PaymentMethod, "payment_method", "from payment_methods (`ali-person`); `[onepunch] payment_method` is used when the request names none"),
            FieldRule::not_sent(F::BankId, payer_bank),
            FieldRule::not_sent(F::CustomerBankHolderName, payer_bank),
            FieldRule::not_sent(F::CustomerBankAccount, payer_bank),
            FieldRule::refused(F::Mode, "the prepaid-card mode is Vpay88's; without it the payer would be offered another channel"),
            FieldRule::sent(F::MacAddr, "mac_addr", "optional: the payer's MAC address"),
            FieldRule::refused(F::Extra, "ONE-PUNCH signs a fixed list of fields and its document names no others: an extra field would go unsigned, and a brand that needs one is not this API"),
        ],
        OrderKind::Deposit,
    )
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use paybridge_core::redact::Url;
        f.debug_struct("Account")
            .field("monster_token", &self.monster_token)
            .field("monster_key", &self.monster_key)
            .field("notify_url", &self.notify_url.as_deref().map(Url))
            .field("return_url", &self.return_url.as_deref().map(Url))
            .finish()
    }
}

/// The create-payment body, as sent: JSON, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePaymentBody {
    /// Amount in fen.
    pub amount: u64,
    /// Payment method code.
    pub payment_method: String,
    /// Sub-account id.
    pub monster_token: String,
    /// Notification URL.
    pub notify_url: String,
    /// Return URL.
    pub return_url: String,
    /// Payer IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_addr: Option<String>,
    /// Payer MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_addr: Option<String>,
    /// Random number for this request.
    pub magic_num: u64,
    /// Merchant order number.
    pub order_num: String,
    /// The request signature.
    pub signature: String,
}

/// A deposit to turn into a create-payment body, with the account it is sent
/// from and this request's `magic_num`.
#[derive(Debug, Clone, Copy)]
pub struct CreateOf<'a> {
    /// The deposit.
    pub request: &'a DepositRequest,
    /// The sending account.
    pub account: &'a Account,
    /// This request's random number.
    pub magic_num: u64,
}

impl TryFrom<CreateOf<'_>> for CreatePaymentBody {
    type Error = Error;

    fn try_from(
        CreateOf {
            request,
            account,
            magic_num,
        }: CreateOf<'_>,
    ) -> Result<Self> {
        let amount = to_fen(&request.amount)?;
        let rules = deposit_rules();
        // The order's own value, else the account's default.
        let payment_method = request
            .payment_method
            .clone()
            .or_else(|| account.payment_method.clone());
        let notify_url = request
            .callback_url
            .clone()
            .or_else(|| account.notify_url.clone());
        let return_url = request
            .redirect_url
            .clone()
            .or_else(|| account.return_url.clone());
        check_fields(&rules, PROVIDER, " deposits", |field| match field {
            RequestField::PaymentMethod => payment_method.is_some(),
            RequestField::CallbackUrl => notify_url.is_some(),
            RequestField::RedirectUrl => return_url.is_some(),
            other => request.has(other),
        })?;
        // The table requires all three; the check above named any missing.
        let missing = |field: &str| Error::missing(field, PROVIDER.as_str(), " deposits");
        let payment_method = payment_method.ok_or_else(|| missing("payment_method"))?;
        let notify_url = notify_url.ok_or_else(|| missing("callback_url"))?;
        let return_url = return_url.ok_or_else(|| missing("redirect_url"))?;
        check_lengths(&[
            ("payment_method", Some(&payment_method), 32),
            ("callback_url (notify_url)", Some(&notify_url), 200),
            ("redirect_url (return_url)", Some(&return_url), 200),
            ("ip_addr", request.ip_addr.as_ref(), 65),
            ("mac_addr", request.mac_addr.as_ref(), 65),
        ])?;
        let order_num = request.order_id.as_str().to_owned();
        let signature = onepunch_create_signature(
            &OnepunchCreateFields {
                magic_num,
                amount_fen: amount,
                payment_method: &payment_method,
                monster_token: &account.monster_token,
                order_num: Some(&order_num),
                notify_url: &notify_url,
                return_url: &return_url,
            },
            account.monster_key.expose_secret(),
        );
        Ok(Self {
            amount,
            payment_method,
            monster_token: account.monster_token.clone(),
            notify_url,
            return_url,
            ip_addr: sent_value(&rules, RequestField::IpAddr, &request.ip_addr),
            mac_addr: sent_value(&rules, RequestField::MacAddr, &request.mac_addr),
            magic_num,
            order_num,
            signature,
        })
    }
}

/// Refuses a field longer than the document allows, before anything is sent:
/// the provider would truncate or refuse it, and a truncated URL signs differently.
fn check_lengths(fields: &[(&str, Option<&String>, usize)]) -> Result<()> {
    for &(field, value, max) in fields {
        let length = value.map_or(0, |v| v.chars().count());
        if length > max {
            return Err(Error::invalid(
                field,
                format!("is {length} characters long; {PROVIDER} takes at most {max}"),
            ));
        }
    }
    Ok(())
}

// ----------------------------------------------------------------- answers

/// Entries of an undocumented list: a list, or an object wrapping one (its
/// first list-valued field).
fn list_in(payload: &Value) -> Option<&Vec<Value>> {
    match payload {
        Value::Array(list) => Some(list),
        Value::Object(map) => map.values().find_map(Value::as_array),
        _ => None,
    }
}

/// The methods answer. Its shape is undocumented, so the payload stays raw.
pub type MethodsAnswer = Payload<Value>;

impl TryFrom<MethodsAnswer> for Vec<PaymentMethod> {
    type Error = AnswerError;

    /// A list of codes, or of objects naming one. The list's shape is
    /// undocumented: an entry of another shape is kept whole, with no code.
    fn try_from(answer: MethodsAnswer) -> Result<Self, AnswerError> {
        let payload = answer.required()?;
        let list =
            list_in(&payload).ok_or_else(|| AnswerError("the payload holds no list".into()))?;
        Ok(list
            .iter()
            .map(|entry| {
                let (code, name) = match entry {
                    Value::String(code) => (Some(code.clone()), None),
                    Value::Object(map) => (
                        ["payment_method", "code", "method", "key"]
                            .iter()
                            .find_map(|k| map.get(*k).and_then(text_of)),
                        map.get("name").and_then(text_of),
                    ),
                    _ => (None, None),
                };
                PaymentMethod::new(code.unwrap_or_default(), name, entry.clone())
            })
            .collect())
    }
}

/// The prices answer. Its shape is undocumented, so the payload stays raw.
pub type PricesAnswer = Payload<Value>;

/// The allowed amounts in fen, as numbers, strings or objects, as one fixed
/// list in CNY.
pub fn prices(answer: PricesAnswer) -> Result<Vec<CurrencyLimit>, AnswerError> {
    let payload = answer.required()?;
    let list = list_in(&payload).ok_or_else(|| AnswerError("the payload holds no list".into()))?;
    let mut amounts = Vec::new();
    let mut unrecognized = Vec::new();
    for entry in list {
        let value = match entry {
            Value::Object(map) => ["amount", "price", "value"]
                .iter()
                .find_map(|k| map.get(*k)),
            other => Some(other),
        };
        match value.map(u64_from_value) {
            Some(Ok(fen)) => amounts.push(from_fen(fen).amount()),
            // The list's shape is undocumented: keep what cannot be read.
            _ => unrecognized.push(entry.clone()),
        }
    }
    match CurrencyLimit::fixed(cny(), amounts) {
        Some(limit) => Ok(vec![limit.with_unrecognized(unrecognized)]),
        None if unrecognized.is_empty() => Ok(Vec::new()),
        None => Err(AnswerError(format!(
            "none of the {} price entries is an amount",
            unrecognized.len()
        ))),
    }
}

/// The create-payment payload.
#[derive(Debug, Deserialize)]
pub struct CreatedPayload {
    /// Where to send the payer.
    pub payment_url: Option<Scalar>,
    /// The provider's reference.
    pub payment_token: Option<Scalar>,
    /// The amount registered, in fen like the amount sent.
    pub amount: Option<Scalar>,
}

/// A registered payment, from the create-payment payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    /// Where to send the payer.
    pub payment_url: String,
    /// The provider's reference, needed for every status query.
    pub payment_token: String,
    /// The amount the provider registered, in fen, when the answer names one.
    pub amount_fen: Option<u64>,
}

impl CreatedPayment {
    /// Refuses a registration of another amount than `sent`: the payer would
    /// be asked for the provider's amount, not the merchant's.
    pub fn check_amount(&self, order_id: &OrderId, sent: &Money) -> Result<()> {
        match self.amount_fen {
            Some(fen) if fen != to_fen(sent)? => Err(Error::OrderIdConflict {
                kind: OrderKind::Deposit,
                order_id: order_id.clone(),
                requested: sent.clone(),
                held: from_fen(fen),
                from_ledger: false,
            }),
            _ => Ok(()),
        }
    }
}

impl TryFrom<Payload<CreatedPayload>> for CreatedPayment {
    type Error = AnswerError;

    /// `amount` is read in fen, the unit of the amount sent and of the status
    /// payload's. (The document's create example answers `"amount": 10` to a
    /// request of 10000 fen; read in fen or in yuan the two disagree, so that
    /// answer is taken to be another payment's, of 10 fen.)
    fn try_from(answer: Payload<CreatedPayload>) -> Result<Self, AnswerError> {
        let payload = answer.required()?;
        let amount_fen = payload
            .amount
            .map(|amount| amount.u64().map_err(|r| AnswerError::field("amount", r)))
            .transpose()?;
        let payment_url = Scalar::required(payload.payment_url, "payment_url")?;
        if !paybridge_wire::is_http_url(&payment_url) {
            return Err(AnswerError::field("payment_url", "is not an http(s) URL"));
        }
        Ok(Self {
            payment_url,
            payment_token: Scalar::required(payload.payment_token, "payment_token")?,
            amount_fen,
        })
    }
}

/// The status payload.
#[derive(Debug, Deserialize)]
pub struct StatusPayload {
    /// Whether the provider finished with the payment.
    pub processed: Option<Scalar>,
    /// Whether it was paid.
    pub completed: Option<Scalar>,
    /// Amount in fen.
    pub amount: Option<Scalar>,
    /// The provider's reference.
    pub payment_token: Option<Scalar>,
}

/// A status answer with the order it was asked about.
#[derive(Debug)]
pub struct StatusOf {
    /// The order id the report is labelled with.
    pub order_id: OrderId,
    /// The answer.
    pub answer: Payload<StatusPayload>,
}

/// The status of a payment's flags: `completed` means paid; `processed`
/// without `completed` means the provider finished with the payment unpaid.
pub fn payment_status(processed: bool, completed: bool) -> OrderStatus {
    match (processed, completed) {
        (_, true) => OrderStatus::Completed,
        (true, false) => OrderStatus::Failed,
        (false, false) => OrderStatus::Pending,
    }
}

impl TryFrom<StatusOf> for StatusReport {
    type Error = AnswerError;

    fn try_from(StatusOf { order_id, answer }: StatusOf) -> Result<Self, AnswerError> {
        let payload = answer.required()?;
        let flag = |value: Option<Scalar>, name: &str| {
            value.map_or(Ok(false), |v| {
                v.bool().map_err(|r| AnswerError::field(name, r))
            })
        };
        let processed = flag(payload.processed, "processed")?;
        let completed = flag(payload.completed, "completed")?;
        let fen = payload
            .amount
            .ok_or_else(|| AnswerError::missing("amount"))?
            .u64()
            .map_err(|r| AnswerError::field("amount", r))?;
        Ok(StatusReport::new(
            OrderKind::Deposit,
            order_id,
            payment_status(processed, completed),
            format!("processed={processed} completed={completed}"),
        )
        .with_amount(from_fen(fen))
        .with_provider_ref(Scalar::optional(payload.payment_token)))
    }
}

// ----------------------------------------------------------- notifications

/// A notification before its signature is checked, its text borrowed from
/// the body where it can be.
#[derive(Debug)]
pub struct UnverifiedNotification<'a> {
    /// `monster_token`.
    pub monster_token: Cow<'a, str>,
    /// `transaction_status`.
    pub transaction_status: bool,
    /// `message`.
    pub message: Cow<'a, str>,
    /// `amount` in fen.
    pub amount_fen: u64,
    /// `order_num`, when given.
    pub order_num: Option<Cow<'a, str>>,
    /// `payment_token`: the merchant's stored one when given, else the body's.
    pub payment_token: Cow<'a, str>,
    /// `signature`.
    pub signature: Cow<'a, str>,
}

/// A notification's fields as they came.
#[derive(Debug, serde::Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct WireNotification<'a> {
    monster_token: Option<ScalarRef<'a>>,
    transaction_status: Option<ScalarRef<'a>>,
    message: Option<ScalarRef<'a>>,
    amount: Option<ScalarRef<'a>>,
    order_num: Option<ScalarRef<'a>>,
    payment_token: Option<ScalarRef<'a>>,
    signature: Option<ScalarRef<'a>>,
}

/// The order a notification names (`order_num`), read before any
/// verification: only a key to find the payment token stored for it.
pub fn notification_order(body: &[u8], content_type: Option<&str>) -> Option<OrderId> {
    /// The one field read.
    #[derive(serde::Deserialize)]
    #[serde(bound(deserialize = "'de: 'a"))]
    struct OrderNum<'a> {
        order_num: Option<ScalarRef<'a>>,
    }
    let mut rewritten = None;
    let fields = parse_callback_body::<OrderNum>(body, content_type, &mut rewritten).ok()?;
    OrderId::new(fields.order_num?.as_str()).ok()
}

fn required<'a>(value: Option<ScalarRef<'a>>, field: &'static str) -> Result<ScalarRef<'a>> {
    value.ok_or_else(|| CallbackRejection::MissingField(field).into())
}

/// Parses a notification (JSON, a form or multipart, judged by the body). Its
/// text borrows from `body`, or from `rewritten` where the body had to be
/// rewritten to be read (start it as `None`).
///
/// The signature is a plain concatenation, so characters can move between
/// `payment_token` and `amount` without changing it (`OPT1` + `1000` signs as
/// `OPT` + `11000`). The merchant's stored token, when given, is therefore the
/// one signed over, and a body that names another token is refused.
pub fn unverified_notification<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    stored_payment_token: Option<&'a str>,
    rewritten: &'a mut Option<String>,
) -> Result<UnverifiedNotification<'a>> {
    let n: WireNotification =
        parse_callback_body(body, content_type, rewritten).map_err(CallbackRejection::Malformed)?;
    let in_body = n.payment_token.map(|s| s.0).filter(|t| !t.is_empty());
    let stored = stored_payment_token.filter(|t| !t.is_empty());
    let payment_token = match (stored, in_body) {
        (Some(stored), Some(in_body)) if stored != in_body => {
            return Err(CallbackRejection::invalid(
                "payment_token",
                "differs from the payment token stored for the order",
            ))
        }
        (Some(stored), _) => Cow::Borrowed(stored),
        (None, Some(in_body)) => in_body,
        (None, None) => return Err(CallbackRejection::MissingField("payment_token").into()),
    };
    Ok(UnverifiedNotification {
        monster_token: required(n.monster_token, "monster_token")?.0,
        transaction_status: required(n.transaction_status, "transaction_status")?
            .bool()
            .map_err(|r| CallbackRejection::invalid("transaction_status", r))?,
        message: required(n.message, "message")?.0,
        amount_fen: required(n.amount, "amount")?
            .u64()
            .map_err(|r| CallbackRejection::invalid("amount", r))?,
        order_num: n.order_num.map(|s| s.0).filter(|t| !t.is_empty()),
        payment_token,
        signature: required(n.signature, "signature")?.0,
    })
}

/// The event of a notification whose signature verified.
pub fn notification_event(n: UnverifiedNotification<'_>, raw_body: &[u8]) -> Result<CallbackEvent> {
    let order_id = n
        .order_num
        .as_deref()
        .map(|num| {
            OrderId::new(num).map_err(|e| CallbackRejection::invalid("order_num", e.to_string()))
        })
        .transpose()?;
    // A notification is sent once the provider has finished with the payment.
    let status = payment_status(true, n.transaction_status);
    Ok(CallbackEvent::new(
        PROVIDER,
        OrderKind::Deposit,
        order_id,
        status,
        provider_status(n.transaction_status, &n.message),
        from_fen(n.amount_fen),
        raw_body,
        0,
    )
    .with_provider_ref(Some(n.payment_token.into_owned())))
}

/// What the notification said, for people: `transaction_status=... message=...`.
/// Joined by hand rather than `format!`, which costs more than the rest of the
/// event on a path every callback takes.
fn provider_status(transaction_status: bool, message: &str) -> String {
    let flag = if transaction_status { "true" } else { "false" };
    ["transaction_status=", flag, " message=", message].concat()
}

#[cfg(test)]
mod tests {
    use paybridge_core::{Operation, RefusalKind};
    use paybridge_wire::transport::HttpReply;
    use paybridge_wire::{read_answer, Answered};
    use serde::de::DeserializeOwned;

    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let file = format!(
            "{}/../../fixtures/onepunch/{path}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    fn answer<P: DeserializeOwned>(
        operation: Operation,
        path: &str,
    ) -> Result<Answered<Payload<P>>> {
        let reply = HttpReply {
            status: 200,
            body: fixture(path),
        };
        read_answer(PROVIDER, operation, reply, &REFUSALS)
    }

    fn status_of(path: &str) -> Result<StatusReport> {
        answer::<StatusPayload>(Operation::DepositStatus, path)?.map(|answer| {
            StatusReport::try_from(StatusOf {
                order_id: OrderId::new("ORDER-1").unwrap(),
                answer,
            })
        })
    }

    /// A deposit's create body, with `notify_url` as the account's default.
    fn create_body(request: &DepositRequest, notify_url: String) -> Result<CreatePaymentBody> {
        let account = Account {
            monster_token: "MON-demo".into(),
            monster_key: SecretString::from("demo-monster-key".to_owned()),
            notify_url: Some(notify_url),
            return_url: Some("https://r.example/".into()),
            payment_method: None,
        };
        CreatePaymentBody::try_from(CreateOf {
            request,
            account: &account,
            magic_num: 888,
        })
    }

    #[test]
    fn a_configured_notify_url_longer_than_200_characters_is_refused_at_200_it_passes() {
        // The request's own fields are held to the same limits by its builder; the
        // account's default URLs come from configuration and are checked here.
        let request = DepositRequest::builder("A1", Money::parse("10", "CNY").unwrap())
            .payment_method("m".repeat(32))
            .ip_addr("1".repeat(65))
            .mac_addr("2".repeat(65))
            .build()
            .unwrap();
        let url_of = |length: usize| format!("https://n.example/{}", "x".repeat(length - 18));
        assert!(create_body(&request, url_of(200)).is_ok());
        match create_body(&request, url_of(201)) {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "callback_url (notify_url)");
                assert_eq!(reason, "is 201 characters long; onepunch takes at most 200");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn payload(body: &str) -> Answered<Payload<Value>> {
        let reply = HttpReply {
            status: 200,
            body: body.as_bytes().to_vec(),
        };
        read_answer(PROVIDER, Operation::PaymentMethods, reply, &REFUSALS).unwrap()
    }

    #[test]
    fn method_entries_of_unknown_shape_are_kept_whole_not_refused() {
        let methods: Vec<PaymentMethod> = payload(
            r#"{"status":true,"payload":["ali-person",{"code":"wechat","name":"WeChat"},42,{"odd":true}]}"#,
        )
        .map_into()
        .unwrap();
        let codes: Vec<&str> = methods.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(codes, ["ali-person", "wechat", "", ""]);
        assert_eq!(methods[1].name.as_deref(), Some("WeChat"));
        assert_eq!(methods[2].raw, serde_json::json!(42));
        assert_eq!(methods[3].raw, serde_json::json!({ "odd": true }));
    }

    #[test]
    fn price_entries_of_unknown_shape_are_kept_beside_the_amounts_read() {
        let limits = prices(
            payload(r#"{"status":true,"payload":[1000,"5000",{"amount":100},{"odd":1},true]}"#)
                .answer,
        )
        .unwrap();
        let amounts: Vec<String> = limits[0]
            .allowed_amounts
            .iter()
            .flatten()
            .map(|a| a.normalize().to_string())
            .collect();
        assert_eq!(amounts, ["1", "10", "50"]);
        assert_eq!(
            limits[0].unrecognized,
            [serde_json::json!({ "odd": 1 }), serde_json::json!(true)]
        );
        let none_readable =
            prices(payload(r#"{"status":true,"payload":[true,{"odd":1}]}"#).answer).unwrap_err();
        assert!(
            none_readable.0.contains("none of the 2 price entries"),
            "{}",
            none_readable.0
        );
    }

    #[test]
    fn status_fixtures_map_their_flags_and_amount_in_fen() {
        for (path, status) in [
            ("deposit_status/completed.json", OrderStatus::Completed),
            ("deposit_status/failed.json", OrderStatus::Failed),
            ("deposit_status/pending.json", OrderStatus::Pending),
        ] {
            let report = status_of(path).unwrap();
            assert_eq!(report.status, status, "{path}");
            assert_eq!(report.amount, Some(from_fen(100)), "{path}");
            assert!(report.provider_ref.is_some(), "{path}");
        }
        let err = status_of("deposit_status/ok_as_documented.json").unwrap_err();
        assert_eq!(
            err.kind(),
            "decode",
            "the document's example has raw control characters"
        );
    }

    #[test]
    fn the_create_answer_gives_the_payment_page_and_token() {
        let created: CreatedPayment =
            answer::<CreatedPayload>(Operation::CreateDeposit, "create_deposit/ok.json")
                .unwrap()
                .map_into()
                .unwrap();
        assert!(created.payment_url.starts_with("http"));
        assert!(!created.payment_token.is_empty());
    }

    /// The payer is sent to the payment page: a `javascript:` or `data:` one
    /// is no page of the provider's, as the form API's `p_url` already is not.
    #[test]
    fn a_create_answer_whose_payment_page_is_not_http_is_undecodable() {
        for url in [
            "javascript:alert(document.cookie)",
            "data:text/html,<b>pay</b>",
            "//evil.example/pay",
        ] {
            let body = serde_json::json!({"status": true, "message": "REGISTER PAYMENT SUCCEED",
                "user_info": {}, "payload": {"payment_url": url, "payment_token": "OPT1", "amount": 1000}});
            let reply = HttpReply {
                status: 200,
                body: body.to_string().into_bytes(),
            };
            let created = read_answer::<Payload<CreatedPayload>>(
                PROVIDER,
                Operation::CreateDeposit,
                reply,
                &REFUSALS,
            )
            .unwrap()
            .map_into::<CreatedPayment>();
            match created {
                Err(err) => assert_eq!(err.kind(), "decode", "{url}: {err}"),
                Ok(created) => panic!("{url}: the payer would be sent to {}", created.payment_url),
            }
        }
    }

    #[test]
    fn a_refused_signature_is_kept_verbatim_but_not_read_as_documented() {
        let err = answer::<CreatedPayload>(
            Operation::CreateDeposit,
            "create_deposit/bad_signature.json",
        )
        .unwrap_err();
        match &err {
            Error::Provider {
                kind,
                message,
                documented,
                ..
            } => {
                assert_eq!((*kind, *documented), (RefusalKind::Other, false), "{err}");
                assert!(message.to_ascii_uppercase().contains("SIGNATURE"), "{err}");
            }
            other => panic!("not a refusal: {other}"),
        }
        assert!(
            err.may_have_been_delivered(),
            "an undocumented refusal proves nothing"
        );
    }

    #[test]
    fn prices_in_every_shape_become_one_fixed_cny_list() {
        let limits = answer::<Value>(Operation::Currencies, "currencies/ok.json")
            .unwrap()
            .map(prices)
            .unwrap();
        assert_eq!(limits.len(), 1);
        let allowed = &limits[0];
        for cny in ["1", "50", "100", "200"] {
            assert!(
                allowed.accepts(Decimal::from_str_exact(cny).unwrap()),
                "{cny}"
            );
        }
        assert!(!allowed.accepts(Decimal::from_str_exact("2").unwrap()));
    }

    #[test]
    fn methods_keep_their_codes_names_and_raw_entries() {
        let methods: Vec<PaymentMethod> =
            answer::<Value>(Operation::PaymentMethods, "payment_methods/ok.json")
                .unwrap()
                .map_into()
                .unwrap();
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[0].code, "ali-person");
        assert_eq!(methods[0].name.as_deref(), Some("Alipay (personal)"));
        assert_eq!(methods[1].raw["extra"], 1);
    }

    #[test]
    fn the_notification_fixture_reads_with_the_stored_token() {
        let body = fixture("callback/notification.json");
        let mut rewritten = None;
        let n = unverified_notification(
            &body,
            None,
            Some("OP9f2dca32af10cd12ab5f6d"),
            &mut rewritten,
        )
        .unwrap();
        assert!(n.transaction_status);
        assert_eq!(n.amount_fen, 100);
        assert_eq!(n.payment_token, "OP9f2dca32af10cd12ab5f6d");
        let event = notification_event(n, &body).unwrap();
        assert_eq!(event.status, OrderStatus::Completed);
        assert_eq!(event.amount, from_fen(100));
        assert_eq!(event.order_id.unwrap().as_str(), "_some_order_num_");
    }

    #[test]
    fn a_failed_transaction_notification_is_failed_not_pending() {
        let body = br#"{"monster_token":"MON-demo","transaction_status":false,"message":"TRANSACTION FAILED","amount":100,"payment_token":"OP1","signature":"x"}"#;
        let mut rewritten = None;
        let n = unverified_notification(body, None, None, &mut rewritten).unwrap();
        assert_eq!(
            notification_event(n, body).unwrap().status,
            OrderStatus::Failed
        );
    }

    #[test]
    fn the_documents_notification_text_is_malformed_not_guessed() {
        let body = fixture("callback/notification_as_documented.txt");
        let err = unverified_notification(&body, None, Some("OP1"), &mut None).unwrap_err();
        assert_eq!(err.kind(), "callback_rejected", "{err}");
    }

    #[test]
    fn fen_conversion_refuses_what_it_cannot_hold_without_panicking() {
        let cny = |text: &str| Money::parse(text, CURRENCY).unwrap();
        assert_eq!(to_fen(&cny("100.5")).unwrap(), 10050);
        assert_eq!(to_fen(&cny("0.01")).unwrap(), 1);
        for huge in [
            "1e28",
            "79228162514264337593543950335",
            "184467440737095516.16",
        ] {
            let err = to_fen(&cny(huge)).unwrap_err().to_string();
            assert!(err.contains("largest amount"), "{huge}: {err}");
        }
        let err = to_fen(&cny("0.001")).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest { field, .. } if field == "amount"),
            "{err:?}"
        );
        assert!(err.to_string().contains("CNY has 2"), "{err}");
    }
}
