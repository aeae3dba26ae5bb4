//! A ready callback route for axum (feature `axum`).
//!
//! The route verifies the callback, confirms it with the provider's status API
//! (unless turned off), hands it to the merchant's async handler, and only then
//! answers 200. A handler error or a crash answers 500, so the provider retries
//! rather than the event being lost.
//!
//! Whoever posted gets a short fixed answer per class (`rejected: signature`,
//! `try later`, `handler failed`...); the detail goes to the log only, so no
//! handler error, panic message or body excerpt reaches the sender.
//!
//! | outcome | HTTP | body |
//! |---|---|---|
//! | verified, confirmed, handled (with a ledger: its finish recorded) | 200 | the configured answer (`success`) |
//! | with a ledger: a duplicate of a transition whose handler's success is recorded; stale news; a contradiction of a final state (recorded as a conflict) | 200 | the configured answer |
//! | body over the limit | 413 | `rejected: too large` |
//! | malformed, bad signature, contradicted by a final status or another amount | 400 | `rejected: ...` |
//! | claims a final status the provider does not report yet; status API unreachable | 503 | `try later` |
//! | ONE-PUNCH with neither a ledger, a stored-token lookup nor confirmation; or, on a route that does not confirm, a notification for which neither gives a stored token (no `order_num`, an order the lookup does not know) | 503 | `try later` |
//! | with a ledger: the body cannot be recorded; the transition's handler is owed but cannot be claimed (running elsewhere within its lease, or the ledger fails); its success cannot be recorded; a ONE-PUNCH order the ledger does not hold yet, or holds without its payment token on a route that does not confirm (one that confirms verifies over the notification's own token and confirms over it, answering 503 when that does not verify) | 503 | `try later` |
//! | handler failed or panicked | 500 | `handler failed` |
//!
//! With a ledger (feature `ledger`), the handler runs for the ledger's
//! transition the callback names, claimed with a lease, and only a recorded
//! successful finish lets a later delivery be acknowledged as a duplicate:
//! see "Handler delivery guarantee" in `docs/reliability.md`. Transitions
//! learned without a callback (a status query, reconcile, a create answer)
//! reach the handler through the worker of
//! `CallbackRoute::into_router_and_worker`. A ONE-PUNCH notification is
//! verified over the payment token the ledger holds for its `order_num`.
//!
//! ```
//! use paybridge::axum::{CallbackRoute, Delivery};
//! use paybridge::{Config, Gateway};
//!
//! # fn build() -> paybridge::transport::TransportConfig { Default::default() }
//! let config = Config::from_toml(r#"
//!     provider = "vpay88"
//!     [vpay88]
//!     base_url = "https://pay.example"
//!     username = "merchant"
//!     api_key = "key"
//!     secret_key = "secret"
//! "#, "inline").unwrap();
//! let gateway = Gateway::from_config(&config).unwrap();
//! let app: axum::Router = axum::Router::new().nest(
//!     "/callbacks/vpay88",
//!     CallbackRoute::new(gateway, |delivery: Delivery| async move {
//!         // Credit the order once, keyed by delivery.event.order_id (with a
//!         // ledger, by the id of delivery.transition).
//!         Ok::<(), std::convert::Infallible>(())
//!     })
//!     .into_router(),
//! );
//! ```

mod answer;
mod delivery;
mod handler;
#[cfg(feature = "ledger")]
mod ledger;
#[cfg(feature = "ledger")]
mod owed;
mod receive;
mod route;

pub use delivery::Delivery;
#[cfg(feature = "ledger")]
pub use owed::OwedDeliveries;
pub use route::CallbackRoute;
