//! Verified callbacks and their confirmation against the status API.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::gateway::PaymentGateway;
use crate::model::{StatusQuery, StatusReport};
use crate::money::{Money, OrderId};
use crate::provider::Provider;
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
    BadSignature {
        /// What was signed, field by field, and which common mistake reproduces
        /// the received digest; `None` where the body did not carry enough to tell.
        /// Its `Debug` and `Display` never show a secret or the expected digest.
        explanation: Option<Box<paybridge_signing::Explanation>>,
    },
    /// The callback claims a final status the provider's status API does not yet
    /// report (it says a non-final one): ask again later, do not act yet.
    NotYetConfirmed {
        /// What the callback claimed.
        claimed: OrderStatus,
        /// What the provider reports.
        confirmed: OrderStatus,
    },
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
            CallbackRejection::BadSignature { explanation } => {
                f.write_str("token/signature does not verify against any configured secret")?;
                match explanation.as_ref().and_then(|e| e.mistake.as_ref()) {
                    Some(mistake) => write!(f, " (likely: {mistake})"),
                    None => Ok(()),
                }
            }
            CallbackRejection::NotYetConfirmed { claimed, confirmed } => write!(
                f,
                "callback says {claimed} but the provider's status API still says {confirmed}"
            ),
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

impl CallbackRejection {
    /// An [`Error`] for a present but unusable field.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        CallbackRejection::InvalidField {
            field,
            reason: reason.into(),
        }
        .into()
    }

    /// A short, fixed description of the rejection's class, safe to send back to
    /// whoever posted the callback: it echoes nothing of the body.
    pub fn class(&self) -> &'static str {
        match self {
            CallbackRejection::TooLarge { .. } => "rejected: too large",
            CallbackRejection::Malformed(_)
            | CallbackRejection::MissingField(_)
            | CallbackRejection::InvalidField { .. } => "rejected: malformed",
            CallbackRejection::BadSignature { .. } => "rejected: signature",
            CallbackRejection::NotYetConfirmed { .. } => "try later",
            CallbackRejection::StatusMismatch { .. } | CallbackRejection::AmountMismatch { .. } => {
                "rejected: not confirmed"
            }
            CallbackRejection::Unconfirmable(_) => "rejected: unconfirmable",
        }
    }

    /// Whether the provider should deliver the callback again later (HTTP 503)
    /// rather than be told it is refused (HTTP 400).
    pub fn retry_later(&self) -> bool {
        matches!(self, CallbackRejection::NotYetConfirmed { .. })
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
    /// The provider.
    pub provider: Provider,
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
    /// The merchant account (user name) whose secret verified it, where the
    /// gateway holds secrets of several accounts; confirmation asks as that account.
    pub account: Option<String>,
}

impl CallbackEvent {
    /// A verified event; optional parts are set with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: Provider,
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
            // Checked as UTF-8 first: far cheaper than the lossy path a valid body never needs.
            raw_body: match std::str::from_utf8(raw_body) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(raw_body).into_owned(),
            },
            secret_index,
            account: None,
        }
    }

    /// Sets the account whose secret verified the callback.
    pub fn with_account(mut self, account: Option<String>) -> Self {
        self.account = account;
        self
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
///
/// A final status the provider does not report yet (it still says pending) is
/// [`CallbackRejection::NotYetConfirmed`]: answer "try later", so a provider that
/// retries delivers it again once its records agree. A final status contradicted
/// by another final status is [`CallbackRejection::StatusMismatch`] and logged as
/// a possible forgery. The query is made as the account whose secret verified the
/// callback.
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
    query.username = event.account.clone();
    let report = match event.kind {
        OrderKind::Withdrawal => gateway.withdrawal_status(&query).await?,
        _ => gateway.deposit_status(&query).await?,
    };
    if report.status != event.status && event.status.is_final() && !report.status.is_final() {
        return Err(CallbackRejection::NotYetConfirmed {
            claimed: event.status,
            confirmed: report.status,
        }
        .into());
    }
    if report.status != event.status {
        if event.status.is_final() {
            tracing::warn!(
                provider = %event.provider,
                order_id = event.order_id.as_ref().map_or("", OrderId::as_str),
                claimed = %event.status,
                confirmed = %report.status,
                "callback contradicts the provider's final status: possible forgery"
            );
        }
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
        tracing::warn!(
            provider = %event.provider,
            claimed = %event.amount,
            confirmed = %confirmed,
            "callback amount contradicts the provider's: possible forgery"
        );
        return Err(CallbackRejection::AmountMismatch {
            claimed: event.amount.to_string(),
            confirmed: confirmed.to_string(),
        }
        .into());
    }
    Ok(report)
}
