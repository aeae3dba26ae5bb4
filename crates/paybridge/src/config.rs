//! Configuration: a TOML file, overridden by `PAYBRIDGE_*` environment variables.
//!
//! The facade reads its own sections (`[http]`, `[callback]`, `[ledger]`,
//! `[accounts.NAME]`, `[brands.NAME]`) and hands each provider's section to the
//! reader its adapter gives the registry ([`crate::providers`]); every error
//! names its key (`vpay88.api_key`) and the file it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use paybridge_core::{redact, Error, Provider, Result};

use crate::SectionName;
use paybridge_wire::section::{flag, number, ProviderSection, SectionAt, SectionReader};
use paybridge_wire::transport::{ResolvePolicy, RetryPolicy, TransportConfig};
use serde::Deserialize;

pub use paybridge_formapi::config::{AuthPolicySetting, FormApiSection};
pub use paybridge_onepunch::config::OnePunchSection;

/// `[http]`: timeouts and retries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpSection {
    /// Connect timeout, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub connect_timeout_ms: Option<u64>,
    /// Per-attempt timeout, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub request_timeout_ms: Option<u64>,
    /// Attempts for reads, the first included.
    #[serde(default, deserialize_with = "number")]
    pub read_attempts: Option<u32>,
    /// Status queries made to resolve an unknown outcome.
    #[serde(default, deserialize_with = "number")]
    pub resolve_attempts: Option<u32>,
    /// Pause between those queries, milliseconds.
    #[serde(default, deserialize_with = "number")]
    pub resolve_delay_ms: Option<u64>,
    /// The largest answer read, bytes (1 MiB by default).
    #[serde(default, deserialize_with = "number")]
    pub max_answer_bytes: Option<u64>,
    /// A whole operation's deadline, resolution included, milliseconds (60 s by default).
    #[serde(default, deserialize_with = "number")]
    pub operation_deadline_ms: Option<u64>,
}

/// `[ledger]`: where orders are kept. `Debug` hides the URL's password.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LedgerSection {
    /// `sqlite://paybridge.db` (a file, created when missing) or `postgres://...`.
    pub url: Option<String>,
    /// PostgreSQL connections kept at most (16 by default); SQLite keeps one.
    #[serde(default, deserialize_with = "number")]
    pub pool_size: Option<u32>,
    /// Seconds opening the ledger may take (10 by default); past it, an
    /// error naming the database's address.
    #[serde(default, deserialize_with = "number")]
    pub connect_timeout_s: Option<u64>,
    /// Whether the ledger applies the migrations its database lacks on open
    /// (`true` by default); off, such a database is refused.
    #[serde(default, deserialize_with = "flag")]
    pub migrate: Option<bool>,
}

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
impl LedgerSection {
    /// The options the ledger is opened with.
    pub fn options(&self) -> paybridge_ledger::LedgerOptions {
        let defaults = paybridge_ledger::LedgerOptions::default();
        defaults
            .clone()
            .pool_size(self.pool_size.unwrap_or(defaults.pool_size))
            .connect_timeout(
                self.connect_timeout_s
                    .map(Duration::from_secs)
                    .unwrap_or(defaults.connect_timeout),
            )
            .migrate(self.migrate.unwrap_or(defaults.migrate))
    }
}

impl std::fmt::Debug for LedgerSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSection")
            .field("url", &self.url.as_deref().map(redact::Url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_s", &self.connect_timeout_s)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// `[callback]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CallbackSection {
    /// The body answered to an accepted callback; `success` by default.
    pub answer: Option<String>,
}

/// `[accounts.NAME]`: one merchant account of a provider. The section's keys
/// are those of the provider's own section, beside `provider`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountSection {
    provider: Provider,
    section: Box<dyn ProviderSection>,
}

impl AccountSection {
    /// The provider the account belongs to.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The section, as its adapter read it.
    pub fn section(&self) -> &dyn ProviderSection {
        self.section.as_ref()
    }

    /// The section as the adapter's own type, when it is a `T`.
    pub fn section_as<T: 'static>(&self) -> Option<&T> {
        self.section.as_any().downcast_ref()
    }

    /// The same, to change it.
    pub fn section_as_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.section.as_any_mut().downcast_mut()
    }

    /// Reads `[accounts.NAME]`: `provider` first, then the rest as that
    /// provider's section, errors naming `accounts.NAME.<key>`.
    fn read(name: &str, mut table: toml::Table, readers: &Readers, source: &str) -> Result<Self> {
        let prefix = format!("accounts.{name}");
        let env = SectionName::account(name).env;
        let at = SectionAt {
            key: &prefix,
            env: &env,
            source,
        };
        if !is_account_name(name) {
            return Err(at.error(
                "",
                "an account name is letters, digits, '-' or '_' (it is a URL path segment)",
            ));
        }
        let Some(value) = table.remove("provider") else {
            return Err(at.missing("provider"));
        };
        let provider: Provider = at.read(value).map_err(|e| rekey(e, &at.key("provider")))?;
        let reader = readers.get(provider, &at.key("provider"), source)?;
        let section = reader.read(toml::Value::Table(table), &at)?;
        Ok(Self { provider, section })
    }
}

/// `err` naming `key` (a value read alone names no key of its own).
fn rekey(err: Error, key: &str) -> Error {
    match err {
        Error::Config { reason, .. } => Error::Config {
            key: key.into(),
            reason,
        },
        other => other,
    }
}

/// Letters, digits, `-` and `_`: a name that is a URL path segment and an
/// environment variable's part alike.
fn is_account_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads `value` as `T`; an error names its key under `prefix` and the source.
fn read_value<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    source: &str,
    prefix: &str,
) -> Result<T> {
    SectionAt {
        key: prefix,
        env: "",
        source,
    }
    .read(value)
}

/// The facade's own section `key`, taken out of `table` (its default when absent).
fn read_own<T: serde::de::DeserializeOwned + Default>(
    table: &mut toml::Table,
    key: &str,
    source: &str,
) -> Result<T> {
    match table.remove(key) {
        Some(value) => read_value(value, source, key),
        None => Ok(T::default()),
    }
}

/// The readers of one configuration's providers: the registry's built-in
/// ones and the brands it configures.
#[derive(Debug, Clone, Default)]
struct Readers {
    brands: BTreeMap<Provider, Arc<dyn SectionReader>>,
}

impl Readers {
    fn find(&self, provider: Provider) -> Option<Arc<dyn SectionReader>> {
        crate::providers::reader(provider).or_else(|| self.brands.get(&provider).cloned())
    }

    /// Every provider with a reader, built-in first.
    fn names(&self) -> Vec<Provider> {
        crate::providers::BUILT_IN
            .into_iter()
            .chain(self.brands.keys().copied())
            .collect()
    }

    /// The reader of `provider`, or an error naming `key` and listing them.
    fn get(&self, provider: Provider, key: &str, source: &str) -> Result<Arc<dyn SectionReader>> {
        self.find(provider).ok_or_else(|| Error::Config {
            key: key.into(),
            reason: format!(
                "in {source}: '{provider}' is not one of {} (a brand is defined under [brands.NAME])",
                self.names().iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Reads `[brands]`: each brand's name, then its protocol's reading of
    /// the rest, errors naming `brands.NAME.<key>`.
    fn read_brands(brands: toml::Value, source: &str) -> Result<Self> {
        let at = SectionAt {
            key: "brands",
            env: "",
            source,
        };
        let table: toml::Table = at.read(brands)?;
        let mut readers = Readers::default();
        for (name, value) in table {
            let key = format!("brands.{name}");
            let brand = SectionAt {
                key: &key,
                env: "",
                source,
            };
            let provider = Provider::parse(&name).map_err(|e| rekey(e, &key))?;
            if crate::providers::reader(provider).is_some() {
                return Err(brand.error(
                    "",
                    format!("{provider} is a built-in provider; give the brand another name"),
                ));
            }
            let mut table: toml::Table = brand.read(value)?;
            let Some(protocol) = table.remove("protocol") else {
                return Err(brand.error(
                    "protocol",
                    format!(
                        "is missing: one of {}",
                        crate::providers::PROTOCOLS.join(", ")
                    ),
                ));
            };
            let protocol: String = brand
                .read(protocol)
                .map_err(|e| rekey(e, &brand.key("protocol")))?;
            let reader = crate::providers::read_brand(
                &protocol,
                provider,
                toml::Value::Table(table),
                &brand,
            )
            .unwrap_or_else(|| {
                Err(brand.error(
                    "protocol",
                    format!(
                        "'{}' is not one of {}",
                        protocol.escape_debug(),
                        crate::providers::PROTOCOLS.join(", ")
                    ),
                ))
            })?;
            readers.brands.insert(provider, reader);
        }
        Ok(readers)
    }
}

/// The keys of the file the facade reads itself; every other is a provider's section.
const OWN_KEYS: [&str; 6] = [
    "provider", "accounts", "brands", "http", "callback", "ledger",
];

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

/// The sections of the facade's own that environment variables reach:
/// `PAYBRIDGE_<SECTION>_<KEY>`, beside every provider's.
const ENV_SECTIONS: [&str; 3] = ["http", "callback", "ledger"];

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
        apply_env(&mut table, env)?;
        Self::from_table(table, source)
    }

    /// Reads a table as written (environment applied), errors naming `source`.
    fn from_table(mut table: toml::Table, source: &str) -> Result<Self> {
        let provider = table
            .remove("provider")
            .map(|v| read_value::<Provider>(v, source, "provider"))
            .transpose()?;
        let accounts: BTreeMap<String, toml::Table> = table
            .remove("accounts")
            .map(|v| read_value(v, source, "accounts"))
            .transpose()?
            .unwrap_or_default();
        let readers = match table.remove("brands") {
            Some(brands) => Readers::read_brands(brands, source)?,
            None => Readers::default(),
        };
        let http: HttpSection = read_own(&mut table, "http", source)?;
        let callback: CallbackSection = read_own(&mut table, "callback", source)?;
        let ledger: LedgerSection = read_own(&mut table, "ledger", source)?;
        if let Some(provider) = provider {
            readers.get(provider, "provider", source)?;
        }
        let mut sections = BTreeMap::new();
        for (name, value) in table {
            let unknown = || Error::Config {
                key: name.clone(),
                reason: format!(
                    "in {source}: unknown section; expected one of {}, or a provider's: {}",
                    OWN_KEYS.join(", "),
                    readers
                        .names()
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let provider = Provider::parse(&name).map_err(|_| unknown())?;
            let reader = readers.find(provider).ok_or_else(unknown)?;
            let env = SectionName::provider(provider).env;
            let at = SectionAt {
                key: &name,
                env: &env,
                source,
            };
            sections.insert(provider, reader.read(value, &at)?);
        }
        let accounts = accounts
            .into_iter()
            .map(|(name, table)| {
                let account = AccountSection::read(&name, table, &readers, source)?;
                Ok((name, account))
            })
            .collect::<Result<_>>()?;
        Ok(Config {
            provider,
            sections,
            readers,
            accounts,
            http,
            callback,
            ledger,
            source: source.to_owned(),
        })
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

/// `PAYBRIDGE_PROVIDER` and `PAYBRIDGE_<SECTION>_<KEY>` override the file. Values
/// go in as text; the section's types read them.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<()> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("PAYBRIDGE_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        if let Some(account) = rest.strip_prefix("accounts_") {
            apply_account_env(table, &name, account, value)?;
            continue;
        }
        if rest == "provider" {
            table.insert("provider".into(), toml::Value::String(value));
            continue;
        }
        // Brands are named in the file, so their sections are known only from it.
        let brands: Vec<String> = table
            .get("brands")
            .and_then(toml::Value::as_table)
            .map(|t| t.keys().map(|k| k.to_ascii_lowercase()).collect())
            .unwrap_or_default();
        let sections = ENV_SECTIONS
            .iter()
            .map(|s| s.to_string())
            .chain(
                crate::providers::BUILT_IN
                    .iter()
                    .map(|p| p.as_str().to_owned()),
            )
            .chain(brands);
        let Some(section) = sections
            .filter(|s| rest.starts_with(&format!("{s}_")))
            .max_by_key(|s| s.len())
        else {
            continue;
        };
        let key = &rest[section.len() + 1..];
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section_table) = entry.as_table_mut() else {
            return Err(Error::Config {
                key: section.to_string(),
                reason: "is not a table".into(),
            });
        };
        section_table.insert(key.to_owned(), toml::Value::String(value));
    }
    Ok(())
}

/// `PAYBRIDGE_ACCOUNTS_<NAME>_<KEY>`: sets `accounts.<name>.<key>`, matching a
/// file's account whatever its case and with `-` written as `_`.
fn apply_account_env(
    table: &mut toml::Table,
    variable: &str,
    name_and_key: &str,
    value: String,
) -> Result<()> {
    // A name may contain `_` too, so the variable is split at a known key.
    let keys = crate::providers::account_keys();
    let split = keys
        .iter()
        .filter_map(|key| {
            let name = name_and_key.strip_suffix(key)?.strip_suffix('_')?;
            (!name.is_empty()).then_some((name, *key))
        })
        .max_by_key(|(_, key)| key.len());
    let Some((name, key)) = split else {
        return Err(Error::Config {
            key: variable.to_owned(),
            reason: format!(
                "names no account key; write PAYBRIDGE_ACCOUNTS_<NAME>_<KEY> with KEY one of {}",
                keys.join(", ").to_ascii_uppercase()
            ),
        });
    };
    let accounts = table
        .entry("accounts")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or_else(|| Error::Config {
            key: "accounts".into(),
            reason: "is not a table".into(),
        })?;
    let existing = accounts
        .keys()
        .find(|written| written.to_ascii_lowercase().replace('-', "_") == name)
        .cloned();
    let account = accounts
        .entry(existing.unwrap_or_else(|| name.to_owned()))
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(account) = account.as_table_mut() else {
        return Err(Error::Config {
            key: format!("accounts.{name}"),
            reason: "is not a table".into(),
        });
    };
    account.insert(key.to_owned(), toml::Value::String(value));
    Ok(())
}

/// The default configuration file name.
pub fn default_path() -> PathBuf {
    PathBuf::from("paybridge.toml")
}

#[cfg(test)]
mod tests {
    use paybridge_core::ExposeSecret;

    use super::*;

    const FILE: &str = r#"
provider = "vpay88"
[vpay88]
base_url = "https://pay.example"
username = "merchant"
api_key = "file-api-key"
secret_keys = ["bank-secret", "ewallet-secret"]
[onepunch]
monster_token = "MON-x"
monster_key = "file-monster-key"
"#;

    #[test]
    fn environment_overrides_the_file() {
        let env = [
            ("PAYBRIDGE_PROVIDER".to_string(), "onepunch".to_string()),
            ("PAYBRIDGE_VPAY88_API_KEY".into(), "env-api-key".into()),
            ("PAYBRIDGE_ONE1PAY_SECRET_KEYS".into(), "a, b".into()),
            ("PAYBRIDGE_HTTP_CONNECT_TIMEOUT_MS".into(), "250".into()),
            ("PAYBRIDGE_LEDGER_URL".into(), "sqlite://orders.db".into()),
            ("UNRELATED".into(), "x".into()),
        ];
        let config = Config::from_toml_with_env(FILE, "test.toml", env).unwrap();
        assert_eq!(config.provider().unwrap(), crate::providers::ONEPUNCH);
        let vpay = config.form_api_section("vpay88").unwrap();
        assert_eq!(
            vpay.api_key.as_ref().unwrap().expose_secret(),
            "env-api-key"
        );
        assert_eq!(vpay.secret_keys.len(), 2);
        assert_eq!(
            config.form_api_section("one1pay").unwrap().secret_keys[1].expose_secret(),
            "b"
        );
        assert_eq!(
            config.transport().connect_timeout,
            Duration::from_millis(250)
        );
        assert_eq!(config.ledger.url.as_deref(), Some("sqlite://orders.db"));
    }

    #[cfg(feature = "ledger")]
    #[test]
    fn ledger_options_come_from_the_file_and_the_environment() {
        let text = "[ledger]\nurl = \"sqlite://x.db\"\npool_size = 4\nconnect_timeout_s = 2\nmigrate = false\n";
        let options = Config::from_toml(text, "t.toml").unwrap().ledger.options();
        assert_eq!(
            options,
            paybridge_ledger::LedgerOptions::default()
                .pool_size(4)
                .connect_timeout(Duration::from_secs(2))
                .migrate(false)
        );
        let env = [
            ("PAYBRIDGE_LEDGER_MIGRATE".to_string(), "true".to_string()),
            ("PAYBRIDGE_LEDGER_POOL_SIZE".into(), "9".into()),
        ];
        let options = Config::from_toml_with_env(text, "t.toml", env)
            .unwrap()
            .ledger
            .options();
        assert!(options.migrate);
        assert_eq!(options.pool_size, 9);
        assert_eq!(
            Config::from_toml("", "t.toml").unwrap().ledger.options(),
            paybridge_ledger::LedgerOptions::default()
        );
        let err = Config::from_toml("[ledger]\nmigrate = \"maybe\"", "t.toml").unwrap_err();
        assert!(err.to_string().contains("ledger.migrate"), "{err}");
    }

    #[tokio::test]
    async fn configured_pay_methods_refuse_others_before_sending_and_let_listed_ones_through() {
        // Port 9 on loopback answers nothing: a listed method gets as far as the network.
        let text = r#"
[one1pay]
base_url = "http://127.0.0.1:9"
username = "merchant"
api_key = "k"
secret_key = "s"
[one1pay.pay_methods]
vnd = ["bank", "momo"]
"#;
        let config = Config::from_toml(text, "test.toml").unwrap();
        let gateway = crate::Gateway::for_provider(&config, crate::providers::ONE1PAY).unwrap();
        let deposit = |method: &str| {
            crate::DepositRequest::builder("A1", crate::Money::parse("100", "VND").unwrap())
                .customer_name("john")
                .email("john@example.com")
                .phone("601012456789")
                .bank_id("1")
                .payment_method(method)
                .redirect_url("https://r.example/")
                .customer_bank_holder_name("J")
                .customer_bank_account("1")
                .build()
                .unwrap()
        };
        match gateway
            .create_deposit(&deposit("zalopay"))
            .await
            .unwrap_err()
        {
            Error::InvalidRequest { field, reason } => {
                assert_eq!(field, "payment_method");
                assert!(reason.contains("bank, momo"), "{reason}");
            }
            other => panic!("expected a refusal before sending, got {other}"),
        }
        let listed = gateway.create_deposit(&deposit("momo")).await.unwrap_err();
        assert!(
            !matches!(listed, Error::InvalidRequest { .. }),
            "a listed method must be sent: {listed}"
        );
        let empty = "[one1pay]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\n[one1pay.pay_methods]\nVND = []\n";
        let config = Config::from_toml(empty, "test.toml").unwrap();
        match crate::Gateway::for_provider(&config, crate::providers::ONE1PAY) {
            Err(Error::Config { key, .. }) => assert_eq!(key, "one1pay.pay_methods.VND"),
            other => panic!(
                "an empty list must be a configuration error, got {:?}",
                other.err()
            ),
        }
    }

    #[test]
    fn a_config_deserialized_under_the_merchants_own_table_reads_as_from_toml_does() {
        #[derive(Deserialize)]
        struct MyApp {
            name: String,
            paybridge: Config,
        }
        let nested = |text: &str| {
            let mut out = String::from("name = \"shop\"\n");
            for line in text.lines() {
                match line.strip_prefix('[') {
                    Some(section) => out.push_str(&format!("[paybridge.{section}\n")),
                    None if out.contains("[paybridge") => out.push_str(&format!("{line}\n")),
                    None => out.push_str(&format!("[paybridge]\n{line}\n")),
                }
            }
            out
        };
        for text in [FILE, ACCOUNTS] {
            let direct = Config::from_toml(text, DESERIALIZED).unwrap();
            let app: MyApp = toml::from_str(&nested(text)).unwrap();
            assert_eq!(app.name, "shop");
            assert_eq!(format!("{:?}", app.paybridge), format!("{direct:?}"));
            assert_eq!(app.paybridge.secrets(), direct.secrets());
        }
        let app: MyApp = toml::from_str("name = \"x\"\n[paybridge]\n").unwrap();
        assert!(app.paybridge.provider.is_none() && app.paybridge.accounts.is_empty());
        // The same checks: unknown keys, wrong types, accounts read per provider.
        for (text, key) in [
            ("[vpay88]\nbase_urll = \"x\"", "vpay88.base_urll"),
            ("[vpay88]\napi_key = 5", "vpay88.api_key"),
            (
                "[accounts.main]\nprovider = \"onepunch\"\nusername = \"u\"",
                "accounts.main.username",
            ),
        ] {
            let err = toml::from_str::<MyApp>(&nested(text))
                .err()
                .map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        }
    }

    #[test]
    fn a_default_payment_method_is_taken_where_the_provider_takes_one_and_refused_elsewhere() {
        let section = |provider: &str| {
            format!("[{provider}]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\npayment_method = \"bank\"\n")
        };
        let config = Config::from_toml(&section("vpay88"), "test.toml").unwrap();
        match crate::Gateway::for_provider(&config, crate::providers::VPAY88) {
            Err(Error::Config { key, reason }) => {
                assert_eq!(key, "vpay88.payment_method");
                assert!(reason.contains("takes no payment method"), "{reason}");
            }
            other => panic!("Vpay88 takes no method: {:?}", other.err()),
        }
        let config = Config::from_toml(&section("one1pay"), "test.toml").unwrap();
        assert!(crate::Gateway::for_provider(&config, crate::providers::ONE1PAY).is_ok());
        let text = "[onepunch]\nmonster_token = \"MON-x\"\nmonster_key = \"k\"\npayment_method = \"ali-person\"\n";
        let config = Config::from_toml(text, "test.toml").unwrap();
        let onepunch = config.section_as::<OnePunchSection>("onepunch").unwrap();
        assert_eq!(onepunch.payment_method.as_deref(), Some("ali-person"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let config = Config::from_toml(FILE, "test.toml").unwrap();
        let debug = format!("{config:?}");
        for secret in config.secrets() {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert_eq!(config.secrets().len(), 4);
    }

    /// Each text is refused with a configuration error naming its key and the file.
    fn assert_errors_name(cases: &[(&str, &str)]) {
        for (text, key) in cases {
            match Config::from_toml(text, "my.toml").unwrap_err() {
                Error::Config { key: named, reason } => {
                    assert_eq!(named, *key, "{text}: {reason}");
                    assert!(reason.contains("my.toml"), "{reason}");
                }
                other => panic!("{text}: {other}"),
            }
        }
    }

    #[test]
    fn errors_name_the_key_and_the_source() {
        let cases = [
            ("provider = \"paypal\"", "provider"),
            ("provider = 3", "provider"),
            ("[vpay88]\napi_key = 5", "vpay88.api_key"),
            ("[vpay88]\nbase_urll = \"x\"", "vpay88.base_urll"),
            ("[paypal]\nx = 1", "paypal"),
            ("provider = ", "file"),
        ];
        assert_errors_name(&cases);
        let env = [(
            "PAYBRIDGE_HTTP_READ_ATTEMPTS".to_string(),
            "many".to_string(),
        )];
        let err = Config::from_toml_with_env("", "x", env).unwrap_err();
        assert!(err.to_string().contains("http.read_attempts"), "{err}");
    }

    const ACCOUNTS: &str = r#"
[accounts.main]
provider = "vpay88"
base_url = "https://pay.example"
username = "main-user"
api_key = "main-api-key"
secret_key = "main-secret"

[accounts.duit-now]
provider = "vpay88"
base_url = "https://pay.example"
username = "duitnow-user"
api_key = "duitnow-api-key"
secret_key = "duitnow-secret"

[accounts.punch]
provider = "onepunch"
monster_token = "MON-x"
monster_key = "punch-key"
"#;

    #[test]
    fn named_accounts_are_read_per_provider_and_the_environment_reaches_them() {
        let env = [
            (
                "PAYBRIDGE_ACCOUNTS_DUIT_NOW_USERNAME".to_string(),
                "env-user".to_string(),
            ),
            (
                "PAYBRIDGE_ACCOUNTS_NEW_ONE_PROVIDER".into(),
                "one1pay".into(),
            ),
            (
                "PAYBRIDGE_ACCOUNTS_NEW_ONE_SECRET_KEYS".into(),
                "a,b".into(),
            ),
            ("PAYBRIDGE_ACCOUNTS_MAIN_LIMITS_TTL_SECS".into(), "0".into()),
        ];
        let config = Config::from_toml_with_env(ACCOUNTS, "test.toml", env).unwrap();
        let names: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        assert_eq!(names, ["duit-now", "main", "new_one", "punch"]);
        let form_api = |name: &str, provider: Provider| {
            let account = &config.accounts[name];
            assert_eq!(account.provider(), provider, "{name}");
            account.section_as::<FormApiSection>().unwrap()
        };
        let duitnow = form_api("duit-now", crate::providers::VPAY88);
        assert_eq!(duitnow.username.as_deref(), Some("env-user"));
        let main = form_api("main", crate::providers::VPAY88);
        assert_eq!(main.limits_ttl_secs, Some(0));
        let new_one = form_api("new_one", crate::providers::ONE1PAY);
        assert_eq!(new_one.secret_keys.len(), 2);
        assert_eq!(
            config.accounts["punch"].provider(),
            crate::providers::ONEPUNCH
        );
        let debug = format!("{config:?}");
        for secret in ["main-secret", "duitnow-api-key", "punch-key", "a", "b"] {
            assert!(config.secrets().contains(&secret), "{secret} not listed");
        }
        for secret in ["main-secret", "duitnow-api-key", "punch-key"] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
    }

    #[test]
    fn account_errors_name_the_account_key() {
        let cases = [
            (
                "[accounts.main]\nusername = \"u\"",
                "accounts.main.provider",
            ),
            (
                "[accounts.main]\nprovider = \"paypal\"",
                "accounts.main.provider",
            ),
            (
                "[accounts.main]\nprovider = \"onepunch\"\nusername = \"u\"",
                "accounts.main.username",
            ),
            (
                "[accounts.main]\nprovider = \"vpay88\"\napi_key = 5",
                "accounts.main.api_key",
            ),
            ("[accounts.\"a/b\"]\nprovider = \"vpay88\"", "accounts.a/b"),
        ];
        assert_errors_name(&cases);
        let env = [("PAYBRIDGE_ACCOUNTS_MAIN".to_string(), "x".to_string())];
        match Config::from_toml_with_env("", "x", env).unwrap_err() {
            Error::Config { key, reason } => {
                assert_eq!(key, "PAYBRIDGE_ACCOUNTS_MAIN");
                assert!(reason.contains("BASE_URL"), "{reason}");
            }
            other => panic!("{other}"),
        }
        let config = Config::from_toml(ACCOUNTS, "my.toml").unwrap();
        let err = crate::Gateway::for_account(&config, "other").unwrap_err();
        assert!(
            err.to_string().contains("duit-now, main, punch"),
            "the error lists the configured accounts: {err}"
        );
        let missing = "[accounts.main]\nprovider = \"vpay88\"\nbase_url = \"https://p.example\"\nusername = \"u\"";
        let config = Config::from_toml(missing, "my.toml").unwrap();
        match crate::Gateway::for_account(&config, "main").unwrap_err() {
            Error::Config { key, reason } => {
                assert_eq!(key, "accounts.main.api_key");
                assert!(
                    reason.contains("PAYBRIDGE_ACCOUNTS_MAIN_API_KEY"),
                    "{reason}"
                );
            }
            other => panic!("{other}"),
        }
        let bad_url = "[accounts.main]\nprovider = \"vpay88\"\nbase_url = \"ftp://p\"\nusername = \"u\"\napi_key = \"k\"";
        let config = Config::from_toml(bad_url, "my.toml").unwrap();
        match crate::Gateway::for_account(&config, "main").unwrap_err() {
            Error::Config { key, .. } => assert_eq!(key, "accounts.main.base_url"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn an_account_verifies_its_own_secret_only_and_names_the_account_whose_secret_signed() {
        let config = Config::from_toml(ACCOUNTS, "test.toml").unwrap();
        let main = crate::Gateway::for_account(&config, "main").unwrap();
        let duitnow = crate::Gateway::for_account(&config, "duit-now").unwrap();
        assert_eq!(main.account(), Some("main"));
        let body = |secret: &str| {
            let token = paybridge_signing::form_callback_token(secret, "A1");
            format!("order_id=A1&amount=100.00&currency=MYR&order_status=completed&status=true&type=deposit&token={token}")
        };
        let own = body("main-secret");
        let event = main
            .verify(&crate::CallbackRequest::new(own.as_bytes()))
            .unwrap();
        assert_eq!(event.order_id.as_ref().map(|id| id.as_str()), Some("A1"));
        match duitnow
            .verify(&crate::CallbackRequest::new(own.as_bytes()))
            .unwrap_err()
        {
            Error::CallbackRejected(crate::CallbackRejection::BadSignature {
                explanation: Some(explanation),
            }) => {
                let text = explanation.to_string();
                assert!(text.contains("another configured account (main)"), "{text}");
                assert!(!text.contains("main-secret"), "{text}");
            }
            other => panic!("main's callback must be refused by duit-now: {other}"),
        }
    }
}
