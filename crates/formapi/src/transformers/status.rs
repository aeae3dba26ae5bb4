//! Status: the words the family spells, the query's form, and its answer.

use chrono::NaiveDateTime;
use paybridge_core::{Money, OrderId, OrderKind, OrderStatus, StatusQuery, StatusReport};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::{currency, decimal};
use crate::DialectSpec;

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
