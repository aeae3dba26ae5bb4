//! Every MD5 token and signature the paybridge providers use, as pure functions,
//! and the Standard Webhooks signature paybridge puts on its own events
//! ([`webhook`]).
//!
//! Nothing here does I/O or holds state. Inputs are named after the documents' own
//! variables so a reader can check each concatenation against the provider's text.
//! Digests come out as lowercase hex; [`verify_hex`] compares in constant time and
//! accepts either case.
//!
//! ```
//! use paybridge_signing::{form_callback_token, verify_hex};
//!
//! let token = form_callback_token("demo-secret-key", "ORDER-1");
//! assert!(verify_hex(&token, &token.to_uppercase()));
//! assert!(!verify_hex(&token, "00000000000000000000000000000000"));
//! ```
#![deny(missing_docs)]

mod explain;
pub mod webhook;

pub use explain::{
    explain_form_token, explain_onepunch_notification, Explanation, FormTokenContext, Mistake,
};

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// Names of the fields whose values are credentials, tokens or signatures in
/// any provider's requests, answers and callbacks: whatever shows a body (an
/// error, the sandbox's journal) hides their values. One list, beside the
/// functions that make those values.
pub const SECRET_FIELD_NAMES: [&str; 6] = [
    "auth",
    "api_key",
    "secret_key",
    "monster_key",
    "token",
    "signature",
];

/// Length of an MD5 digest written as hex.
pub const MD5_HEX_LEN: usize = 32;

/// The MD5 of the concatenation of `parts`, as 32 lowercase hex characters.
pub fn md5_hex(parts: &[&str]) -> String {
    let mut out = String::with_capacity(MD5_HEX_LEN);
    for byte in md5_digest(parts) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0x0f) as usize] as char);
    }
    out
}

/// The raw MD5 of the concatenation of `parts`.
fn md5_digest(parts: &[&str]) -> [u8; 16] {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// Whether `received` is the hex of `digest` (either case), compared in
/// constant time; anything that is not 32 hex characters never matches.
fn digest_matches(digest: &[u8; 16], received: &str) -> bool {
    let received = received.as_bytes();
    if received.len() != MD5_HEX_LEN {
        return false;
    }
    let mut decoded = [0u8; 16];
    let mut all_hex = true;
    for (slot, pair) in decoded.iter_mut().zip(received.chunks_exact(2)) {
        let (high, low) = (hex_value(pair[0]), hex_value(pair[1]));
        all_hex &= high.is_some() && low.is_some();
        *slot = (high.unwrap_or(0) << 4) | low.unwrap_or(0);
    }
    all_hex && bool::from(digest.ct_eq(&decoded))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Vpay88 / One1Pay callback token: `md5(secret_key + order_id)`.
///
/// The token covers neither the amount nor the status, so a verified callback must
/// still be confirmed against the status API before it is trusted.
pub fn form_callback_token(secret_key: &str, order_id: &str) -> String {
    md5_hex(&[secret_key, order_id])
}

/// ONE-PUNCH signature for the payment-methods and allowed-amounts calls:
/// `md5(magic_num + monster_token + monster_key)`.
pub fn onepunch_listing_signature(
    magic_num: u64,
    monster_token: &str,
    monster_key: &str,
) -> String {
    md5_hex(&[&magic_num.to_string(), monster_token, monster_key])
}

/// The fields of a ONE-PUNCH create-payment request that its signature covers.
#[derive(Debug, Clone, Copy)]
pub struct OnepunchCreateFields<'a> {
    /// Random number chosen for this request.
    pub magic_num: u64,
    /// Amount in fen (1 CNY = 100 fen).
    pub amount_fen: u64,
    /// Payment method code, e.g. `ali-person`.
    pub payment_method: &'a str,
    /// Sub-account id.
    pub monster_token: &'a str,
    /// Merchant order number; `None` signs as the empty string, as `order_num || ''` does.
    pub order_num: Option<&'a str>,
    /// Where the provider posts the notification.
    pub notify_url: &'a str,
    /// Where the payer's browser returns.
    pub return_url: &'a str,
}

/// ONE-PUNCH create-payment signature:
/// `md5(magic_num + amount + payment_method + monster_token + (order_num or "") + notify_url + return_url + monster_key)`.
pub fn onepunch_create_signature(fields: &OnepunchCreateFields<'_>, monster_key: &str) -> String {
    md5_hex(&[
        &fields.magic_num.to_string(),
        &fields.amount_fen.to_string(),
        fields.payment_method,
        fields.monster_token,
        fields.order_num.unwrap_or(""),
        fields.notify_url,
        fields.return_url,
        monster_key,
    ])
}

/// ONE-PUNCH payment-status signature:
/// `md5(payment_token + magic_num + monster_token + monster_key)`.
pub fn onepunch_status_signature(
    payment_token: &str,
    magic_num: u64,
    monster_token: &str,
    monster_key: &str,
) -> String {
    md5_hex(&[
        payment_token,
        &magic_num.to_string(),
        monster_token,
        monster_key,
    ])
}

/// The fields of a ONE-PUNCH notification that its signature covers.
#[derive(Debug, Clone, Copy)]
pub struct OnepunchNotificationFields<'a> {
    /// `transaction_status`; printed as JavaScript prints a boolean (`true` / `false`).
    pub transaction_status: bool,
    /// `message`, e.g. `TRANSACTION SUCCEED`.
    pub message: &'a str,
    /// The payment token the order was created with.
    pub payment_token: &'a str,
    /// Amount in fen, printed as JavaScript prints an integer.
    pub amount_fen: u64,
    /// Sub-account id.
    pub monster_token: &'a str,
    /// Merchant order number; `None` signs as the empty string.
    pub order_num: Option<&'a str>,
}

/// ONE-PUNCH notification signature:
/// `md5(payment_result + message + payment_token + amount + monster_token + (order_num or "") + monster_key)`.
pub fn onepunch_notification_signature(
    fields: &OnepunchNotificationFields<'_>,
    monster_key: &str,
) -> String {
    let mut buffer = itoa::Buffer::new();
    md5_hex(&notification_parts(fields, monster_key, &mut buffer))
}

/// Whether `received` is the signature of a ONE-PUNCH notification with these
/// fields (either case, compared in constant time). The same check as
/// comparing with [`onepunch_notification_signature`], without allocating.
pub fn onepunch_notification_matches(
    fields: &OnepunchNotificationFields<'_>,
    monster_key: &str,
    received: &str,
) -> bool {
    let mut buffer = itoa::Buffer::new();
    digest_matches(
        &md5_digest(&notification_parts(fields, monster_key, &mut buffer)),
        received,
    )
}

/// What a notification's signature covers, in order.
fn notification_parts<'a>(
    fields: &OnepunchNotificationFields<'a>,
    monster_key: &'a str,
    amount: &'a mut itoa::Buffer,
) -> [&'a str; 7] {
    [
        js_bool(fields.transaction_status),
        fields.message,
        fields.payment_token,
        amount.format(fields.amount_fen),
        fields.monster_token,
        fields.order_num.unwrap_or(""),
        monster_key,
    ]
}

/// A boolean as a JavaScript template literal prints it.
pub fn js_bool(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// Compares an expected hex digest with a received one in constant time.
///
/// Case is ignored (providers are not consistent about it). A received value of
/// the wrong length, or an empty expected value, never verifies: this fails closed.
pub fn verify_hex(expected: &str, received: &str) -> bool {
    let expected = expected.as_bytes();
    let received = received.as_bytes();
    if expected.is_empty() || expected.len() != received.len() {
        return false;
    }
    let mut lowered = [0u8; 64];
    if received.len() > lowered.len() {
        return false;
    }
    for (slot, byte) in lowered.iter_mut().zip(received) {
        *slot = byte.to_ascii_lowercase();
    }
    let mut expected_lowered = [0u8; 64];
    for (slot, byte) in expected_lowered.iter_mut().zip(expected) {
        *slot = byte.to_ascii_lowercase();
    }
    let n = received.len();
    expected_lowered[..n].ct_eq(&lowered[..n]).into()
}

/// Verifies `received` against the digest each candidate produces, touching every
/// candidate whatever the outcome so timing does not reveal which one matched.
///
/// Returns the index of the matching candidate. Used for merchants who hold one
/// secret per channel.
pub fn verify_any<I, S>(candidates: I, received: &str) -> Option<usize>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut found = None;
    for (index, expected) in candidates.into_iter().enumerate() {
        if verify_hex(expected.as_ref(), received) && found.is_none() {
            found = Some(index);
        }
    }
    found
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests;
