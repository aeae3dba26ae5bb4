//! Notifications: read before their signature is checked, then turned into
//! the event.

use std::borrow::Cow;

use paybridge_core::{CallbackEvent, CallbackRejection, OrderId, OrderKind, Result};
use paybridge_wire::{parse_callback_body, ScalarRef};

use super::{from_fen, payment_status};
use crate::PROVIDER;

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

/// A notification field that must be present, or the rejection naming it.
fn required_field<'a>(value: Option<ScalarRef<'a>>, field: &'static str) -> Result<ScalarRef<'a>> {
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
        monster_token: required_field(n.monster_token, "monster_token")?.0,
        transaction_status: required_field(n.transaction_status, "transaction_status")?
            .bool()
            .map_err(|r| CallbackRejection::invalid("transaction_status", r))?,
        message: required_field(n.message, "message")?.0,
        amount_fen: required_field(n.amount, "amount")?
            .u64()
            .map_err(|r| CallbackRejection::invalid("amount", r))?,
        order_num: n.order_num.map(|s| s.0).filter(|t| !t.is_empty()),
        payment_token,
        signature: required_field(n.signature, "signature")?.0,
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
