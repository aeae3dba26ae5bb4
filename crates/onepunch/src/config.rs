//! ONE-PUNCH's configuration: the `[onepunch]` (or `[accounts.NAME]`) section
//! and how a gateway is built from it.

use std::any::Any;
use std::sync::Arc;

use paybridge_core::{redact, ExposeSecret, PaymentGateway, Provider, Result, SecretString};
use paybridge_wire::section::{
    required_key, BuildContext, ProviderSection, SectionAt, SectionReader,
};
use serde::Deserialize;

use crate::{OnePunch, PROVIDER};

/// `[onepunch]`. `Debug` shows no secret: the key is a [`SecretString`] and
/// URLs are shown through [`paybridge_core::redact`].
#[derive(Clone, Default, Deserialize)]
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

impl std::fmt::Debug for OnePunchSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnePunchSection")
            .field("base_url", &self.base_url.as_deref().map(redact::Url))
            .field("monster_token", &self.monster_token)
            .field("monster_key", &self.monster_key)
            .field("notify_url", &self.notify_url.as_deref().map(redact::Url))
            .field("return_url", &self.return_url.as_deref().map(redact::Url))
            .field("payment_method", &self.payment_method)
            .finish()
    }
}

/// Every key an [`OnePunchSection`] may hold.
pub const SECTION_KEYS: &[&str] = &[
    "base_url",
    "monster_token",
    "monster_key",
    "notify_url",
    "return_url",
    "payment_method",
];

impl ProviderSection for OnePunchSection {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn secrets(&self) -> Vec<&str> {
        self.monster_key.iter().map(|k| k.expose_secret()).collect()
    }

    fn build(&self, context: &BuildContext<'_>) -> Result<Arc<dyn PaymentGateway>> {
        let at = &context.at;
        let token = required_key(at, "monster_token", self.monster_token.as_deref())?;
        let key = self
            .monster_key
            .as_ref()
            .ok_or_else(|| at.missing("monster_key"))?;
        let mut builder =
            OnePunch::builder(token, key.expose_secret()).transport(context.transport.clone());
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(url) = &self.notify_url {
            builder = builder.notify_url(url.clone());
        }
        if let Some(url) = &self.return_url {
            builder = builder.return_url(url.clone());
        }
        if let Some(method) = &self.payment_method {
            builder = builder.payment_method(method.clone());
        }
        Ok(Arc::new(builder.build()?))
    }

    fn clone_box(&self) -> Box<dyn ProviderSection> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Reads `[onepunch]` sections.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnePunchReader;

impl SectionReader for OnePunchReader {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn keys(&self) -> &'static [&'static str] {
        SECTION_KEYS
    }

    fn read(&self, value: toml::Value, at: &SectionAt<'_>) -> Result<Box<dyn ProviderSection>> {
        Ok(Box::new(at.read::<OnePunchSection>(value)?))
    }
}
