//! Building a [`FormApiGateway`]: credentials, callback secrets, policies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use paybridge_core::{Error, ExposeSecret, Result, SecretString};
use paybridge_wire::transport::BaseUrl;
use paybridge_wire::transport::HttpSettings;

use crate::auth::{AuthCache, AuthPolicy};
use crate::dialect::Endpoints;
use crate::gateway::{CallbackSecret, FormApiGateway};
use crate::limits::{LimitsCache, DEFAULT_LIMITS_TTL};
use crate::DialectSpec;

/// Builds a [`FormApiGateway`]. `Debug` shows no secret: `SecretString` redacts
/// itself, and the base URL is shown through [`paybridge_core::redact`].
pub struct FormApiBuilder {
    dialect: Arc<DialectSpec>,
    base_url: String,
    username: String,
    api_key: SecretString,
    secret_keys: Vec<CallbackSecret>,
    other_accounts: Vec<(String, SecretString)>,
    auth_policy: AuthPolicy,
    payment_methods: BTreeMap<String, Vec<String>>,
    default_payment_method: Option<String>,
    limits_ttl: Option<Duration>,
    http: HttpSettings,
}

impl std::fmt::Debug for FormApiBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormApiBuilder")
            .field("provider", &self.dialect.provider())
            .field("base_url", &paybridge_core::redact::Url(&self.base_url))
            .field("username", &self.username)
            .field("api_key", &self.api_key)
            .field("secret_keys", &self.secret_keys)
            .field("other_accounts", &self.other_accounts)
            .field("auth_policy", &self.auth_policy)
            .field("payment_methods", &self.payment_methods)
            .field("limits_ttl", &self.limits_ttl)
            .field("http", &self.http)
            .finish()
    }
}

impl FormApiGateway {
    /// Starts a gateway speaking `dialect` for `base_url` (which may carry a
    /// path prefix), the merchant `username` and its `api_key`.
    pub fn builder(
        dialect: Arc<DialectSpec>,
        base_url: impl Into<String>,
        username: impl Into<String>,
        api_key: impl Into<String>,
    ) -> FormApiBuilder {
        FormApiBuilder::new(
            dialect,
            base_url.into(),
            username.into(),
            SecretString::from(api_key.into()),
        )
    }
}

impl FormApiBuilder {
    pub(crate) fn new(
        dialect: Arc<DialectSpec>,
        base_url: String,
        username: String,
        api_key: SecretString,
    ) -> Self {
        Self {
            dialect,
            base_url,
            username,
            api_key,
            secret_keys: Vec::new(),
            other_accounts: Vec::new(),
            auth_policy: AuthPolicy::default(),
            payment_methods: BTreeMap::new(),
            default_payment_method: None,
            limits_ttl: Some(DEFAULT_LIMITS_TTL),
            http: HttpSettings::default(),
        }
    }

    /// Adds a callback secret (`secret_key`). Call again, or use
    /// [`secret_keys`](Self::secret_keys), for one secret per channel.
    pub fn secret_key(self, secret: impl Into<String>) -> Self {
        self.secret_keys([SecretString::from(secret.into())])
    }

    /// Adds several callback secrets.
    pub fn secret_keys(mut self, secrets: impl IntoIterator<Item = SecretString>) -> Self {
        self.secret_keys
            .extend(secrets.into_iter().map(|secret| CallbackSecret {
                secret,
                account: None,
            }));
        self
    }

    /// Adds the callback secret of another merchant account (a channel with its
    /// own user name). A callback it verifies is confirmed by asking the status
    /// API as `account`.
    pub fn channel_secret(mut self, account: impl Into<String>, secret: impl Into<String>) -> Self {
        self.secret_keys.push(CallbackSecret {
            secret: SecretString::from(secret.into()),
            account: Some(account.into()),
        });
        self
    }

    /// The callback secret of another configured account, named `account`. It
    /// never verifies a callback here: it only lets a refused one be explained
    /// as signed with that account's secret (posted to the wrong account's route).
    pub fn other_account_secret(
        mut self,
        account: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.other_accounts
            .push((account.into(), SecretString::from(secret.into())));
        self
    }

    /// The payment methods this merchant's account takes in `currency`; a deposit
    /// naming another is refused before anything is sent. Without a list, the
    /// provider's documented rules alone apply.
    pub fn payment_methods<M: Into<String>>(
        mut self,
        currency: &str,
        methods: impl IntoIterator<Item = M>,
    ) -> Self {
        self.payment_methods.insert(
            currency.trim().to_ascii_uppercase(),
            methods.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// The payment method sent for a deposit that names none, so one request
    /// serves every provider. A provider whose table refuses a payment method
    /// refuses the configuration instead ([`build`](Self::build)).
    pub fn default_payment_method(mut self, method: impl Into<String>) -> Self {
        self.default_payment_method = Some(method.into());
        self
    }

    /// How long the amount limits the provider publishes are trusted before
    /// they are fetched again (10 minutes by default); `None` turns the check off.
    /// Orders whose amount is outside them are refused before anything is sent.
    pub fn limits_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.limits_ttl = ttl;
        self
    }

    /// Sets the auth token policy.
    pub fn auth_policy(mut self, policy: AuthPolicy) -> Self {
        self.auth_policy = policy;
        self
    }

    paybridge_wire::http_options!(http);

    /// Validates and builds.
    pub fn build(self) -> Result<FormApiGateway> {
        let provider = self.dialect.provider();
        let empty = |key: &str, reason: &str| Error::Config {
            key: format!("{provider}.{key}"),
            reason: reason.into(),
        };
        let base_url = BaseUrl::parse(&format!("{provider}.base_url"), &self.base_url)?;
        // The document writes its endpoints as `<base>/merchant/auth`; a base URL
        // copied with that `/merchant` would send `/merchant/merchant/...` and
        // `/merchant/wallet/...`.
        if base_url
            .as_str()
            .to_ascii_lowercase()
            .ends_with("/merchant")
        {
            return Err(Error::Config {
                key: format!("{provider}.base_url"),
                reason: format!(
                    "`{base_url}` ends in /merchant; give the address before it (paybridge adds /merchant/... and /wallet/... itself)"
                ),
            });
        }
        if self.username.trim().is_empty() {
            return Err(empty("username", "is empty"));
        }
        if self.api_key.expose_secret().trim().is_empty() {
            return Err(empty("api_key", "is empty"));
        }
        if self
            .secret_keys
            .iter()
            .any(|s| s.secret.expose_secret().is_empty())
        {
            return Err(empty("secret_key", "an empty secret would verify nothing"));
        }
        if let Some((currency, _)) = self.payment_methods.iter().find(|(_, m)| m.is_empty()) {
            return Err(Error::Config {
                key: format!("{provider}.pay_methods.{currency}"),
                reason: "is an empty list; leave the currency out to allow any method".into(),
            });
        }
        if let Some(method) = &self.default_payment_method {
            if method.trim().is_empty() {
                return Err(empty("payment_method", "is empty"));
            }
            if !self.dialect.takes_payment_method() {
                return Err(Error::Config {
                    key: format!("{provider}.payment_method"),
                    reason: format!("{provider} takes no payment method; remove it"),
                });
            }
        }
        let transport = self.http.into_transport()?;
        let endpoints = Arc::new(Endpoints::new(
            &base_url,
            self.dialect.paths(),
            &provider.to_string(),
        )?);
        Ok(FormApiGateway {
            dialect: self.dialect,
            base_url,
            endpoints,
            username: self.username,
            api_key: self.api_key,
            secret_keys: self.secret_keys,
            other_accounts: self.other_accounts,
            auth: AuthCache::new(self.auth_policy),
            payment_methods: self.payment_methods,
            default_payment_method: self.default_payment_method,
            limits: LimitsCache::new(self.limits_ttl),
            transport,
        })
    }
}
