//! The "merchant form API" that Vpay88, One1Pay and other white-label brands
//! share, written once.
//!
//! Every call is a `POST` of `multipart/form-data` to `{base_url}/merchant/...` or
//! `{base_url}/wallet/...`; every answer is JSON, errors included, with
//! `"status": false` and a `message`. A provider of this family is a
//! [`DialectSpec`]: data read from TOML (its currencies and the fields each
//! takes, the values a field may take, status words, paths, balance), the same
//! whether a crate embeds it (Vpay88, One1Pay) or a merchant configures it as a
//! brand (`[brands.NAME]`, see [`config`]).
//!
//! - [`transformers`]: the wire schema as types, and their mappings.
//! - [`FormApiGateway`] (`gateway.rs`): operations, paths and HTTP.
//! - [`FormApiBuilder`] (`builder.rs`) and the auth token cache (`auth.rs`).
//!
//! ```no_run
//! # async fn run() -> paybridge_core::Result<()> {
//! use std::sync::Arc;
//! use paybridge_core::{PaymentGateway, Provider};
//! use paybridge_formapi::{DialectSpec, FormApiGateway};
//!
//! let dialect = DialectSpec::from_toml(Provider::new("mine"), r#"
//!     currencies = ["MYR"]
//!     [deposit.fields]
//!     redirect_url = { use = "sent", why = "where the payer returns" }
//! "#, "mine.toml")?;
//! let gateway = FormApiGateway::builder(Arc::new(dialect), "https://pay.example", "merchant", "api-key")
//!     .secret_key("secret-key")
//!     .build()?;
//! let limits = gateway.currencies().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use paybridge_core::Operation;

mod auth;
mod builder;
pub mod config;
mod dialect;
mod gateway;
mod limits;
pub mod transformers;

pub use auth::AuthPolicy;
pub use builder::FormApiBuilder;
pub use dialect::{BuiltInDialect, DialectSpec, Paths};
pub use gateway::FormApiGateway;
pub use limits::DEFAULT_LIMITS_TTL;

/// The operations every provider of this family has; a dialect adds its own.
pub const FORM_API_OPERATIONS: [Operation; 8] = [
    Operation::Currencies,
    Operation::DepositBanks,
    Operation::WithdrawalBanks,
    Operation::CreateDeposit,
    Operation::CreateWithdrawal,
    Operation::DepositStatus,
    Operation::WithdrawalStatus,
    Operation::VerifyCallback,
];

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
