//! The answers the route gives: short and fixed per class, the detail logged.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Error;

/// `text` as a plain-text answer with `status`.
pub(super) fn answer(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

/// The answer to a callback that was not accepted; the detail is logged.
pub(super) fn refuse(provider: &str, err: &Error) -> Response {
    match err {
        Error::CallbackRejected(rejection) if rejection.retry_later() => {
            tracing::info!(provider, error = %err, "callback not yet confirmed; asked to retry");
            answer(StatusCode::SERVICE_UNAVAILABLE, rejection.class())
        }
        Error::CallbackRejected(rejection) => {
            tracing::warn!(provider, error = %err, "callback rejected");
            answer(StatusCode::BAD_REQUEST, rejection.class())
        }
        _ => {
            tracing::warn!(provider, error = %err, "callback could not be checked; asked to retry");
            try_later()
        }
    }
}

/// The answer that has the provider deliver the callback again later.
pub(super) fn try_later() -> Response {
    answer(StatusCode::SERVICE_UNAVAILABLE, "try later")
}
