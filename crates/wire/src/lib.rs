//! The wire runtime adapters opt into: the HTTP transport with its timeouts and
//! read-only retries, answers read under a size cap, form encoding, tolerant
//! numbers and bodies. paybridge-core, the domain, imports nothing of it.
//!
//! The providers' documents show amounts as `300.0000`, `1`, `"9.0000"`, `"0"` and
//! `"0.00"`, and JSON with trailing commas. All of it parses here, exactly: JSON
//! numbers are read from their text (serde_json's `arbitrary_precision`), never
//! through a float.

mod answer;
mod body;
mod form;
mod scalar;
pub mod section;
pub mod transport;

/// Every type a gateway's API speaks: the domain's, and the transport
/// settings a builder takes.
pub mod prelude {
    pub use crate::transport::{RetryPolicy, TransportConfig};
    pub use paybridge_core::prelude::*;
}

pub use answer::*;
pub use body::*;
pub use scalar::*;

pub use form::{form_pairs, MultipartForm};
/// A header value, as an [`Outgoing`](transport::Outgoing) request takes its content type.
pub use http::HeaderValue;
pub use paybridge_core::redact::{scrubbed, BODY_KEPT, SECRET_FIELD_NAMES};
pub use paybridge_core::{is_http_url, parse_decimal_str};

#[cfg(test)]
mod tests;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
