//! Verified callbacks and their confirmation against the status API.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::gateway::PaymentGateway;
use crate::model::{StatusQuery, StatusReport};
use crate::money::{Money, OrderId};
use crate::status::{OrderKind, OrderStatus};

/// The largest callback body accepted. Real callbacks are well under 1 KiB.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

/// A callback as it arrived.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallbackRequest<'a> {
    /// The raw body.
    pub body: &'a [u8],
    /// The `Content-Type` header, when there was one.
    pub content_type: Option<&'a str>,
    /// The provider reference the merchant stored for the order, for providers whose
    /// signature covers a value the body may lack (ONE-PUNCH `payment_token`).
    pub provider_ref: Option<&'a str>,
}

impl<'a> CallbackRequest<'a> {
    /// A callback body with no content type.
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            content_type: None,
            provider_ref: None,
        }
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the stored provider reference.
    pub fn with_provider_ref(mut self, provider_ref: Option<&'a str>) -> Self {
        self.provider_ref = provider_ref;
        self
    }

    /// Refuses an oversized body before anything parses it.
    pub fn check_size(&self) -> Result<()> {
        if self.body.len() > MAX_CALLBACK_BODY {
            return Err(Error::CallbackRejected(CallbackRejection::TooLarge {
                size: self.body.len(),
                limit: MAX_CALLBACK_BODY,
            }));
        }
        Ok(())
    }
}

/// Why a callback was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// The body is larger than [`MAX_CALLBACK_BODY`].
    TooLarge {
        /// Bytes received.
        size: usize,
        /// Bytes allowed.
        limit: usize,
    },
    /// The body is not a JSON object or form.
    Malformed(String),
    /// A field the signature or the event needs is absent.
    MissingField(&'static str),
    /// A field is present but unusable.
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The token or signature does not verify against any configured secret.
    BadSignature,
    /// The provider's status API disagrees about the status.
    StatusMismatch {
        /// What the callback claimed.
        claimed: OrderStatus,
        /// What the provider reports.
        confirmed: OrderStatus,
    },
    /// The provider's status API disagrees about the amount.
    AmountMismatch {
        /// What the callback claimed.
        claimed: String,
        /// What the provider reports.
        confirmed: String,
    },
    /// The callback cannot be confirmed (no order id or reference to look up).
    Unconfirmable(String),
}

impl fmt::Display for CallbackRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackRejection::TooLarge { size, limit } => {
                write!(f, "body of {size} bytes exceeds the {limit}-byte limit")
            }
            CallbackRejection::Malformed(why) => write!(f, "malformed body: {why}"),
            CallbackRejection::MissingField(field) => write!(f, "missing field `{field}`"),
            CallbackRejection::InvalidField { field, reason } => {
                write!(f, "invalid field `{field}`: {reason}")
            }
            CallbackRejection::BadSignature => {
                f.write_str("token/signature does not verify against any configured secret")
            }
            CallbackRejection::StatusMismatch { claimed, confirmed } => write!(
                f,
                "callback says {claimed} but the provider's status API says {confirmed}"
            ),
            CallbackRejection::AmountMismatch { claimed, confirmed } => write!(
                f,
                "callback says amount {claimed} but the provider's status API says {confirmed}"
            ),
            CallbackRejection::Unconfirmable(why) => write!(f, "cannot be confirmed: {why}"),
        }
    }
}

impl From<CallbackRejection> for Error {
    fn from(value: CallbackRejection) -> Self {
        Error::CallbackRejected(value)
    }
}

/// A callback whose token or signature verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallbackEvent {
    /// Provider name.
    pub provider: &'static str,
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The merchant's order id, when the callback carries one.
    pub order_id: Option<OrderId>,
    /// The provider's reference (ONE-PUNCH payment token), when known.
    pub provider_ref: Option<String>,
    /// Normalized status.
    pub status: OrderStatus,
    /// The provider's own status word or flag.
    pub provider_status: String,
    /// The amount the callback claims.
    pub amount: Money,
    /// The fee, when given.
    pub charge: Option<Decimal>,
    /// `name`, when given.
    pub name: Option<String>,
    /// `remarks`, when given.
    pub remarks: Option<String>,
    /// The body exactly as it arrived (lossy UTF-8), so nothing is lost.
    pub raw_body: String,
    /// Index of the configured secret that verified it (one secret per channel).
    pub secret_index: usize,
}

impl CallbackEvent {
    /// A verified event; optional parts are set with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: &'static str,
        kind: OrderKind,
        order_id: Option<OrderId>,
        status: OrderStatus,
        provider_status: String,
        amount: Money,
        raw_body: &[u8],
        secret_index: usize,
    ) -> Self {
        Self {
            provider,
            kind,
            order_id,
            provider_ref: None,
            status,
            provider_status,
            amount,
            charge: None,
            name: None,
            remarks: None,
            raw_body: String::from_utf8_lossy(raw_body).into_owned(),
            secret_index,
        }
    }

    /// Sets the provider reference.
    pub fn with_provider_ref(mut self, provider_ref: Option<String>) -> Self {
        self.provider_ref = provider_ref;
        self
    }

    /// Sets charge, name and remarks.
    pub fn with_details(
        mut self,
        charge: Option<Decimal>,
        name: Option<String>,
        remarks: Option<String>,
    ) -> Self {
        self.charge = charge;
        self.name = name;
        self.remarks = remarks;
        self
    }
}

/// Confirms a verified callback with the provider's status API and refuses it
/// when the provider disagrees about its status or amount.
///
/// Vpay88/One1Pay tokens cover only the order id, so an intercepted callback can
/// be altered without breaking its token; this is what makes it trustworthy.
pub async fn confirm(gateway: &dyn PaymentGateway, event: &CallbackEvent) -> Result<StatusReport> {
    let order_id = match (&event.order_id, &event.provider_ref) {
        (Some(id), _) => id.clone(),
        // ONE-PUNCH looks up by payment token; the order id only labels the report.
        (None, Some(reference)) => OrderId::new(reference).map_err(|_| {
            CallbackRejection::Unconfirmable("the provider reference is not a valid id".into())
        })?,
        (None, None) => {
            return Err(CallbackRejection::Unconfirmable(
                "the callback carries neither an order id nor a provider reference".into(),
            )
            .into())
        }
    };
    let mut query = StatusQuery::new(order_id);
    query.provider_ref = event.provider_ref.clone();
    let report = match event.kind {
        OrderKind::Withdrawal => gateway.withdrawal_status(&query).await?,
        _ => gateway.deposit_status(&query).await?,
    };
    if report.status != event.status {
        return Err(CallbackRejection::StatusMismatch {
            claimed: event.status,
            confirmed: report.status,
        }
        .into());
    }
    // Fail closed: an amount the provider does not state is an amount not confirmed.
    let Some(confirmed) = &report.amount else {
        return Err(CallbackRejection::Unconfirmable(
            "the provider's status did not state an amount".into(),
        )
        .into());
    };
    // Decimal equality ignores scale: 300.0000 equals 300.
    if confirmed.amount() != event.amount.amount()
        || confirmed.currency() != event.amount.currency()
    {
        return Err(CallbackRejection::AmountMismatch {
            claimed: event.amount.to_string(),
            confirmed: confirmed.to_string(),
        }
        .into());
    }
    Ok(report)
}
