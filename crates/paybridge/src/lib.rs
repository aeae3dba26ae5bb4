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
//! assert_eq!(gateway.provider(), Provider::Vpay88);
//! // Secrets never show in Debug output.
//! assert!(!format!("{config:?} {gateway:?}").contains("secret\""));
//! ```
#![deny(missing_docs)]

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use paybridge_core::{ExposeSecret, Result};
use paybridge_one1pay::One1Pay;
use paybridge_onepunch::OnePunch;
use paybridge_vpay88::{AuthPolicy, Vpay88};

pub use paybridge_core::{
    confirm, outcome, transport, wire, Balance, Bank, CallbackEvent, CallbackRejection,
    CallbackRequest, Capabilities, Currency, CurrencyLimit, Decimal, DepositOrder, DepositRequest,
    DepositRequestBuilder, Error, HttpOptions, LearnedFrom, Money, Operation, OrderId, OrderKind,
    OrderStatus, PaymentGateway, PaymentMethod, Provider, RefusalKind, StatusQuery, StatusReport,
    Verdict, WithdrawalReceipt, WithdrawalRequest, WithdrawalRequestBuilder, MAX_AMOUNT,
    MAX_CALLBACK_BODY,
};

#[cfg(feature = "axum")]
pub mod axum;
mod config;

pub use config::{
    default_path, CallbackSection, Config, FormApiSection, HttpSection, OnePunchSection,
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
}

impl Gateway {
    /// Builds the gateway `config.provider` names.
    pub fn from_config(config: &Config) -> Result<Self> {
        Self::for_provider(config, config.provider()?)
    }

    /// Builds the gateway for `provider`, whatever `config.provider` says.
    pub fn for_provider(config: &Config, provider: Provider) -> Result<Self> {
        let inner: Arc<dyn PaymentGateway> = match provider {
            Provider::Vpay88 => Arc::new(vpay88(config)?),
            Provider::One1Pay => Arc::new(one1pay(config)?),
            Provider::OnePunch => Arc::new(onepunch(config)?),
            other => {
                return Err(Error::Config {
                    key: "provider".into(),
                    reason: format!("{other} is not built into paybridge; wrap its adapter with Gateway::from_gateway"),
                })
            }
        };
        Ok(Self::from_gateway(inner, config.callback_answer()))
    }

    /// Wraps any gateway (a custom adapter, a test double).
    pub fn from_gateway(inner: Arc<dyn PaymentGateway>, callback_answer: &str) -> Self {
        Self {
            inner,
            callback_answer: callback_answer.to_owned(),
        }
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
            tracing::warn!(provider = %self.inner.provider(), error = %err, "callback rejected");
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

/// A form API section's required values, or errors naming their keys.
struct FormApiAccount<'a> {
    section: &'a FormApiSection,
    base_url: String,
    username: String,
    api_key: String,
    auth_policy: AuthPolicy,
}

fn form_api_account<'a>(
    config: &'a Config,
    provider: Provider,
    section: &'a Option<FormApiSection>,
) -> Result<FormApiAccount<'a>> {
    let name = provider.as_str();
    let env = |key: &str| {
        format!(
            "PAYBRIDGE_{}_{}",
            name.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        )
    };
    let section = section
        .as_ref()
        .ok_or_else(|| config.missing(&format!("[{name}]"), &env("BASE_URL")))?;
    let required = |key: &str, value: Option<&str>| {
        value
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| config.missing(&format!("{name}.{key}"), &env(key)))
    };
    if section.secret_key.is_none() && section.secret_keys.is_empty() {
        tracing::warn!(
            provider = name,
            "no secret_key configured: callbacks cannot be verified"
        );
    }
    Ok(FormApiAccount {
        section,
        base_url: required("base_url", section.base_url.as_deref())?,
        username: required("username", section.username.as_deref())?,
        api_key: required(
            "api_key",
            section.api_key.as_ref().map(|k| k.expose_secret()),
        )?,
        auth_policy: section.auth_policy.unwrap_or_default().into(),
    })
}

/// Builds a form API gateway through its adapter crate's builder; the two
/// adapters share one builder type, so one expansion serves both.
macro_rules! form_api_gateway {
    ($adapter:ty, $config:expr, $provider:expr, $section:expr) => {{
        let account = form_api_account($config, $provider, $section)?;
        let mut builder = <$adapter>::builder(account.base_url, account.username, account.api_key)
            .auth_policy(account.auth_policy)
            .transport($config.transport())
            .secret_keys(account.section.secret_key.iter().cloned())
            .secret_keys(account.section.secret_keys.iter().cloned());
        if let Some(seconds) = account.section.limits_ttl_secs {
            builder = builder.limits_ttl((seconds > 0).then(|| Duration::from_secs(seconds)));
        }
        for (currency, methods) in &account.section.pay_methods {
            builder = builder.payment_methods(currency, methods.iter().cloned());
        }
        builder.build()
    }};
}

fn vpay88(config: &Config) -> Result<Vpay88> {
    form_api_gateway!(Vpay88, config, Provider::Vpay88, &config.vpay88)
}

fn one1pay(config: &Config) -> Result<One1Pay> {
    form_api_gateway!(One1Pay, config, Provider::One1Pay, &config.one1pay)
}

fn onepunch(config: &Config) -> Result<OnePunch> {
    let section = config
        .onepunch
        .as_ref()
        .ok_or_else(|| config.missing("[onepunch]", "PAYBRIDGE_ONEPUNCH_MONSTER_TOKEN"))?;
    let token = section.monster_token.clone().ok_or_else(|| {
        config.missing("onepunch.monster_token", "PAYBRIDGE_ONEPUNCH_MONSTER_TOKEN")
    })?;
    let key = section
        .monster_key
        .as_ref()
        .ok_or_else(|| config.missing("onepunch.monster_key", "PAYBRIDGE_ONEPUNCH_MONSTER_KEY"))?;
    let mut builder = OnePunch::builder(token, key.expose_secret()).transport(config.transport());
    if let Some(url) = &section.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(url) = &section.notify_url {
        builder = builder.notify_url(url.clone());
    }
    if let Some(url) = &section.return_url {
        builder = builder.return_url(url.clone());
    }
    builder.build()
}

/// Keeps the adapter types nameable from the facade.
pub mod adapters {
    pub use paybridge_one1pay::One1Pay;
    pub use paybridge_onepunch::OnePunch;
    pub use paybridge_vpay88::Vpay88;
}

/// The integration guide's examples, compiled as doctests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../../docs/integration.md")]
pub struct IntegrationGuide;
