//! Credentials kept out of anything printed: the one place a URL is made fit
//! to show in `Debug`, `Display`, errors and logs.
//!
//! A URL's userinfo (`user:password@`) and the values of query parameters
//! that name a secret (`?password=`, `?token=`, `?api_key=`) are replaced by
//! [`REDACTED`]; everything else is kept, so `postgres://app:pw@db/orders`
//! shows as `postgres://app:[REDACTED]@db/orders`. A userinfo without a
//! password is hidden whole: a lone name there is often a token
//! (`https://TOKEN@host`).
//!
//! ```
//! use paybridge_core::redact;
//!
//! assert_eq!(
//!     redact::url("postgres://app:hunter2@db.internal:5432/orders"),
//!     "postgres://app:[REDACTED]@db.internal:5432/orders"
//! );
//! assert_eq!(
//!     format!("{:?}", redact::Url("https://u:p@pay.example/cb?sig=abc&id=7")),
//!     "\"https://u:[REDACTED]@pay.example/cb?sig=[REDACTED]&id=7\""
//! );
//! ```

use std::borrow::Cow;
use std::fmt;

/// What stands in for a hidden value.
pub const REDACTED: &str = "[REDACTED]";

/// Query parameter names (lower-cased) whose values are hidden when any of
/// these is part of the name.
const SECRET_PARAMETERS: [&str; 7] = ["pass", "pwd", "secret", "token", "key", "auth", "sig"];

/// `text` with the credentials of a URL hidden; borrowed when it has none.
/// Text that is not a URL comes back as it is.
pub fn url(text: &str) -> Cow<'_, str> {
    let mut shown = String::new();
    let mut rest = text;
    if let Some(scheme_end) = text.find("://").map(|at| at + 3) {
        let authority_end = text[scheme_end..]
            .find(['/', '?', '#'])
            .map_or(text.len(), |at| scheme_end + at);
        if let Some(at) = text[scheme_end..authority_end].rfind('@') {
            let userinfo = &text[scheme_end..scheme_end + at];
            shown.push_str(&text[..scheme_end]);
            match userinfo.split_once(':') {
                Some((user, _)) if !user.is_empty() => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(REDACTED);
                }
                _ => shown.push_str(REDACTED),
            }
            rest = &text[scheme_end + at..];
        }
    }
    let Some(query_start) = rest.find('?').map(|at| at + 1) else {
        return finish(text, shown, rest);
    };
    let query_end = rest[query_start..]
        .find('#')
        .map_or(rest.len(), |at| query_start + at);
    let query = &rest[query_start..query_end];
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_PARAMETERS.iter().any(|word| name.contains(word))
    };
    if !query
        .split('&')
        .any(|pair| pair.split_once('=').is_some_and(|(name, _)| secret(name)))
    {
        return finish(text, shown, rest);
    }
    shown.push_str(&rest[..query_start]);
    for (n, pair) in query.split('&').enumerate() {
        if n > 0 {
            shown.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if secret(name) => {
                shown.push_str(name);
                shown.push('=');
                shown.push_str(REDACTED);
            }
            _ => shown.push_str(pair),
        }
    }
    shown.push_str(&rest[query_end..]);
    Cow::Owned(shown)
}

/// `shown` followed by `rest`, or `text` itself when nothing was hidden.
fn finish<'a>(text: &'a str, mut shown: String, rest: &str) -> Cow<'a, str> {
    if shown.is_empty() {
        Cow::Borrowed(text)
    } else {
        shown.push_str(rest);
        Cow::Owned(shown)
    }
}

/// A URL shown with its credentials hidden: `Display` writes it bare,
/// `Debug` quoted, as a `String` field would be. For hand-written `Debug`
/// impls: `.field("base_url", &self.base_url.as_deref().map(redact::Url))`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Url<'a>(pub &'a str);

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&url(self.0))
    }
}

impl fmt::Debug for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*url(self.0), f)
    }
}

pub use paybridge_signing::SECRET_FIELD_NAMES;

/// A body as kept in an error or shown anywhere: lossy UTF-8, the values of [`SECRET_FIELD_NAMES`]
/// replaced by `[REDACTED]` (in JSON, forms and query strings alike, parsable or
/// not), cut at [`BODY_KEPT`] characters.
pub fn scrubbed(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let bytes = text.as_bytes();
    let mut out = String::new();
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        match secret_value_at(bytes, at) {
            Some((start, end)) => {
                out.push_str(&text[copied..start]);
                out.push_str("[REDACTED]");
                copied = end;
                at = end;
            }
            None => at += 1,
        }
    }
    out.push_str(&text[copied..]);
    if out.chars().count() > BODY_KEPT {
        out = out.chars().take(BODY_KEPT).collect();
        out.push('…');
    }
    out
}

/// The longest body, in characters, an error keeps.
pub const BODY_KEPT: usize = 1024;

/// Where the value of a secret field named at `at` lies, if one is named there:
/// the name on a boundary, then `"`?, `:` or `=`, and an optionally quoted value.
fn secret_value_at(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let on_boundary = at == 0
        || matches!(
            bytes[at - 1],
            b'"' | b'\'' | b'&' | b'?' | b'{' | b',' | b';'
        )
        || bytes[at - 1].is_ascii_whitespace();
    if !on_boundary {
        return None;
    }
    let name = SECRET_FIELD_NAMES
        .iter()
        .find(|name| bytes[at..].starts_with(name.as_bytes()))?;
    let skip_space = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut i = at + name.len();
    if matches!(bytes.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    i = skip_space(i);
    if !matches!(bytes.get(i), Some(b':' | b'=')) {
        return None;
    }
    i = skip_space(i + 1);
    let quoted = matches!(bytes.get(i), Some(b'"'));
    let start = if quoted { i + 1 } else { i };
    let mut end = start;
    while let Some(&b) = bytes.get(end) {
        let stop = if quoted {
            b == b'"' && bytes[end - 1] != b'\\'
        } else {
            matches!(b, b'&' | b',' | b'}' | b'"' | b';') || b.is_ascii_whitespace()
        };
        if stop {
            break;
        }
        end += 1;
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_secret_parameters_are_hidden_and_the_rest_kept() {
        let cases = [
            (
                "postgres://app:SECRET-pw@db:5432/orders",
                "postgres://app:[REDACTED]@db:5432/orders",
            ),
            (
                "postgresql://app:SECRET-pw@db/orders?sslmode=require",
                "postgresql://app:[REDACTED]@db/orders?sslmode=require",
            ),
            ("https://SECRET-token@host/x", "https://[REDACTED]@host/x"),
            ("https://:SECRET-pw@host", "https://[REDACTED]@host"),
            // An '@' in the password: the last one before the path ends the userinfo.
            (
                "postgres://app:SECRET@pw@db/orders",
                "postgres://app:[REDACTED]@db/orders",
            ),
            (
                "postgres://db/orders?user=app&password=SECRET-pw#x",
                "postgres://db/orders?user=app&password=[REDACTED]#x",
            ),
            (
                "https://m.example/cb?api_key=SECRET&Signature=SECRET&id=1",
                "https://m.example/cb?api_key=[REDACTED]&Signature=[REDACTED]&id=1",
            ),
            // An '@' after the path is not userinfo.
            ("https://host/a@b", "https://host/a@b"),
            (
                "sqlite://paybridge.db?mode=rwc",
                "sqlite://paybridge.db?mode=rwc",
            ),
            ("not a url", "not a url"),
            ("", ""),
        ];
        for (text, shown) in cases {
            assert_eq!(url(text), shown, "{text}");
            assert!(!url(text).contains("SECRET"), "{text}");
        }
        assert!(matches!(url("https://pay.example/api"), Cow::Borrowed(_)));
        assert_eq!(
            format!("{:?}", Url("https://u:SECRET@h")),
            "\"https://u:[REDACTED]@h\""
        );
        assert_eq!(
            Url("https://u:SECRET@h").to_string(),
            "https://u:[REDACTED]@h"
        );
    }

    #[test]
    fn kept_bodies_are_bounded_and_scrubbed() {
        let long = "x".repeat(5000);
        assert_eq!(scrubbed(long.as_bytes()).chars().count(), BODY_KEPT + 1);
        assert_eq!(
            scrubbed(br#"{"status":true,"auth" : "t5IF5r2f","payment_token":"PT-1"}"#),
            r#"{"status":true,"auth" : "[REDACTED]","payment_token":"PT-1"}"#
        );
        assert_eq!(
            scrubbed(b"username=demo&api_key=k3y&token=abc def"),
            "username=demo&api_key=[REDACTED]&token=[REDACTED] def"
        );
        assert_eq!(
            scrubbed(br#"{"auth":"unterminated"#),
            r#"{"auth":"[REDACTED]"#
        );
        assert_eq!(scrubbed(b"author=x&tokens=y"), "author=x&tokens=y");
    }
}
