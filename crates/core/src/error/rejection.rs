//! Why a callback was rejected: the part of the error taxonomy only callbacks reach.

use std::fmt;

use super::Error;
use crate::status::OrderStatus;

/// Why a callback was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// The body is larger than [`MAX_CALLBACK_BODY`](crate::MAX_CALLBACK_BODY).
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
