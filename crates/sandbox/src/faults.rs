//! Fault injection: what real providers do on a bad day, on demand and seeded,
//! so a failing run can be replayed.
//!
//! Rules are set per provider and per endpoint, in the sandbox's TOML file
//! (`[faults]`) or at run time with `POST /_sandbox/faults` (a JSON body of the
//! same shape). Payment pages and `/_sandbox/` control endpoints are never faulted.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::SandboxState;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The answer comes `latency_ms` late.
    Latency,
    /// HTTP 503 before anything is done.
    Error5xx,
    /// The connection is closed before anything is done.
    CloseBeforeResponse,
    /// The request is carried out, then the connection is closed without an answer.
    DropAfterCommit,
    /// The request is carried out, then an HTML error page comes back with HTTP 200.
    Malformed,
    /// The request is carried out and the answer trickles, one byte per `latency_ms`.
    Trickle,
    /// The order is created, then the answer says its id exists already (as a
    /// provider behind a retrying proxy would): `Order id exist!` / `Order ID Exist.`.
    DuplicateAfterCommit,
    /// The order is created and at once held as failed, then the connection is
    /// closed without an answer.
    FailAfterCommit,
    /// The order is created, but the provider holds another amount under its id
    /// (as after an earlier order under a reused id); the connection is closed.
    OtherAmountAfterCommit,
    /// The order is created, then the answer is a refusal no document writes
    /// (`{"status": false, "message": "System busy, try again later."}`).
    UndocumentedRefusalAfterCommit,
    /// The order is created, then the answer is the documented duplicate-id
    /// refusal with HTTP 409, as a proxy in front of the provider might send.
    ConflictStatusAfterCommit,
    /// The request is carried out, then the answer is a 307 redirect to another
    /// address.
    RedirectAfterCommit,
    /// A 307 redirect to another address before anything is done.
    Redirect,
}

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `vpay88`, `one1pay`, `onepunch` or `*`.
    #[serde(default = "any")]
    pub provider: String,
    /// The endpoint's last path word (`withdraw_orders`, `check_status`, `auth`,
    /// `status`, `payment`...) or `*`.
    #[serde(default = "any")]
    pub endpoint: String,
    /// What happens.
    pub kind: FaultKind,
    /// How often, in percent of matching requests.
    pub percent: u8,
    /// For `latency` and `trickle`.
    #[serde(default)]
    pub latency_ms: u64,
}

fn any() -> String {
    "*".into()
}

/// All fault settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the decisions.
    #[serde(default)]
    pub seed: u64,
    /// Rules; each matching rule is rolled in order and the first hit applies.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Percent of callbacks delivered twice.
    #[serde(default)]
    pub duplicate_callbacks_percent: u8,
    /// Callbacks wait a random 0..=this many milliseconds, so they arrive out of order.
    #[serde(default)]
    pub callback_jitter_ms: u64,
}

/// Live fault state: the settings and the seeded generator.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: StdRng,
    /// Requests faulted so far.
    pub injected: u64,
    /// Requests seen by the fault layer.
    pub seen: u64,
}

impl Faults {
    /// Fault state from settings.
    pub fn new(config: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Self {
            config,
            rng,
            injected: 0,
            seen: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Rolls each matching rule in order; the first that hits applies.
    fn pick(&mut self, provider: &str, endpoint: &str) -> Option<FaultRule> {
        self.seen += 1;
        if self.config.rules.is_empty() {
            return None;
        }
        let matching: Vec<FaultRule> = self
            .config
            .rules
            .iter()
            .filter(|r| {
                (r.provider == "*" || r.provider == provider)
                    && (r.endpoint == "*" || r.endpoint == endpoint)
            })
            .cloned()
            .collect();
        for rule in matching {
            if self.rng.gen_range(0..100u8) < rule.percent {
                self.injected += 1;
                return Some(rule);
            }
        }
        None
    }

    /// Whether this callback is delivered twice, and how long it waits first.
    pub fn callback_plan(&mut self) -> (bool, Duration) {
        let twice = self.rng.gen_range(0..100u8) < self.config.duplicate_callbacks_percent;
        let wait = match self.config.callback_jitter_ms {
            0 => 0,
            max => self.rng.gen_range(0..=max),
        };
        (twice, Duration::from_millis(wait))
    }
}

/// `(provider, endpoint)` of a request path to a provider `known` names (a
/// configured brand's too); `None` for pages and control endpoints.
fn classify(path: &str, known: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
    let (provider, rest) = path.trim_matches('/').split_once('/')?;
    if !known(provider)
        || rest.starts_with("_sandbox/")
        || rest.starts_with("pay/")
        || rest.starts_with("payment/access/")
    {
        return None;
    }
    let endpoint = match provider {
        // /api/v0/payment/all/{methods|prices}/..., /api/v0/payment/status/..., /api/v0/payment/
        "onepunch" => {
            let mut words = rest.split('/').skip(3);
            match words.next() {
                Some("all") => words.next()?,
                Some("status") => "status",
                _ => "payment",
            }
        }
        _ => rest.rsplit('/').next()?,
    };
    Some((provider, endpoint))
}

/// A body that fails at once: the client sees the connection close.
fn broken() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault injected: connection dropped"))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Where a redirect fault points: another address, on which nothing listens.
pub const REDIRECT_TARGET: &str = "http://127.0.0.1:9/elsewhere";

/// A 307 to [`REDIRECT_TARGET`].
fn redirect() -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, REDIRECT_TARGET)],
    )
        .into_response()
}

/// Runs the request through `next`, or faults it as a rule picks.
pub(crate) async fn inject<F>(
    inner: &SandboxState,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response
where
    F: Future<Output = Response>,
{
    let known = |name: &str| name == "onepunch" || inner.mount(name).is_some();
    let picked = classify(request.uri().path(), known).and_then(|(provider, endpoint)| {
        let rule = inner.faults().pick(provider, endpoint)?;
        Some((rule, provider.to_owned(), endpoint.to_owned()))
    });
    let Some((rule, provider, endpoint)) = picked else {
        return next(request).await;
    };
    let (provider, endpoint) = (provider.as_str(), endpoint.as_str());
    tracing::info!(
        target: "paybridge_sandbox::faults",
        "{:?} on {}",
        rule.kind,
        request.uri().path()
    );
    match rule.kind {
        FaultKind::Latency => {
            tokio::time::sleep(Duration::from_millis(rule.latency_ms)).await;
            next(request).await
        }
        FaultKind::Error5xx => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Unavailable</html>",
        )
            .into_response(),
        FaultKind::CloseBeforeResponse => broken(),
        FaultKind::DropAfterCommit => {
            let _ = next(request).await;
            broken()
        }
        FaultKind::Malformed => {
            let _ = next(request).await;
            (StatusCode::OK, "<html><body>502 Bad Gateway</body></html>").into_response()
        }
        FaultKind::Redirect => redirect(),
        FaultKind::RedirectAfterCommit => {
            let _ = next(request).await;
            redirect()
        }
        FaultKind::DuplicateAfterCommit
        | FaultKind::FailAfterCommit
        | FaultKind::OtherAmountAfterCommit
        | FaultKind::UndocumentedRefusalAfterCommit
        | FaultKind::ConflictStatusAfterCommit => {
            // Boxed, so that this rare path does not weigh on every request's future.
            Box::pin(after_commit(
                inner, rule.kind, provider, endpoint, request, next,
            ))
            .await
        }
        FaultKind::Trickle => {
            let response = next(request).await;
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            let delay = Duration::from_millis(rule.latency_ms);
            let stream =
                futures_util::stream::unfold((bytes, 0usize), move |(bytes, at)| async move {
                    if at >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(delay).await;
                    Some((
                        Ok::<Bytes, Infallible>(bytes.slice(at..at + 1)),
                        (bytes, at + 1),
                    ))
                });
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

/// Carries a create request out, then alters what the provider holds or says,
/// as `kind` describes. Other endpoints just lose their answer.
async fn after_commit<F: Future<Output = Response>>(
    inner: &crate::SandboxState,
    kind: FaultKind,
    provider: &str,
    endpoint: &str,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let order_kind = match endpoint {
        "withdraw_orders" => crate::state::Kind::Withdrawal,
        "generate_orders" => crate::state::Kind::Deposit,
        _ => {
            let _ = next(request).await;
            return broken();
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 20).await else {
        return broken();
    };
    let copy = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
    let order_id = crate::form_body::read_form(copy)
        .await
        .ok()
        .and_then(|mut fields| fields.remove("orderid"));
    let _ = next(Request::from_parts(parts, Body::from(bytes))).await;
    {
        let mut state = inner.state();
        let held = state.orders.iter_mut().find(|((p, _, k, id), _)| {
            p.name() == provider && *k == order_kind && Some(id) == order_id.as_ref()
        });
        if let Some((_, order)) = held {
            match kind {
                FaultKind::FailAfterCommit => order.status = "fail",
                FaultKind::OtherAmountAfterCommit => order.amount += rust_decimal::Decimal::ONE,
                _ => {}
            }
        }
    }
    let duplicate = match order_kind {
        crate::state::Kind::Withdrawal => "Order id exist!",
        crate::state::Kind::Deposit => "Order ID Exist.",
    };
    let (status, message) = match kind {
        FaultKind::DuplicateAfterCommit => (StatusCode::OK, duplicate),
        FaultKind::ConflictStatusAfterCommit => (StatusCode::CONFLICT, duplicate),
        FaultKind::UndocumentedRefusalAfterCommit => {
            (StatusCode::OK, "System busy, try again later.")
        }
        _ => return broken(),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "status": false, "message": message }).to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_classify_by_endpoint() {
        let table = [
            (
                "/vpay88/merchant/withdraw_orders",
                Some(("vpay88", "withdraw_orders")),
            ),
            ("/onepunch/api/v0/payment/", Some(("onepunch", "payment"))),
            (
                "/onepunch/api/v0/payment/status/OP1/MON/1/sig",
                Some(("onepunch", "status")),
            ),
            (
                "/onepunch/api/v0/payment/all/prices/MON/1/sig",
                Some(("onepunch", "prices")),
            ),
            ("/one1pay/_sandbox/withdrawals/W1/settle", None),
            ("/one1pay/pay/123", None),
            ("/onepunch/payment/access/OP1", None),
            ("/_sandbox/orders", None),
            ("/_sandbox/deliveries/3/resend", None),
            ("/", None),
        ];
        for (path, endpoint) in table {
            let known = |p: &str| matches!(p, "vpay88" | "one1pay" | "onepunch");
            assert_eq!(classify(path, known), endpoint, "{path}");
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_decisions() {
        let config = FaultConfig {
            seed: 7,
            rules: vec![FaultRule {
                provider: "*".into(),
                endpoint: "*".into(),
                kind: FaultKind::Error5xx,
                percent: 30,
                latency_ms: 0,
            }],
            ..FaultConfig::default()
        };
        let run = |config: FaultConfig| {
            let mut faults = Faults::new(config);
            (0..200)
                .map(|_| faults.pick("vpay88", "auth").is_some())
                .collect::<Vec<_>>()
        };
        let first = run(config.clone());
        assert_eq!(first, run(config));
        let hits = first.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "about 30% of 200, got {hits}");
    }
}
