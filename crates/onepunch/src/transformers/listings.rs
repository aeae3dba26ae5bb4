//! The listings: payment methods and prices, both of undocumented shape.

use paybridge_core::{CurrencyLimit, PaymentMethod};
use paybridge_wire::{text_of, u64_from_value, AnswerError};
use serde_json::Value;

use super::{cny, from_fen, Payload};

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
        let payload = answer.required_payload()?;
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
    let payload = answer.required_payload()?;
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
