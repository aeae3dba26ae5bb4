//! The payment page: the order, a "Pay" and a "Fail" button.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::form_body::read_outcome;
use crate::formapi::{settle_order, FormApiMount};
use crate::not_found;
use crate::onepunch::{settle_payment, OnePunchMount};
use crate::state::Kind;

pub(crate) fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(
    provider: &str,
    rows: &[(&str, String)],
    action: &str,
    pay_value: &str,
    fail_value: &str,
) -> Html<String> {
    let rows: String = rows
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td id=\"{}\">{}</td></tr>",
                escape(k),
                escape(k),
                escape(v)
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{provider} sandbox payment</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto}}th{{text-align:left;padding-right:1em}}button{{font-size:1.2em;margin:1em .5em 0 0}}</style>
</head><body>
<h1>{provider} sandbox</h1>
<p>No real money moves here.</p>
<table>{rows}</table>
<form method="post" action="{action}">
<button id="pay" name="outcome" value="{pay_value}">Pay</button>
<button id="fail" name="outcome" value="{fail_value}">Fail</button>
</form>
</body></html>"#,
        provider = escape(provider),
        action = escape(action),
    ))
}

fn finished(provider: &str, outcome: &str, redirect: Option<String>) -> Response {
    match redirect {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        None => Html(format!(
            "<!doctype html><html><body><h1>{}</h1><p id=\"outcome\">Payment {}</p></body></html>",
            escape(provider),
            escape(outcome)
        ))
        .into_response(),
    }
}

pub(crate) async fn form_page(
    State(ctx): State<FormApiMount>,
    Path(payment_id): Path<String>,
) -> Response {
    let order = {
        let state = ctx.inner.state();
        state
            .pages
            .get(&(ctx.provider, payment_id.clone()))
            .and_then(|key| state.orders.get(key))
            .cloned()
    };
    let Some(order) = order else {
        return not_found();
    };
    page(
        ctx.provider.name(),
        &[
            ("order", order.order_id.clone()),
            ("amount", format!("{} {}", order.amount, order.currency)),
            ("customer", order.name.clone()),
            ("status", order.status.to_owned()),
        ],
        &format!("/{}/pay/{}", ctx.provider.name(), payment_id),
        "completed",
        "fail",
    )
    .into_response()
}

pub(crate) async fn form_pay(
    State(ctx): State<FormApiMount>,
    Path(payment_id): Path<String>,
    request: Request,
) -> Response {
    let outcome = read_outcome(request).await;
    let key = ctx
        .inner
        .state()
        .pages
        .get(&(ctx.provider, payment_id))
        .cloned();
    let Some((_, merchant, _, order_id)) = key else {
        return not_found();
    };
    match settle_order(&ctx, &merchant, Kind::Deposit, &order_id, &outcome) {
        Ok(order) => finished(ctx.provider.name(), order.status, order.redirect_url),
        Err((code, message)) => (code, message).into_response(),
    }
}

pub(crate) async fn punch_page(
    State(ctx): State<OnePunchMount>,
    Path(token): Path<String>,
) -> Response {
    let payment = ctx.inner.state().payments.get(&token).cloned();
    let Some(payment) = payment else {
        return not_found();
    };
    page(
        "onepunch",
        &[
            ("order", payment.order_num.clone().unwrap_or_default()),
            ("amount", format!("{} fen", payment.amount_fen)),
            ("method", payment.payment_method.clone()),
            (
                "status",
                if payment.processed {
                    "processed"
                } else {
                    "waiting"
                }
                .to_owned(),
            ),
        ],
        &format!("/onepunch/payment/access/{token}"),
        "completed",
        "fail",
    )
    .into_response()
}

pub(crate) async fn punch_pay(
    State(ctx): State<OnePunchMount>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let outcome = read_outcome(request).await;
    match settle_payment(&ctx, &token, &outcome) {
        Ok(payment) => finished(
            "onepunch",
            if payment.completed {
                "completed"
            } else {
                "fail"
            },
            Some(payment.return_url),
        ),
        Err((code, message)) => (code, message).into_response(),
    }
}
