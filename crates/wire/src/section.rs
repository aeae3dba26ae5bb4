//! A provider's configuration section, as its adapter reads it: the facade
//! keeps one registry of [`SectionReader`]s by provider name, hands each its
//! section of the TOML file, and builds a gateway from the [`ProviderSection`]
//! it read. An adapter thus owns its keys, its checks and its builder.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use paybridge_core::{Error, PaymentGateway, Provider, Result, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::transport::TransportConfig;

/// Where a section is configured: the key its errors name (`vpay88`,
/// `accounts.main`, `brands.fpay`), the prefix of its environment variables
/// (`PAYBRIDGE_VPAY88`) and the source read (a file's path).
#[derive(Debug, Clone, Copy)]
pub struct SectionAt<'a> {
    /// The section's key.
    pub key: &'a str,
    /// The prefix of the environment variables that reach its keys.
    pub env: &'a str,
    /// What was read, for error messages.
    pub source: &'a str,
}

impl SectionAt<'_> {
    /// The key `rest` of this section, as errors name it.
    pub fn key(&self, rest: &str) -> String {
        match rest {
            "" => self.key.to_owned(),
            rest => format!("{}.{rest}", self.key),
        }
    }

    /// A configuration error naming `rest` of this section and the source.
    pub fn error(&self, rest: &str, reason: impl fmt::Display) -> Error {
        Error::Config {
            key: self.key(rest),
            reason: format!("in {}: {reason}", self.source),
        }
    }

    /// The error for a required key left out, naming its variable too.
    pub fn missing(&self, rest: &str) -> Error {
        Error::Config {
            key: self.key(rest),
            reason: format!(
                "is missing in {} (or set {}_{})",
                self.source,
                self.env,
                rest.to_ascii_uppercase()
            ),
        }
    }

    /// Reads `value` as `T`; an error names its key within this section.
    pub fn read<T: DeserializeOwned>(&self, value: toml::Value) -> Result<T> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let rest = if path == "." { "" } else { path.as_str() };
            self.error(rest, e.inner().message())
        })
    }
}

/// What building a gateway from a section takes beyond the section itself.
#[derive(Debug, Clone)]
pub struct BuildContext<'a> {
    /// Where the section is configured.
    pub at: SectionAt<'a>,
    /// The `[http]` settings.
    pub transport: TransportConfig,
    /// The callback secrets of the provider's other configured sections, by
    /// section name: never verifying, only explaining a refused callback.
    pub other_accounts: &'a [(String, &'a str)],
}

/// One provider's section, read. `Debug` must show no secret.
pub trait ProviderSection: fmt::Debug + Send + Sync + 'static {
    /// The provider it configures.
    fn provider(&self) -> Provider;

    /// Every secret it holds, for log scrubbing checks.
    fn secrets(&self) -> Vec<&str>;

    /// The secrets a callback of this provider may be signed with.
    fn callback_secrets(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Builds the gateway; errors name keys under `context.at`.
    fn build(&self, context: &BuildContext<'_>) -> Result<Arc<dyn PaymentGateway>>;

    /// A copy, boxed.
    fn clone_box(&self) -> Box<dyn ProviderSection>;

    /// The adapter's own section type, for typed access.
    fn as_any(&self) -> &dyn Any;

    /// The same, to change it.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl Clone for Box<dyn ProviderSection> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// How one provider's section is read.
pub trait SectionReader: fmt::Debug + Send + Sync {
    /// The provider.
    fn provider(&self) -> Provider;

    /// Every key its section may hold (`PAYBRIDGE_ACCOUNTS_<NAME>_<KEY>` is
    /// split at one of them).
    fn keys(&self) -> &'static [&'static str];

    /// Reads the section; errors name keys under `at`.
    fn read(&self, value: toml::Value, at: &SectionAt<'_>) -> Result<Box<dyn ProviderSection>>;
}

/// A whole non-negative number, written as a TOML integer or, from the
/// environment, as text (`#[serde(default, deserialize_with = "number")]`).
pub fn number<'de, D, N>(deserializer: D) -> std::result::Result<Option<N>, D::Error>
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
pub fn flag<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<bool>, D::Error> {
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

/// A list of secrets, or (from the environment) one comma-separated string.
pub fn secret_list<'de, D: Deserializer<'de>>(
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

/// A required text value of a section: present and not blank, or the error
/// naming its key and variable.
pub fn required_key(at: &SectionAt<'_>, key: &str, value: Option<&str>) -> Result<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| at.missing(key))
}
