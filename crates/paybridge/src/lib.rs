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
use std::time::Duration;

use paybridge_core::ExposeSecret;
use paybridge_one1pay::One1Pay;
use paybridge_onepunch::OnePunch;
use paybridge_vpay88::{AuthPolicy, Vpay88};

pub use paybridge_core::{fields, outcome, refusal};
pub use paybridge_wire::prelude::*;

pub use paybridge_wire::{self as wire, transport};

/// The providers built into paybridge, each named by its own adapter.
pub mod providers {
    use paybridge_core::Provider;

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
        let unknown = || paybridge_core::Error::Config {
            key: "provider".into(),
            reason: format!(
                "'{}' is not one of {}",
                name.trim().escape_debug(),
                BUILT_IN.map(Provider::as_str).join(", ")
            ),
        };
        let provider = Provider::parse(name).map_err(|_| unknown())?;
        BUILT_IN
            .contains(&provider)
            .then_some(provider)
            .ok_or_else(unknown)
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod config;

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
pub use paybridge_ledger as ledger;

pub use config::{
    default_path, AccountSection, CallbackSection, Config, FormApiSection, HttpSection,
    LedgerSection, OnePunchSection,
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
    ledger: Option<Arc<dyn paybridge_ledger::Ledger>>,
}

impl Gateway {
    /// Builds the gateway `config.provider` names.
    pub fn from_config(config: &Config) -> Result<Self> {
        Self::for_provider(config, config.provider()?)
    }

    /// Builds the gateway for `provider` from its one-account section
    /// (`[vpay88]`, `[one1pay]`, `[onepunch]`), whatever `config.provider` says.
    pub fn for_provider(config: &Config, provider: Provider) -> Result<Self> {
        let name = SectionName::provider(provider);
        let section = match provider {
            crate::providers::VPAY88 | crate::providers::ONE1PAY | crate::providers::ONEPUNCH => shorthand(config, provider)
                .ok_or_else(|| config.missing(&format!("[{provider}]"), &format!("{}_BASE_URL", name.env)))?,
            other => {
                return Err(Error::Config {
                    key: "provider".into(),
                    reason: format!("{other} is not built into paybridge; wrap its adapter with Gateway::from_gateway"),
                })
            }
        };
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
        let inner = build(config, &SectionName::account(name), account.into(), &others)?;
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
            ledger: None,
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
        self.inner = Arc::new(paybridge_ledger::Ledgered::new(
            self.inner,
            ledger.clone(),
            self.account.clone(),
        ));
        self.ledger = Some(ledger);
        self
    }

    /// The ledger this gateway keeps its orders in, if any.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn ledger(&self) -> Option<&Arc<dyn paybridge_ledger::Ledger>> {
        self.ledger.as_ref()
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
struct SectionName {
    key: String,
    env: String,
}

impl SectionName {
    fn provider(provider: Provider) -> Self {
        Self {
            key: provider.as_str().to_owned(),
            env: format!("PAYBRIDGE_{}", provider.as_str().to_ascii_uppercase()),
        }
    }

    fn account(name: &str) -> Self {
        Self {
            key: format!("accounts.{name}"),
            env: format!(
                "PAYBRIDGE_ACCOUNTS_{}",
                name.to_ascii_uppercase().replace('-', "_")
            ),
        }
    }

    fn missing(&self, config: &Config, key: &str) -> Error {
        config.missing(
            &format!("{}.{key}", self.key),
            &format!("{}_{}", self.env, key.to_ascii_uppercase()),
        )
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

/// A form API builder from its section: required values named by key, then
/// every option the section sets. The two adapters share one builder type.
macro_rules! form_api_builder {
    ($adapter:ty, $config:expr, $name:expr, $section:expr, $others:expr) => {{
        let section: &FormApiSection = $section;
        let required = |key: &str, value: Option<&str>| {
            value
                .filter(|v| !v.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| $name.missing($config, key))
        };
        if section.secret_key.is_none() && section.secret_keys.is_empty() {
            tracing::warn!(
                section = %$name.key,
                "no secret_key configured: callbacks cannot be verified"
            );
        }
        let mut builder = <$adapter>::builder(
            required("base_url", section.base_url.as_deref())?,
            required("username", section.username.as_deref())?,
            required(
                "api_key",
                section.api_key.as_ref().map(|k| k.expose_secret()),
            )?,
        )
        .auth_policy(AuthPolicy::from(section.auth_policy.unwrap_or_default()))
        .transport($config.transport())
        .secret_keys(section.secret_key.iter().cloned())
        .secret_keys(section.secret_keys.iter().cloned());
        for (account, secret) in $others {
            builder = builder.other_account_secret(account.clone(), *secret);
        }
        if let Some(seconds) = section.limits_ttl_secs {
            builder = builder.limits_ttl((seconds > 0).then(|| Duration::from_secs(seconds)));
        }
        for (currency, methods) in &section.pay_methods {
            builder = builder.payment_methods(currency, methods.iter().cloned());
        }
        if let Some(method) = &section.payment_method {
            builder = builder.default_payment_method(method.clone());
        }
        builder
    }};
}
/// Builds the gateway for one configured section.
fn build(
    config: &Config,
    name: &SectionName,
    section: Section<'_>,
    other_accounts: &[(String, &str)],
) -> Result<Arc<dyn PaymentGateway>> {
    let missing = |key: &str| name.missing(config, key);
    let gateway: Arc<dyn PaymentGateway> = match section {
        Section::FormApi(crate::providers::VPAY88, section) => Arc::new(
            form_api_builder!(Vpay88, config, name, section, other_accounts)
                .build()
                .map_err(|e| name.rename(crate::providers::VPAY88, e))?,
        ),
        Section::FormApi(_, section) => Arc::new(
            form_api_builder!(One1Pay, config, name, section, other_accounts)
                .build()
                .map_err(|e| name.rename(crate::providers::ONE1PAY, e))?,
        ),
        Section::OnePunch(section) => {
            let token = section
                .monster_token
                .clone()
                .ok_or_else(|| missing("monster_token"))?;
            let key = section
                .monster_key
                .as_ref()
                .ok_or_else(|| missing("monster_key"))?;
            let mut builder =
                OnePunch::builder(token, key.expose_secret()).transport(config.transport());
            if let Some(url) = &section.base_url {
                builder = builder.base_url(url.clone());
            }
            if let Some(url) = &section.notify_url {
                builder = builder.notify_url(url.clone());
            }
            if let Some(url) = &section.return_url {
                builder = builder.return_url(url.clone());
            }
            if let Some(method) = &section.payment_method {
                builder = builder.payment_method(method.clone());
            }
            Arc::new(
                builder
                    .build()
                    .map_err(|e| name.rename(crate::providers::ONEPUNCH, e))?,
            )
        }
    };
    Ok(gateway)
}

/// One configured section, of whichever shape its provider takes.
#[derive(Clone, Copy)]
enum Section<'a> {
    FormApi(Provider, &'a FormApiSection),
    OnePunch(&'a OnePunchSection),
}

impl<'a> From<&'a AccountSection> for Section<'a> {
    fn from(account: &'a AccountSection) -> Self {
        match account {
            AccountSection::Vpay88(section) => Section::FormApi(crate::providers::VPAY88, section),
            AccountSection::One1Pay(section) => {
                Section::FormApi(crate::providers::ONE1PAY, section)
            }
            AccountSection::OnePunch(section) => Section::OnePunch(section),
        }
    }
}

/// The one-account shorthand section of `provider` (`[vpay88]`...), if any.
fn shorthand(config: &Config, provider: Provider) -> Option<Section<'_>> {
    match provider {
        crate::providers::VPAY88 => config
            .vpay88
            .as_ref()
            .map(|s| Section::FormApi(provider, s)),
        crate::providers::ONE1PAY => config
            .one1pay
            .as_ref()
            .map(|s| Section::FormApi(provider, s)),
        crate::providers::ONEPUNCH => config.onepunch.as_ref().map(Section::OnePunch),
        _ => None,
    }
}

/// The callback secrets of every configured form-API section of `provider`
/// but `except`, named by section, for explaining a callback signed with one.
fn other_account_secrets<'a>(
    config: &'a Config,
    provider: Provider,
    except: &str,
) -> Vec<(String, &'a str)> {
    let shorthand = shorthand(config, provider).map(|s| (format!("[{provider}]"), s));
    let accounts = config
        .accounts
        .iter()
        .map(|(name, account)| (name.clone(), Section::from(account)));
    shorthand
        .into_iter()
        .chain(accounts)
        .filter(|(name, _)| name != except)
        .filter_map(|(name, section)| match section {
            Section::FormApi(p, s) if p == provider => Some((name, s)),
            _ => None,
        })
        .flat_map(|(name, section)| {
            section
                .secret_key
                .iter()
                .chain(&section.secret_keys)
                .map(move |secret| (name.clone(), secret.expose_secret()))
        })
        .collect()
}

/// Keeps the adapter types nameable from the facade.
pub mod adapters {
    pub use paybridge_one1pay::One1Pay;
    pub use paybridge_onepunch::OnePunch;
    pub use paybridge_vpay88::Vpay88;
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
