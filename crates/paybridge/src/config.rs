//! Configuration: a TOML file, overridden by `PAYBRIDGE_*` environment variables.
//!
//! The file is read by `serde` into the types below; an error names its key
//! through serde's own path (`vpay88.api_key`) and the file it came from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use paybridge_core::{redact, Error, ExposeSecret, Provider, Result, SecretString};
use paybridge_vpay88::AuthPolicy;
use paybridge_wire::transport::{ResolvePolicy, RetryPolicy, TransportConfig};
use serde::{Deserialize, Deserializer};

/// `[vpay88]` and `[one1pay]`. `Debug` shows no secret: keys are
/// [`SecretString`]s and URLs are shown through [`paybridge_core::redact`].
#[derive(Clone, Deserialize)]
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
    #[serde(default, deserialize_with = "list_or_commas")]
    pub secret_keys: Vec<SecretString>,
    /// When auth tokens are fetched: `per_request` (default) or `cached`.
    pub auth_policy: Option<AuthPolicySetting>,
    /// The payment methods the account takes, per currency (`[one1pay.pay_methods]`,
    /// `VND = ["bank"]`); a deposit naming another is refused before sending.
    #[serde(default)]
    pub pay_methods: std::collections::BTreeMap<String, Vec<String>>,
    /// One1Pay: the `pay_method` sent for a deposit that names none, so one
    /// request serves every provider (Vpay88 takes no method: refused there).
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

/// `[onepunch]`. `Debug` shows no secret (see [`FormApiSection`]).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OnePunchSection {
    /// Base URL; defaults to the production API.
    pub base_url: Option<String>,
    /// Sub-account id.
    pub monster_token: Option<String>,
    /// Signing key.
    pub monster_key: Option<SecretString>,
    /// Default `notify_url`.
    pub notify_url: Option<String>,
    /// Default `return_url`.
    pub return_url: Option<String>,
    /// Default `payment_method` (`ali-person`), for a deposit that names none.
    pub payment_method: Option<String>,
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
            .field("limits_ttl_secs", &self.limits_ttl_secs)
            .finish()
    }
}

impl std::fmt::Debug for OnePunchSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnePunchSection")
            .field("base_url", &self.base_url.as_deref().map(redact::Url))
            .field("monster_token", &self.monster_token)
            .field("monster_key", &self.monster_key)
            .field("notify_url", &self.notify_url.as_deref().map(redact::Url))
            .field("return_url", &self.return_url.as_deref().map(redact::Url))
            .finish()
    }
}

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
pub enum AccountSection {
    /// A Vpay88 account.
    Vpay88(FormApiSection),
    /// A One1Pay account.
    One1Pay(FormApiSection),
    /// A ONE-PUNCH sub-account.
    OnePunch(OnePunchSection),
}

impl AccountSection {
    /// The provider the account belongs to.
    pub fn provider(&self) -> Provider {
        match self {
            AccountSection::Vpay88(_) => crate::providers::VPAY88,
            AccountSection::One1Pay(_) => crate::providers::ONE1PAY,
            AccountSection::OnePunch(_) => crate::providers::ONEPUNCH,
        }
    }

    /// Reads `[accounts.NAME]`: `provider` first, then the rest as that
    /// provider's section, errors naming `accounts.NAME.<key>`.
    fn read(name: &str, mut table: toml::Table, source: &str) -> Result<Self> {
        let key = |rest: &str| format!("accounts.{name}.{rest}");
        if !is_account_name(name) {
            return Err(Error::Config {
                key: format!("accounts.{name}"),
                reason: format!("in {source}: an account name is letters, digits, '-' or '_' (it is a URL path segment)"),
            });
        }
        let provider = match table.remove("provider") {
            Some(value) => read_value::<Provider>(value, source, &key("provider"))?,
            None => {
                return Err(Error::Config {
                    key: key("provider"),
                    reason: format!(
                        "is missing in {source} (or set PAYBRIDGE_ACCOUNTS_{}_PROVIDER)",
                        name.to_ascii_uppercase()
                    ),
                })
            }
        };
        let rest = toml::Value::Table(table);
        let prefix = format!("accounts.{name}");
        Ok(match provider {
            crate::providers::VPAY88 => AccountSection::Vpay88(read_value(rest, source, &prefix)?),
            crate::providers::ONE1PAY => {
                AccountSection::One1Pay(read_value(rest, source, &prefix)?)
            }
            crate::providers::ONEPUNCH => {
                AccountSection::OnePunch(read_value(rest, source, &prefix)?)
            }
            other => {
                return Err(Error::Config {
                    key: key("provider"),
                    reason: format!("in {source}: {other} is not built into paybridge"),
                })
            }
        })
    }
}

/// `provider` when paybridge has an adapter of that name; else an error
/// naming `key` and the source, listing the ones it has.
fn built_in(provider: Provider, key: &str, source: &str) -> Result<Provider> {
    crate::providers::built_in(provider.as_str()).map_err(|e| match e {
        Error::Config { reason, .. } => Error::Config {
            key: key.into(),
            reason: format!("in {source}: {reason}"),
        },
        other => other,
    })
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
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = match (prefix, path.as_str()) {
            ("", ".") => "file".to_owned(),
            ("", path) => path.to_owned(),
            (prefix, ".") => prefix.to_owned(),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        Error::Config {
            key,
            reason: format!("in {source}: {}", e.inner().message()),
        }
    })
}

/// The file's shape: what serde reads.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    provider: Option<Provider>,
    /// Read per account once its provider is known.
    #[serde(default)]
    accounts: std::collections::BTreeMap<String, toml::Table>,
    vpay88: Option<FormApiSection>,
    one1pay: Option<FormApiSection>,
    onepunch: Option<OnePunchSection>,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    callback: CallbackSection,
    #[serde(default)]
    ledger: LedgerSection,
}

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
    /// Vpay88 settings.
    pub vpay88: Option<FormApiSection>,
    /// One1Pay settings.
    pub one1pay: Option<FormApiSection>,
    /// ONE-PUNCH settings.
    pub onepunch: Option<OnePunchSection>,
    /// Named accounts (`[accounts.NAME]`), several per provider if need be.
    pub accounts: std::collections::BTreeMap<String, AccountSection>,
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

/// The sections environment variables can reach: `PAYBRIDGE_<SECTION>_<KEY>`.
const ENV_SECTIONS: [&str; 6] = [
    "vpay88", "one1pay", "onepunch", "http", "callback", "ledger",
];

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
    fn from_table(table: toml::Table, source: &str) -> Result<Self> {
        let file: File = read_value(toml::Value::Table(table), source, "")?;
        if let Some(provider) = file.provider {
            built_in(provider, "provider", source)?;
        }
        let accounts = file
            .accounts
            .into_iter()
            .map(|(name, table)| Ok((name.clone(), AccountSection::read(&name, table, source)?)))
            .collect::<Result<_>>()?;
        Ok(Config {
            provider: file.provider,
            vpay88: file.vpay88,
            one1pay: file.one1pay,
            onepunch: file.onepunch,
            accounts,
            http: file.http,
            callback: file.callback,
            ledger: file.ledger,
            source: source.to_owned(),
        })
    }

    /// The configured provider, or an error naming `provider`.
    pub fn provider(&self) -> Result<Provider> {
        self.provider
            .ok_or_else(|| self.missing("provider", "PAYBRIDGE_PROVIDER"))
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
        let mut form_api: Vec<&FormApiSection> = [&self.vpay88, &self.one1pay]
            .into_iter()
            .flatten()
            .collect();
        let mut onepunch: Vec<&OnePunchSection> = self.onepunch.iter().collect();
        for account in self.accounts.values() {
            match account {
                AccountSection::Vpay88(section) | AccountSection::One1Pay(section) => {
                    form_api.push(section)
                }
                AccountSection::OnePunch(section) => onepunch.push(section),
            }
        }
        let mut out = Vec::new();
        for section in form_api {
            out.extend(section.api_key.iter().map(|s| s.expose_secret()));
            out.extend(section.secret_key.iter().map(|s| s.expose_secret()));
            out.extend(section.secret_keys.iter().map(|s| s.expose_secret()));
        }
        for section in onepunch {
            out.extend(section.monster_key.iter().map(|s| s.expose_secret()));
        }
        out
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

/// A whole non-negative number, written as a TOML integer or, from the
/// environment, as text.
fn number<'de, D, N>(deserializer: D) -> std::result::Result<Option<N>, D::Error>
where
    D: Deserializer<'de>,
    N: TryFrom<u64>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Integer(u64),
        Text(String),
    }
    let value = match Written::deserialize(deserializer)? {
        Written::Integer(n) => Some(n),
        Written::Text(text) => text.trim().parse().ok(),
    };
    value
        .and_then(|n| N::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("must be a whole non-negative number"))
}

/// `true` or `false`, written as a TOML boolean or, from the environment, as text.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Flag(bool),
        Text(String),
    }
    match Written::deserialize(deserializer)? {
        Written::Flag(flag) => Ok(Some(flag)),
        Written::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom("must be true or false")),
        },
    }
}

/// A list of strings, or (from the environment) one comma-separated string.
fn list_or_commas<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        List(Vec<String>),
        Commas(String),
    }
    let list = match Written::deserialize(deserializer)? {
        Written::List(list) => list,
        Written::Commas(text) => text.split(',').map(|s| s.trim().to_owned()).collect(),
    };
    Ok(list.into_iter().map(SecretString::from).collect())
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
        let Some(section) = ENV_SECTIONS
            .iter()
            .find(|s| rest.starts_with(&format!("{s}_")))
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

/// Every key an `[accounts.NAME]` section may hold: a name may contain `_`
/// too, so `PAYBRIDGE_ACCOUNTS_<NAME>_<KEY>` is split at the known key.
const ACCOUNT_KEYS: [&str; 13] = [
    "provider",
    "base_url",
    "username",
    "api_key",
    "secret_key",
    "secret_keys",
    "auth_policy",
    "limits_ttl_secs",
    "monster_token",
    "monster_key",
    "notify_url",
    "return_url",
    "payment_method",
];

/// `PAYBRIDGE_ACCOUNTS_<NAME>_<KEY>`: sets `accounts.<name>.<key>`, matching a
/// file's account whatever its case and with `-` written as `_`.
fn apply_account_env(
    table: &mut toml::Table,
    variable: &str,
    name_and_key: &str,
    value: String,
) -> Result<()> {
    let split = ACCOUNT_KEYS
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
                ACCOUNT_KEYS.join(", ").to_ascii_uppercase()
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
        let vpay = config.vpay88.as_ref().unwrap();
        assert_eq!(
            vpay.api_key.as_ref().unwrap().expose_secret(),
            "env-api-key"
        );
        assert_eq!(vpay.secret_keys.len(), 2);
        assert_eq!(
            config.one1pay.as_ref().unwrap().secret_keys[1].expose_secret(),
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
        assert_eq!(
            config.onepunch.as_ref().unwrap().payment_method.as_deref(),
            Some("ali-person")
        );
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
        match &config.accounts["duit-now"] {
            AccountSection::Vpay88(section) => {
                assert_eq!(section.username.as_deref(), Some("env-user"))
            }
            other => panic!("duit-now is a Vpay88 account, read {other:?}"),
        }
        match &config.accounts["main"] {
            AccountSection::Vpay88(section) => assert_eq!(section.limits_ttl_secs, Some(0)),
            other => panic!("main is a Vpay88 account, read {other:?}"),
        }
        match &config.accounts["new_one"] {
            AccountSection::One1Pay(section) => assert_eq!(section.secret_keys.len(), 2),
            other => panic!("new_one is a One1Pay account, read {other:?}"),
        }
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
