//! Tolerant bodies: a leading BOM, trailing commas, and callbacks judged by their
//! bytes (JSON, a urlencoded form or multipart) rather than their Content-Type.

use paybridge_core::BoxError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

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
pub(crate) fn from_json_tolerant_in<'a, T: Deserialize<'a>>(
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
pub(crate) enum BodyShape {
    /// Starts with `{` (after a BOM and white space).
    Json,
    /// Starts with `--boundary`.
    Multipart(String),
    /// Anything else: `application/x-www-form-urlencoded`.
    Form,
}

pub(crate) fn body_shape(body: &[u8], content_type: Option<&str>) -> BodyShape {
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
pub(crate) fn multipart_pairs(
    body: &[u8],
    boundary: &str,
) -> Result<Vec<(String, String)>, String> {
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
pub(crate) fn check_pairs(pairs: &[(String, String)]) -> Result<(), String> {
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

/// Reads a callback body straight into a typed struct whose fields are
/// [`ScalarRef`](crate::ScalarRef)s (or [`Scalar`](crate::Scalar)s): JSON (a BOM and trailing commas
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
