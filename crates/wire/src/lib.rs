//! The wire runtime adapters opt into: the HTTP transport with its timeouts and
//! read-only retries, answers read under a size cap, form encoding, tolerant
//! numbers and bodies. paybridge-core, the domain, imports nothing of it.
//!
//! The providers' documents show amounts as `300.0000`, `1`, `"9.0000"`, `"0"` and
//! `"0.00"`, and JSON with trailing commas. All of it parses here, exactly: JSON
//! numbers are read from their text (serde_json's `arbitrary_precision`), never
//! through a float.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use paybridge_core::refusal::RefusalTable;
use paybridge_core::{BoxError, Error, Operation, Provider};

use crate::transport::HttpReply;

mod form;
pub mod section;
pub mod transport;

pub use form::{form_pairs, MultipartForm};
pub use paybridge_core::redact::{scrubbed, BODY_KEPT, SECRET_FIELD_NAMES};
pub use paybridge_core::{is_http_url, parse_decimal_str};

/// Reads a decimal from a JSON value: a number (read from its exact text) or a string.
pub fn decimal_from_value(value: &Value) -> Result<Decimal, String> {
    match value {
        Value::Number(n) => parse_decimal_str(&n.to_string()),
        Value::String(s) => parse_decimal_str(s),
        other => Err(format!(
            "expected a number or a numeric string, found {}",
            kind_of(other)
        )),
    }
}

/// Reads a non-negative integer from a JSON number or a string of digits.
pub fn u64_from_value(value: &Value) -> Result<u64, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("expected an integer, found {}", kind_of(other))),
    };
    u64::from_str(&text).map_err(|_| format!("{text:?} is not a whole non-negative number"))
}

/// Reads a boolean from `true`/`false`, `"true"`/`"false"`, `1`/`0` or `"1"`/`"0"`.
pub fn bool_from_value(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(_) | Value::Number(_) => {
            let text = text_of(value).unwrap_or_default();
            match text.trim() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(format!("{other:?} is not a boolean")),
            }
        }
        other => Err(format!("expected a boolean, found {}", kind_of(other))),
    }
}

/// A scalar field as text: strings as they are, numbers and booleans as written.
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The JSON type of a value, for error messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Removes a leading UTF-8 byte-order mark.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Removes commas that directly precede `}` or `]` (white space between allowed),
/// outside strings. The providers' documents show such JSON, and a parser that
/// rejected it could drop a real payment.
pub fn strip_trailing_commas(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut last_copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' => {
                let next = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                if matches!(next, Some(b'}') | Some(b']')) {
                    out.push_str(&json[last_copied..i]);
                    last_copied = i + 1;
                }
            }
            _ => {}
        }
    }
    out.push_str(&json[last_copied..]);
    out
}

/// Reads JSON straight into `T`, tolerantly: a leading BOM and trailing commas are
/// accepted. The error is the strict parser's.
pub fn from_json_tolerant<T: DeserializeOwned>(body: &[u8]) -> Result<T, BoxError> {
    from_json_tolerant_in(body, &mut None)
}

/// [`from_json_tolerant`] for a `T` that borrows from the body: a body with
/// trailing commas is rewritten into `rewritten`, and `T` borrows from that.
fn from_json_tolerant_in<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    rewritten: &'a mut Option<String>,
) -> Result<T, BoxError> {
    let text = std::str::from_utf8(strip_bom(body))?;
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(strict) => {
            let relaxed = rewritten.insert(strip_trailing_commas(text));
            serde_json::from_str(relaxed).map_err(|_| BoxError::from(strict))
        }
    }
}

/// Parses a JSON body tolerantly: a leading BOM and trailing commas are accepted.
pub fn parse_json_tolerant(body: &[u8]) -> Result<Value, String> {
    from_json_tolerant(body).map_err(|e| format!("body is not JSON ({e})"))
}

/// What a callback body is, judged by its bytes: the `Content-Type` that came
/// with it is a claim like any other (PHP's curl labels a posted JSON string as
/// a form), so it only supplies a multipart boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyShape {
    /// Starts with `{` (after a BOM and white space).
    Json,
    /// Starts with `--boundary`.
    Multipart(String),
    /// Anything else: `application/x-www-form-urlencoded`.
    Form,
}

fn body_shape(body: &[u8], content_type: Option<&str>) -> BodyShape {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let body = &body[start..];
    if body.first() == Some(&b'{') {
        return BodyShape::Json;
    }
    if let Some(rest) = body.strip_prefix(b"--") {
        let declared = content_type.and_then(|ct| {
            ct.split(';').find_map(|param| {
                let (name, value) = param.split_once('=')?;
                (name.trim().eq_ignore_ascii_case("boundary"))
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        });
        let first_line = rest.split(|b| *b == b'\n').next().map(|line| {
            String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned()
        });
        let boundary = declared
            .filter(|d| rest.starts_with(d.as_bytes()))
            .or(first_line)
            .filter(|b| !b.is_empty());
        if let Some(boundary) = boundary {
            return BodyShape::Multipart(boundary);
        }
    }
    BodyShape::Form
}

/// The fields of a `multipart/form-data` body, in order. Each part must name
/// itself (`Content-Disposition: form-data; name="..."`); files are refused.
fn multipart_pairs(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8 ({e})"))?;
    let delimiter = format!("--{boundary}");
    let mut sections = text.split(delimiter.as_str());
    // Whatever precedes the first delimiter is a preamble; ignore it.
    sections.next();
    let mut pairs = Vec::new();
    for section in sections {
        if section.starts_with("--") {
            return Ok(pairs);
        }
        let section = section
            .strip_prefix("\r\n")
            .or_else(|| section.strip_prefix('\n'))
            .ok_or("a multipart delimiter is not followed by a line break")?;
        let (headers, value) = section
            .split_once("\r\n\r\n")
            .or_else(|| section.split_once("\n\n"))
            .ok_or("a multipart part has no blank line after its headers")?;
        let value = value
            .strip_suffix("\r\n")
            .or_else(|| value.strip_suffix('\n'))
            .unwrap_or(value);
        let disposition = headers
            .lines()
            .find(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition:")
            })
            .ok_or("a multipart part has no Content-Disposition")?;
        if disposition.contains("filename=") {
            return Err("a multipart part is a file".into());
        }
        let name = disposition
            .split(';')
            .find_map(|param| {
                let (key, value) = param.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
            })
            .ok_or("a multipart part has no name")?;
        pairs.push((name, value.to_owned()));
    }
    Err("the multipart body has no closing delimiter".into())
}

/// Refuses an empty field list and a repeated name: which copy a provider meant
/// cannot be known.
fn check_pairs(pairs: &[(String, String)]) -> Result<(), String> {
    if pairs.is_empty() {
        return Err("body is empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in pairs {
        if !seen.insert(name.as_str()) {
            return Err(format!("field {name:?} appears twice"));
        }
    }
    Ok(())
}

/// The fields of a `multipart/form-data` body, in order, its boundary taken from
/// `content_type` or from the body's first line.
pub fn multipart_fields(
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let body = strip_bom(body);
    match body_shape(body, content_type) {
        BodyShape::Multipart(boundary) => multipart_pairs(body, &boundary),
        _ => Err("body is not multipart form data".into()),
    }
}

/// A scalar field as its text: a JSON string, a JSON number (its exact text),
/// a boolean (`true`/`false`), or a form value. Lets callback bodies be read
/// straight into typed structs, whether a provider sends `300.0000` or `"300.0000"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl Scalar {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same text, borrowed.
    pub fn borrowed(&self) -> ScalarRef<'_> {
        ScalarRef(Cow::Borrowed(&self.0))
    }

    /// The text as an exact decimal.
    pub fn decimal(&self) -> Result<Decimal, String> {
        self.borrowed().decimal()
    }

    /// The text as a whole non-negative number.
    pub fn u64(&self) -> Result<u64, String> {
        self.borrowed().u64()
    }

    /// The text as a boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self) -> Result<bool, String> {
        self.borrowed().bool()
    }
}

/// serde_json's private key for numbers kept as text (`arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Whether a map key is [`NUMBER_TOKEN`], read without allocating it.
struct NumberKey(bool);

impl<'de> Deserialize<'de> for NumberKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = NumberKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<NumberKey, E> {
                Ok(NumberKey(key == NUMBER_TOKEN))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScalarRef::deserialize(deserializer).map(|text| Scalar(text.0.into_owned()))
    }
}

/// A [`Scalar`] that borrows its text from the body where it can (a string
/// without escapes, `true`, `false`): what callbacks are read into, so that
/// verifying one copies only the fields it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarRef<'a>(pub Cow<'a, str>);

impl ScalarRef<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an exact decimal.
    pub fn decimal(&self) -> Result<Decimal, String> {
        parse_decimal_str(&self.0)
    }

    /// The text as a whole non-negative number.
    pub fn u64(&self) -> Result<u64, String> {
        self.0
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not a whole non-negative number", self.0))
    }

    /// The text as a boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self) -> Result<bool, String> {
        match self.0.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(format!("{other:?} is not a boolean")),
        }
    }

    /// An optional field's text, owned; empty counts as absent.
    pub fn optional(value: Option<ScalarRef<'_>>) -> Option<String> {
        value.filter(|s| !blank(&s.0)).map(|s| s.0.into_owned())
    }
}

/// Whether a field's text is empty once white space is trimmed: absent, as
/// far as the providers mean it.
fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

impl<'de: 'a, 'a> Deserialize<'de> for ScalarRef<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = ScalarRef<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Borrowed(if v { "true" } else { "false" })))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_string())))
            }

            // With `arbitrary_precision`, serde_json hands numbers over as a
            // one-entry map holding their text; anything else is not a scalar.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                match map.next_key::<NumberKey>()? {
                    Some(NumberKey(true)) => Ok(ScalarRef(Cow::Owned(map.next_value::<String>()?))),
                    _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
                }
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Reads a callback body straight into a typed struct whose fields are
/// [`ScalarRef`]s (or [`Scalar`]s): JSON (a BOM and trailing commas
/// tolerated), a urlencoded form or multipart form data, judged by what the
/// body is, not by its content type.
///
/// Fields borrow from `body` where they can. A body that must be rewritten
/// first (JSON with trailing commas, multipart re-encoded as a form) is kept in
/// `rewritten`, which the caller owns (start it as `None`).
pub fn parse_callback_body<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    content_type: Option<&str>,
    rewritten: &'a mut Option<String>,
) -> Result<T, String> {
    let body = strip_bom(body);
    match body_shape(body, content_type) {
        BodyShape::Json => from_json_tolerant_in(body, rewritten)
            .map_err(|e| format!("body is not a usable JSON object ({e})")),
        BodyShape::Multipart(boundary) => {
            let pairs = multipart_pairs(body, &boundary)?;
            check_pairs(&pairs)?;
            // serde_urlencoded reads optional fields; encoding the parts as a form
            // keeps one reader for both.
            let encoded = serde_urlencoded::to_string(&pairs).map_err(|e| e.to_string())?;
            serde_urlencoded::from_str(rewritten.insert(encoded))
                .map_err(|e| format!("the fields are not usable ({e})"))
        }
        BodyShape::Form => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|e| format!("body is neither JSON nor a form ({e})"))?;
            check_pairs(&pairs)?;
            serde_urlencoded::from_bytes(body)
                .map_err(|e| format!("the fields are not usable ({e})"))
        }
    }
}

/// How a provider's answers tell a refusal from a result, read in a first pass
/// over the body; the answer's own fields are read in a second pass over the
/// same bytes (serde's `flatten` would buffer every field first, which costs
/// more than reading twice). An adapter whose provider answers another shape
/// (`{"ok": true, "data": ...}`) implements it for that shape.
pub trait Envelope {
    /// What the first pass reads, borrowing from the body.
    type Read<'de>: Deserialize<'de>;

    /// `Ok(None)` for an answer that is no refusal, `Ok(Some(message))` for a
    /// refusal, `Err(reason)` when the envelope cannot say which.
    fn refusal(read: Self::Read<'_>) -> Result<Option<String>, String>;

    /// Whether `body` is a refusal exactly as the provider's documents write
    /// one: only such a refusal is read against its documented messages.
    fn as_documented_refusal(body: &[u8]) -> bool;
}

/// The envelope of answers carrying a `status` flag beside their fields and a
/// `message` when refused: `{"status": false, "message": "..."}` (the form
/// API's answers, ONE-PUNCH's error answers).
#[derive(Debug)]
pub struct StatusFlag;

/// [`StatusFlag`]'s first pass.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub struct StatusFlagRead<'a> {
    status: Option<ScalarRef<'a>>,
    message: Option<ScalarRef<'a>>,
}

impl Envelope for StatusFlag {
    type Read<'de> = StatusFlagRead<'de>;

    fn refusal(read: StatusFlagRead<'_>) -> Result<Option<String>, String> {
        let flag = read.status.ok_or("no `status` field")?;
        let ok = flag
            .bool()
            .map_err(|reason| format!("`status`: {reason}"))?;
        Ok((!ok).then(|| read.message.map(|m| m.0.into_owned()).unwrap_or_default()))
    }

    /// Exactly `{"status": false, "message": "..."}`: a `"status": "0"`, or a
    /// refusal that also carries an order reference or a status, is something
    /// no document shows.
    fn as_documented_refusal(body: &[u8]) -> bool {
        let Ok(fields) = from_json_tolerant::<serde_json::Map<String, Value>>(body) else {
            return false;
        };
        fields.len() == 2
            && fields.get("status") == Some(&Value::Bool(false))
            && fields.get("message").is_some_and(Value::is_string)
    }
}

/// A provider's answer, read into its wire type `A`, with what it came from
/// so that mapping it into a domain type can name the operation and keep the body.
#[derive(Debug)]
pub struct Answered<A> {
    /// The operation that was answered.
    pub operation: Operation,
    /// The answer, read.
    pub answer: A,
    /// Its HTTP status.
    pub status: u16,
    /// The body as it came.
    pub body: Vec<u8>,
}

impl<A> Answered<A> {
    /// Maps the answer into `T` by its `TryFrom`; a failure is an
    /// [`Error::Decode`] of this operation keeping the body.
    pub fn map_into<T: TryFrom<A, Error = AnswerError>>(self) -> Result<T, Error> {
        self.map(T::try_from)
    }

    /// Maps the answer with `map`, as [`map_into`](Self::map_into) does.
    pub fn map<T>(self, map: impl FnOnce(A) -> Result<T, AnswerError>) -> Result<T, Error> {
        let Answered {
            operation,
            answer,
            status,
            body,
        } = self;
        map(answer).map_err(|e| e.at(operation, status, &body))
    }
}

/// Reads an answer in the [`StatusFlag`] envelope ([`read_enveloped`]).
pub fn read_answer<A: DeserializeOwned>(
    provider: Provider,
    operation: Operation,
    reply: HttpReply,
    refusals: &RefusalTable,
) -> Result<Answered<A>, Error> {
    read_enveloped::<StatusFlag, A>(provider, operation, reply, refusals)
}

/// Reads an answer in envelope `E`: a refusal is one whatever the HTTP status,
/// read against the provider's `refusals` (the message kept verbatim; only a
/// documented one, in the documents' own shape, with HTTP 2xx, means what it
/// says); a result outside 2xx is a decode error. A body the envelope cannot
/// read is an HTTP error where the status was not 2xx (a proxy's page, say),
/// and a decode error otherwise. `A` should make every field optional, so
/// that a refusal, which carries none of them, still reads.
pub fn read_enveloped<E: Envelope, A: DeserializeOwned>(
    provider: Provider,
    operation: Operation,
    reply: HttpReply,
    refusals: &RefusalTable,
) -> Result<Answered<A>, Error> {
    let HttpReply { status, body } = reply;
    let success = (200..300).contains(&status);
    let mut rewritten = None;
    let envelope: E::Read<'_> = match from_json_tolerant_in(&body, &mut rewritten) {
        Ok(envelope) => envelope,
        Err(_) if !success => {
            return Err(Error::HttpStatus {
                operation,
                status,
                body: scrubbed(&body),
            })
        }
        Err(source) => {
            return Err(
                Error::decode_from(operation, "not a JSON object", &body, source)
                    .at_http_status(status),
            )
        }
    };
    let decode = |reason: String| Error::decode(operation, reason, &body).at_http_status(status);
    if let Some(message) = E::refusal(envelope).map_err(decode)? {
        let read = match E::as_documented_refusal(&body) {
            true => refusals.read(operation, status, &message),
            false => paybridge_core::refusal::ReadRefusal::UNDOCUMENTED,
        };
        return Err(Error::Provider {
            provider,
            operation,
            kind: read.kind,
            message,
            documented: read.documented,
        });
    }
    if !success {
        return Err(decode(format!("HTTP {status} with a success body")));
    }
    let answer = from_json_tolerant(&body).map_err(|source| {
        Error::decode_from(operation, "the answer's fields", &body, source).at_http_status(status)
    })?;
    Ok(Answered {
        operation,
        answer,
        status,
        body,
    })
}

/// What is wrong with an answer, found while mapping its wire type into a domain
/// type (`TryFrom`); the adapter adds the operation and the body
/// ([`AnswerError::at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError(pub String);

impl AnswerError {
    /// A required field that is absent or empty.
    pub fn missing(name: &str) -> Self {
        AnswerError(format!("the answer has no `{name}`"))
    }

    /// A field whose value is unusable.
    pub fn field(name: &str, reason: impl fmt::Display) -> Self {
        AnswerError(format!("`{name}`: {reason}"))
    }

    /// The [`Error::Decode`] of `operation` for the answer `body` (HTTP `status`).
    pub fn at(self, operation: Operation, status: u16, body: &[u8]) -> Error {
        Error::decode(operation, self.0, body).at_http_status(status)
    }
}

impl Scalar {
    /// A required answer field's text: present and not empty.
    pub fn required(value: Option<Scalar>, name: &str) -> Result<String, AnswerError> {
        value
            .map(|s| s.0)
            .filter(|t| !blank(t))
            .ok_or_else(|| AnswerError::missing(name))
    }

    /// An optional answer field's text; empty counts as absent.
    pub fn optional(value: Option<Scalar>) -> Option<String> {
        value.map(|s| s.0).filter(|t| !blank(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A callback body's fields as text, whatever its format.
    fn parse_callback_fields(
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let fields: std::collections::BTreeMap<String, Scalar> =
            parse_callback_body(body, content_type, &mut None)?;
        Ok(fields.into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn every_documented_number_format_parses_exactly() {
        let body = br#"{"a":300.0000,"b":1,"c":"9.0000","d":"0","e":"0.00","f":0.1}"#;
        let map = parse_json_tolerant(body).unwrap();
        let get = |k: &str| decimal_from_value(&map[k]).unwrap();
        assert_eq!(get("a"), dec("300"));
        assert_eq!(get("a").to_string(), "300.0000", "scale kept from the text");
        assert_eq!(get("b"), dec("1"));
        assert_eq!(get("c"), dec("9"));
        assert_eq!(get("d"), Decimal::ZERO);
        assert_eq!(get("e").to_string(), "0.00");
        assert_eq!(get("f") + dec("0.2"), dec("0.3"), "no float drift");
    }

    #[test]
    fn bad_numbers_are_refused_with_the_text() {
        for bad in ["", "abc", "1,000", "NaN", "$5"] {
            let err = parse_decimal_str(bad).unwrap_err();
            assert!(!err.is_empty());
        }
        assert!(decimal_from_value(&Value::Bool(true)).is_err());
        assert_eq!(parse_decimal_str("1e3").unwrap(), dec("1000"));
    }

    #[test]
    fn trailing_commas_and_bom_are_tolerated() {
        let body = "\u{feff}{\n \"order_id\": \"20073\",\n \"list\": [1, 2,],\n \"type\":\"deposit\",\n   \n}";
        let map = parse_json_tolerant(body.as_bytes()).unwrap();
        assert_eq!(map["type"], "deposit");
        assert_eq!(map["list"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn commas_inside_strings_are_kept() {
        let body = br#"{"remarks":"a, }","x":1,}"#;
        let map = parse_json_tolerant(body).unwrap();
        assert_eq!(map["remarks"], "a, }");
    }

    #[test]
    fn form_callbacks_parse() {
        let map = parse_callback_fields(
            b"order_id=A1&amount=300.0000&token=abc",
            Some("application/x-www-form-urlencoded"),
        )
        .unwrap();
        assert_eq!(map["order_id"], "A1");
        assert_eq!(parse_decimal_str(&map["amount"]).unwrap(), dec("300"));
        assert!(parse_callback_fields(b"a=1&a=2", None).is_err());
        assert!(parse_callback_fields(b"", None).is_err());
        assert!(parse_callback_fields(b"{\"a\":", Some("application/json")).is_err());
        // A JSON body labelled as a form (PHP's curl default) is read as JSON.
        let map = parse_callback_fields(
            b"{\"order_id\":\"A1\"}",
            Some("application/x-www-form-urlencoded"),
        )
        .unwrap();
        assert_eq!(map["order_id"], "A1");
    }

    #[test]
    fn multipart_callbacks_parse_with_or_without_a_declared_boundary() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"order_id\"\r\n\r\nA1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n300.0000\r\n--XyZ--\r\n";
        for content_type in [
            Some("multipart/form-data; boundary=XyZ"),
            Some("multipart/form-data; boundary=\"XyZ\""),
            None,
            Some("application/json"),
        ] {
            let map = parse_callback_fields(body, content_type).unwrap();
            assert_eq!(map["order_id"], "A1", "{content_type:?}");
            assert_eq!(map["amount"], "300.0000", "{content_type:?}");
        }
        let unterminated = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        assert!(parse_callback_fields(unterminated, None).is_err());
        let file =
            b"--B\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"\r\n\r\n1\r\n--B--";
        assert!(parse_callback_fields(file, None).is_err());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Typed {
        order_id: Option<Scalar>,
        amount: Option<Scalar>,
        status: Option<Scalar>,
    }

    #[test]
    fn typed_callback_bodies_read_numbers_strings_and_forms_alike() {
        let json: Typed = parse_callback_body(
            b"{\"order_id\": 20073, \"amount\": 300.0000, \"status\": true,\n}",
            None,
            &mut None,
        )
        .unwrap();
        assert_eq!(json.order_id.unwrap().as_str(), "20073");
        assert_eq!(
            json.amount.unwrap().as_str(),
            "300.0000",
            "the number's exact text"
        );
        assert!(json.status.unwrap().bool().unwrap());
        let form: Typed = parse_callback_body(
            b"order_id=A1&amount=9.0000",
            Some("application/x-www-form-urlencoded"),
            &mut None,
        )
        .unwrap();
        assert_eq!(form.amount.unwrap().decimal().unwrap(), Decimal::new(9, 0));
        assert!(form.status.is_none());
        assert!(
            parse_callback_body::<Typed>(b"{\"order_id\": {\"x\": 1}}", None, &mut None).is_err()
        );
        assert!(parse_callback_body::<Typed>(b"order_id=A&order_id=B", None, &mut None).is_err());
        assert!(parse_callback_body::<Typed>(b"", None, &mut None).is_err());
    }

    /// Fields by name, each borrowed or owned as the reader left it.
    type Fields<'a> = std::collections::BTreeMap<String, ScalarRef<'a>>;

    fn borrowed(fields: &Fields<'_>, name: &str) -> bool {
        matches!(fields.get(name), Some(ScalarRef(Cow::Borrowed(_))))
    }

    #[test]
    fn callback_fields_borrow_from_the_body_unless_it_was_rewritten() {
        let mut rewritten = None;
        let plain: Fields = parse_callback_body(
            br#"{"order_id": "A1", "amount": 300.0000, "status": true}"#,
            None,
            &mut rewritten,
        )
        .unwrap();
        assert!(borrowed(&plain, "order_id") && borrowed(&plain, "status"));
        assert_eq!(plain["amount"].as_str(), "300.0000");
        assert!(rewritten.is_none(), "a strict body is read where it lies");

        let mut rewritten = None;
        let escaped: Fields =
            parse_callback_body(br#"{"order_id": "A\u0031",}"#, None, &mut rewritten).unwrap();
        assert_eq!(escaped["order_id"].as_str(), "A1");
        assert!(
            !borrowed(&escaped, "order_id"),
            "an escaped string is decoded"
        );
        assert_eq!(rewritten.as_deref(), Some(r#"{"order_id": "A\u0031"}"#));

        let mut rewritten = None;
        let multipart: Fields = parse_callback_body(
            b"--B\r\nContent-Disposition: form-data; name=\"order_id\"\r\n\r\nA 1\r\n--B--\r\n",
            Some("multipart/form-data; boundary=B"),
            &mut rewritten,
        )
        .unwrap();
        assert_eq!(multipart["order_id"].as_str(), "A 1");
        assert_eq!(rewritten.as_deref(), Some("order_id=A+1"));

        let mut rewritten = None;
        let form: Fields =
            parse_callback_body(b"order_id=A1&status=1", None, &mut rewritten).unwrap();
        assert!(borrowed(&form, "order_id"));
        assert!(form["status"].bool().unwrap());
    }

    #[test]
    fn booleans_in_every_spelling() {
        for (v, want) in [
            (serde_json::json!(true), true),
            (serde_json::json!("false"), false),
            (serde_json::json!(1), true),
            (serde_json::json!("0"), false),
        ] {
            assert_eq!(bool_from_value(&v).unwrap(), want);
        }
        assert!(bool_from_value(&serde_json::json!("yes")).is_err());
    }
}
