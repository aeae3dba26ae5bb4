//! The provider-agnostic heart of paybridge: exact money, merchant order ids,
//! normalized statuses, the [`PaymentGateway`] trait every adapter implements,
//! the [`Error`] enum, and the wire helpers the adapters share (tolerant number
//! and body parsing, the HTTP transport with its timeout and retry policy).
//!
//! ```
//! use paybridge_core::{Money, DepositRequest};
//! use rust_decimal::Decimal;
//!
//! let amount = Money::parse("100.50", "MYR").unwrap();
//! let request = DepositRequest::builder("ORDER-1", amount)
//!     .customer_name("john")
//!     .email("john@example.com")
//!     .build()
//!     .unwrap();
//! assert_eq!(request.amount.amount(), Decimal::new(10050, 2));
//! ```
#![deny(missing_docs)]

mod callback;
mod error;
pub mod fields;
mod form;
mod gateway;
mod model;
mod money;
pub mod outcome;
pub mod prelude;
mod provider;
pub mod redact;
pub mod refusal;
mod status;
pub mod transport;
pub mod wire;

pub use callback::{confirm, CallbackEvent, CallbackRejection, CallbackRequest, MAX_CALLBACK_BODY};
pub use error::{BoxError, Error, RefusalKind, Result};
pub use fields::{FieldRule, FieldUse, RequestField};
pub use gateway::{Capabilities, Operation, PaymentGateway};
pub use model::{
    check_request_amount, Balance, Bank, CurrencyLimit, DepositOrder, DepositRequest,
    DepositRequestBuilder, ExtraFields, PaymentMethod, StatusQuery, StatusReport,
    WithdrawalReceipt, WithdrawalRequest, WithdrawalRequestBuilder, MAX_AMOUNT,
};
pub use money::{Currency, Money, OrderId, MINOR_UNITS};
pub use outcome::{LearnedFrom, Verdict};
pub use provider::Provider;
pub use rust_decimal::Decimal;
pub use secrecy::{ExposeSecret, SecretString};
pub use status::{OrderKind, OrderStatus};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
