//! Auth tokens: fetched per request (the documents' flow) or cached.

use std::sync::Mutex;

use paybridge_core::{Error, SecretString};

/// When auth tokens are fetched. The documents do not say how long one lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthPolicy {
    /// A fresh token before every call that needs one (what the documents' flow does).
    #[default]
    PerRequest,
    /// Reuse one token; on `Params incorrect`, fetch a new one and try once more.
    Cached,
}

/// The token kept under [`AuthPolicy::Cached`].
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    policy: AuthPolicy,
    token: Mutex<Option<SecretString>>,
}

impl AuthCache {
    pub(crate) fn new(policy: AuthPolicy) -> Self {
        Self {
            policy,
            token: Mutex::new(None),
        }
    }

    pub(crate) fn policy(&self) -> AuthPolicy {
        self.policy
    }

    /// The cached token, unless the policy fetches one per request.
    pub(crate) fn get(&self) -> Option<SecretString> {
        match self.policy {
            AuthPolicy::PerRequest => None,
            AuthPolicy::Cached => self.lock().clone(),
        }
    }

    /// Keeps `token` where the policy caches.
    pub(crate) fn keep(&self, token: &SecretString) {
        if self.policy == AuthPolicy::Cached {
            *self.lock() = Some(token.clone());
        }
    }

    /// A token is only ever replaced whole, so one left by a panicked task is
    /// still a token (or none): recover it rather than fail every later call.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SecretString>> {
        self.token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether an error means the token itself was refused (and nothing was done).
pub(crate) fn token_refused(err: &Error) -> bool {
    err.refusal_kind() == Some(paybridge_core::RefusalKind::Unauthorized)
}
