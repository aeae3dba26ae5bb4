//! `[serve]`: how `paybridge serve` listens, who may call it, and where its
//! webhooks go. API keys are kept as `sha256:<hex>` of the key, never the key.

use std::time::Duration;

use serde::Deserialize;

use paybridge_core::{Error, Result};

/// The default largest request body: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A list written as a TOML array, or as one text of comma-separated items
/// (as an environment variable gives it).
#[derive(Clone, Default, Deserialize)]
#[serde(untagged)]
enum List {
    #[default]
    None,
    Items(Vec<String>),
    Text(String),
}

impl List {
    fn items(&self) -> Vec<String> {
        match self {
            List::None => Vec::new(),
            List::Items(items) => items.iter().map(|i| i.trim().to_owned()).collect(),
            List::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// `[serve.webhooks]`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksTable {
    url: Option<String>,
    #[serde(default)]
    secrets: List,
    retry_schedule: Option<toml::Value>,
    timeout: Option<toml::Value>,
}

/// The section as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServeTable {
    listen: Option<String>,
    #[serde(default)]
    api_keys: List,
    max_body: Option<toml::Value>,
    #[serde(default)]
    webhooks: WebhooksTable,
    // The environment's spellings of `[serve.webhooks]`'s keys:
    // PAYBRIDGE_SERVE_WEBHOOKS_URL, PAYBRIDGE_SERVE_WEBHOOKS_SECRETS,
    // PAYBRIDGE_SERVE_WEBHOOKS_RETRY_SCHEDULE and PAYBRIDGE_SERVE_WEBHOOKS_TIMEOUT.
    webhooks_url: Option<String>,
    #[serde(default)]
    webhooks_secrets: List,
    webhooks_retry_schedule: Option<toml::Value>,
    webhooks_timeout: Option<toml::Value>,
}

/// The most waits a retry schedule may list.
const MOST_RETRIES: usize = 100;

/// The longest an attempt's limit may be: its claim is held eight times as long.
const LONGEST_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A duration written as a whole number and its unit: `500ms`, `15s`, `5m`,
/// `2h` or `1d`.
fn duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms).map(Duration::from_millis)
}

/// `[serve]`, checked. `Debug` shows neither key hashes nor secrets.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ServeSection {
    /// The address to listen on (`127.0.0.1:8080` unless set).
    pub listen: Option<String>,
    /// The SHA-256 of each API key allowed to call `/v1`.
    pub api_key_hashes: Vec<[u8; 32]>,
    /// The largest request body taken, in bytes.
    pub max_body: usize,
    /// Where the ledger's events are sent, when set.
    pub webhooks_url: Option<String>,
    /// The secrets (`whsec_...`) they are signed with, the current one first.
    pub webhook_secrets: Vec<String>,
    /// The waits between a failed delivery's attempts (`retry_schedule`);
    /// `None`: the production schedule, `paybridge::webhooks::RETRY_SCHEDULE`.
    pub webhook_retry_schedule: Option<Vec<Duration>>,
    /// How long one attempt may take (`timeout`); `None`: 15 s,
    /// `paybridge::webhooks::ATTEMPT_TIMEOUT`.
    pub webhook_timeout: Option<Duration>,
}

impl std::fmt::Debug for ServeSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeSection")
            .field("listen", &self.listen)
            .field("api_keys", &self.api_key_hashes.len())
            .field("max_body", &self.max_body)
            .field(
                "webhooks_url",
                &self
                    .webhooks_url
                    .as_deref()
                    .map(paybridge_core::redact::Url),
            )
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("webhook_retry_schedule", &self.webhook_retry_schedule)
            .field("webhook_timeout", &self.webhook_timeout)
            .finish()
    }
}

/// `sha256:` and 64 hex digits, read as the 32 bytes they write.
fn key_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A retry schedule as written: an array of durations, or (from the
/// environment) one comma-separated text of them; at least one wait.
fn retry_schedule(value: toml::Value) -> std::result::Result<Vec<Duration>, String> {
    let written: Vec<toml::Value> = match value {
        toml::Value::Array(items) => items,
        toml::Value::String(text) => text
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| toml::Value::String(w.to_owned()))
            .collect(),
        other => vec![other],
    };
    if written.is_empty() {
        return Err("lists no wait; leave it out for the default schedule".into());
    }
    if written.len() > MOST_RETRIES {
        return Err(format!(
            "lists {} waits; at most {MOST_RETRIES}",
            written.len()
        ));
    }
    written
        .iter()
        .enumerate()
        .map(|(index, value)| {
            value
                .as_str()
                .and_then(duration)
                .filter(|w| !w.is_zero())
                .ok_or_else(|| {
                    format!(
                        "entry {} ({value}) is not a positive duration written with its unit, such as \"500ms\", \"5s\", \"30m\", \"2h\" or \"1d\"",
                        index + 1
                    )
                })
        })
        .collect()
}

impl ServeTable {
    /// The section checked: every API key a `sha256:<hex>` hash, a body limit
    /// a positive whole number of bytes.
    pub(super) fn check(self, source: &str) -> Result<ServeSection> {
        let refuse = |key: &str, reason: String| Error::Config {
            key: format!("serve.{key}"),
            reason: format!("in {source}: {reason}"),
        };
        let mut api_key_hashes = Vec::new();
        for (index, written) in self.api_keys.items().iter().enumerate() {
            let hash = key_hash(&written.to_ascii_lowercase()).ok_or_else(|| {
                refuse(
                    "api_keys",
                    format!(
                        "entry {} is not sha256:<64 hex digits>; store the SHA-256 of each key, never the key (paybridge serve --hash-key KEY prints it)",
                        index + 1
                    ),
                )
            })?;
            api_key_hashes.push(hash);
        }
        let max_body = match self.max_body {
            None => DEFAULT_MAX_BODY,
            Some(value) => {
                let number = match &value {
                    toml::Value::Integer(n) => u64::try_from(*n).ok(),
                    toml::Value::String(text) => text.trim().parse().ok(),
                    _ => None,
                };
                number
                    .filter(|n| *n > 0)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        refuse(
                            "max_body",
                            format!("{value} is not a positive number of bytes"),
                        )
                    })?
            }
        };
        let mut webhook_secrets = self.webhooks.secrets.items();
        webhook_secrets.extend(self.webhooks_secrets.items());
        for secret in &webhook_secrets {
            paybridge_signing::webhook::WebhookSecret::parse(secret)
                .map_err(|e| refuse("webhooks.secrets", e.to_string()))?;
        }
        let webhooks_url = self.webhooks_url.or(self.webhooks.url);
        if webhooks_url.is_some() && webhook_secrets.is_empty() {
            return Err(refuse(
                "webhooks.secrets",
                "webhooks need at least one secret (whsec_<base64>) to sign with".into(),
            ));
        }
        let webhook_retry_schedule = match self
            .webhooks_retry_schedule
            .or(self.webhooks.retry_schedule)
        {
            None => None,
            Some(value) => Some(
                retry_schedule(value)
                    .map_err(|reason| refuse("webhooks.retry_schedule", reason))?,
            ),
        };
        let webhook_timeout = match self.webhooks_timeout.or(self.webhooks.timeout) {
            None => None,
            Some(value) => Some(
                value
                    .as_str()
                    .and_then(duration)
                    .filter(|t| !t.is_zero() && *t <= LONGEST_WEBHOOK_TIMEOUT)
                    .ok_or_else(|| {
                        refuse(
                            "webhooks.timeout",
                            format!(
                                "{value} is not a duration from 1ms to 5m, written with its unit, such as \"500ms\" or \"15s\""
                            ),
                        )
                    })?,
            ),
        };
        Ok(ServeSection {
            listen: self.listen,
            api_key_hashes,
            max_body,
            webhooks_url,
            webhook_secrets,
            webhook_retry_schedule,
            webhook_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ServeSection> {
        let table: ServeTable = toml::from_str(text).unwrap();
        table.check("test.toml")
    }

    #[test]
    fn keys_are_hashes_from_an_array_or_a_comma_separated_text() {
        let hash = "sha256:".to_owned() + &"ab".repeat(32);
        let section = read(&format!("api_keys = [\"{hash}\"]")).unwrap();
        assert_eq!(section.api_key_hashes, vec![[0xab; 32]]);
        let section = read(&format!(
            "api_keys = \"{hash}, {}\"",
            hash.to_uppercase().replace("SHA256", "sha256")
        ))
        .unwrap();
        assert_eq!(section.api_key_hashes.len(), 2);
        assert_eq!(section.max_body, DEFAULT_MAX_BODY);
    }

    #[test]
    fn a_key_written_as_itself_or_a_bad_limit_is_refused_by_name() {
        let err = read("api_keys = [\"my-secret-key\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("serve.api_keys") && err.contains("entry 1"),
            "{err}"
        );
        assert!(
            !err.contains("my-secret-key"),
            "the key itself is never repeated: {err}"
        );
        let err = read("max_body = 0").unwrap_err().to_string();
        assert!(err.contains("serve.max_body"), "{err}");
        let err = read("[webhooks]\nurl = \"https://m.example/hooks\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.webhooks.secrets"), "{err}");
        assert!(format!("{:?}", read("").unwrap()).contains("api_keys: 0"));
    }

    #[test]
    fn a_retry_schedule_and_timeout_are_durations_with_their_units() {
        let section = read("").unwrap();
        assert_eq!(section.webhook_retry_schedule, None);
        assert_eq!(section.webhook_timeout, None);
        let section =
            read("[webhooks]\nretry_schedule = [\"500ms\", \"5s\", \"30m\", \"2h\", \"1d\"]\ntimeout = \"3s\"")
                .unwrap();
        assert_eq!(
            section.webhook_retry_schedule,
            Some(vec![
                Duration::from_millis(500),
                Duration::from_secs(5),
                Duration::from_secs(30 * 60),
                Duration::from_secs(2 * 3600),
                Duration::from_secs(24 * 3600),
            ])
        );
        assert_eq!(section.webhook_timeout, Some(Duration::from_secs(3)));
        // The environment's spelling: one comma-separated text, over the file's.
        let section = read(
            "webhooks_retry_schedule = \"1s, 2s\"\nwebhooks_timeout = \"250ms\"\n\
             [webhooks]\nretry_schedule = [\"9h\"]\ntimeout = \"9s\"",
        )
        .unwrap();
        assert_eq!(
            section.webhook_retry_schedule,
            Some(vec![Duration::from_secs(1), Duration::from_secs(2)])
        );
        assert_eq!(section.webhook_timeout, Some(Duration::from_millis(250)));
    }

    #[test]
    fn a_bad_wait_or_timeout_is_refused_by_its_key() {
        let err = read("[webhooks]\ntimeout = 15").unwrap_err().to_string();
        assert!(err.contains("serve.webhooks.timeout"), "{err}");
        let err = read("[webhooks]\nretry_schedule = [\"1s\", 5]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 2"), "{err}");
        for bad in [
            "\"5\"",
            "\"5 seconds\"",
            "\"0s\"",
            "\"-1s\"",
            "\"1.5s\"",
            "\"s\"",
        ] {
            let err = read(&format!("[webhooks]\nretry_schedule = [\"1s\", {bad}]"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("serve.webhooks.retry_schedule") && err.contains("entry 2"),
                "{bad}: {err}"
            );
            let err = read(&format!("[webhooks]\ntimeout = {bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("serve.webhooks.timeout"), "{bad}: {err}");
        }
        let err = read("[webhooks]\ntimeout = \"6m\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.webhooks.timeout"), "{err}");
        let err = read("[webhooks]\nretry_schedule = []")
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.webhooks.retry_schedule"), "{err}");
        let long = vec!["\"1s\""; MOST_RETRIES + 1].join(", ");
        let err = read(&format!("[webhooks]\nretry_schedule = [{long}]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.webhooks.retry_schedule"), "{err}");
        let err = read("webhooks_timeout = \"fast\"").unwrap_err().to_string();
        assert!(err.contains("serve.webhooks.timeout"), "{err}");
    }
}
