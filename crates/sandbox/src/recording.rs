//! Journals every order request: the front middleware opens a per-request
//! record for the order endpoints, the form reader and the answer writer fill
//! it in, and the record is filed under its order once the answer is made.
//!
//! The record keeps the body and the answer as bytes; they are parsed and
//! scrubbed only when shown, so journaling stays off the hot path's costs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::journal::{Exchange, JournalKey, Received};
use crate::state::Kind;
use crate::SandboxState;

/// What one request's handler read and answered.
#[derive(Default)]
struct Current {
    /// The form field whose value names the order, for endpoints that have one.
    reference_field: Option<&'static str>,
    /// That field's value, once the form is read.
    reference: Option<String>,
    received: Option<Received>,
    answer: Option<Bytes>,
}

tokio::task_local! {
    static CURRENT: RefCell<Current>;
}

/// The form a handler read, if a record is open: `raw` makes the copy kept.
pub(crate) fn received(raw: impl FnOnce() -> Received, fields: &HashMap<String, String>) {
    let _ = CURRENT.try_with(|current| {
        let mut current = current.borrow_mut();
        current.received = Some(raw());
        if let Some(name) = current.reference_field {
            current.reference = fields.get(name).cloned();
        }
    });
}

/// Fields a handler read from a body that is not urlencoded, if a record is open.
pub(crate) fn received_fields(fields: &HashMap<String, String>) {
    received(|| Received::Fields(fields.clone()), fields);
}

/// The answer a handler gave, if a record is open.
pub(crate) fn answered(answer: &Bytes) {
    let _ = CURRENT.try_with(|current| current.borrow_mut().answer = Some(answer.clone()));
}

/// How an endpoint's order is found.
enum Reference {
    /// A form field (`orderid`, `id`).
    Field(&'static str),
    /// ONE-PUNCH's create: the token it answered, else the `order_num` field.
    CreatedPayment,
    /// A path segment (ONE-PUNCH's status: the payment token).
    Segment(String),
}

/// The provider, kind and reference of an order endpoint; `None` for the rest.
/// `mount` names the form-API mount of a path's first segment (a brand's too).
fn endpoint(
    path: &str,
    mount: impl Fn(&str) -> Option<&'static str>,
) -> Option<(&'static str, Kind, Reference)> {
    let (provider, rest) = path.trim_start_matches('/').split_once('/')?;
    if provider == "onepunch" {
        let payment = rest.strip_prefix("api/v0/payment")?;
        if payment.is_empty() || payment == "/" {
            return Some(("onepunch", Kind::Deposit, Reference::CreatedPayment));
        }
        let token = payment.strip_prefix("/status/")?.split('/').next()?;
        return Some((
            "onepunch",
            Kind::Deposit,
            Reference::Segment(token.to_owned()),
        ));
    }
    let provider = mount(provider)?;
    let (kind, field) = match rest {
        "merchant/generate_orders" => (Kind::Deposit, "orderid"),
        "merchant/withdraw_orders" => (Kind::Withdrawal, "orderid"),
        "merchant/check_status" => (Kind::Deposit, "id"),
        "merchant/check_withdraw_status" => (Kind::Withdrawal, "id"),
        _ => return None,
    };
    Some((provider, kind, Reference::Field(field)))
}

/// ONE-PUNCH's payment token in a create answer.
fn payment_token(answer: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    value["payload"]["payment_token"]
        .as_str()
        .map(str::to_owned)
}

/// Runs the request, journaling it when it is an order endpoint's.
pub(crate) async fn record(inner: &SandboxState, request: Request, next: Next) -> Response {
    let mount = |name: &str| inner.mount(name).map(|m| m.name());
    let Some((provider, kind, reference)) = endpoint(request.uri().path(), mount) else {
        return next.run(request).await;
    };
    let at = SystemTime::now();
    let path = request.uri().path().to_owned();
    let start = Current {
        reference_field: match reference {
            Reference::Field(name) => Some(name),
            Reference::CreatedPayment => Some("order_num"),
            Reference::Segment(_) => None,
        },
        ..Current::default()
    };
    let (response, current) = CURRENT
        .scope(RefCell::new(start), async {
            let response = next.run(request).await;
            (response, CURRENT.with(RefCell::take))
        })
        .await;
    let answer = current.answer.unwrap_or_default();
    let reference = match reference {
        Reference::Field(_) => current.reference,
        Reference::Segment(token) => Some(token),
        Reference::CreatedPayment => payment_token(&answer).or(current.reference),
    };
    if let Some(reference) = reference.filter(|r| !r.is_empty()) {
        let key = JournalKey {
            provider,
            kind,
            reference,
        };
        let received = current
            .received
            .unwrap_or_else(|| Received::Fields(HashMap::new()));
        inner
            .journal()
            .exchange(&key, Exchange::new(at, path, received, answer));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented form-API mounts.
    fn documented(name: &str) -> Option<&'static str> {
        ["vpay88", "one1pay"].into_iter().find(|m| *m == name)
    }

    #[test]
    fn order_endpoints_are_found_by_path_and_the_rest_pass() {
        let field = |path| match endpoint(path, documented) {
            Some((provider, kind, Reference::Field(name))) => Some((provider, kind, name)),
            _ => None,
        };
        assert_eq!(
            field("/vpay88/merchant/check_status"),
            Some(("vpay88", Kind::Deposit, "id"))
        );
        assert_eq!(
            field("/one1pay/merchant/withdraw_orders"),
            Some(("one1pay", Kind::Withdrawal, "orderid"))
        );
        assert!(field("/vpay88/merchant/auth").is_none());
        assert!(endpoint("/vpay88/pay/P1", documented).is_none());
        assert!(endpoint("/", documented).is_none());
        assert!(matches!(
            endpoint("/onepunch/api/v0/payment/", documented),
            Some(("onepunch", _, Reference::CreatedPayment))
        ));
        assert!(matches!(
            endpoint("/onepunch/api/v0/payment/status/TOK/t/m/s", documented),
            Some(("onepunch", _, Reference::Segment(token))) if token == "TOK"
        ));
        assert!(endpoint("/onepunch/api/v0/payment/all/methods/t/m/s", documented).is_none());
    }
}
