//! The section readers one configuration knows: the registry's and its brands'.

use std::collections::BTreeMap;
use std::sync::Arc;

use paybridge_core::{Error, Provider, Result};
use paybridge_wire::section::{SectionAt, SectionReader};

use super::table::rekey;

/// The readers of one configuration's providers: the registry's built-in
/// ones and the brands it configures.
#[derive(Debug, Clone, Default)]
pub(super) struct Readers {
    pub(super) brands: BTreeMap<Provider, Arc<dyn SectionReader>>,
}

impl Readers {
    pub(super) fn find(&self, provider: Provider) -> Option<Arc<dyn SectionReader>> {
        crate::providers::reader(provider).or_else(|| self.brands.get(&provider).cloned())
    }

    /// Every provider with a reader, built-in first.
    pub(super) fn names(&self) -> Vec<Provider> {
        crate::providers::BUILT_IN
            .into_iter()
            .chain(self.brands.keys().copied())
            .collect()
    }

    /// The reader of `provider`, or an error naming `key` and listing them.
    pub(super) fn get(
        &self,
        provider: Provider,
        key: &str,
        source: &str,
    ) -> Result<Arc<dyn SectionReader>> {
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
    pub(super) fn read_brands(brands: toml::Value, source: &str) -> Result<Self> {
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
