//! Configuration: a TOML file, overridden by `PAYBRIDGE_*` environment variables.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use paybridge_core::transport::{ResolvePolicy, RetryPolicy, TransportConfig};
use paybridge_core::{Error, ExposeSecret, Result, SecretString};
use paybridge_formapi::AuthPolicy;
use serde::Deserialize;

/// The providers paybridge can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderName {
    /// Vpay88.
    Vpay88,
    /// One1Pay.
    One1pay,
    /// ONE-PUNCH.
    Onepunch,
}

impl ProviderName {
    /// Every provider.
    pub const ALL: [ProviderName; 3] = [
        ProviderName::Vpay88,
        ProviderName::One1pay,
        ProviderName::Onepunch,
    ];

    /// The configuration section and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Vpay88 => "vpay88",
            ProviderName::One1pay => "one1pay",
            ProviderName::Onepunch => "onepunch",
        }
    }

    /// Parses a provider name.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::Config {
                key: "provider".into(),
                reason: format!("{name:?} is not one of vpay88, one1pay, onepunch"),
            })
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[vpay88]` and `[one1pay]`.
#[derive(Debug, Clone, Deserialize)]
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
    #[serde(default)]
    pub secret_keys: Vec<SecretString>,
    /// `per_request` (default) or `cached`.
    pub auth_policy: Option<String>,
}

/// `[onepunch]`.
#[derive(Debug, Clone, Deserialize)]
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
}

/// `[http]`: timeouts and retries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpSection {
    /// Connect timeout, milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// Per-attempt timeout, milliseconds.
    pub request_timeout_ms: Option<u64>,
    /// Attempts for reads, the first included.
    pub read_attempts: Option<u32>,
    /// Status queries made to resolve an unknown outcome.
    pub resolve_attempts: Option<u32>,
    /// Pause between those queries, milliseconds.
    pub resolve_delay_ms: Option<u64>,
    /// The largest answer read, bytes (1 MiB by default).
    pub max_answer_bytes: Option<u64>,
    /// A whole operation's deadline, resolution included, milliseconds (60 s by default).
    pub operation_deadline_ms: Option<u64>,
}

/// `[callback]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CallbackSection {
    /// The body answered to an accepted callback; `success` by default.
    pub answer: Option<String>,
}

/// The whole configuration. `Debug` shows no secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Which provider [`crate::Gateway::from_config`] builds.
    pub provider: Option<ProviderName>,
    /// Vpay88 settings.
    pub vpay88: Option<FormApiSection>,
    /// One1Pay settings.
    pub one1pay: Option<FormApiSection>,
    /// ONE-PUNCH settings.
    pub onepunch: Option<OnePunchSection>,
    /// Timeouts and retries.
    pub http: HttpSection,
    /// Callback answers.
    pub callback: CallbackSection,
    /// Where the file was read from, for error messages.
    pub source: String,
}

const SECTIONS: [&str; 5] = ["vpay88", "one1pay", "onepunch", "http", "callback"];

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
            key: error_key(&e),
            reason: format!("in {source}: {}", e.message()),
        })?;
        apply_env(&mut table, env)?;
        // Each part is read on its own so an error names its key.
        let mut config = Config {
            provider: None,
            vpay88: None,
            one1pay: None,
            onepunch: None,
            http: HttpSection::default(),
            callback: CallbackSection::default(),
            source: source.to_owned(),
        };
        for (key, value) in table {
            check_types(&key, &value, source)?;
            let bad = |e: toml::de::Error| Error::Config {
                key: match error_key(&e) {
                    field if field == "file" => key.clone(),
                    field => format!("{key}.{field}"),
                },
                reason: format!("in {source}: {}", e.message()),
            };
            match key.as_str() {
                "provider" => match value.as_str() {
                    Some(name) => {
                        config.provider =
                            Some(ProviderName::parse(name).map_err(|_| Error::Config {
                                key: "provider".into(),
                                reason: format!(
                                    "in {source}: {name:?} is not one of vpay88, one1pay, onepunch"
                                ),
                            })?)
                    }
                    None => {
                        return Err(Error::Config {
                            key,
                            reason: format!("in {source}: must be a string"),
                        })
                    }
                },
                "vpay88" => config.vpay88 = Some(value.try_into().map_err(bad)?),
                "one1pay" => config.one1pay = Some(value.try_into().map_err(bad)?),
                "onepunch" => config.onepunch = Some(value.try_into().map_err(bad)?),
                "http" => config.http = value.try_into().map_err(bad)?,
                "callback" => config.callback = value.try_into().map_err(bad)?,
                _ => {
                    return Err(Error::Config {
                        key,
                        reason: format!(
                            "in {source}: unknown key (expected provider, {})",
                            SECTIONS.join(", ")
                        ),
                    })
                }
            }
        }
        Ok(config)
    }

    /// The configured provider, or an error naming `provider`.
    pub fn provider(&self) -> Result<ProviderName> {
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

    pub(crate) fn auth_policy(&self, section: &str, value: &Option<String>) -> Result<AuthPolicy> {
        match value.as_deref() {
            None | Some("per_request") => Ok(AuthPolicy::PerRequest),
            Some("cached") => Ok(AuthPolicy::Cached),
            Some(other) => Err(Error::Config {
                key: format!("{section}.auth_policy"),
                reason: format!("in {}: {other:?} is not per_request or cached", self.source),
            }),
        }
    }

    /// The body answered to an accepted callback.
    pub fn callback_answer(&self) -> &str {
        self.callback.answer.as_deref().unwrap_or("success")
    }

    /// Every secret configured, for log scrubbing checks.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for section in [&self.vpay88, &self.one1pay].into_iter().flatten() {
            out.extend(section.api_key.iter().map(|s| s.expose_secret()));
            out.extend(section.secret_key.iter().map(|s| s.expose_secret()));
            out.extend(section.secret_keys.iter().map(|s| s.expose_secret()));
        }
        if let Some(section) = &self.onepunch {
            out.extend(section.monster_key.iter().map(|s| s.expose_secret()));
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Texts,
    Number,
}

fn schema(section: &str) -> &'static [(&'static str, Kind)] {
    match section {
        "vpay88" | "one1pay" => &[
            ("base_url", Kind::Text),
            ("username", Kind::Text),
            ("api_key", Kind::Text),
            ("secret_key", Kind::Text),
            ("secret_keys", Kind::Texts),
            ("auth_policy", Kind::Text),
        ],
        "onepunch" => &[
            ("base_url", Kind::Text),
            ("monster_token", Kind::Text),
            ("monster_key", Kind::Text),
            ("notify_url", Kind::Text),
            ("return_url", Kind::Text),
        ],
        "http" => &[
            ("connect_timeout_ms", Kind::Number),
            ("request_timeout_ms", Kind::Number),
            ("read_attempts", Kind::Number),
            ("resolve_attempts", Kind::Number),
            ("resolve_delay_ms", Kind::Number),
            ("max_answer_bytes", Kind::Number),
            ("operation_deadline_ms", Kind::Number),
        ],
        "callback" => &[("answer", Kind::Text)],
        _ => &[],
    }
}

/// Checks every key of a section against its expected type, so an error can
/// name `section.key` (serde's own messages do not say which key).
fn check_types(section: &str, value: &toml::Value, source: &str) -> Result<()> {
    let Some(table) = value.as_table() else {
        return Ok(());
    };
    if !SECTIONS.contains(&section) {
        return Ok(()); // reported as an unknown key by the caller
    }
    let expected = schema(section);
    for (key, value) in table {
        let error = |reason: String| Error::Config {
            key: format!("{section}.{key}"),
            reason: format!("in {source}: {reason}"),
        };
        let Some((_, kind)) = expected.iter().find(|(name, _)| name == key) else {
            return Err(error("unknown key".into()));
        };
        let fits = match kind {
            Kind::Text => value.is_str(),
            Kind::Texts => value
                .as_array()
                .is_some_and(|a| a.iter().all(toml::Value::is_str)),
            Kind::Number => value.as_integer().is_some_and(|n| n >= 0),
        };
        if !fits {
            let wanted = match kind {
                Kind::Text => "a string",
                Kind::Texts => "a list of strings",
                Kind::Number => "a whole non-negative number",
            };
            return Err(error(format!(
                "must be {wanted}, found {}",
                value.type_str()
            )));
        }
    }
    Ok(())
}

fn error_key(e: &toml::de::Error) -> String {
    // toml reports "unknown field `x`" and "missing field `x`" in the message.
    let message = e.message();
    message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .map(str::to_owned)
        .unwrap_or_else(|| "file".into())
}

/// `PAYBRIDGE_PROVIDER` and `PAYBRIDGE_<SECTION>_<KEY>` override the file.
/// `..._SECRET_KEYS` takes a comma-separated list.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<()> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("PAYBRIDGE_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        if rest == "provider" {
            table.insert("provider".into(), toml::Value::String(value));
            continue;
        }
        let Some(section) = SECTIONS.iter().find(|s| rest.starts_with(&format!("{s}_"))) else {
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
        let parsed = if key == "secret_keys" {
            toml::Value::Array(
                value
                    .split(',')
                    .map(|s| toml::Value::String(s.trim().to_owned()))
                    .collect(),
            )
        } else if key.ends_with("_ms") || key.ends_with("_attempts") {
            value
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| Error::Config {
                    key: format!("{section}.{key}"),
                    reason: format!("{name} must be a whole number"),
                })?
        } else {
            toml::Value::String(value)
        };
        section_table.insert(key.to_owned(), parsed);
    }
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
            ("UNRELATED".into(), "x".into()),
        ];
        let config = Config::from_toml_with_env(FILE, "test.toml", env).unwrap();
        assert_eq!(config.provider().unwrap(), ProviderName::Onepunch);
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
        for (text, key) in cases {
            match Config::from_toml(text, "my.toml").unwrap_err() {
                Error::Config { key: named, reason } => {
                    assert_eq!(named, key, "{text}: {reason}");
                    assert!(reason.contains("my.toml"), "{reason}");
                }
                other => panic!("{text}: {other}"),
            }
        }
        let env = [(
            "PAYBRIDGE_HTTP_READ_ATTEMPTS".to_string(),
            "many".to_string(),
        )];
        let err = Config::from_toml_with_env("", "x", env).unwrap_err();
        assert!(err.to_string().contains("http.read_attempts"), "{err}");
    }
}
