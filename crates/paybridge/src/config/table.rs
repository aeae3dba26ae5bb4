//! Reading a configuration's table: the facade's own keys taken out, every
//! other one handed to its provider's reader.

use std::collections::BTreeMap;

use paybridge_core::{Error, Provider, Result};
use paybridge_wire::section::SectionAt;

use super::readers::Readers;
use super::{AccountSection, CallbackSection, Config, HttpSection, LedgerSection};
use crate::SectionName;

/// The keys of the file the facade reads itself; every other is a provider's section.
const OWN_KEYS: [&str; 7] = [
    "provider", "accounts", "brands", "http", "callback", "ledger", "serve",
];

impl Config {
    /// Reads a table as written (environment applied), errors naming `source`.
    pub(super) fn from_table(mut table: toml::Table, source: &str) -> Result<Self> {
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
        let serve =
            read_own::<super::serve::ServeTable>(&mut table, "serve", source)?.check(source)?;
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
            serve,
            source: source.to_owned(),
        })
    }
}

/// `err` naming `key` (a value read alone names no key of its own).
pub(super) fn rekey(err: Error, key: &str) -> Error {
    match err {
        Error::Config { reason, .. } => Error::Config {
            key: key.into(),
            reason,
        },
        other => other,
    }
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
