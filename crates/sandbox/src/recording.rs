//! Journals every order request: a middleware opens a per-request record for
//! the order endpoints, the form reader and the answer writer fill it in, and
//! the middleware files it under its order once the answer is made.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::journal::{self, Exchange, JournalKey};
use crate::state::Kind;
use crate::Inner;

/// What one request's handler read and answered.
#[derive(Debug, Default)]
struct Current {
    fields: Option<BTreeMap<String, String>>,
    answer: Option<Value>,
}

tokio::task_local! {
    static CURRENT: RefCell<Current>;
}

/// The form fields a handler read, if a record is open.
pub(crate) fn received(fields: &HashMap<String, String>) {
    let _ =
        CURRENT.try_with(|current| current.borrow_mut().fields = Some(journal::scrubbed(fields)));
}

/// The answer a handler gave, if a record is open.
pub(crate) fn answered(answer: &Value) {
    let _ = CURRENT
        .try_with(|current| current.borrow_mut().answer = Some(journal::scrubbed_json(answer)));
}

/// How an endpoint's order is found: its provider, kind, and where its
/// reference is.
enum Reference {
    /// A form field (`orderid`, `id`).
    Field(&'static str),
    /// ONE-PUNCH's create: the token it answered, else `order_num`.
    CreatedPayment,
    /// A path segment (ONE-PUNCH's status: the payment token).
    Segment(String),
}

fn endpoint(path: &str) -> Option<(&'static str, Kind, Reference)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let provider = match parts.next()? {
        "vpay88" => "vpay88",
        "one1pay" => "one1pay",
        "onepunch" => "onepunch",
        _ => return None,
    };
    let rest: Vec<&str> = parts.collect();
    let found = match (provider, rest.as_slice()) {
        ("onepunch", ["api", "v0", "payment"] | ["api", "v0", "payment", ""]) => {
            (Kind::Deposit, Reference::CreatedPayment)
        }
        ("onepunch", ["api", "v0", "payment", "status", token, ..]) => {
            (Kind::Deposit, Reference::Segment((*token).to_owned()))
        }
        (_, ["merchant", "generate_orders"]) => (Kind::Deposit, Reference::Field("orderid")),
        (_, ["merchant", "withdraw_orders"]) => (Kind::Withdrawal, Reference::Field("orderid")),
        (_, ["merchant", "check_status"]) => (Kind::Deposit, Reference::Field("id")),
        (_, ["merchant", "check_withdraw_status"]) => (Kind::Withdrawal, Reference::Field("id")),
        _ => return None,
    };
    Some((provider, found.0, found.1))
}

/// The middleware: order endpoints are journaled, the rest pass untouched.
pub(crate) async fn record(
    State(inner): State<Arc<Inner>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let Some((provider, kind, reference)) = endpoint(&path) else {
        return next.run(request).await;
    };
    let (response, current) = CURRENT
        .scope(RefCell::new(Current::default()), async {
            let response = next.run(request).await;
            let current = CURRENT.with(|c| std::mem::take(&mut *c.borrow_mut()));
            (response, current)
        })
        .await;
    let fields = current.fields.unwrap_or_default();
    let answer = current.answer.unwrap_or(Value::Null);
    let reference = match reference {
        Reference::Field(name) => fields.get(name).cloned(),
        Reference::Segment(token) => Some(token),
        Reference::CreatedPayment => answer["payload"]["payment_token"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| fields.get("order_num").cloned()),
    };
    if let Some(reference) = reference.filter(|r| !r.is_empty()) {
        let key = JournalKey {
            provider,
            kind,
            reference,
        };
        inner.journal().exchange(
            &key,
            Exchange {
                at: crate::now_text(),
                endpoint: path,
                fields,
                answer,
            },
        );
    }
    response
}
