//! A payment's status, from its flags.

use paybridge_core::{OrderId, OrderKind, OrderStatus, StatusReport};
use paybridge_wire::{AnswerError, Scalar};
use serde::Deserialize;

use super::{from_fen, Payload};

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
        let payload = answer.required_payload()?;
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
        .with_provider_ref(Scalar::optional_text(payload.payment_token)))
    }
}
