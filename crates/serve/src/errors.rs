//! The one error shape, `{"error": {"kind", "message", "field"?, "order_id"?}}`,
//! and the one HTTP status per kind: written once, as a table.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paybridge::Error;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every kind the service answers and the status it is answered with. The
/// library's `Error::kind` words, and the service's own (`unauthorized`,
/// `not_found`, `body_too_large`, `unsupported_media_type`,
/// `idempotency_key_in_use`, `idempotency_key_reused`).
pub const STATUS_OF_KIND: [(&str, u16); 20] = [
    ("invalid_request", 400),
    ("unauthorized", 401),
    ("not_found", 404),
    ("order_id_conflict", 409),
    ("idempotency_key_in_use", 409),
    ("body_too_large", 413),
    ("unsupported_media_type", 415),
    ("provider_refused", 422),
    ("held_as_failed", 422),
    ("unsupported", 422),
    ("idempotency_key_reused", 422),
    ("callback_rejected", 400),
    // Nothing can have been acted on: the caller may retry under the same id.
    ("transport", 502),
    ("timeout", 502),
    ("decode", 502),
    ("http_status", 502),
    // The order's outcome is open: reconcile, never resend under a new id.
    ("ambiguous", 202),
    ("config", 500),
    ("local", 500),
    ("internal", 500),
];

/// The status a kind is answered with (500 for a kind the table lacks).
pub fn status_of_kind(kind: &str) -> u16 {
    STATUS_OF_KIND
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(500, |(_, status)| *status)
}

/// The error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// One stable word (see the status table in docs/serve.md).
    pub kind: String,
    /// For people.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The order concerned, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// An answered error.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) body: ErrorBody,
}

impl ApiError {
    /// An error of `kind`, answered with the table's status.
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            status: status_of_kind(kind),
            body: ErrorBody {
                error: ErrorDetail {
                    kind: kind.to_owned(),
                    message: message.into(),
                    field: None,
                    order_id: None,
                },
            },
        }
    }

    /// Naming the request field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.error.field = Some(field.into());
        self
    }

    /// Naming the order concerned.
    pub fn order(mut self, order_id: impl Into<String>) -> Self {
        self.body.error.order_id = Some(order_id.into());
        self
    }

    /// The kind answered.
    pub fn kind(&self) -> &str {
        &self.body.error.kind
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let kind = match &err {
            // A failure that may have reached the provider on a read is still
            // a failed read; a create's is turned into `ambiguous` by the
            // library before it gets here.
            Error::Transport { .. } => "transport",
            other => other.kind(),
        };
        let mut api = ApiError::new(kind, err.to_string());
        match &err {
            Error::InvalidRequest { field, .. } => api = api.field(field.clone()),
            Error::Ambiguous { order_id, .. }
            | Error::HeldAsFailed { order_id, .. }
            | Error::OrderIdConflict { order_id, .. } => api = api.order(order_id.as_str()),
            _ => {}
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_status_and_each_library_kind_is_in_the_table() {
        let mut seen = std::collections::HashSet::new();
        for (kind, _) in STATUS_OF_KIND {
            assert!(seen.insert(kind), "{kind} twice");
        }
        for kind in [
            "invalid_request",
            "config",
            "unsupported",
            "local",
            "transport",
            "timeout",
            "http_status",
            "provider_refused",
            "decode",
            "callback_rejected",
            "ambiguous",
            "held_as_failed",
            "order_id_conflict",
        ] {
            assert!(seen.contains(kind), "{kind} has no status");
        }
        assert_eq!(status_of_kind("ambiguous"), 202);
        assert_eq!(status_of_kind("idempotency_key_in_use"), 409);
        assert_eq!(status_of_kind("no_such_kind"), 500);
    }
}
