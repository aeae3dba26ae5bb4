//! Pure mappings between ONE-PUNCH's bodies and paybridge's types. No I/O.

use paybridge_core::wire::{
    bool_from_value, parse_callback_body, read_envelope, text_of, u64_from_value, Scalar,
};
use paybridge_core::{
    CallbackRejection, Currency, CurrencyLimit, Decimal, Error, Money, OrderId, OrderKind,
    OrderStatus, PaymentMethod, RefusalKind, Result, StatusReport,
};
use serde_json::Value;

use crate::PROVIDER;

/// The only currency ONE-PUNCH takes; its amounts are in fen (1/100 CNY).
pub const CURRENCY: &str = "CNY";

/// An amount in CNY as whole fen. Sub-fen amounts and other currencies are refused.
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
    let out_of_range =
        || Error::invalid("amount", format!("{} CNY is out of range", amount.amount()));
    let fen = amount
        .amount()
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(out_of_range)?;
    if fen.fract() != Decimal::ZERO {
        return Err(Error::invalid(
            "amount",
            format!(
                "{} CNY is not a whole number of fen (0.01 CNY)",
                amount.amount()
            ),
        ));
    }
    u64::try_from(fen).map_err(|_| out_of_range())
}

/// Whole fen as CNY, exactly.
pub fn from_fen(fen: u64) -> Money {
    let cny = Currency::new(CURRENCY).expect("CNY is a valid currency code");
    Money::new(
        Decimal::from_i128_with_scale(i128::from(fen), 2).normalize(),
        cny,
    )
}

/// What a refusal message means; ONE-PUNCH documents none, so this is cautious.
pub fn refusal_kind(message: &str) -> RefusalKind {
    let upper = message.to_ascii_uppercase();
    if upper.contains("SIGNATURE") {
        RefusalKind::InvalidSignature
    } else if upper.contains("NOT FOUND") || upper.contains("NOT EXIST") {
        RefusalKind::OrderNotFound
    } else {
        RefusalKind::Other
    }
}

/// Parses `{"status", "message", "user_info", "payload"}`; returns the payload.
pub fn envelope(operation: &'static str, http_status: u16, body: &[u8]) -> Result<Value> {
    let mut map = read_envelope(PROVIDER, operation, http_status, body, body, refusal_kind)?;
    Ok(map.remove("payload").unwrap_or(Value::Null))
}

fn list_in(payload: &Value) -> Option<&Vec<Value>> {
    match payload {
        Value::Array(list) => Some(list),
        // An object wrapping the list: take its first list-valued field.
        Value::Object(map) => map.values().find_map(Value::as_array),
        _ => None,
    }
}

/// The methods payload: a list of codes, or of objects naming one.
pub fn payment_methods(payload: &Value, body: &[u8]) -> Result<Vec<PaymentMethod>> {
    let list = list_in(payload)
        .ok_or_else(|| Error::decode("payment_methods", "the payload holds no list", body))?;
    list.iter()
        .map(|entry| match entry {
            Value::String(code) => Ok(PaymentMethod::new(code.clone(), None, entry.clone())),
            Value::Object(map) => {
                let code = ["payment_method", "code", "method", "key"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(text_of))
                    .ok_or_else(|| {
                        Error::decode("payment_methods", "an entry names no method code", body)
                    })?;
                let name = map.get("name").and_then(text_of);
                Ok(PaymentMethod::new(code, name, entry.clone()))
            }
            _ => Err(Error::decode(
                "payment_methods",
                "an entry is neither text nor an object",
                body,
            )),
        })
        .collect()
}

/// The prices payload: allowed amounts in fen, as numbers, strings or objects.
pub fn prices(payload: &Value, body: &[u8]) -> Result<Vec<CurrencyLimit>> {
    let list = list_in(payload)
        .ok_or_else(|| Error::decode("currencies", "the payload holds no list", body))?;
    let amounts = list
        .iter()
        .map(|entry| {
            let value = match entry {
                Value::Object(map) => ["amount", "price", "value"]
                    .iter()
                    .find_map(|k| map.get(*k))
                    .ok_or_else(|| {
                        Error::decode("currencies", "a price entry has no amount", body)
                    })?,
                other => other,
            };
            u64_from_value(value)
                .map(|fen| from_fen(fen).amount())
                .map_err(|r| Error::decode("currencies", r, body))
        })
        .collect::<Result<Vec<_>>>()?;
    let cny = Currency::new(CURRENCY).expect("CNY is a valid currency code");
    Ok(CurrencyLimit::fixed(cny, amounts).into_iter().collect())
}

/// A registered payment, from the create-payment payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    /// Where to send the payer.
    pub payment_url: String,
    /// The provider's reference, needed for every status query.
    pub payment_token: String,
}

/// The create-payment payload. Its `amount` is not compared with the amount
/// sent: the document's own example sends 10000 fen and answers `"amount": 10`.
pub fn created_payment(payload: &Value, body: &[u8]) -> Result<CreatedPayment> {
    let field = |name: &str| {
        payload
            .get(name)
            .and_then(text_of)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::decode(
                    "create_deposit",
                    format!("the payload has no `{name}`"),
                    body,
                )
            })
    };
    Ok(CreatedPayment {
        payment_url: field("payment_url")?,
        payment_token: field("payment_token")?,
    })
}

/// The status payload. `completed` means paid; `processed` without `completed`
/// means the provider finished with the payment unpaid.
pub fn status_report(order_id: OrderId, payload: &Value, body: &[u8]) -> Result<StatusReport> {
    const OP: &str = "deposit_status";
    let flag = |name: &str| -> Result<bool> {
        match payload.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(v) => {
                bool_from_value(v).map_err(|r| Error::decode(OP, format!("`{name}`: {r}"), body))
            }
        }
    };
    let (processed, completed) = (flag("processed")?, flag("completed")?);
    let status = match (processed, completed) {
        (_, true) => OrderStatus::Completed,
        (true, false) => OrderStatus::Failed,
        (false, false) => OrderStatus::Pending,
    };
    let fen = payload
        .get("amount")
        .ok_or_else(|| Error::decode(OP, "the payload has no `amount`", body))
        .and_then(|v| {
            u64_from_value(v).map_err(|r| Error::decode(OP, format!("`amount`: {r}"), body))
        })?;
    Ok(StatusReport::new(
        OrderKind::Deposit,
        order_id,
        status,
        format!("processed={processed} completed={completed}"),
    )
    .with_amount(from_fen(fen))
    .with_provider_ref(payload.get("payment_token").and_then(text_of)))
}

/// A notification before its signature is checked.
#[derive(Debug)]
pub struct UnverifiedNotification {
    /// `monster_token`.
    pub monster_token: String,
    /// `transaction_status`.
    pub transaction_status: bool,
    /// `message`.
    pub message: String,
    /// `amount` in fen.
    pub amount_fen: u64,
    /// `order_num`, when given.
    pub order_num: Option<String>,
    /// `payment_token`: the merchant's stored one when given, else the body's.
    pub payment_token: String,
    /// `signature`.
    pub signature: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    CallbackRejection::InvalidField {
        field,
        reason: reason.into(),
    }
    .into()
}

/// A notification's fields as they came.
#[derive(Debug, serde::Deserialize)]
struct WireNotification {
    monster_token: Option<Scalar>,
    transaction_status: Option<Scalar>,
    message: Option<Scalar>,
    amount: Option<Scalar>,
    order_num: Option<Scalar>,
    payment_token: Option<Scalar>,
    signature: Option<Scalar>,
}

fn required(value: Option<Scalar>, field: &'static str) -> Result<Scalar> {
    value.ok_or_else(|| CallbackRejection::MissingField(field).into())
}

/// Parses a notification (JSON, a form or multipart, judged by the body).
///
/// The signature is a plain concatenation, so characters can move between
/// `payment_token` and `amount` without changing it (`OPT1` + `1000` signs as
/// `OPT` + `11000`). The merchant's stored token, when given, is therefore the
/// one signed over, and a body that names another token is refused.
pub fn unverified_notification(
    body: &[u8],
    content_type: Option<&str>,
    stored_payment_token: Option<&str>,
) -> Result<UnverifiedNotification> {
    let n: WireNotification =
        parse_callback_body(body, content_type).map_err(CallbackRejection::Malformed)?;
    let in_body = n.payment_token.map(|s| s.0).filter(|t| !t.is_empty());
    let stored = stored_payment_token.filter(|t| !t.is_empty());
    let payment_token = match (stored, in_body) {
        (Some(stored), Some(in_body)) if stored != in_body => {
            return Err(invalid(
                "payment_token",
                "differs from the payment token stored for the order",
            ))
        }
        (Some(stored), _) => stored.to_owned(),
        (None, Some(in_body)) => in_body,
        (None, None) => return Err(CallbackRejection::MissingField("payment_token").into()),
    };
    Ok(UnverifiedNotification {
        monster_token: required(n.monster_token, "monster_token")?.0,
        transaction_status: required(n.transaction_status, "transaction_status")?
            .bool()
            .map_err(|r| invalid("transaction_status", r))?,
        message: required(n.message, "message")?.0,
        amount_fen: required(n.amount, "amount")?
            .u64()
            .map_err(|r| invalid("amount", r))?,
        order_num: n.order_num.map(|s| s.0).filter(|t| !t.is_empty()),
        payment_token,
        signature: required(n.signature, "signature")?.0,
    })
}

/// Validates the order number a verified notification carries.
pub fn notification_order_id(order_num: &Option<String>) -> Result<Option<OrderId>> {
    order_num
        .as_deref()
        .map(|n| OrderId::new(n).map_err(|e| invalid("order_num", e.to_string())))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_conversion_refuses_what_it_cannot_hold_without_panicking() {
        let cny = |text: &str| Money::parse(text, CURRENCY).unwrap();
        assert_eq!(to_fen(&cny("100.5")).unwrap(), 10050);
        for huge in [
            "1e28",
            "79228162514264337593543950335",
            "184467440737095516.16",
        ] {
            let err = to_fen(&cny(huge)).unwrap_err().to_string();
            assert!(err.contains("out of range"), "{huge}: {err}");
        }
        assert!(to_fen(&cny("0.001"))
            .unwrap_err()
            .to_string()
            .contains("fen"));
    }
}
