//! The "merchant form API" that Vpay88 and One1Pay share, written once.
//!
//! Every call is a `POST` of `multipart/form-data` to `{base_url}/merchant/...` or
//! `{base_url}/wallet/...`; every answer is JSON, errors included, with
//! `"status": false` and a `message`. A provider plugs in through [`Dialect`]:
//! its name, its operations, its currencies and the fields each order needs.
//!
//! - [`transformers`]: the wire schema as types, and their mappings.
//! - [`FormApiGateway`] (`gateway.rs`): operations, paths and HTTP.
//! - [`FormApiBuilder`] (`builder.rs`) and the auth token cache (`auth.rs`).
//!
//! ```no_run
//! # async fn run() -> paybridge_core::Result<()> {
//! use paybridge_core::{PaymentGateway, Provider};
//! use paybridge_formapi::{Dialect, FormApiGateway};
//! # #[derive(Debug, Default)] struct MyDialect;
//! # impl Dialect for MyDialect {
//! #   const PROVIDER: Provider = Provider::new("mine");
//! #   const CURRENCIES: &'static [&'static str] = &["MYR"];
//! #   fn capabilities() -> paybridge_core::Capabilities { Default::default() }
//! #   fn deposit_rules(_: &paybridge_core::Currency) -> Vec<paybridge_core::FieldRule> { paybridge_formapi::transformers::common_deposit_rules() }
//! #   fn withdrawal_rules(_: &paybridge_core::Currency) -> Vec<paybridge_core::FieldRule> { paybridge_formapi::transformers::common_withdrawal_rules() }
//! # }
//! let gateway = FormApiGateway::<MyDialect>::builder("https://pay.example", "merchant", "api-key")
//!     .secret_key("secret-key")
//!     .build()?;
//! let limits = gateway.currencies().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::fmt;

use paybridge_core::{
    Capabilities, Currency, DepositRequest, FieldRule, Operation, Provider, Result,
};

mod auth;
mod builder;
mod gateway;
mod limits;
pub mod transformers;

pub use auth::AuthPolicy;
pub use builder::FormApiBuilder;
pub use gateway::FormApiGateway;
pub use limits::DEFAULT_LIMITS_TTL;

/// What makes one provider of this family different from another: its own
/// rules, kept in its own crate.
pub trait Dialect: Send + Sync + fmt::Debug + 'static {
    /// The provider.
    const PROVIDER: Provider;

    /// The currency codes the provider's documents name. They list the
    /// fields each takes and serve as examples; what a merchant's account
    /// takes is the list the provider publishes (`/merchant/currency`), which
    /// decides before anything is sent.
    const CURRENCIES: &'static [&'static str];

    /// The operations this provider has.
    fn capabilities() -> Capabilities;

    /// How each deposit field is used in `currency`: the one table the form
    /// is checked against and built from (the family's shared rows are
    /// [`transformers::common_deposit_rules`]).
    fn deposit_rules(currency: &Currency) -> Vec<FieldRule>;

    /// The same for a withdrawal.
    fn withdrawal_rules(currency: &Currency) -> Vec<FieldRule>;

    /// Checks the values of the fields the table sends (a mode, a method), once
    /// the table's own check has passed. Nothing by default.
    fn check_deposit_values(_request: &DepositRequest) -> Result<()> {
        Ok(())
    }
}

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
