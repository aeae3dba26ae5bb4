//! Standard Webhooks signatures, as paybridge signs the events it sends to a
//! merchant's application: HMAC-SHA256 over `id.timestamp.body`, written
//! `v1,<base64>`; one per secret while secrets rotate, space-separated in the
//! `webhook-signature` header.
//!
//! ```
//! use paybridge_signing::webhook::WebhookSecret;
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let body = br#"{"test": 2432232314}"#;
//! let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
//! assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! assert!(paybridge_signing::webhook::verify(
//!     &[secret],
//!     "msg_p5jXN8AQM9LWM0D4loKWxJek",
//!     1614265330,
//!     body,
//!     &signature,
//! ));
//! ```

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix of a symmetric secret's text.
pub const SECRET_PREFIX: &str = "whsec_";

/// The fewest bytes a secret may have: the specification asks for 24 to 64
/// random bytes.
pub const MIN_SECRET_BYTES: usize = 24;

/// The most bytes a secret may have.
pub const MAX_SECRET_BYTES: usize = 64;

/// A symmetric signing secret. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

/// Why a secret's text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// It does not start with `whsec_`.
    Prefix,
    /// What follows `whsec_` is not base64.
    Base64,
    /// It decodes to fewer than 24 or more than 64 bytes; how many it has.
    Length(usize),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Prefix => write!(f, "a webhook secret starts with {SECRET_PREFIX}"),
            SecretError::Base64 => write!(f, "what follows {SECRET_PREFIX} is not base64"),
            SecretError::Length(n) => write!(
                f,
                "a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes; this one holds {n}"
            ),
        }
    }
}

impl std::error::Error for SecretError {}

impl WebhookSecret {
    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// A secret of `bytes` (24 to 64 random bytes), as `whsec_` text would give.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Self {
            key: bytes.to_vec(),
        })
    }

    /// The secret as `whsec_<base64>`, to give the receiving application.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// The signature of one delivery: `v1,` and the base64 HMAC-SHA256 of
    /// `id.timestamp.body`. `id` must hold no `.` (paybridge's event ids are
    /// letters, digits and `_`), or the signed text would be ambiguous.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(itoa::Buffer::new().format(timestamp).as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated,
/// the current secret first.
pub fn signature_header(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any `v1` signature in `header` was made by any of `secrets` over
/// `id.timestamp.body`, compared in constant time. Signatures of other
/// schemes in the header are skipped, as the specification asks.
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|secret| secret.mac(id, timestamp, body))
        .collect();
    header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|given| {
            expected
                .iter()
                .any(|mac| bool::from(mac.as_slice().ct_eq(given.as_slice())))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const AT: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn the_specifications_own_example_signs_to_its_published_signature() {
        let secret = WebhookSecret::parse(KEY).unwrap();
        assert_eq!(
            secret.sign(ID, AT, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(secret.to_text(), KEY);
    }

    #[test]
    fn rotating_secrets_sign_once_each_and_either_verifies() {
        let old = WebhookSecret::parse(KEY).unwrap();
        let new = WebhookSecret::from_bytes(&[7u8; 32]).unwrap();
        let header = signature_header(&[new.clone(), old.clone()], ID, AT, BODY);
        assert_eq!(header.split(' ').count(), 2);
        let old = std::slice::from_ref(&old);
        assert!(verify(old, ID, AT, BODY, &header));
        assert!(verify(&[new], ID, AT, BODY, &header));
        // Any change to the id, the timestamp or the body breaks it.
        assert!(!verify(old, "msg_other", AT, BODY, &header));
        assert!(!verify(old, ID, AT + 1, BODY, &header));
        assert!(!verify(old, ID, AT, br#"{"test": 2432232315}"#, &header));
    }

    #[test]
    fn a_header_of_other_schemes_or_broken_base64_verifies_nothing() {
        let secret = WebhookSecret::parse(KEY).unwrap();
        for header in [
            "",
            "v1,",
            "v1,!!!",
            "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v2,x",
        ] {
            assert!(
                !verify(std::slice::from_ref(&secret), ID, AT, BODY, header),
                "{header}"
            );
        }
    }

    #[test]
    fn a_secret_without_its_prefix_not_base64_or_too_short_is_refused_and_debug_hides_it() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::Prefix
        );
        assert_eq!(
            WebhookSecret::parse("whsec_***").unwrap_err(),
            SecretError::Base64
        );
        assert_eq!(
            WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
            SecretError::Length(5)
        );
        let shown = format!("{:?}", WebhookSecret::parse(KEY).unwrap());
        assert!(!shown.contains("MfKQ"), "{shown}");
    }
}
