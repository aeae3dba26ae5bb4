//! A payment provider's name: one snake-case word, named one way everywhere (the
//! trait, errors, configuration, the ledger, output). Core knows no provider:
//! each adapter names its own (`paybridge_vpay88::PROVIDER`), and a brand of a
//! white-label API defined in configuration is named like any built-in one.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// The most characters a provider's name has.
pub const MAX_PROVIDER_NAME: usize = 32;

/// A payment provider, by name: `vpay88`, `one1pay`, `onepunch`, or a brand's
/// or a merchant's own adapter's. Cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provider(&'static str);

impl Provider {
    /// A provider named in code (an adapter's own constant). The name must be
    /// what [`Provider::parse`] accepts; a test of the adapter's holds it.
    pub const fn new(name: &'static str) -> Self {
        Provider(name)
    }

    /// A provider named at run time (configuration, the ledger, a CSV file):
    /// 1 to 32 lower-case ASCII letters, digits or `_`, starting with a letter
    /// (case and surrounding space ignored). Whether paybridge can build a
    /// gateway for it is the facade's registry's to say.
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase();
        let well_formed = !wanted.is_empty()
            && wanted.len() <= MAX_PROVIDER_NAME
            && wanted.starts_with(|c: char| c.is_ascii_lowercase())
            && wanted
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(Error::Config {
                key: "provider".into(),
                reason: format!(
                    "'{}' is not a provider name: 1 to {MAX_PROVIDER_NAME} lower-case letters, digits or '_', starting with a letter",
                    name.escape_debug()
                ),
            });
        }
        Ok(Provider(intern(wanted)))
    }

    /// The name used in configuration, output and logs.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Names read at run time are few (the configured providers and brands), so
/// each distinct one is kept for the process's life and shared.
fn intern(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(kept) = names.get(name.as_str()) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.into_boxed_str());
    names.insert(kept);
    kept
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.0)
    }
}

impl serde::Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Provider::parse(&name).map_err(|e| match e {
            Error::Config { reason, .. } => serde::de::Error::custom(reason),
            other => serde::de::Error::custom(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_once_shared_and_ill_formed_ones_refused() {
        let a = Provider::parse(" Fpay ").unwrap();
        let b = Provider::parse("fpay").unwrap();
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "one copy per name");
        assert_eq!(Provider::parse("vpay88").unwrap(), Provider::new("vpay88"));
        for bad in ["", "1pay", "pay-88", "pay pal", "p\u{e9}", &"a".repeat(33)] {
            let err = Provider::parse(bad).unwrap_err().to_string();
            assert!(err.contains("is not a provider name"), "{bad}: {err}");
        }
        assert_eq!(format!("{:?} {}", a, a), "fpay fpay");
    }
}
