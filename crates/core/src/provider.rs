//! The providers paybridge knows, named one way everywhere: the trait, errors,
//! configuration and output.

use std::fmt;

use crate::error::{Error, Result};

/// A payment provider.
///
/// The built-in adapters are [`Provider::Vpay88`], [`Provider::One1Pay`] and
/// [`Provider::OnePunch`]; a merchant's own adapter names itself with
/// [`Provider::Custom`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// Vpay88.
    Vpay88,
    /// One1Pay.
    One1Pay,
    /// ONE-PUNCH.
    OnePunch,
    /// An adapter outside paybridge, by its own snake-case name.
    Custom(&'static str),
}

impl Provider {
    /// Every built-in provider.
    pub const ALL: [Provider; 3] = [Provider::Vpay88, Provider::One1Pay, Provider::OnePunch];

    /// The name used in configuration, output and logs: `vpay88`, `one1pay`, `onepunch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Vpay88 => "vpay88",
            Provider::One1Pay => "one1pay",
            Provider::OnePunch => "onepunch",
            Provider::Custom(name) => name,
        }
    }

    /// Parses a built-in provider's name (case and surrounding space ignored).
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| Error::Config {
                key: "provider".into(),
                reason: Self::unknown(name),
            })
    }

    fn unknown(name: &str) -> String {
        format!(
            "{name:?} is not one of {}",
            Self::ALL.map(Provider::as_str).join(", ")
        )
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Provider::parse(&name).map_err(|_| serde::de::Error::custom(Self::unknown(&name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()).unwrap(), provider);
        }
        assert_eq!(Provider::parse(" VPAY88 ").unwrap(), Provider::Vpay88);
        let err = Provider::parse("paypal").unwrap_err().to_string();
        assert!(err.contains("vpay88, one1pay, onepunch"), "{err}");
    }
}
