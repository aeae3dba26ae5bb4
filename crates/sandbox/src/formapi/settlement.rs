//! Settling an order (from the payment page or the control endpoints) and
//! calling the merchant back.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::json;

use super::{form, num4, FormApiMount};
use crate::state::{Flavour, Kind, Order};

/// Settles an order with `outcome`, as the provider would, and sends its
/// callback. Returns the order after settling.
pub(crate) fn settle_order(
    ctx: &FormApiMount,
    merchant: &str,
    kind: Kind,
    order_id: &str,
    outcome: &str,
) -> Result<Order, (StatusCode, String)> {
    // Only One1Pay's document shows a payout `rejected`.
    let allowed: &[&str] = match (kind, ctx.provider.like()) {
        (Kind::Withdrawal, Flavour::One1pay) => &["completed", "fail", "rejected"],
        _ => &["completed", "fail"],
    };
    let Some(status) = allowed.iter().find(|o| **o == outcome).copied() else {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("outcome must be one of {}", allowed.join(", ")),
        ));
    };
    let Some(account) = ctx.merchant(merchant).cloned() else {
        return Err((StatusCode::NOT_FOUND, format!("no merchant {merchant:?}")));
    };
    let order = {
        let mut state = ctx.inner.state();
        let key = ctx.order_key(merchant, kind, order_id);
        let Some(order) = state.orders.get_mut(&key) else {
            return Err((StatusCode::NOT_FOUND, format!("no {kind:?} {order_id:?}")));
        };
        if order.status != "pending" && order.status != "proccess" {
            return Err((
                StatusCode::CONFLICT,
                format!("already settled as {}", order.status),
            ));
        }
        order.status = status;
        order.charge = if kind == Kind::Deposit && status == "completed" {
            (order.amount * Decimal::new(3, 2)).round_dp(4)
        } else {
            Decimal::ZERO
        };
        let order = order.clone();
        if kind == Kind::Withdrawal && status != "completed" {
            *state
                .balances
                .entry((ctx.provider, merchant.to_owned(), order.currency.clone()))
                .or_default() += order.amount;
        }
        order
    };
    let mut body = json!({
        "order_id": order.order_id,
        "amount": num4(order.amount),
        "currency": order.currency,
        "order_status": order.status,
        "status": true,
        "charge": format!("{:.4}", order.charge),
        "token": paybridge_signing::form_callback_token(&account.secret_key, &order.order_id),
        "name": order.name,
        "type": match kind { Kind::Deposit => "deposit", Kind::Withdrawal => "withdrawal" },
    });
    if kind == Kind::Withdrawal {
        body["remarks"] = json!(match status {
            "completed" => "Success",
            "rejected" => "Rejected by the sandbox",
            _ => "Failed in the sandbox",
        });
    }
    match order.callback_url.clone().or(account.callback_url.clone()) {
        Some(url) => ctx.inner.deliver(
            crate::journal::JournalKey {
                provider: ctx.provider.name(),
                kind,
                reference: order.order_id.clone(),
            },
            url,
            body,
        ),
        None => tracing::warn!(order_id = %order.order_id, "no callback URL: nothing to call back"),
    }
    Ok(order)
}

async fn control_settle(ctx: FormApiMount, kind: Kind, id: String, request: Request) -> Response {
    let fields = form(request).await;
    let outcome = fields.get("outcome").cloned().unwrap_or_default();
    let merchant = fields
        .get("merchant")
        .cloned()
        .unwrap_or_else(|| crate::DEMO_USERNAME.to_owned());
    match settle_order(&ctx, &merchant, kind, &id, &outcome) {
        Ok(order) => ctx
            .inner
            .reply(json!({ "status": true, "order_status": order.status })),
        Err((code, message)) => (code, message).into_response(),
    }
}

pub(super) async fn control_settle_deposit(
    State(ctx): State<FormApiMount>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    control_settle(ctx, Kind::Deposit, id, request).await
}

pub(super) async fn control_settle_withdrawal(
    State(ctx): State<FormApiMount>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    control_settle(ctx, Kind::Withdrawal, id, request).await
}
