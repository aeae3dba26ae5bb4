//! `[accounts.NAME]`: named merchant accounts, each read by its provider's reader.

use paybridge_core::{Provider, Result};
use paybridge_wire::section::{ProviderSection, SectionAt};

use super::readers::Readers;
use super::table::rekey;
use crate::SectionName;

/// `[accounts.NAME]`: one merchant account of a provider. The section's keys
/// are those of the provider's own section, beside `provider`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountSection {
    provider: Provider,
    pub(super) section: Box<dyn ProviderSection>,
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
    pub(super) fn read(
        name: &str,
        mut table: toml::Table,
        readers: &Readers,
        source: &str,
    ) -> Result<Self> {
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

/// Letters, digits, `-` and `_`: a name that is a URL path segment and an
/// environment variable's part alike.
fn is_account_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
