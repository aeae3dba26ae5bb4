//! Callbacks: read far enough to verify their token, then read whole.

use std::borrow::Cow;

use paybridge_core::{
    CallbackEvent, CallbackRejection, Currency, Money, OrderId, OrderKind, Result,
};
use paybridge_wire::{parse_callback_body, parse_decimal_str, ScalarRef};
use serde::Deserialize;

use crate::DialectSpec;

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
