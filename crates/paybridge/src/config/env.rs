//! `PAYBRIDGE_*` environment variables, applied over the file's table.

use paybridge_core::{Error, Result};

/// The sections of the facade's own that environment variables reach:
/// `PAYBRIDGE_<SECTION>_<KEY>`, beside every provider's.
const ENV_SECTIONS: [&str; 4] = ["http", "callback", "ledger", "serve"];

/// `PAYBRIDGE_PROVIDER` and `PAYBRIDGE_<SECTION>_<KEY>` override the file. Values
/// go in as text; the section's types read them.
pub(super) fn apply_env(
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
