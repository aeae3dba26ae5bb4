//! The provider-agnostic heart of paybridge, the domain: exact money, merchant
//! order ids, normalized statuses, the [`PaymentGateway`] trait every adapter
//! implements, the [`Error`] enum, the outcome table and callback
//! confirmation. How requests travel (transport, encoding, answer reading) is
//! the wire runtime's, `paybridge-wire`, which adapters opt into; nothing here
//! imports it.
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
mod confirmation;
mod error;
pub mod fields;
mod gateway;
mod model;
mod money;
mod operation;
pub mod outcome;
pub mod prelude;
mod provider;
pub mod redact;
pub mod refusal;
mod request;
mod status;

pub use callback::{CallbackEvent, CallbackRequest, MAX_CALLBACK_BODY};
pub use confirmation::confirm;
pub use error::{BoxError, CallbackRejection, Error, RefusalKind, Result};
pub use fields::{FieldRule, FieldUse, RequestField};
pub use gateway::{Capabilities, PaymentGateway};
pub use model::{
    Balance, Bank, CurrencyLimit, DepositOrder, PaymentMethod, StatusQuery, StatusReport,
    WithdrawalReceipt,
};
pub use money::{parse_decimal_str, Currency, Money, OrderId, MINOR_UNITS};
pub use operation::Operation;
pub use outcome::{LearnedFrom, Verdict};
pub use provider::Provider;
pub use request::{
    check_request_amount, is_http_url, DepositRequest, DepositRequestBuilder, ExtraFields,
    WithdrawalRequest, WithdrawalRequestBuilder, MAX_AMOUNT,
};
pub use rust_decimal::Decimal;
pub use secrecy::{ExposeSecret, SecretString};
pub use status::{OrderKind, OrderStatus};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
