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
//! #   const PROVIDER: Provider = Provider::Custom("mine");
//! #   const CURRENCIES: &'static [&'static str] = &["MYR"];
//! #   fn capabilities() -> paybridge_core::Capabilities { Default::default() }
//! #   fn deposit_fields(_: &paybridge_core::DepositRequest) -> paybridge_core::Result<paybridge_formapi::transformers::DepositFields> { Ok(Default::default()) }
//! #   fn withdrawal_fields(_: &paybridge_core::WithdrawalRequest) -> paybridge_core::Result<paybridge_formapi::transformers::WithdrawalFields> { Ok(Default::default()) }
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
    Capabilities, DepositRequest, Operation, Provider, Result, WithdrawalRequest,
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
use transformers::{DepositFields, WithdrawalFields};

/// What makes one provider of this family different from another: its own
/// rules, kept in its own crate.
pub trait Dialect: Send + Sync + fmt::Debug + 'static {
    /// The provider.
    const PROVIDER: Provider;

    /// Currency codes this provider takes; anything else is refused before sending.
    const CURRENCIES: &'static [&'static str];

    /// The operations this provider has.
    fn capabilities() -> Capabilities;

    /// Checks a deposit against the provider's per-currency rules and returns
    /// its provider-specific fields. Refuses missing or inapplicable fields by name.
    fn deposit_fields(request: &DepositRequest) -> Result<DepositFields>;

    /// The same for a withdrawal.
    fn withdrawal_fields(request: &WithdrawalRequest) -> Result<WithdrawalFields>;
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

/// Field names whose values are credentials.
pub const SECRET_FIELDS: [&str; 2] = ["api_key", "auth"];
