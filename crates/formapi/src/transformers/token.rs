//! The auth token: its form, its answer, and the form sent with it.

use std::fmt;

use paybridge_core::SecretString;
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

/// `/merchant/auth`. `Debug` shows no key.
#[derive(Serialize)]
pub struct AuthForm<'a> {
    /// The merchant user name.
    pub username: &'a str,
    /// The API key.
    pub api_key: &'a str,
}

/// A form sent with an auth token, the token first. `Debug` shows no token.
#[derive(Serialize)]
pub struct Authed<'a, F> {
    /// The auth token.
    pub auth: &'a str,
    /// The form.
    #[serde(flatten)]
    pub form: &'a F,
}

impl fmt::Debug for AuthForm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthForm")
            .field("username", &self.username)
            .field("api_key", &"[REDACTED]")
            .finish()
    }
}

impl<F: fmt::Debug> fmt::Debug for Authed<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authed")
            .field("auth", &"[REDACTED]")
            .field("form", self.form)
            .finish()
    }
}

/// `/merchant/auth`. `Debug` leaves the token out.
#[derive(Deserialize)]
pub struct AuthAnswer {
    /// The token.
    pub auth: Option<Scalar>,
    /// Live servers answer an `order_id` beside the token (observed by public
    /// integrations, which keep it as the provider's reference; the documents
    /// show none).
    pub order_id: Option<Scalar>,
}

impl std::fmt::Debug for AuthAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthAnswer")
            .field("auth", &self.auth.as_ref().map(|_| "[REDACTED]"))
            .field("order_id", &self.order_id)
            .finish()
    }
}

/// An auth token, and the `order_id` the server answered beside it. `Debug`
/// shows no token.
#[derive(Debug)]
pub struct AuthToken {
    /// The token.
    pub token: SecretString,
    /// The server's id for what this token is fetched for: the provider's
    /// reference of the order sent with it, when the order's own answer names none.
    pub order_id: Option<String>,
}

impl TryFrom<AuthAnswer> for AuthToken {
    type Error = AnswerError;

    fn try_from(answer: AuthAnswer) -> Result<Self, AnswerError> {
        Ok(AuthToken {
            token: SecretString::from(Scalar::required_text(answer.auth, "auth")?),
            order_id: Scalar::optional_text(answer.order_id),
        })
    }
}
