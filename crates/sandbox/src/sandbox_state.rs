//! The state every handler of a sandbox shares, and how it is built from a
//! configuration.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::config::{self, Profile, SandboxConfig};
use crate::state::{FormProvider, State};
use crate::{faults, journal, recording};

/// What every handler of a sandbox shares: its configuration, mounts, orders,
/// journal, faults, the HTTP client it calls merchants back with, its address
/// and its token.
#[derive(Debug)]
pub struct SandboxState {
    pub(crate) config: SandboxConfig,
    /// Every form-API mount: Vpay88, One1Pay, then each configured brand.
    pub(crate) mounts: Vec<FormProvider>,
    pub(crate) state: Mutex<State>,
    pub(crate) journal: Mutex<journal::Journal>,
    pub(crate) faults: Mutex<faults::Faults>,
    pub(crate) client: reqwest::Client,
    pub(crate) base_url: Mutex<String>,
    /// Required by the dashboard and the control endpoints when the sandbox
    /// listens beyond loopback.
    pub(crate) token: OnceLock<String>,
}

impl SandboxState {
    /// The form-API mount named `name`, if any.
    pub(crate) fn mount(&self, name: &str) -> Option<FormProvider> {
        self.mounts.iter().copied().find(|m| m.name() == name)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panicked handler must not take the whole sandbox down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn journal(&self) -> MutexGuard<'_, journal::Journal> {
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A JSON answer, with the documents' trailing comma when configured.
    pub(crate) fn reply(&self, value: impl serde::Serialize) -> Response {
        let text = if self.config.trailing_commas {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            match pretty.rfind("\n}") {
                Some(at) if pretty.len() > 2 => format!("{},{}", &pretty[..at], &pretty[at..]),
                _ => pretty,
            }
        } else {
            serde_json::to_string(&value).unwrap_or_default()
        };
        let body = Bytes::from(text);
        recording::answered(&body);
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl SandboxState {
    /// Fresh state from a configuration.
    pub fn new(mut config: SandboxConfig) -> Self {
        if config.profile == Profile::Observed {
            config::add_observed_currencies(&mut config);
        }
        let mut state = State::default();
        let brands = config
            .brands
            .iter()
            .map(|brand| FormProvider::brand(&brand.name, brand.like));
        let mounts: Vec<FormProvider> = [FormProvider::VPAY88, FormProvider::ONE1PAY]
            .into_iter()
            .chain(brands)
            .collect();
        for &provider in &mounts {
            for merchant in config.merchants(provider.name()) {
                for (currency, amount) in &merchant.balances {
                    state.balances.insert(
                        (provider, merchant.username.clone(), currency.clone()),
                        *amount,
                    );
                }
            }
        }
        // Callbacks follow no redirect: a provider posts to the merchant's
        // address and nowhere else.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "the callback client could not be built with its timeout; using one without");
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default()
            });
        let faults = Mutex::new(faults::Faults::new(config.faults.clone()));
        let journal = Mutex::new(journal::Journal::with_budget(
            config.max_orders,
            config.journal_bytes,
        ));
        Self {
            config,
            mounts,
            state: Mutex::new(state),
            journal,
            faults,
            client,
            base_url: Mutex::new(String::new()),
            token: OnceLock::new(),
        }
    }
}
