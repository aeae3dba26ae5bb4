//! Answers read through an [`Envelope`], then mapped into domain types with
//! the operation and the body kept for errors.

use std::fmt;

use paybridge_core::redact::scrubbed;
use paybridge_core::refusal::RefusalTable;
use paybridge_core::{Error, Operation, Provider};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::body::{from_json_tolerant, from_json_tolerant_in};
use crate::scalar::{blank, Scalar, ScalarRef};
use crate::transport::HttpReply;

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
/// `Debug` shows the body scrubbed of credentials, and not the answer read
/// from it, whose fields may carry them.
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

impl<A> std::fmt::Debug for Answered<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answered")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("body", &scrubbed(&self.body))
            .finish_non_exhaustive()
    }
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
    let HttpReply { status, body, .. } = reply;
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
    /// A required answer field's text: present and not empty, else
    /// [`AnswerError::missing`].
    pub fn required_text(value: Option<Scalar>, name: &str) -> Result<String, AnswerError> {
        value
            .map(|s| s.0)
            .filter(|t| !blank(t))
            .ok_or_else(|| AnswerError::missing(name))
    }

    /// An optional answer field's text; empty counts as absent.
    pub fn optional_text(value: Option<Scalar>) -> Option<String> {
        value.map(|s| s.0).filter(|t| !blank(t))
    }
}
