//! The one error type every paybridge operation returns.

use std::fmt;

use crate::money::{Money, OrderId};
use crate::operation::Operation;
use crate::provider::Provider;
use crate::status::{OrderKind, OrderStatus};

mod rejection;

pub use rejection::CallbackRejection;

/// A boxed error kept as the `source()` of transport failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with paybridge's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, split by what the merchant should do about it.
///
/// `Display` is one short line; what to do about each variant is in the
/// variant's documentation and in `docs/errors.md`. [`Error::kind`] names the
/// variant in one stable word for output and tests.
///
/// No variant ever carries a secret: provider messages are kept verbatim, and
/// bodies kept for diagnosis are scrubbed of credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused before anything was sent.
    #[error("invalid request: `{field}` {reason}")]
    InvalidRequest {
        /// The offending field, as the request struct names it.
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Configuration is missing or malformed.
    #[error("configuration: `{key}` {reason}")]
    Config {
        /// The key, e.g. `vpay88.api_key`.
        key: String,
        /// What is wrong, and where it was read from.
        reason: String,
    },

    /// The provider does not have this operation; nothing was sent.
    #[error("{provider} does not support {operation}")]
    Unsupported {
        /// The provider.
        provider: Provider,
        /// The operation.
        operation: Operation,
    },

    /// Something on this machine failed that is not configuration: the HTTP
    /// client could not be built, a port could not be bound, a lock was poisoned
    /// by a panicked task. Nothing was sent.
    #[error("local failure: {what}: {source}")]
    Local {
        /// What was being done.
        what: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },

    /// The request could not be completed on the network.
    #[error("{operation}: transport failure{}: {source}", delivered_note(*.may_have_been_delivered))]
    Transport {
        /// The operation.
        operation: Operation,
        /// `true` when the provider may have received and acted on the request
        /// (timeout after sending, reset, 5xx). A write in this state must be
        /// resolved by a status query, never by sending it again.
        may_have_been_delivered: bool,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },

    /// The request took longer than its deadline (per attempt, or the operation's
    /// total deadline); a write in this state may have been delivered.
    #[error("{operation}: timed out{}", delivered_note(*.may_have_been_delivered))]
    Timeout {
        /// The operation.
        operation: Operation,
        /// Whether the provider may have received the request.
        may_have_been_delivered: bool,
    },

    /// The provider answered with an HTTP error status and no body paybridge
    /// understands (a proxy's error page, say).
    #[error("{operation}: the provider answered HTTP {status}")]
    HttpStatus {
        /// The operation.
        operation: Operation,
        /// The HTTP status code.
        status: u16,
        /// The body, bounded and scrubbed of credentials.
        body: String,
    },

    /// The provider answered and refused.
    ///
    /// Only a [`documented`](Error::Provider::documented) refusal means what its
    /// kind says; on a create, any other leaves the order's outcome open, and the
    /// create resolves it by status before it returns (see [`crate::outcome`]).
    #[error("{operation}: {provider} refused: {message:?} ({})", refusal_note(*.kind, *.documented))]
    Provider {
        /// The provider.
        provider: Provider,
        /// The operation.
        operation: Operation,
        /// What the refusal means ([`RefusalKind::Other`] when undocumented).
        kind: RefusalKind,
        /// The provider's message, verbatim.
        message: String,
        /// Whether the provider's document writes this message for this
        /// operation, and it came with HTTP 2xx ([`crate::refusal`]).
        documented: bool,
    },

    /// The provider answered something that could not be understood. For a
    /// write, the provider may have acted on it.
    #[error("{operation}: undecodable answer: {reason}")]
    Decode {
        /// The operation.
        operation: Operation,
        /// The HTTP status of the answer, where one came.
        http_status: Option<u16>,
        /// What did not parse.
        reason: String,
        /// The body, bounded and scrubbed of credentials.
        body: String,
        /// The parser's own error, where there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// A callback failed verification or confirmation; it must not be acted on.
    #[error("callback rejected: {0}")]
    CallbackRejected(CallbackRejection),

    /// An order was sent, its outcome could not be established, and sending it
    /// again could pay twice. Reconcile this order id with the provider.
    #[error("{kind} {order_id}: outcome unknown, not resent ({reason})")]
    Ambiguous {
        /// Deposit or withdrawal.
        kind: OrderKind,
        /// The merchant order id to reconcile.
        order_id: OrderId,
        /// Why it could not be resolved.
        reason: String,
    },

    /// The provider holds this order, and holds it as failed or rejected: no money
    /// moved. A new attempt needs a new order id.
    #[error("{kind} {order_id}: held by the provider as {status} ({provider_status}){}", ledger_note(*.from_ledger))]
    HeldAsFailed {
        /// Deposit or withdrawal.
        kind: OrderKind,
        /// The merchant order id.
        order_id: OrderId,
        /// `failed` or `rejected`.
        status: OrderStatus,
        /// The provider's own word.
        provider_status: String,
        /// `true` when the order ledger answered from what it recorded before,
        /// without asking the provider.
        from_ledger: bool,
    },

    /// The provider holds another order under this order id (another amount or
    /// currency): this request was not taken. The id was reused; look at both.
    #[error("{kind} {order_id}: {} another order under this id ({held}, not {requested})", holder(*.from_ledger))]
    OrderIdConflict {
        /// Deposit or withdrawal.
        kind: OrderKind,
        /// The merchant order id.
        order_id: OrderId,
        /// What was asked for.
        requested: Money,
        /// What the provider (or the ledger) holds under the id.
        held: Money,
        /// `true` when the order ledger decided: it holds the id for another
        /// amount, and nothing was sent.
        from_ledger: bool,
    },
}

fn ledger_note(from_ledger: bool) -> &'static str {
    match from_ledger {
        true => ", as the order ledger recorded it; not asked again",
        false => "",
    }
}

fn holder(from_ledger: bool) -> &'static str {
    match from_ledger {
        true => "the order ledger holds (nothing was sent)",
        false => "the provider holds",
    }
}

fn delivered_note(may_have_been_delivered: bool) -> &'static str {
    if may_have_been_delivered {
        " (the request may have been delivered)"
    } else {
        " (the request was not delivered)"
    }
}

impl Error {
    /// An [`Error::InvalidRequest`] naming `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::InvalidRequest`] for a field the provider needs and the request lacks.
    pub fn missing(field: impl Into<String>, provider: &str, context: &str) -> Self {
        Error::InvalidRequest {
            field: field.into(),
            reason: format!("is required by {provider}{context}"),
        }
    }

    /// An [`Error::Decode`] keeping `body` bounded and scrubbed of credentials.
    pub fn decode(operation: Operation, reason: impl Into<String>, body: &[u8]) -> Self {
        Self::decode_with(operation, reason.into(), body, None)
    }

    /// An [`Error::Decode`] from a parser's error, kept as the source.
    pub fn decode_from(
        operation: Operation,
        reason: impl Into<String>,
        body: &[u8],
        source: impl Into<BoxError>,
    ) -> Self {
        Self::decode_with(operation, reason.into(), body, Some(source.into()))
    }

    fn decode_with(
        operation: Operation,
        reason: String,
        body: &[u8],
        source: Option<BoxError>,
    ) -> Self {
        Error::Decode {
            operation,
            http_status: None,
            reason,
            body: crate::redact::scrubbed(body),
            source,
        }
    }

    /// Records the HTTP status of the answer an [`Error::Decode`] came from;
    /// other variants pass through.
    pub fn at_http_status(mut self, status: u16) -> Self {
        if let Error::Decode { http_status, .. } = &mut self {
            *http_status = Some(status);
        }
        self
    }

    /// An [`Error::Local`].
    pub fn local(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Local {
            what: what.into(),
            source: source.into(),
        }
    }

    /// An [`Error::Unsupported`].
    pub fn unsupported(provider: Provider, operation: Operation) -> Self {
        Error::Unsupported {
            provider,
            operation,
        }
    }

    /// Whether a write that failed with this error may nonetheless have taken effect.
    pub fn may_have_been_delivered(&self) -> bool {
        match self {
            Error::Transport {
                may_have_been_delivered,
                ..
            } => *may_have_been_delivered,
            Error::Timeout {
                may_have_been_delivered,
                ..
            } => *may_have_been_delivered,
            // A 4xx is the provider's HTTP layer refusing the request; a 5xx may
            // come after the work was done.
            // Any HTTP answer comes from a server that may have acted on the
            // request: a proxy's 4xx, a 3xx after the work was done, a 5xx.
            Error::HttpStatus { .. } => true,
            // A refusal the document does not write proves nothing.
            Error::Provider { documented, .. } => !*documented,
            Error::Decode { .. } | Error::Ambiguous { .. } => true,
            _ => false,
        }
    }

    /// Marks a failure that happened before an order was sent (fetching its auth
    /// token, say) as one where the order was certainly not delivered, keeping the
    /// original error as the source. Refusals and other errors pass through.
    pub fn before_sending(self, operation: Operation) -> Self {
        match self {
            err @ (Error::Transport { .. }
            | Error::Decode { .. }
            | Error::Timeout { .. }
            | Error::HttpStatus { .. }
            | Error::Provider {
                documented: false, ..
            }) => Error::Transport {
                operation,
                may_have_been_delivered: false,
                source: Box::new(err),
            },
            other => other,
        }
    }

    /// Whether the request certainly never reached the provider: refused by
    /// paybridge before sending, or a connection that failed before it was sent.
    pub fn nothing_sent(&self) -> bool {
        match self {
            Error::InvalidRequest { .. }
            | Error::Config { .. }
            | Error::Unsupported { .. }
            | Error::Local { .. } => true,
            Error::Transport {
                may_have_been_delivered,
                ..
            }
            | Error::Timeout {
                may_have_been_delivered,
                ..
            } => !*may_have_been_delivered,
            _ => false,
        }
    }

    /// Whether a status query's error says the provider does not hold the
    /// order: only a documented not-found refusal does ([`crate::refusal`]).
    /// Any other refusal of a status query (`Too many requests`, say) says
    /// nothing about the order.
    pub fn is_unknown_order(&self) -> bool {
        matches!(
            self,
            Error::Provider {
                kind: RefusalKind::OrderNotFound,
                documented: true,
                ..
            }
        )
    }

    /// Every word [`kind`](Self::kind) may give, in the order of the variants.
    pub const KINDS: [&'static str; 13] = [
        "invalid_request",
        "config",
        "unsupported",
        "local",
        "transport",
        "timeout",
        "http_status",
        "provider_refused",
        "decode",
        "callback_rejected",
        "ambiguous",
        "held_as_failed",
        "order_id_conflict",
    ];

    /// The error's kind as one stable snake-case word (one of
    /// [`KINDS`](Self::KINDS)), for output, tests and HTTP answers.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. } => "invalid_request",
            Error::Config { .. } => "config",
            Error::Unsupported { .. } => "unsupported",
            Error::Local { .. } => "local",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::HttpStatus { .. } => "http_status",
            Error::Provider { .. } => "provider_refused",
            Error::Decode { .. } => "decode",
            Error::CallbackRejected(_) => "callback_rejected",
            Error::Ambiguous { .. } => "ambiguous",
            Error::HeldAsFailed { .. } => "held_as_failed",
            Error::OrderIdConflict { .. } => "order_id_conflict",
        }
    }

    /// The refusal kind, for a provider refusal.
    pub fn refusal_kind(&self) -> Option<RefusalKind> {
        match self {
            Error::Provider { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

fn refusal_note(kind: RefusalKind, documented: bool) -> String {
    match documented {
        true => kind.to_string(),
        false => "a refusal its document does not write".into(),
    }
}

/// What a provider's refusal means. Unknown messages are [`RefusalKind::Other`],
/// with the text kept in [`Error::Provider::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalKind {
    /// Bad or expired credentials or auth token (`Params incorrect`).
    Unauthorized,
    /// A required parameter is missing (`Params missing.`).
    MissingParameter,
    /// The customer e-mail was refused (`email incorrect.`).
    InvalidEmail,
    /// The currency is not enabled (`Currency invalid.`).
    InvalidCurrency,
    /// The amount is out of limits or malformed (`Invalid Amount.`, `Amount Invalid!`).
    InvalidAmount,
    /// The order id was used before (`Order ID Exist.`, `Order id exist!`).
    DuplicateOrder,
    /// The bank id is unknown (`bank_id invalid.`).
    InvalidBank,
    /// The payout balance is too low (`Balance not enough!`).
    InsufficientBalance,
    /// The provider rejected a signature.
    InvalidSignature,
    /// The order is not known to the provider.
    OrderNotFound,
    /// Anything else; the message is kept verbatim.
    Other,
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            RefusalKind::Unauthorized => "unauthorized",
            RefusalKind::MissingParameter => "missing parameter",
            RefusalKind::InvalidEmail => "invalid e-mail",
            RefusalKind::InvalidCurrency => "invalid currency",
            RefusalKind::InvalidAmount => "invalid amount",
            RefusalKind::DuplicateOrder => "duplicate order id",
            RefusalKind::InvalidBank => "invalid bank",
            RefusalKind::InsufficientBalance => "insufficient balance",
            RefusalKind::InvalidSignature => "invalid signature",
            RefusalKind::OrderNotFound => "order not found",
            RefusalKind::Other => "other",
        };
        f.write_str(name)
    }
}
