//! The sandbox's router, and the one middleware every request passes.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::control_access::{is_control, refused_from_elsewhere, refused_without_token};
use crate::{dashboard, faults, formapi, onepunch, recording, webhooks, SandboxState};

/// The whole sandbox as an axum router (for embedding in tests).
pub fn router(inner: Arc<SandboxState>) -> Router<()> {
    let mounts = inner.mounts.iter().fold(Router::new(), |router, &mount| {
        router.merge(formapi::router(inner.clone(), mount))
    });
    mounts
        .merge(onepunch::router(inner.clone()))
        .merge(
            Router::new()
                .route(
                    "/_sandbox/faults",
                    axum::routing::get(fault_stats).post(set_faults),
                )
                .route(webhooks::PATH, axum::routing::post(webhooks::receive))
                .with_state(inner.clone()),
        )
        .merge(dashboard::router(inner.clone()))
        .layer(middleware::from_fn_with_state(inner, front))
}

/// Every request passes here, outermost first: the access log, the token
/// guard, fault injection, then the journal. One middleware rather than four
/// layers, because each layer costs a request allocations of its own.
async fn front(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
    request: Request,
    next: Next,
) -> Response {
    let access = tracing::enabled!(target: ACCESS_LOG, tracing::Level::INFO).then(|| {
        // Paths can carry signatures; they are not secrets, but query strings are dropped.
        (
            Instant::now(),
            request.method().clone(),
            request.uri().path().to_owned(),
        )
    });
    let control = is_control(request.uri().path());
    let refused = if control {
        refused_from_elsewhere(&inner, &request).or_else(|| refused_without_token(&inner, &request))
    } else {
        None
    };
    let mut response = match refused {
        Some(refusal) => refusal,
        None => {
            faults::inject(&inner, request, |request| {
                recording::record(&inner, request, next)
            })
            .await
        }
    };
    if control {
        // The dashboard sets its own policy (with its script's nonce); the
        // JSON behind it needs none of a page's.
        let headers = response.headers_mut();
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(header::HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            ));
        headers.insert(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static("DENY"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
    }
    if let Some((started, method, path)) = access {
        tracing::info!(
            target: ACCESS_LOG,
            "{method} {path} {} {:.1?}",
            response.status().as_u16(),
            started.elapsed()
        );
    }
    response
}

/// The access log's target.
const ACCESS_LOG: &str = "paybridge_sandbox::access";

async fn set_faults(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
    axum::Json(config): axum::Json<faults::FaultConfig>,
) -> Response {
    *inner.faults() = faults::Faults::new(config);
    inner.reply(serde_json::json!({ "status": true }))
}

async fn fault_stats(
    axum::extract::State(inner): axum::extract::State<Arc<SandboxState>>,
) -> Response {
    let faults = inner.faults();
    inner.reply(serde_json::json!({
        "seen": faults.seen,
        "injected": faults.injected,
        "config": faults.config(),
    }))
}
