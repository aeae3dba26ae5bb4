//! Who may reach the dashboard and the control endpoints: requests from this
//! machine's own pages, and, beyond loopback, those that carry the token.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::SandboxState;

/// Whether `path` is the dashboard or a control endpoint (not a provider's
/// API, nor a payment page, which merchants and payers must reach).
pub(crate) fn is_control(path: &str) -> bool {
    path == "/"
        || path.starts_with("/_sandbox/")
        || path
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, rest)| rest.starts_with("_sandbox/"))
}

/// The refusal of a dashboard or control request from another site: a
/// browser's `Sec-Fetch-Site: cross-site`, an `Origin` that is not this
/// sandbox's (a cross-site form post or `fetch`), or, on a loopback sandbox,
/// a `Host` that is not its own address (DNS rebinding: a page of
/// `evil.example` whose name now points at 127.0.0.1). Clients that send
/// neither `Origin` nor `Sec-Fetch-Site` (scripts, tests) pass.
pub(crate) fn refused_from_elsewhere(inner: &SandboxState, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let forbidden = |why: &str| Some((StatusCode::FORBIDDEN, why.to_owned()).into_response());
    let host = text(header::HOST).unwrap_or_default();
    if inner.token.get().is_none() && !is_own_host(&inner.base_url(), host) {
        return forbidden(&format!(
            "refused: Host {host:?} is not this sandbox's address (use http://127.0.0.1:PORT or http://localhost:PORT)"
        ));
    }
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return forbidden(
            "refused: a cross-site request to the sandbox's dashboard or control endpoints",
        );
    }
    if let Some(origin) = text(header::ORIGIN) {
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host));
        if !own {
            return forbidden(&format!(
                "refused: Origin {origin:?} is not this sandbox's ({host})"
            ));
        }
    }
    None
}

/// Whether `host` (a `Host` header) names a loopback sandbox at `base_url`:
/// its own address, or localhost, 127.0.0.1 or [::1], with its port. A
/// sandbox whose address is not known yet (a router embedded in a test)
/// takes those names with any port.
fn is_own_host(base_url: &str, host: &str) -> bool {
    let own = base_url.strip_prefix("http://").unwrap_or_default();
    if !own.is_empty() && host.eq_ignore_ascii_case(own) {
        return true;
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    let loopback = matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    );
    let own_port = own.rsplit_once(':').map(|(_, port)| port);
    loopback
        && match own_port {
            Some(own_port) => port == Some(own_port),
            None => true,
        }
}

/// The refusal of a dashboard or control request without the token, when one is set.
pub(crate) fn refused_without_token(inner: &SandboxState, request: &Request) -> Option<Response> {
    let token = inner.token.get()?;
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = request.uri().query().unwrap_or_default();
    let given = bearer.map(str::to_owned).or_else(|| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v)
            })
    });
    let matches = given.is_some_and(|given| {
        paybridge_signing::verify_hex(
            &paybridge_signing::md5_hex(&[token]),
            &paybridge_signing::md5_hex(&[&given]),
        )
    });
    (!matches).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            "this sandbox listens beyond loopback: give the token it printed at start (?token= or Authorization: Bearer)",
        )
            .into_response()
    })
}
