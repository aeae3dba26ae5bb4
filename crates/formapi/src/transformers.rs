//! Pure mappings between the merchant form API's bodies and paybridge's types.
//! No I/O: fixtures and tests feed these functions directly.

use paybridge_core::wire::{
    decimal_from_value, parse_callback_body, parse_decimal_str, parse_order_datetime,
    read_envelope, text_of, Scalar,
};
use paybridge_core::{
    Balance, Bank, CallbackEvent, CallbackRejection, Currency, CurrencyLimit, Error, Money,
    OrderId, OrderKind, OrderStatus, RefusalKind, Result, StatusReport,
};
use serde_json::{Map, Value};

/// Maps a documented failure message to its kind. The documents' messages are
/// matched exactly; anything else is [`RefusalKind::Other`] and kept verbatim.
pub fn refusal_kind(message: &str) -> RefusalKind {
    match message {
        "Params incorrect" | "Params incorrect." => RefusalKind::Unauthorized,
        "Params missing." => RefusalKind::MissingParameter,
        "email incorrect." => RefusalKind::InvalidEmail,
        "Currency invalid." => RefusalKind::InvalidCurrency,
        "Invalid Amount." | "Amount Invalid!" => RefusalKind::InvalidAmount,
        "Order ID Exist." | "Order id exist!" => RefusalKind::DuplicateOrder,
        "bank_id invalid." => RefusalKind::InvalidBank,
        "Balance not enough!" => RefusalKind::InsufficientBalance,
        _ => RefusalKind::Other,
    }
}

/// Parses the `{"status": bool, "message": ...}` envelope. A `false` status is a
/// typed provider refusal; a body that is not a JSON object is a decode error
/// quoting a bounded snippet (or nothing, for bodies that may carry a secret).
pub fn envelope(
    provider: &'static str,
    operation: &'static str,
    http_status: u16,
    body: &[u8],
    body_may_hold_secret: bool,
) -> Result<Map<String, Value>> {
    let shown: &[u8] = if body_may_hold_secret {
        b"[body withheld: it may carry a credential]"
    } else {
        body
    };
    read_envelope(provider, operation, http_status, body, shown, refusal_kind)
}

fn field<'a>(
    map: &'a Map<String, Value>,
    operation: &'static str,
    name: &str,
    body: &[u8],
) -> Result<&'a Value> {
    map.get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| Error::decode(operation, format!("the success body has no `{name}`"), body))
}

fn text_field(
    map: &Map<String, Value>,
    operation: &'static str,
    name: &str,
    body: &[u8],
) -> Result<String> {
    let value = field(map, operation, name, body)?;
    text_of(value)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::decode(operation, format!("`{name}` is not text"), body))
}

fn decimal_field(
    map: &Map<String, Value>,
    operation: &'static str,
    name: &str,
    body: &[u8],
) -> Result<rust_decimal::Decimal> {
    decimal_from_value(field(map, operation, name, body)?)
        .map_err(|reason| Error::decode(operation, format!("`{name}`: {reason}"), body))
}

fn currency_field(
    map: &Map<String, Value>,
    operation: &'static str,
    name: &str,
    body: &[u8],
) -> Result<Currency> {
    let text = text_field(map, operation, name, body)?;
    Currency::new(&text).map_err(|e| Error::decode(operation, format!("`{name}`: {e}"), body))
}

fn optional_text(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.get(name).and_then(text_of).filter(|t| !t.is_empty())
}

/// `/merchant/currency`.
pub fn currencies(map: &Map<String, Value>, body: &[u8]) -> Result<Vec<CurrencyLimit>> {
    const OP: &str = "currencies";
    let rates = field(map, OP, "rate", body)?
        .as_array()
        .ok_or_else(|| Error::decode(OP, "`rate` is not a list", body))?;
    rates
        .iter()
        .map(|entry| {
            let entry = entry
                .as_object()
                .ok_or_else(|| Error::decode(OP, "a `rate` entry is not an object", body))?;
            Ok(CurrencyLimit::range(
                currency_field(entry, OP, "currency", body)?,
                decimal_field(entry, OP, "min", body)?,
                decimal_field(entry, OP, "max", body)?,
            ))
        })
        .collect()
}

/// `/merchant/auth`: the token. The body is never quoted, since it holds one.
pub fn auth_token(map: &Map<String, Value>) -> Result<String> {
    map.get("auth")
        .and_then(text_of)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::decode(
                "auth",
                "the success body has no `auth` token",
                b"[withheld]",
            )
        })
}

/// `/merchant/generate_orders`: the payment URL and One1Pay's `payment_id`.
pub fn created_deposit(map: &Map<String, Value>, body: &[u8]) -> Result<(String, Option<String>)> {
    let url = text_field(map, "create_deposit", "p_url", body)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::decode(
            "create_deposit",
            "`p_url` is not an http(s) URL",
            body,
        ));
    }
    Ok((url, optional_text(map, "payment_id")))
}

/// `/merchant/withdraw_orders`: the provider's reference, when it gives one.
pub fn created_withdrawal(map: &Map<String, Value>) -> Option<String> {
    optional_text(map, "payment_id").or_else(|| optional_text(map, "withdraw_order_id"))
}

/// `/merchant/check_status` and `/merchant/check_withdraw_status`.
pub fn status_report(
    kind: OrderKind,
    order_id: OrderId,
    map: &Map<String, Value>,
    body: &[u8],
) -> Result<StatusReport> {
    let op = match kind {
        OrderKind::Withdrawal => "withdrawal_status",
        _ => "deposit_status",
    };
    let word = text_field(map, op, "order_status", body)?;
    let status = OrderStatus::from_provider_word(&word)
        .ok_or_else(|| Error::decode(op, format!("unknown order_status {word:?}"), body))?;
    let mut report = StatusReport::new(kind, order_id, status, word);
    let amount = decimal_field(map, op, "amount", body)?;
    let currency = currency_field(map, op, "currency", body)?;
    report = report.with_amount(Money::new(amount, currency));
    if let Some(at) = optional_text(map, "order_datetime") {
        let at = parse_order_datetime(&at).map_err(|r| Error::decode(op, r, body))?;
        report = report.with_order_datetime(at);
    }
    Ok(report.with_provider_ref(optional_text(map, "payment_id")))
}

/// `/wallet/bank_list` and `/wallet/withdraw_bank_list`.
pub fn banks(operation: &'static str, map: &Map<String, Value>, body: &[u8]) -> Result<Vec<Bank>> {
    let data = field(map, operation, "data", body)?
        .as_array()
        .ok_or_else(|| Error::decode(operation, "`data` is not a list", body))?;
    data.iter()
        .map(|entry| {
            let entry = entry
                .as_object()
                .ok_or_else(|| Error::decode(operation, "a `data` entry is not an object", body))?;
            Ok(Bank::new(
                text_field(entry, operation, "id", body)?,
                text_field(entry, operation, "bank_name", body)?,
                currency_field(entry, operation, "currency", body)?,
            ))
        })
        .collect()
}

/// `/wallet/get_balance`.
pub fn balance(currency: &Currency, map: &Map<String, Value>, body: &[u8]) -> Result<Balance> {
    let amount = decimal_field(map, "balance", "balance", body)?;
    Ok(Balance::new(Money::new(amount, currency.clone())))
}

/// A callback's fields as they came; every one optional until checked.
#[derive(Debug, Default, serde::Deserialize)]
pub struct WireCallback {
    /// `order_id`.
    pub order_id: Option<Scalar>,
    /// `amount`.
    pub amount: Option<Scalar>,
    /// `currency`.
    pub currency: Option<Scalar>,
    /// `order_status`.
    pub order_status: Option<Scalar>,
    /// `charge`.
    pub charge: Option<Scalar>,
    /// `token`.
    pub token: Option<Scalar>,
    /// `name`.
    pub name: Option<Scalar>,
    /// `remarks`.
    pub remarks: Option<Scalar>,
    /// `type`: `deposit` or `withdrawal`.
    #[serde(rename = "type")]
    pub kind: Option<Scalar>,
}

/// The fields of a callback before its token is checked.
#[derive(Debug)]
pub struct UnverifiedCallback {
    /// The other fields as they came.
    pub fields: WireCallback,
    /// `order_id`, as text.
    pub order_id: String,
    /// `token`.
    pub token: String,
}

fn present(value: Option<Scalar>, field: &'static str) -> Result<String> {
    value
        .map(|s| s.0)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CallbackRejection::MissingField(field).into())
}

/// Parses a callback body (JSON, trailing commas, BOM or form) far enough to
/// verify its token: `order_id` and `token` must be present.
pub fn unverified_callback(body: &[u8], content_type: Option<&str>) -> Result<UnverifiedCallback> {
    let mut fields: WireCallback =
        parse_callback_body(body, content_type).map_err(CallbackRejection::Malformed)?;
    let order_id = present(fields.order_id.take(), "order_id")?;
    let token = present(fields.token.take(), "token")?;
    Ok(UnverifiedCallback {
        fields,
        order_id,
        token,
    })
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    CallbackRejection::InvalidField {
        field,
        reason: reason.into(),
    }
    .into()
}

/// Builds the event from a callback whose token verified.
pub fn callback_event(
    provider: &'static str,
    callback: UnverifiedCallback,
    raw_body: &[u8],
    secret_index: usize,
) -> Result<CallbackEvent> {
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
    let status = OrderStatus::from_provider_word(&word)
        .ok_or_else(|| invalid("order_status", format!("unknown status {word:?}")))?;
    let amount = present(f.amount, "amount")
        .and_then(|a| parse_decimal_str(&a).map_err(|r| invalid("amount", r)))?;
    let currency = Currency::new(&present(f.currency, "currency")?)
        .map_err(|e| invalid("currency", e.to_string()))?;
    let charge = f
        .charge
        .map(|c| c.decimal().map_err(|r| invalid("charge", r)))
        .transpose()?;
    let text = |s: Option<Scalar>| s.map(|s| s.0).filter(|t| !t.is_empty());
    Ok(CallbackEvent::new(
        provider,
        kind,
        Some(order_id),
        status,
        word,
        Money::new(amount, currency),
        raw_body,
        secret_index,
    )
    .with_details(charge, text(f.name), text(f.remarks)))
}
