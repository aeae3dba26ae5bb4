//! A provider's address, checked once when the gateway is built, and the
//! endpoints under it.

use bytes::Bytes;
use paybridge_core::{Error, Result};

/// A provider's base URL, checked and parsed once when the gateway is built.
///
/// A URL given as text is parsed again on every request by most clients, its
/// host through IDNA included: more work than the rest of paybridge's on a
/// call. An endpoint is this URL's normalised text with the endpoint's path
/// appended, read as an HTTP URI, which parses no host again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    text: String,
    parsed: reqwest::Url,
    /// The normalised URL without a trailing `/`: a path is appended to it.
    prefix: String,
}

impl BaseUrl {
    /// A configured base URL, trimmed and without a trailing `/`; anything but
    /// an http(s) URL with a host, or one carrying credentials (`user:pass@`:
    /// no provider takes them there, and an HTTP client would send them and
    /// print them in its errors), a query or a fragment (where would the paths
    /// go?), is a configuration error naming `key`. The error shows the URL
    /// with its credentials hidden ([`paybridge_core::redact::url`]).
    pub fn parse(key: &str, url: &str) -> Result<Self> {
        let text = url.trim().trim_end_matches('/');
        let shown = paybridge_core::redact::Url(text);
        let refuse = refusal(key);
        let parsed = checked(key, text)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(refuse(format!(
                "{shown:?} has a query or a fragment; give the address the paths go under"
            )));
        }
        let prefix = parsed.as_str().trim_end_matches('/').to_owned();
        // Checked once here, so that appending a plain path cannot fail later.
        http::Uri::try_from(prefix.as_str())
            .map_err(|e| refuse(format!("{shown:?} is not a usable URL ({e})")))?;
        Ok(Self {
            text: text.to_owned(),
            parsed,
            prefix,
        })
    }

    /// The base URL as configured (trimmed, no trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL of `path` (starting with `/`) under this base: its path
    /// appended to the base's own. A path holding a character a URL's path
    /// cannot carry as it is (a space, `?`, `#`, a non-ASCII letter) has it
    /// percent-encoded, as a browser does; one that still makes no HTTP URI
    /// (one too long, say) is refused before anything is sent, the error
    /// naming its length, not its text.
    pub fn endpoint(&self, path: &str) -> Result<Endpoint> {
        let plain = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@%".contains(&b));
        let text = match plain {
            true => [self.prefix.as_str(), path].concat(),
            false => {
                let mut url = self.parsed.clone();
                url.set_path(&[self.parsed.path().trim_end_matches('/'), path].concat());
                url.into()
            }
        };
        // The path is not quoted: ONE-PUNCH's carries its account token, the
        // payment token and their signature.
        let uri = http::Uri::from_maybe_shared(Bytes::from(text)).map_err(|e| {
            Error::invalid(
                "request",
                format!(
                    "a path of {} bytes makes no URL under the provider's address ({e})",
                    path.len()
                ),
            )
        })?;
        Ok(Endpoint::of(uri))
    }
}

/// A configuration error naming `key`.
fn refusal(key: &str) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Config {
        key: key.to_owned(),
        reason,
    }
}

/// `text` parsed, when it is an http(s) URL with a host and no credentials
/// (no provider or endpoint takes them there, and an HTTP client would send
/// them and print them in its errors); else an error naming `key` that shows
/// the URL with its credentials hidden.
fn checked(key: &str, text: &str) -> Result<reqwest::Url> {
    let shown = paybridge_core::redact::Url(text);
    let refuse = refusal(key);
    if !paybridge_core::is_http_url(text) {
        return Err(refuse(format!("{shown:?} is not an http(s) URL")));
    }
    let parsed = reqwest::Url::parse(text)
        .map_err(|e| refuse(format!("{shown:?} is not a usable URL ({e})")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(format!(
            "{shown:?} carries credentials; none are taken there (remove the part before '@')"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse(format!("{shown:?} names no host")));
    }
    Ok(parsed)
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// One endpoint's URL under a [`BaseUrl`]; cloning it copies no text.
/// `Debug` shows its scheme and host and only the length of its path, which
/// may carry tokens and a signature (ONE-PUNCH's); `Display` shows it whole.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    uri: http::Uri,
    /// The `Host` header of a request to it, made once: an HTTP/1 client
    /// otherwise formats it from the URI on every request.
    host: Option<http::HeaderValue>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.uri.scheme_str().unwrap_or_default();
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        f.debug_struct("Endpoint")
            .field("origin", &format_args!("{scheme}://{authority}"))
            .field("path_bytes", &self.uri.path().len())
            .finish()
    }
}

impl Endpoint {
    /// A whole URL given as one (a webhook endpoint's, say, which may carry a
    /// query): an http(s) URL with a host and no credentials, or an error
    /// naming `key` that shows the URL with its credentials hidden.
    pub fn parse(key: &str, url: &str) -> Result<Self> {
        let text = url.trim();
        let shown = paybridge_core::redact::Url(text);
        let refuse = refusal(key);
        let parsed = checked(key, text)?;
        if parsed.fragment().is_some() {
            return Err(refuse(format!("{shown:?} has a fragment")));
        }
        let uri = http::Uri::try_from(parsed.as_str())
            .map_err(|e| refuse(format!("{shown:?} is not a usable URL ({e})")))?;
        Ok(Endpoint::of(uri))
    }

    /// The endpoint of `uri`, a URL normalised by the URL parser (no default
    /// port, no credentials: both refused or removed before), so that its
    /// authority is the `Host` header HTTP/1 sends and the `:authority`
    /// HTTP/2 sends, the same text.
    fn of(uri: http::Uri) -> Self {
        let host = uri
            .authority()
            .and_then(|authority| http::HeaderValue::from_str(authority.as_str()).ok());
        Endpoint { uri, host }
    }

    /// The URL as an HTTP URI.
    pub fn uri(&self) -> &http::Uri {
        &self.uri
    }

    /// The `Host` header of a request to this endpoint: its authority.
    pub(crate) fn host(&self) -> Option<&http::HeaderValue> {
        self.host.as_ref()
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uri.fmt(f)
    }
}
