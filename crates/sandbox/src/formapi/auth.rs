//! Auth tokens: issued by `merchant/auth`, forgotten by the control endpoint.

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;

use super::{fail, form, server_id, FormApiMount};
use crate::random_token;

pub(super) async fn auth(State(ctx): State<FormApiMount>, request: Request) -> Response {
    let fields = form(request).await;
    let (Some(username), Some(api_key)) = (fields.get("username"), fields.get("api_key")) else {
        return fail(&ctx, "Params incorrect");
    };
    let valid = ctx.merchant(username).is_some_and(|m| {
        paybridge_signing::verify_hex(
            &paybridge_signing::md5_hex(&[&m.api_key]),
            &paybridge_signing::md5_hex(&[api_key]),
        )
    });
    if !valid {
        return fail(&ctx, "Params incorrect");
    }
    let token = random_token(20);
    ctx.inner.state().auth_tokens.insert(
        (ctx.provider, token.clone()),
        username.clone(),
        ctx.inner.config.max_orders,
    );
    let mut answer = json!({ "status": true, "auth": token });
    if ctx.observed() {
        answer["order_id"] = json!(server_id());
    }
    ctx.inner.reply(answer)
}

/// Forgets every auth token issued so far, as a provider's expiry would: the
/// next call made with one is answered `Params incorrect`.
pub(super) async fn control_expire_tokens(State(ctx): State<FormApiMount>) -> Response {
    let provider = ctx.provider;
    let mut state = ctx.inner.state();
    let before = state.auth_tokens.len();
    state
        .auth_tokens
        .retain(|(issuer, _), _| *issuer != provider);
    let expired = before - state.auth_tokens.len();
    drop(state);
    ctx.inner
        .reply(json!({ "status": true, "expired": expired }))
}
