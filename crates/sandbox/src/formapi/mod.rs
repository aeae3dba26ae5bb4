//! The Vpay88 / One1Pay merchant form API, emulated from the documents.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::config::{Merchant, Profile};
use crate::form_body::read_form;
use crate::state::{Flavour, FormProvider, Kind, OrderKey};
use crate::{page, SandboxState};

mod auth;
mod orders;
mod queries;
mod settlement;

use auth::{auth, control_expire_tokens};
use orders::{generate_orders, withdraw_orders};
use queries::{
    balance, check_deposit, check_withdrawal, currency, deposit_banks, withdrawal_banks,
};
pub(crate) use settlement::settle_order;
use settlement::{control_settle_deposit, control_settle_withdrawal};

/// A form-API provider mounted on the sandbox (Vpay88, One1Pay or a brand):
/// the state its routes are handed.
#[derive(Debug, Clone)]
pub(crate) struct FormApiMount {
    pub(crate) inner: Arc<SandboxState>,
    pub(crate) provider: FormProvider,
}

pub(crate) fn router(inner: Arc<SandboxState>, provider: FormProvider) -> Router {
    // Full paths rather than a nested router: nesting rewrites every request's URI.
    let at = |path: &str| format!("/{}{path}", provider.name());
    let mut router = Router::new()
        .route(&at("/merchant/currency"), post(currency))
        .route(&at("/merchant/auth"), post(auth))
        .route(&at("/merchant/generate_orders"), post(generate_orders))
        .route(&at("/merchant/withdraw_orders"), post(withdraw_orders))
        .route(&at("/merchant/check_status"), post(check_deposit))
        .route(
            &at("/merchant/check_withdraw_status"),
            post(check_withdrawal),
        )
        .route(&at("/wallet/bank_list"), post(deposit_banks))
        .route(&at("/wallet/withdraw_bank_list"), post(withdrawal_banks))
        .route(
            &at("/pay/{payment_id}"),
            get(page::form_page).post(page::form_pay),
        )
        .route(
            &at("/_sandbox/deposits/{id}/settle"),
            post(control_settle_deposit),
        )
        .route(
            &at("/_sandbox/withdrawals/{id}/settle"),
            post(control_settle_withdrawal),
        )
        .route(&at("/_sandbox/auth/expire"), post(control_expire_tokens));
    if provider.like() == Flavour::One1pay {
        router = router.route(&at("/wallet/get_balance"), post(balance));
    }
    router.with_state(FormApiMount { inner, provider })
}

/// A documented failure: HTTP 200, `status: false`.
fn fail(ctx: &FormApiMount, message: &str) -> Response {
    ctx.inner
        .reply(json!({ "status": false, "message": message }))
}

/// A JSON number printed with four decimals, as the documents show amounts.
pub(crate) fn num4(amount: Decimal) -> Value {
    let text = format!("{:.4}", amount);
    match text.parse::<serde_json::Number>() {
        Ok(number) => Value::Number(number),
        Err(_) => Value::String(text),
    }
}

impl FormApiMount {
    fn merchants(&self) -> &[Merchant] {
        self.inner.config.merchants(self.provider.name())
    }

    fn merchant(&self, username: &str) -> Option<&Merchant> {
        self.merchants().iter().find(|m| m.username == username)
    }

    fn observed(&self) -> bool {
        self.inner.config.profile == Profile::Observed
    }

    /// An order's form. Under `observed`, a `bank_code` stands for an absent
    /// `bank_id`, as public clients send it; the documents name `bank_id` only.
    async fn order_form(&self, request: Request) -> HashMap<String, String> {
        let mut fields = form(request).await;
        if self.observed() && !all_present(&fields, "bank_id") {
            if let Some(code) = fields.get("bank_code").cloned() {
                fields.insert("bank_id".into(), code);
            }
        }
        fields
    }

    fn count_create(&self, kind: Kind, order_id: &str) {
        self.count(|state| &mut state.create_requests, kind, order_id);
    }

    fn count_status(&self, kind: Kind, order_id: &str) {
        self.count(|state| &mut state.status_requests, kind, order_id);
    }

    /// Counts one request for an order in the tally `which` picks.
    fn count(
        &self,
        which: fn(&mut crate::state::State) -> &mut crate::state::RequestTallies,
        kind: Kind,
        order_id: &str,
    ) {
        let mut state = self.inner.state();
        which(&mut state).count(
            self.provider.name(),
            kind,
            order_id,
            self.inner.config.max_orders,
        );
    }

    /// The key an order of `merchant`'s is stored under.
    fn order_key(&self, merchant: &str, kind: Kind, order_id: &str) -> OrderKey {
        (
            self.provider,
            merchant.to_owned(),
            kind,
            order_id.to_owned(),
        )
    }

    /// The order's own callback URL: One1Pay takes one per order, Vpay88 only per account.
    fn order_callback_url(&self, fields: &HashMap<String, String>) -> Option<String> {
        match self.provider.like() {
            Flavour::One1pay => fields
                .get("callback_url")
                .filter(|u| !u.is_empty())
                .cloned(),
            Flavour::Vpay88 => None,
        }
    }

    fn authed(&self, fields: &HashMap<String, String>) -> Result<&Merchant, &'static str> {
        let token = fields
            .get("auth")
            .filter(|t| !t.is_empty())
            .ok_or("Params incorrect")?;
        let username = self
            .inner
            .state()
            .auth_tokens
            .get(&(self.provider, token.clone()))
            .cloned()
            .ok_or("Params incorrect")?;
        self.merchant(&username).ok_or("Params incorrect")
    }
}

/// The trimmed values of the `N` fields named in `names` (separated by spaces);
/// `None` when any of them is missing or blank.
fn required_fields<'a, const N: usize>(
    fields: &'a HashMap<String, String>,
    names: &str,
) -> Option<[&'a str; N]> {
    let mut values = [""; N];
    let mut names = names.split_whitespace();
    for value in &mut values {
        *value = fields
            .get(names.next()?)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())?;
    }
    names.next().is_none().then_some(values)
}

/// Whether every field named in `names` (separated by spaces) is present and not blank.
fn all_present(fields: &HashMap<String, String>, names: &str) -> bool {
    names
        .split_whitespace()
        .all(|n| fields.get(n).is_some_and(|v| !v.trim().is_empty()))
}

fn amount(text: &str) -> Option<Decimal> {
    Decimal::from_str(text.trim())
        .ok()
        .filter(|a| *a > Decimal::ZERO)
}

async fn form(request: Request) -> HashMap<String, String> {
    read_form(request).await.unwrap_or_default()
}

/// A server-generated numeric id, as live servers answer beside `auth` and
/// as `withdraw_order_id`.
fn server_id() -> String {
    use rand::Rng;
    rand::thread_rng()
        .gen_range(1_000_000_000u64..10_000_000_000)
        .to_string()
}
