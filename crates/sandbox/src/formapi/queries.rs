//! The form API's read-only endpoints: currencies and limits, order status,
//! bank lists and balance.

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::{fail, form, num4, required_fields, FormApiMount};
use crate::state::Kind;

pub(super) async fn currency(State(ctx): State<FormApiMount>, request: Request) -> Response {
    let fields = form(request).await;
    let Some(merchant) = fields.get("username").and_then(|u| ctx.merchant(u)) else {
        return fail(&ctx, "Params incorrect");
    };
    let rate: Vec<Value> = merchant
        .limits
        .iter()
        .map(|(currency, limit)| json!({ "currency": currency, "min": num4(limit.min), "max": num4(limit.max) }))
        .collect();
    ctx.inner.reply(json!({ "status": true, "rate": rate }))
}

async fn check(ctx: FormApiMount, request: Request, kind: Kind) -> Response {
    let fields = form(request).await;
    let Some([username, id]) = required_fields(&fields, "username id") else {
        return fail(&ctx, "Params missing.");
    };
    ctx.count_status(kind, id);
    if ctx.merchant(username).is_none() {
        return fail(&ctx, "Params incorrect");
    }
    let state = ctx.inner.state();
    let Some(order) = state.orders.get(&ctx.order_key(username, kind, id)) else {
        drop(state);
        return fail(&ctx, "Order not found.");
    };
    ctx.inner.reply(StatusAnswer {
        amount: num4(order.amount),
        currency: &order.currency,
        order_datetime: &order.created_at,
        order_status: order.status,
        status: true,
    })
}

/// Both documents' status answers carry exactly these fields (in this order,
/// as every other answer's keys are).
#[derive(serde::Serialize)]
struct StatusAnswer<'a> {
    amount: Value,
    currency: &'a str,
    order_datetime: &'a str,
    order_status: &'a str,
    status: bool,
}

pub(super) async fn check_deposit(State(ctx): State<FormApiMount>, request: Request) -> Response {
    check(ctx, request, Kind::Deposit).await
}

pub(super) async fn check_withdrawal(
    State(ctx): State<FormApiMount>,
    request: Request,
) -> Response {
    check(ctx, request, Kind::Withdrawal).await
}

async fn banks(ctx: FormApiMount, request: Request, withdrawal: bool) -> Response {
    let fields = form(request).await;
    let Some(merchant) = fields.get("username").and_then(|u| ctx.merchant(u)) else {
        return fail(&ctx, "Params incorrect");
    };
    let list = if withdrawal {
        &merchant.withdrawal_banks
    } else {
        &merchant.deposit_banks
    };
    let currency = fields
        .get("currency")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty());
    let data: Vec<Value> = list
        .iter()
        .filter(|b| currency.is_none_or(|c| c == b.currency))
        .map(|b| json!({ "currency": b.currency, "bank_name": b.name, "id": b.id }))
        .collect();
    ctx.inner.reply(json!({ "status": true, "data": data }))
}

pub(super) async fn deposit_banks(State(ctx): State<FormApiMount>, request: Request) -> Response {
    banks(ctx, request, false).await
}

pub(super) async fn withdrawal_banks(
    State(ctx): State<FormApiMount>,
    request: Request,
) -> Response {
    banks(ctx, request, true).await
}

pub(super) async fn balance(State(ctx): State<FormApiMount>, request: Request) -> Response {
    let fields = form(request).await;
    let merchant = match ctx.authed(&fields) {
        Ok(m) => m.username.clone(),
        Err(message) => return fail(&ctx, message),
    };
    let Some(currency) = fields.get("currency").filter(|c| !c.is_empty()) else {
        return fail(&ctx, "Params missing.");
    };
    let amount = ctx
        .inner
        .state()
        .balances
        .get(&(ctx.provider, merchant, currency.clone()))
        .copied()
        .unwrap_or_default();
    ctx.inner
        .reply(json!({ "status": true, "balance": format!("{:.2}", amount) }))
}
