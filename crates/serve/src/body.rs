//! Request and answer bodies, the OpenAPI schemas generated from them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The payer, as the provider wants them named.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The payer's name.
    pub name: Option<String>,
    /// The payer's e-mail.
    pub email: Option<String>,
    /// The payer's phone number.
    pub phone: Option<String>,
}

/// `POST /v1/deposits`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositBody {
    /// Your order id: sent at most once.
    pub order_id: String,
    /// A plain decimal string (`"150.00"`), never a number nor `"1e3"`.
    pub amount: String,
    /// `MYR`, `THB`, `CNY`...
    pub currency: String,
    /// A named account (`[accounts.NAME]`); the default one otherwise.
    pub account: Option<String>,
    /// The payer.
    #[serde(default)]
    pub customer: Customer,
    /// The bank, from the provider's bank list.
    pub bank_id: Option<String>,
    /// The payment method.
    pub pay_method: Option<String>,
    /// Vpay88's MYR prepaid-card mode.
    pub mode: Option<String>,
    /// Where the payer returns.
    pub return_url: Option<String>,
    /// A per-order callback URL, where the provider takes one.
    pub callback_url: Option<String>,
    /// The payer's IP address.
    pub ip: Option<String>,
    /// Provider fields beyond these.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// `POST /v1/payouts`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutBody {
    /// Your order id: sent at most once.
    pub order_id: String,
    /// A plain decimal string (`"80.00"`), never a number nor `"1e3"`.
    pub amount: String,
    /// `MYR`, `THB`...
    pub currency: String,
    /// The payee's bank, from the provider's withdrawal bank list.
    pub bank_id: String,
    /// The payee's name.
    pub holder_name: String,
    /// The payee's account number.
    pub account_no: String,
    /// A named account (`[accounts.NAME]`); the default one otherwise.
    pub account: Option<String>,
    /// The bank branch.
    pub bank_branch: Option<String>,
    /// A per-order callback URL, where the provider takes one.
    pub callback_url: Option<String>,
}

/// An order as the service answers it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct OrderBody {
    /// Your order id.
    pub order_id: String,
    /// The account it went through.
    pub account: String,
    /// The provider.
    pub provider: String,
    /// `deposit` or `payout`.
    pub kind: String,
    /// `pending`, `processing`, `completed`, `failed`, `rejected`; `unknown`
    /// while its outcome is open (reconcile: read it again with
    /// `?refresh=true`, never resend under a new id); `sending`, `refused`
    /// as the ledger holds them.
    pub status: String,
    /// The provider's own word.
    pub provider_status: Option<String>,
    /// A deposit's payment page: send the payer there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
    /// The provider's reference.
    pub provider_ref: Option<String>,
    /// How the status was learned: `create_answer`, `status_query`, `ledger`.
    pub learned_from: Option<String>,
    /// The amount, as a decimal string (on reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Its currency (on reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Why the provider contradicted the ledger, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// With `status: unknown`: why the outcome is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::errors::ErrorDetail>,
}

/// `GET /v1/orders`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrdersBody {
    /// The orders, oldest change first.
    pub orders: Vec<OrderBody>,
}

/// An event of the ledger for your application, and its delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventBody {
    /// The event's id: its `webhook-id`, the same on every delivery.
    pub id: String,
    /// `deposit.completed`, `payout.rejected`, `order.conflict`...
    pub r#type: String,
    /// The provider.
    pub provider: String,
    /// The account's name in the ledger (empty for a provider's own section).
    pub account: String,
    /// `deposit` or `payout`.
    pub kind: String,
    /// Your order id.
    pub order_id: String,
    /// Increases with each of the order's events.
    pub sequence: i64,
    /// `pending`, `failed` (retrying), `dead` (no attempt left) or `delivered`.
    pub state: String,
    /// Attempts made since it was written or last replayed.
    pub attempts: i64,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// When its next attempt is due (RFC 3339).
    pub next_attempt_at: String,
    /// The body delivered, exactly as signed.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<paybridge::ledger::Event> for EventBody {
    fn from(e: paybridge::ledger::Event) -> Self {
        Self {
            payload: serde_json::from_str(&e.body).unwrap_or(serde_json::Value::Null),
            id: e.id,
            r#type: e.event_type.to_string(),
            provider: e.key.provider,
            account: e.key.account,
            kind: match e.key.kind {
                paybridge::OrderKind::Deposit => "deposit".into(),
                _ => "payout".into(),
            },
            order_id: e.key.order_id,
            sequence: e.sequence,
            state: e.state.to_string(),
            attempts: e.attempts,
            created_at: crate::time::format(e.created_at),
            next_attempt_at: crate::time::format(e.next_attempt_at),
        }
    }
}

/// `GET /v1/webhooks`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventsBody {
    /// The events, oldest first.
    pub events: Vec<EventBody>,
}

/// One delivery attempt of an event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptBody {
    /// When it was made (RFC 3339).
    pub at: String,
    /// The HTTP status answered, when one was.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The first bytes of the answer.
    pub answer: Option<String>,
    /// Why it failed without an answer (a timeout, a refused connection).
    pub error: Option<String>,
}

impl From<paybridge::ledger::Attempt> for AttemptBody {
    fn from(a: paybridge::ledger::Attempt) -> Self {
        Self {
            at: crate::time::format(a.at),
            status: a.status,
            duration_ms: a.duration_ms,
            answer: a.answer,
            error: a.error,
        }
    }
}

/// `GET /v1/webhooks/{id}`: an event and every attempt to deliver it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDetailBody {
    /// The event.
    pub event: EventBody,
    /// Its attempts, oldest first.
    pub attempts: Vec<AttemptBody>,
}

/// `POST /v1/webhooks/{id}/replay`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayBody {
    /// The event queued again, under its own id.
    pub id: String,
    /// When its attempt is due: now (RFC 3339).
    pub next_attempt_at: String,
}
