//! Configuration: a TOML file, overridden by `PAYBRIDGE_*` environment variables.
//!
//! The facade reads its own sections (`[http]`, `[callback]`, `[ledger]`,
//! `[accounts.NAME]`, `[brands.NAME]`) and hands each provider's section to the
//! reader its adapter gives the registry ([`crate::providers`]); every error
//! names its key (`vpay88.api_key`) and the file it came from.

mod accounts;
mod env;
mod readers;
mod sections;
mod serve;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use paybridge_core::{Error, Provider, Result};
use paybridge_wire::section::ProviderSection;
use paybridge_wire::transport::{ResolvePolicy, RetryPolicy, TransportConfig};
use serde::Deserialize;

pub use accounts::AccountSection;
pub use paybridge_formapi::config::{AuthPolicySetting, FormApiSection};
pub use paybridge_onepunch::config::OnePunchSection;
use readers::Readers;
pub use sections::{CallbackSection, HttpSection, LedgerSection};
pub use serve::{ServeSection, DEFAULT_LISTEN, DEFAULT_MAX_BODY};

/// The whole configuration. `Debug` shows no secret.
///
/// Read it with [`Config::load`] or [`Config::from_toml`], or as a part of the
/// merchant's own configuration: `Config` implements `Deserialize`, through
/// the same reading and checks as [`Config::from_toml`] (unknown keys refused,
/// errors naming their key), so it can sit under a table of its own:
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct MyApp {
///     listen: String,
///     paybridge: paybridge::Config,
/// }
///
/// let app: MyApp = toml::from_str(r#"
/// listen = "0.0.0.0:8080"
/// [paybridge]
/// provider = "vpay88"
/// [paybridge.vpay88]
/// base_url = "https://pay.example"
/// username = "merchant"
/// api_key = "key"
/// "#).unwrap();
/// assert_eq!(app.paybridge.provider().unwrap(), paybridge::providers::VPAY88);
/// ```
///
/// Deserialized so, it applies no `PAYBRIDGE_*` environment variables: the
/// merchant's own configuration decides where its values come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
#[non_exhaustive]
pub struct Config {
    /// Which provider [`crate::Gateway::from_config`] builds.
    pub provider: Option<Provider>,
    /// Each provider's one-account section (`[vpay88]`, `[fpay]`), as its
    /// adapter read it; reach one with [`Config::section_as`].
    sections: BTreeMap<Provider, Box<dyn ProviderSection>>,
    /// The brands configured under `[brands.NAME]`.
    readers: Readers,
    /// Named accounts (`[accounts.NAME]`), several per provider if need be.
    pub accounts: BTreeMap<String, AccountSection>,
    /// Timeouts and retries.
    pub http: HttpSection,
    /// Callback answers.
    pub callback: CallbackSection,
    /// The order ledger.
    pub ledger: LedgerSection,
    /// `paybridge serve`.
    pub serve: ServeSection,
    /// Where the file was read from, for error messages.
    pub source: String,
}

/// What `Config`'s `Deserialize` reads first: the table as written, then
/// read as [`Config::from_toml`] reads a file's.
#[derive(Deserialize)]
#[serde(transparent)]
struct RawConfig(toml::Table);

/// The source named in the errors of a deserialized configuration.
const DESERIALIZED: &str = "the deserialized paybridge configuration";

impl TryFrom<RawConfig> for Config {
    type Error = Error;

    fn try_from(raw: RawConfig) -> Result<Self> {
        Self::from_table(raw.0, DESERIALIZED)
    }
}

impl Config {
    /// Loads `path` (when it exists) and applies the process environment.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Loads `path` (when it exists) and applies the given environment.
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::Config {
                    key: "file".into(),
                    reason: format!("{}: {e}", path.display()),
                })
            }
        };
        let source = match &text {
            Some(_) => path.display().to_string(),
            None => format!("the environment ({} not found)", path.display()),
        };
        Self::from_toml_with_env(text.as_deref().unwrap_or(""), &source, env)
    }

    /// Parses TOML text with no environment overrides.
    pub fn from_toml(text: &str, source: &str) -> Result<Self> {
        Self::from_toml_with_env(text, source, std::iter::empty())
    }

    /// Parses TOML text and applies `PAYBRIDGE_*` variables from `env`.
    pub fn from_toml_with_env(
        text: &str,
        source: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Config {
            key: "file".into(),
            reason: format!("in {source}: {}", e.message()),
        })?;
        env::apply_env(&mut table, env)?;
        Self::from_table(table, source)
    }

    /// The configured provider, or an error naming `provider`.
    pub fn provider(&self) -> Result<Provider> {
        self.provider
            .ok_or_else(|| self.missing("provider", "PAYBRIDGE_PROVIDER"))
    }

    /// Every provider this configuration can name: the built-in ones, then
    /// the brands it defines.
    pub fn providers(&self) -> Vec<Provider> {
        self.readers.names()
    }

    /// The provider named `name`, built-in or a brand this configuration
    /// defines; else an error naming `provider` and listing them.
    pub fn provider_named(&self, name: &str) -> Result<Provider> {
        crate::providers::named(name, &self.providers())
    }

    /// Whether `provider` is a brand defined under `[brands.NAME]`.
    pub fn is_brand(&self, provider: Provider) -> bool {
        self.readers.brands.contains_key(&provider)
    }

    /// The one-account section of `provider` (`[vpay88]`, `[fpay]`), if configured.
    pub fn section(&self, provider: Provider) -> Option<&dyn ProviderSection> {
        self.sections.get(&provider).map(|s| s.as_ref())
    }

    /// The one-account section named `name`, as the adapter's own type `T`
    /// (`config.section_as::<OnePunchSection>("onepunch")`).
    pub fn section_as<T: 'static>(&self, name: &str) -> Option<&T> {
        let provider = Provider::parse(name).ok()?;
        self.sections.get(&provider)?.as_any().downcast_ref()
    }

    /// The same, to change it.
    pub fn section_as_mut<T: 'static>(&mut self, name: &str) -> Option<&mut T> {
        let provider = Provider::parse(name).ok()?;
        self.sections
            .get_mut(&provider)?
            .as_any_mut()
            .downcast_mut()
    }

    /// The form API section named `name` (`[vpay88]`, `[one1pay]`, a brand's).
    pub fn form_api_section(&self, name: &str) -> Option<&FormApiSection> {
        self.section_as(name)
    }

    /// The same, to change it: `config.form_api_section_mut("one1pay")`.
    pub fn form_api_section_mut(&mut self, name: &str) -> Option<&mut FormApiSection> {
        self.section_as_mut(name)
    }

    pub(crate) fn missing(&self, key: &str, env: &str) -> Error {
        Error::Config {
            key: key.into(),
            reason: format!("is missing in {} (or set {env})", self.source),
        }
    }

    pub(crate) fn transport(&self) -> TransportConfig {
        let defaults = TransportConfig::default();
        let http = &self.http;
        let ms = Duration::from_millis;
        TransportConfig::default()
            .connect_timeout(
                http.connect_timeout_ms
                    .map(ms)
                    .unwrap_or(defaults.connect_timeout),
            )
            .request_timeout(
                http.request_timeout_ms
                    .map(ms)
                    .unwrap_or(defaults.request_timeout),
            )
            .retry(RetryPolicy {
                max_attempts: http.read_attempts.unwrap_or(defaults.retry.max_attempts),
                ..defaults.retry
            })
            .resolve(ResolvePolicy {
                attempts: http.resolve_attempts.unwrap_or(defaults.resolve.attempts),
                delay: http
                    .resolve_delay_ms
                    .map(ms)
                    .unwrap_or(defaults.resolve.delay),
            })
            .max_answer_bytes(
                http.max_answer_bytes
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(defaults.max_answer_bytes),
            )
            .operation_deadline(
                http.operation_deadline_ms
                    .map(ms)
                    .unwrap_or(defaults.operation_deadline),
            )
    }

    /// The body answered to an accepted callback.
    pub fn callback_answer(&self) -> &str {
        self.callback.answer.as_deref().unwrap_or("success")
    }

    /// Every secret configured, for log scrubbing checks.
    pub fn secrets(&self) -> Vec<&str> {
        self.sections
            .values()
            .chain(self.accounts.values().map(|a| &a.section))
            .flat_map(|s| s.secrets())
            .collect()
    }

    /// Opens the ledger `[ledger] url` names (`PAYBRIDGE_LEDGER_URL`), if
    /// any, applying its migrations.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub async fn open_ledger(
        &self,
    ) -> Result<Option<std::sync::Arc<dyn paybridge_ledger::Ledger>>> {
        match &self.ledger.url {
            Some(url) => Ok(Some(std::sync::Arc::new(
                paybridge_ledger::SqlLedger::open_with(url, &self.ledger.options()).await?,
            ))),
            None => Ok(None),
        }
    }

    /// The named account `name`, or an error listing the configured ones.
    pub fn account(&self, name: &str) -> Result<&AccountSection> {
        self.accounts.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.accounts.keys().map(String::as_str).collect();
            Error::Config {
                key: format!("accounts.{name}"),
                reason: if known.is_empty() {
                    format!(
                        "is not configured in {} (no [accounts.NAME] section)",
                        self.source
                    )
                } else {
                    format!(
                        "is not configured in {} (configured: {})",
                        self.source,
                        known.join(", ")
                    )
                },
            }
        })
    }
}

/// The default configuration file name.
pub fn default_path() -> PathBuf {
    PathBuf::from("paybridge.toml")
}

#[cfg(test)]
mod tests;
