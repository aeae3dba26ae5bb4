//! ONE-PUNCH, emulated from its document: signed GET paths, a signed create
//! body, fen amounts, a payment page and signed notifications.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use paybridge_signing::{
    onepunch_create_signature, onepunch_listing_signature, onepunch_notification_signature,
    onepunch_status_signature, verify_hex, OnepunchCreateFields, OnepunchNotificationFields,
};
use serde_json::{json, Value};

use crate::config::MonsterAccount;
use crate::form_body::{read_form, read_outcome};
use crate::state::Payment;
use crate::{page, random_token, SandboxState};

/// ONE-PUNCH mounted on the sandbox: the state its routes are handed.
#[derive(Debug, Clone)]
pub(crate) struct OnePunchMount {
    pub(crate) inner: Arc<SandboxState>,
}

pub(crate) fn router(inner: Arc<SandboxState>) -> Router {
    let at = |path: &str| format!("/onepunch{path}");
    Router::new()
        .route(
            &at("/api/v0/payment/all/methods/{token}/{magic}/{signature}"),
            get(methods),
        )
        .route(
            &at("/api/v0/payment/all/prices/{token}/{magic}/{signature}"),
            get(prices),
        )
        .route(&at("/api/v0/payment/"), post(create))
        .route(&at("/api/v0/payment"), post(create))
        .route(
            &at("/api/v0/payment/status/{payment_token}/{token}/{magic}/{signature}"),
            get(status),
        )
        .route(
            &at("/payment/access/{payment_token}"),
            get(page::punch_page).post(page::punch_pay),
        )
        .route(
            &at("/_sandbox/deposits/{payment_token}/settle"),
            post(control_settle),
        )
        .with_state(OnePunchMount { inner })
}

fn envelope(ctx: &OnePunchMount, ok: bool, message: &str, payload: Value) -> Response {
    ctx.inner
        .reply(json!({ "status": ok, "message": message, "user_info": {}, "payload": payload }))
}

fn refuse(ctx: &OnePunchMount, message: &str) -> Response {
    envelope(ctx, false, message, json!({}))
}

impl OnePunchMount {
    fn account(&self, token: &str) -> Option<&MonsterAccount> {
        self.inner
            .config
            .onepunch
            .iter()
            .find(|a| a.monster_token == token)
    }
}

/// Checks a listing path's signature; the account on success.
fn listing_account<'a>(
    ctx: &'a OnePunchMount,
    token: &str,
    magic: &str,
    signature: &str,
) -> Result<&'a MonsterAccount, &'static str> {
    let account = ctx.account(token).ok_or("MONSTER TOKEN NOT FOUND")?;
    let magic: u64 = magic.parse().map_err(|_| "INVALID MAGIC NUM")?;
    let expected = onepunch_listing_signature(magic, token, &account.monster_key);
    if verify_hex(&expected, signature) {
        Ok(account)
    } else {
        Err("SIGNATURE VERIFICATION FAILED")
    }
}

async fn methods(
    State(ctx): State<OnePunchMount>,
    Path((token, magic, signature)): Path<(String, String, String)>,
) -> Response {
    match listing_account(&ctx, &token, &magic, &signature) {
        Ok(account) => {
            let list: Vec<Value> = account
                .methods
                .iter()
                .map(|(code, name)| json!({ "payment_method": code, "name": name }))
                .collect();
            envelope(
                &ctx,
                true,
                "FIND PAYMENT METHODS SUCCEED",
                Value::Array(list),
            )
        }
        Err(message) => refuse(&ctx, message),
    }
}

async fn prices(
    State(ctx): State<OnePunchMount>,
    Path((token, magic, signature)): Path<(String, String, String)>,
) -> Response {
    match listing_account(&ctx, &token, &magic, &signature) {
        Ok(account) => envelope(
            &ctx,
            true,
            "FIND PAYMENT PRICES SUCCEED",
            json!(account.prices_fen),
        ),
        Err(message) => refuse(&ctx, message),
    }
}

/// Reads the create body: JSON, or a form (the document only says "in the body").
async fn create_fields(request: Request) -> Result<HashMap<String, String>, String> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return read_form(request).await;
    }
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|e| e.body_text())?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let Value::Object(map) = value else {
        return Err("not an object".into());
    };
    let fields: HashMap<String, String> = map
        .into_iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k, text))
        })
        .collect();
    crate::recording::received_fields(&fields);
    Ok(fields)
}

async fn create(State(ctx): State<OnePunchMount>, request: Request) -> Response {
    let Ok(fields) = create_fields(request).await else {
        return refuse(&ctx, "INVALID BODY");
    };
    let get = |k: &str| fields.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (
        Some(amount),
        Some(method),
        Some(token),
        Some(notify),
        Some(ret),
        Some(magic),
        Some(signature),
    ) = (
        get("amount"),
        get("payment_method"),
        get("monster_token"),
        get("notify_url"),
        get("return_url"),
        get("magic_num"),
        get("signature"),
    )
    else {
        return refuse(&ctx, "MISSING PARAMETER");
    };
    let Some(account) = ctx.account(token).cloned() else {
        return refuse(&ctx, "MONSTER TOKEN NOT FOUND");
    };
    let (Ok(amount_fen), Ok(magic_num)) = (amount.parse::<u64>(), magic.parse::<u64>()) else {
        return refuse(&ctx, "INVALID PARAMETER");
    };
    let order_num = get("order_num");
    if let Some(num) = order_num {
        ctx.inner.state().create_requests.count(
            "onepunch",
            crate::state::Kind::Deposit,
            num,
            ctx.inner.config.max_orders,
        );
    }
    let expected = onepunch_create_signature(
        &OnepunchCreateFields {
            magic_num,
            amount_fen,
            payment_method: method,
            monster_token: token,
            order_num,
            notify_url: notify,
            return_url: ret,
        },
        &account.monster_key,
    );
    if !verify_hex(&expected, signature) {
        return refuse(&ctx, "SIGNATURE VERIFICATION FAILED");
    }
    if !account.prices_fen.contains(&amount_fen) {
        return refuse(&ctx, "INVALID AMOUNT");
    }
    if !account.methods.iter().any(|(code, _)| code == method) {
        return refuse(&ctx, "INVALID PAYMENT METHOD");
    }
    let payment_token = format!("OP{}", random_token(30).to_ascii_lowercase());
    {
        let mut state = ctx.inner.state();
        if let Some(num) = order_num {
            if state
                .payments
                .values()
                .any(|p| p.monster_token == token && p.order_num.as_deref() == Some(num))
            {
                return refuse(&ctx, "ORDER NUM EXIST");
            }
        }
        state.insert_payment(
            Payment {
                monster_token: token.to_owned(),
                payment_token: payment_token.clone(),
                trans_token: format!("TT-2-{}", random_token(28).to_ascii_lowercase()),
                payment_method: method.to_owned(),
                amount_fen,
                order_num: order_num.map(str::to_owned),
                notify_url: notify.to_owned(),
                return_url: ret.to_owned(),
                processed: false,
                completed: false,
                created_at: crate::now_text(),
            },
            ctx.inner.config.max_orders,
        );
    }
    let payment_url = format!(
        "{}/onepunch/payment/access/{payment_token}",
        ctx.inner.base_url()
    );
    envelope(
        &ctx,
        true,
        "REGISTER PAYMENT SUCCEED",
        json!({ "payment_url": payment_url, "payment_token": payment_token, "amount": amount_fen }),
    )
}

async fn status(
    State(ctx): State<OnePunchMount>,
    Path((payment_token, token, magic, signature)): Path<(String, String, String, String)>,
) -> Response {
    let Some(account) = ctx.account(&token).cloned() else {
        return refuse(&ctx, "MONSTER TOKEN NOT FOUND");
    };
    let Ok(magic) = magic.parse::<u64>() else {
        return refuse(&ctx, "INVALID MAGIC NUM");
    };
    let expected = onepunch_status_signature(&payment_token, magic, &token, &account.monster_key);
    if !verify_hex(&expected, &signature) {
        return refuse(&ctx, "SIGNATURE VERIFICATION FAILED");
    }
    let payment = ctx.inner.state().payments.get(&payment_token).cloned();
    match payment.filter(|p| p.monster_token == token) {
        Some(p) => envelope(
            &ctx,
            true,
            "FIND PAYMENT STATUS SUCCEED",
            json!({
                "monster_token": p.monster_token,
                "trans_token": p.trans_token,
                "payment_token": p.payment_token,
                "payment_method": p.payment_method,
                "amount": p.amount_fen,
                "processed": p.processed,
                "completed": p.completed,
                "type": "NORMAL",
            }),
        ),
        None => refuse(&ctx, "PAYMENT NOT FOUND"),
    }
}

/// Settles a payment and sends its notification.
pub(crate) fn settle_payment(
    ctx: &OnePunchMount,
    payment_token: &str,
    outcome: &str,
) -> Result<Payment, (StatusCode, String)> {
    let completed = match outcome {
        "completed" => true,
        "fail" => false,
        _ => {
            return Err((
                StatusCode::BAD_REQUEST,
                "outcome must be completed or fail".into(),
            ))
        }
    };
    let payment = {
        let mut state = ctx.inner.state();
        let Some(payment) = state.payments.get_mut(payment_token) else {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no payment {payment_token:?}"),
            ));
        };
        if payment.processed {
            return Err((StatusCode::CONFLICT, "already settled".into()));
        }
        payment.processed = true;
        payment.completed = completed;
        payment.clone()
    };
    let Some(account) = ctx.account(&payment.monster_token).cloned() else {
        return Err((StatusCode::NOT_FOUND, "account vanished".into()));
    };
    let message = if completed {
        "TRANSACTION SUCCEED"
    } else {
        "TRANSACTION FAILED"
    };
    let signature = onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: completed,
            message,
            payment_token: &payment.payment_token,
            amount_fen: payment.amount_fen,
            monster_token: &payment.monster_token,
            order_num: payment.order_num.as_deref(),
        },
        &account.monster_key,
    );
    let mut body = json!({
        "monster_token": payment.monster_token,
        "transaction_status": completed,
        "message": message,
        "amount": payment.amount_fen,
        "order_num": payment.order_num.clone().unwrap_or_default(),
        "signature": signature,
    });
    if ctx.inner.config.onepunch_notify_includes_payment_token {
        body["payment_token"] = json!(payment.payment_token);
    }
    ctx.inner.deliver(
        crate::journal::JournalKey {
            provider: "onepunch",
            kind: crate::state::Kind::Deposit,
            reference: payment.payment_token.clone(),
        },
        payment.notify_url.clone(),
        body,
    );
    Ok(payment)
}

async fn control_settle(
    State(ctx): State<OnePunchMount>,
    Path(payment_token): Path<String>,
    request: Request,
) -> Response {
    let outcome = read_outcome(request).await;
    match settle_payment(&ctx, &payment_token, &outcome) {
        Ok(p) => envelope(
            &ctx,
            true,
            "SETTLED",
            json!({ "processed": p.processed, "completed": p.completed }),
        ),
        Err((code, message)) => (code, message).into_response(),
    }
}
