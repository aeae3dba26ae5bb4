//! paybridge: one trait over Vpay88, One1Pay and ONE-PUNCH, chosen by configuration.
//!
//! Depend on this crate and switch providers in `paybridge.toml`, or depend on one
//! adapter crate directly. Either way every provider is a [`PaymentGateway`].
//!
//! ```
//! use paybridge::{Config, Gateway, PaymentGateway};
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
//! assert_eq!(gateway.provider(), "vpay88");
//! // Secrets never show in Debug output.
//! assert!(!format!("{config:?} {gateway:?}").contains("secret\""));
//! ```
#![deny(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use paybridge_core::{ExposeSecret, Result};
use paybridge_onepunch::OnePunch;

pub use paybridge_core::{
    confirm, outcome, transport, wire, Balance, Bank, CallbackEvent, CallbackRejection,
    CallbackRequest, Capabilities, Currency, CurrencyLimit, Decimal, DepositOrder, DepositRequest,
    DepositRequestBuilder, Error, LearnedFrom, Money, Operation, OrderId, OrderKind, OrderStatus,
    PaymentGateway, PaymentMethod, RefusalKind, StatusQuery, StatusReport, Verdict,
    WithdrawalReceipt, WithdrawalRequest, WithdrawalRequestBuilder, MAX_AMOUNT, MAX_CALLBACK_BODY,
};

#[cfg(feature = "axum")]
pub mod axum;
mod config;

pub use config::{
    default_path, CallbackSection, Config, FormApiSection, HttpSection, OnePunchSection,
    ProviderName,
};

/// A gateway for the configured provider, plus callback handling.
///
/// Cheap to clone: one shared HTTP client and state behind an `Arc`.
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
    pub fn for_provider(config: &Config, provider: ProviderName) -> Result<Self> {
        let inner: Arc<dyn PaymentGateway> = match provider {
            ProviderName::Vpay88 => Arc::new(form_api::<paybridge_vpay88::Vpay88Dialect>(
                config,
                "vpay88",
                &config.vpay88,
            )?) as Arc<dyn PaymentGateway>,
            ProviderName::One1pay => Arc::new(form_api::<paybridge_one1pay::One1PayDialect>(
                config,
                "one1pay",
                &config.one1pay,
            )?),
            ProviderName::Onepunch => Arc::new(onepunch(config)?),
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
            tracing::warn!(provider = self.inner.provider(), error = %err, "callback rejected");
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

fn form_api<D: paybridge_formapi::Dialect>(
    config: &Config,
    name: &str,
    section: &Option<FormApiSection>,
) -> Result<paybridge_formapi::FormApiGateway<D>> {
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
    let required = |key: &str, value: &Option<String>| {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| config.missing(&format!("{name}.{key}"), &env(key)))
    };
    let base_url = required("base_url", &section.base_url)?;
    let username = required("username", &section.username)?;
    let api_key = section
        .api_key
        .as_ref()
        .map(|k| k.expose_secret().to_owned())
        .ok_or_else(|| config.missing(&format!("{name}.api_key"), &env("api_key")))?;
    let builder = paybridge_formapi::FormApiGateway::<D>::builder(base_url, username, api_key)
        .auth_policy(config.auth_policy(name, &section.auth_policy)?)
        .transport(config.transport())
        .secret_keys(section.secret_key.iter().cloned())
        .secret_keys(section.secret_keys.iter().cloned());
    if section.secret_key.is_none() && section.secret_keys.is_empty() {
        tracing::warn!(
            provider = name,
            "no secret_key configured: callbacks cannot be verified"
        );
    }
    builder.build()
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

#[async_trait]
impl PaymentGateway for Gateway {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        self.inner.currencies().await
    }
    async fn deposit_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.inner.deposit_banks(currency).await
    }
    async fn withdrawal_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.inner.withdrawal_banks(currency).await
    }
    async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        self.inner.payment_methods().await
    }
    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        self.inner.create_deposit(request).await
    }
    async fn create_withdrawal(&self, request: &WithdrawalRequest) -> Result<WithdrawalReceipt> {
        self.inner.create_withdrawal(request).await
    }
    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.inner.deposit_status(query).await
    }
    async fn withdrawal_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.inner.withdrawal_status(query).await
    }
    async fn balance(&self, currency: &Currency) -> Result<Balance> {
        self.inner.balance(currency).await
    }
    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        self.inner.verify_callback(request)
    }
}

/// The integration guide's examples, compiled as doctests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../../docs/integration.md")]
pub struct IntegrationGuide;
