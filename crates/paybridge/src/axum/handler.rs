//! The merchant's handler: its bounds, and how it is run.

use std::fmt::Display;
use std::future::Future;

use axum::http::StatusCode;
use axum::response::Response;

use super::answer::answer;
use super::{CallbackRoute, Delivery};
use crate::Gateway;

/// The merchant's handler, as [`CallbackRoute`]'s bounds describe it, named
/// once for the route's own functions.
pub(super) trait Handler: Clone + Send + Sync + 'static {
    /// What a failed run reports (logged, never sent).
    type Error: Display + Send + 'static;
    /// One run.
    type Future: Future<Output = Result<(), Self::Error>> + Send + 'static;
    /// Runs it on `delivery`.
    fn call(&self, delivery: Delivery) -> Self::Future;
}

impl<H, Fut, E> Handler for H
where
    H: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    type Error = E;
    type Future = Fut;

    fn call(&self, delivery: Delivery) -> Fut {
        self(delivery)
    }
}

/// Runs the merchant's handler in its own task, so a panic becomes a 500, not
/// a dropped connection; the 500 answer when it did not succeed.
pub(super) async fn handle<H: Handler>(
    route: &CallbackRoute<H>,
    gateway: &Gateway,
    mut delivery: Delivery,
) -> Result<(), Response> {
    let provider = gateway.provider().as_str();
    let handler = route.handler.clone();
    delivery.account = gateway.account().map(str::to_owned);
    let outcome = tokio::spawn(handler.call(delivery)).await;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::error!(provider, error = %err, "callback handler failed");
            Err(answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed"))
        }
        Err(panic) => {
            tracing::error!(provider, error = %panic, "callback handler panicked");
            Err(answer(StatusCode::INTERNAL_SERVER_ERROR, "handler failed"))
        }
    }
}
