//! paybridge: one trait over Vpay88, One1Pay and ONE-PUNCH, chosen by configuration.
//!
//! Depend on this crate and switch providers in `paybridge.toml`, or depend on one
//! adapter crate directly. Either way every provider is a [`PaymentGateway`].
//!
//! ```
//! use paybridge::{Config, Gateway, Provider};
//!
//! let config = Config::from_toml(r#"
//!     provider = "vpay88"
//!     [vpay88]
//!     base_url = "https://pay.example"
//!     username = "merchant-name"
//!     api_key = "key"
//!     secret_key = "secret"
//! "#, "example.toml").unwrap();
//! let gateway = Gateway::from_config(&config).unwrap();
//! assert_eq!(gateway.provider(), paybridge::providers::VPAY88);
//! // Secrets never show in Debug output.
//! assert!(!format!("{config:?} {gateway:?}").contains("secret\""));
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::ops::Deref;
use std::sync::Arc;

use paybridge_wire::section::{BuildContext, ProviderSection, SectionAt};

pub use paybridge_core::{fields, outcome, redact, refusal};
pub use paybridge_wire::prelude::*;

pub use paybridge_wire::{self as wire, transport};

/// The registry: the providers built into paybridge, each named by its own
/// adapter, how each one's section is read, and the protocols a brand
/// configured under `[brands.NAME]` may speak. No provider is named anywhere
/// else in the facade.
pub mod providers {
    use std::sync::Arc;

    use paybridge_core::{Provider, Result};
    use paybridge_wire::section::{SectionAt, SectionReader};

    /// Vpay88.
    pub const VPAY88: Provider = paybridge_vpay88::PROVIDER;
    /// One1Pay.
    pub const ONE1PAY: Provider = paybridge_one1pay::PROVIDER;
    /// ONE-PUNCH.
    pub const ONEPUNCH: Provider = paybridge_onepunch::PROVIDER;
    /// Every built-in provider.
    pub const BUILT_IN: [Provider; 3] = [VPAY88, ONE1PAY, ONEPUNCH];

    /// The built-in provider named `name` (case and surrounding space
    /// ignored), or a configuration error naming `provider` and listing them.
    pub fn built_in(name: &str) -> paybridge_core::Result<Provider> {
        named(name, &BUILT_IN)
    }

    /// The provider among `known` named `name` (case and surrounding space
    /// ignored), or a configuration error naming `provider` and listing them.
    pub fn named(name: &str, known: &[Provider]) -> paybridge_core::Result<Provider> {
        let unknown = || paybridge_core::Error::Config {
            key: "provider".into(),
            reason: format!(
                "'{}' is not one of {}",
                name.trim().escape_debug(),
                known
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let provider = Provider::parse(name).map_err(|_| unknown())?;
        known
            .contains(&provider)
            .then_some(provider)
            .ok_or_else(unknown)
    }

    /// The reader of a built-in provider's section; `None` for any other.
    pub fn reader(provider: Provider) -> Option<Arc<dyn SectionReader>> {
        Some(match provider {
            VPAY88 => Arc::new(paybridge_vpay88::DIALECT.reader()),
            ONE1PAY => Arc::new(paybridge_one1pay::DIALECT.reader()),
            ONEPUNCH => Arc::new(paybridge_onepunch::config::OnePunchReader),
            _ => return None,
        })
    }

    /// The protocols a brand may speak (`[brands.NAME] protocol = ...`).
    pub const PROTOCOLS: [&str; 1] = ["form_api"];

    /// Reads a brand named `provider` speaking `protocol` from its section
    /// (without `protocol`); `None` for a protocol paybridge does not speak.
    pub fn read_brand(
        protocol: &str,
        provider: Provider,
        value: toml::Value,
        at: &SectionAt<'_>,
    ) -> Option<Result<Arc<dyn SectionReader>>> {
        match protocol {
            "form_api" => Some(paybridge_formapi::config::read_brand(provider, value, at)),
            _ => None,
        }
    }

    /// Every key an `[accounts.NAME]` section may hold, whatever its provider
    /// (a brand's are its protocol's, which a built-in provider speaks too).
    pub fn account_keys() -> Vec<&'static str> {
        let mut keys = vec!["provider"];
        for provider in BUILT_IN {
            for key in reader(provider).map_or(&[][..], |r| r.keys()) {
                if !keys.contains(key) {
                    keys.push(key);
                }
            }
        }
        keys
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod config;

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
pub use paybridge_ledger as ledger;

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
pub mod webhooks;

pub use config::{
    default_path, AccountSection, AuthPolicySetting, CallbackSection, Config, FormApiSection,
    HttpSection, LedgerSection, OnePunchSection, ServeSection, DEFAULT_LISTEN, DEFAULT_MAX_BODY,
};

/// A gateway for the configured provider, plus callback handling.
///
/// Every [`PaymentGateway`] operation is called straight on it (it dereferences
/// to the adapter, so each call is one boxed future). Cheap to clone: one shared
/// HTTP client and state behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<dyn PaymentGateway>,
    callback_answer: String,
    account: Option<String>,
    #[cfg(feature = "ledger")]
    ledgered: Option<Arc<paybridge_ledger::Ledgered>>,
}

impl Gateway {
    /// Builds the gateway `config.provider` names.
    pub fn from_config(config: &Config) -> Result<Self> {
        Self::for_provider(config, config.provider()?)
    }

    /// Builds the gateway for `provider` (built-in or a configured brand)
    /// from its one-account section (`[vpay88]`, `[fpay]`), whatever
    /// `config.provider` says.
    pub fn for_provider(config: &Config, provider: Provider) -> Result<Self> {
        let name = SectionName::provider(provider);
        config.provider_named(provider.as_str()).map_err(|_| Error::Config {
            key: "provider".into(),
            reason: format!("{provider} is not built into paybridge nor a brand configured under [brands.NAME]; wrap its adapter with Gateway::from_gateway"),
        })?;
        let section = config.section(provider).ok_or_else(|| {
            config.missing(&format!("[{provider}]"), &format!("{}_BASE_URL", name.env))
        })?;
        let others = other_account_secrets(config, provider, &format!("[{provider}]"));
        let inner = build(config, &name, section, &others)?;
        Ok(Self::from_gateway(inner, config.callback_answer()))
    }

    /// Builds the gateway for the named account `[accounts.NAME]`. Its
    /// callbacks verify against that account's secrets only (the other
    /// accounts' serve to explain a refusal) and are confirmed as its user.
    pub fn for_account(config: &Config, name: &str) -> Result<Self> {
        let account = config.account(name)?;
        let others = other_account_secrets(config, account.provider(), name);
        let inner = build(
            config,
            &SectionName::account(name),
            account.section(),
            &others,
        )?;
        let mut gateway = Self::from_gateway(inner, config.callback_answer());
        gateway.account = Some(name.to_owned());
        Ok(gateway)
    }

    /// A gateway for every named account, in name order.
    pub fn for_every_account(config: &Config) -> Result<Vec<Self>> {
        config
            .accounts
            .keys()
            .map(|name| Self::for_account(config, name))
            .collect()
    }

    /// Wraps any gateway (a custom adapter, a test double).
    pub fn from_gateway(inner: Arc<dyn PaymentGateway>, callback_answer: &str) -> Self {
        Self {
            inner,
            callback_answer: callback_answer.to_owned(),
            account: None,
            #[cfg(feature = "ledger")]
            ledgered: None,
        }
    }

    /// Keeps this gateway's orders in `ledger` (feature `ledger`): each order
    /// is recorded before it is sent; a payout id the ledger holds is never
    /// sent again, across restarts (one left `sending` or unknown is resolved
    /// by status); status queries and, through the axum route, callbacks are
    /// applied by the ledger's state machine, the handler running once per
    /// transition.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn with_ledger(mut self, ledger: Arc<dyn paybridge_ledger::Ledger>) -> Self {
        let ledgered = Arc::new(paybridge_ledger::Ledgered::new(
            self.inner,
            ledger,
            self.account.clone(),
        ));
        self.inner = ledgered.clone();
        self.ledgered = Some(ledgered);
        self
    }

    /// The ledger this gateway keeps its orders in, if any.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn ledger(&self) -> Option<&Arc<dyn paybridge_ledger::Ledger>> {
        self.ledgered.as_ref().map(|ledgered| ledgered.ledger())
    }

    /// Asks the provider about a `kind` order this gateway's ledger holds (by
    /// the provider reference stored for it), records the answer, and returns
    /// the order as the ledger then holds it: `None`, the provider not asked,
    /// when the ledger holds no such order. An error when this gateway keeps
    /// no ledger, the provider cannot answer, or the answer cannot be recorded.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub async fn refresh(
        &self,
        kind: OrderKind,
        order_id: &OrderId,
    ) -> Result<Option<paybridge_ledger::OrderRecord>> {
        match &self.ledgered {
            Some(ledgered) => ledgered.refresh(kind, order_id).await,
            None => Err(Error::Config {
                key: "ledger".into(),
                reason: "refreshing an order from the ledger needs a gateway with a ledger".into(),
            }),
        }
    }

    /// The named account this gateway serves, when built by
    /// [`for_account`](Self::for_account).
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The adapter behind this gateway.
    pub fn inner(&self) -> &Arc<dyn PaymentGateway> {
        &self.inner
    }

    /// Verifies a callback (token or signature in constant time, against every
    /// configured secret) and parses it. No network I/O.
    pub fn verify(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        let outcome = self.inner.verify_callback(request);
        if let Err(err) = &outcome {
            tracing::warn!(
                provider = %self.inner.provider(),
                account = self.account.as_deref().unwrap_or(""),
                error = %err,
                "callback rejected"
            );
        }
        outcome
    }

    /// Confirms a verified event against the provider's status API; refuses it when
    /// the provider disagrees about status or amount.
    pub async fn confirm(&self, event: &CallbackEvent) -> Result<StatusReport> {
        confirm(self.inner.as_ref(), event).await
    }

    /// Verifies, then confirms.
    pub async fn verify_and_confirm(
        &self,
        request: &CallbackRequest<'_>,
    ) -> Result<(CallbackEvent, StatusReport)> {
        let event = self.verify(request)?;
        let report = self.confirm(&event).await?;
        Ok((event, report))
    }

    /// The body to answer an accepted callback with (HTTP 200).
    pub fn callback_answer(&self) -> &str {
        &self.callback_answer
    }
}

impl Deref for Gateway {
    type Target = dyn PaymentGateway;

    fn deref(&self) -> &Self::Target {
        self.inner.as_ref()
    }
}

/// Where a section was configured: the key its errors name (`vpay88`,
/// `accounts.main`) and the prefix of its environment variables.
pub(crate) struct SectionName {
    pub(crate) key: String,
    pub(crate) env: String,
}

impl SectionName {
    pub(crate) fn provider(provider: Provider) -> Self {
        Self {
            key: provider.as_str().to_owned(),
            env: format!("PAYBRIDGE_{}", provider.as_str().to_ascii_uppercase()),
        }
    }

    pub(crate) fn account(name: &str) -> Self {
        Self {
            key: format!("accounts.{name}"),
            env: format!(
                "PAYBRIDGE_ACCOUNTS_{}",
                name.to_ascii_uppercase().replace('-', "_")
            ),
        }
    }

    /// Renames the adapter's `provider.key` in a configuration error to this
    /// section's key, so an account's error names the account.
    fn rename(&self, provider: Provider, err: Error) -> Error {
        match err {
            Error::Config { key, reason } => {
                let key = match key.strip_prefix(provider.as_str()) {
                    Some(rest) if rest.starts_with('.') => format!("{}{rest}", self.key),
                    _ => key,
                };
                Error::Config { key, reason }
            }
            other => other,
        }
    }
}

/// Builds the gateway for one configured section, with the `[http]` settings.
fn build(
    config: &Config,
    name: &SectionName,
    section: &dyn ProviderSection,
    other_accounts: &[(String, &str)],
) -> Result<Arc<dyn PaymentGateway>> {
    let context = BuildContext {
        at: SectionAt {
            key: &name.key,
            env: &name.env,
            source: &config.source,
        },
        transport: config.transport(),
        other_accounts,
    };
    section
        .build(&context)
        .map_err(|e| name.rename(section.provider(), e))
}

/// The callback secrets of every configured section of `provider` but
/// `except`, named by section, for explaining a callback signed with one.
fn other_account_secrets<'a>(
    config: &'a Config,
    provider: Provider,
    except: &str,
) -> Vec<(String, &'a str)> {
    let shorthand = config
        .section(provider)
        .map(|s| (format!("[{provider}]"), s));
    let accounts = config
        .accounts
        .iter()
        .filter(|(_, account)| account.provider() == provider)
        .map(|(name, account)| (name.clone(), account.section()));
    shorthand
        .into_iter()
        .chain(accounts)
        .filter(|(name, _)| name != except)
        .flat_map(|(name, section)| {
            section
                .callback_secrets()
                .into_iter()
                .map(move |secret| (name.clone(), secret))
        })
        .collect()
}

/// Keeps the adapter types nameable from the facade.
pub mod adapters {
    pub use paybridge_formapi::{DialectSpec, FormApiGateway};
    pub use paybridge_one1pay::One1Pay;
    pub use paybridge_onepunch::OnePunch;
    pub use paybridge_vpay88::Vpay88;
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
