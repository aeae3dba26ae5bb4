//! The form API's configuration: the section a merchant account is configured
//! with (`[vpay88]`, `[one1pay]`, `[fpay]`, `[accounts.NAME]`), how a gateway
//! is built from it, and how a brand's dialect is read from `[brands.NAME]`.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use paybridge_core::{redact, ExposeSecret, PaymentGateway, Provider, Result, SecretString};
use paybridge_wire::section::{
    number, required_key, secret_list, BuildContext, ProviderSection, SectionAt, SectionReader,
};
use serde::Deserialize;

use crate::{AuthPolicy, DialectSpec, FormApiBuilder, FormApiGateway};

/// One merchant account's section. `Debug` shows no secret: keys are
/// [`SecretString`]s and URLs are shown through [`paybridge_core::redact`].
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FormApiSection {
    /// Base URL given privately by the provider (may carry a path prefix).
    pub base_url: Option<String>,
    /// Merchant user name.
    pub username: Option<String>,
    /// API key.
    pub api_key: Option<SecretString>,
    /// Callback secret.
    pub secret_key: Option<SecretString>,
    /// Several callback secrets (one merchant account per channel).
    #[serde(default, deserialize_with = "secret_list")]
    pub secret_keys: Vec<SecretString>,
    /// When auth tokens are fetched: `per_request` (default) or `cached`.
    pub auth_policy: Option<AuthPolicySetting>,
    /// The payment methods the account takes, per currency (`[one1pay.pay_methods]`,
    /// `VND = ["bank"]`); a deposit naming another is refused before sending.
    #[serde(default)]
    pub pay_methods: BTreeMap<String, Vec<String>>,
    /// The `pay_method` sent for a deposit that names none, so one request
    /// serves every provider (refused by a dialect that takes no method).
    pub payment_method: Option<String>,
    /// Seconds the provider's published amount limits are trusted before they
    /// are fetched again (600 by default); 0 turns the check off.
    #[serde(default, deserialize_with = "number")]
    pub limits_ttl_secs: Option<u64>,
}

/// `auth_policy`: when auth tokens are fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthPolicySetting {
    /// A fresh token before every call.
    #[default]
    PerRequest,
    /// One token reused until refused.
    Cached,
}

impl From<AuthPolicySetting> for AuthPolicy {
    fn from(setting: AuthPolicySetting) -> Self {
        match setting {
            AuthPolicySetting::PerRequest => AuthPolicy::PerRequest,
            AuthPolicySetting::Cached => AuthPolicy::Cached,
        }
    }
}

impl std::fmt::Debug for FormApiSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormApiSection")
            .field("base_url", &self.base_url.as_deref().map(redact::Url))
            .field("username", &self.username)
            .field("api_key", &self.api_key)
            .field("secret_key", &self.secret_key)
            .field("secret_keys", &self.secret_keys)
            .field("auth_policy", &self.auth_policy)
            .field("pay_methods", &self.pay_methods)
            .field("payment_method", &self.payment_method)
            .field("limits_ttl_secs", &self.limits_ttl_secs)
            .finish()
    }
}

/// Every key a [`FormApiSection`] may hold.
pub const SECTION_KEYS: &[&str] = &[
    "base_url",
    "username",
    "api_key",
    "secret_key",
    "secret_keys",
    "auth_policy",
    "pay_methods",
    "payment_method",
    "limits_ttl_secs",
];

impl FormApiSection {
    /// A builder for `dialect` from this section: required values named by
    /// key under `at`, then every option the section sets.
    pub fn builder(&self, dialect: Arc<DialectSpec>, at: &SectionAt<'_>) -> Result<FormApiBuilder> {
        if self.secret_key.is_none() && self.secret_keys.is_empty() {
            tracing::warn!(
                section = %at.key,
                "no secret_key configured: callbacks cannot be verified"
            );
        }
        let mut builder = FormApiGateway::builder(
            dialect,
            required_key(at, "base_url", self.base_url.as_deref())?,
            required_key(at, "username", self.username.as_deref())?,
            required_key(
                at,
                "api_key",
                self.api_key.as_ref().map(|k| k.expose_secret()),
            )?,
        )
        .auth_policy(AuthPolicy::from(self.auth_policy.unwrap_or_default()))
        .secret_keys(self.callback_secret_list());
        if let Some(seconds) = self.limits_ttl_secs {
            builder = builder.limits_ttl((seconds > 0).then(|| Duration::from_secs(seconds)));
        }
        for (currency, methods) in &self.pay_methods {
            builder = builder.payment_methods(currency, methods.iter().cloned());
        }
        if let Some(method) = &self.payment_method {
            builder = builder.default_payment_method(method.clone());
        }
        Ok(builder)
    }

    fn callback_secret_list(&self) -> Vec<SecretString> {
        self.secret_key
            .iter()
            .chain(&self.secret_keys)
            .cloned()
            .collect()
    }
}

/// A [`FormApiSection`] with the dialect its gateway speaks.
#[derive(Debug, Clone)]
struct Configured {
    dialect: Arc<DialectSpec>,
    section: FormApiSection,
}

impl ProviderSection for Configured {
    fn provider(&self) -> Provider {
        self.dialect.provider()
    }

    fn secrets(&self) -> Vec<&str> {
        let s = &self.section;
        s.api_key
            .iter()
            .chain(&s.secret_key)
            .chain(&s.secret_keys)
            .map(|k| k.expose_secret())
            .collect()
    }

    fn callback_secrets(&self) -> Vec<&str> {
        let s = &self.section;
        s.secret_key
            .iter()
            .chain(&s.secret_keys)
            .map(|k| k.expose_secret())
            .collect()
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Arc<dyn PaymentGateway>> {
        let mut builder = self
            .section
            .builder(self.dialect.clone(), &context.at)?
            .transport(context.transport.clone());
        for (account, secret) in context.other_accounts {
            builder = builder.other_account_secret(account.clone(), *secret);
        }
        Ok(Arc::new(builder.build()?))
    }

    fn clone_box(&self) -> Box<dyn ProviderSection> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        &self.section
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.section
    }
}

/// Reads the sections of one dialect's accounts.
#[derive(Debug, Clone)]
pub struct FormApiReader {
    dialect: Arc<DialectSpec>,
}

impl FormApiReader {
    /// The reader of `dialect`'s sections.
    pub fn new(dialect: Arc<DialectSpec>) -> Self {
        Self { dialect }
    }
}

impl SectionReader for FormApiReader {
    fn provider(&self) -> Provider {
        self.dialect.provider()
    }

    fn keys(&self) -> &'static [&'static str] {
        SECTION_KEYS
    }

    fn read(&self, value: toml::Value, at: &SectionAt<'_>) -> Result<Box<dyn ProviderSection>> {
        Ok(Box::new(Configured {
            dialect: self.dialect.clone(),
            section: at.read(value)?,
        }))
    }
}

/// Reads a brand of this API (`[brands.NAME]` without its `protocol`): the
/// reader of its accounts' sections, named `provider`.
pub fn read_brand(
    provider: Provider,
    value: toml::Value,
    at: &SectionAt<'_>,
) -> Result<Arc<dyn SectionReader>> {
    let dialect = DialectSpec::read(provider, value, at)?;
    Ok(Arc::new(FormApiReader::new(Arc::new(dialect))))
}
