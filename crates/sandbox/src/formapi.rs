//! The Vpay88 / One1Pay merchant form API, emulated from the documents.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::config::{Merchant, Profile};
use crate::form_body::read_form;
use crate::state::{Flavour, FormProvider, Kind, Order, OrderKey};
use crate::{now_text, page, random_token, SandboxState};

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

async fn currency(State(ctx): State<FormApiMount>, request: Request) -> Response {
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

async fn auth(State(ctx): State<FormApiMount>, request: Request) -> Response {
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

/// Pay methods that pay from a wallet, not a bank account.
const WALLET_METHODS: &[&str] = &["truemoney"];

async fn generate_orders(State(ctx): State<FormApiMount>, request: Request) -> Response {
    let fields = ctx.order_form(request).await;
    if !fields.contains_key("auth") {
        return fail(&ctx, "Params missing.");
    }
    let merchant = match ctx.authed(&fields) {
        Ok(m) => m.clone(),
        Err(_) => return fail(&ctx, "Params incorrect."),
    };
    let Some([customer, amount_text, currency, order_id]) =
        required_fields(&fields, "username amount currency orderid")
    else {
        return fail(&ctx, "Params missing.");
    };
    // Both documents list the payer's contact for every deposit; live servers
    // take deposits without it.
    if !ctx.observed() && !all_present(&fields, "email phone_number") {
        return fail(&ctx, "Params missing.");
    }
    ctx.count_create(Kind::Deposit, order_id);
    let Some(limit) = merchant.limits.get(currency) else {
        // Only Vpay88's document has a message for a currency; One1Pay's lists
        // none, and an amount in a currency without limits cannot be valid.
        return fail(
            &ctx,
            match ctx.provider.like() {
                Flavour::Vpay88 => "Currency invalid.",
                Flavour::One1pay => "Invalid Amount.",
            },
        );
    };
    let email = fields.get("email").map(|e| e.trim()).unwrap_or_default();
    if !email.is_empty() && (!email.contains('@') || !email.contains('.')) {
        return fail(&ctx, "email incorrect.");
    }
    let Some(amount) = amount(amount_text).filter(|a| *a >= limit.min && *a <= limit.max) else {
        return fail(&ctx, "Invalid Amount.");
    };
    // One1Pay's document lists the payer's bank for every deposit; live
    // servers take a wallet's deposits without it.
    let by_wallet = ctx.observed()
        && fields
            .get("pay_method")
            .is_some_and(|m| WALLET_METHODS.contains(&m.trim()));
    let extra_required = match (ctx.provider.like(), currency) {
        (Flavour::Vpay88, "THB" | "IDR") => "bank_id",
        (Flavour::Vpay88, _) => "",
        (Flavour::One1pay, _) if by_wallet => "redirect_url pay_method",
        (Flavour::One1pay, _) => {
            "redirect_url customer_bank_holder_name customer_bank_account bank_id pay_method"
        }
    };
    if !all_present(&fields, extra_required) {
        return fail(&ctx, "Params missing.");
    }
    // The document names methods for THB only (its example's two). It lists no
    // message for a wrong one, and `Params incorrect.` means a refused token, so
    // the sandbox answers with a message of its own, as a real server may.
    if ctx.provider.like() == Flavour::One1pay
        && currency == "THB"
        && !matches!(
            fields.get("pay_method").map(|m| m.trim()),
            Some("thaiqr" | "truemoney")
        )
    {
        return fail(&ctx, "pay_method invalid.");
    }
    let key = ctx.order_key(&merchant.username, Kind::Deposit, order_id);
    let payment_id = payment_id(&merchant.username.len().to_string());
    let order = Order {
        kind: Kind::Deposit,
        merchant: merchant.username.clone(),
        order_id: order_id.to_owned(),
        amount,
        currency: currency.to_owned(),
        status: "pending",
        created_at: now_text(),
        name: customer.to_owned(),
        callback_url: ctx.order_callback_url(&fields),
        redirect_url: fields
            .get("redirect_url")
            .cloned()
            .filter(|u| !u.is_empty()),
        payment_id: payment_id.clone(),
        withdraw_order_id: None,
        charge: Decimal::ZERO,
    };
    {
        let mut state = ctx.inner.state();
        if state.orders.contains_key(&key) {
            return fail(&ctx, "Order ID Exist.");
        }
        state.insert_order(key, order, ctx.inner.config.max_orders);
    }
    let p_url = format!(
        "{}/{}/pay/{payment_id}",
        ctx.inner.base_url(),
        ctx.provider.name()
    );
    let mut answer = json!({ "status": true, "p_url": p_url });
    if ctx.provider.like() == Flavour::One1pay {
        answer["payment_id"] = json!(payment_id);
    }
    ctx.inner.reply(answer)
}

/// A payment id as the documents show them (`301650_4_618`): six random digits,
/// `middle`, three random digits.
fn payment_id(middle: &str) -> String {
    format!("{}_{middle}_{}", random_digits(6), random_digits(3))
}

/// A server-generated numeric id, as live servers answer beside `auth` and
/// as `withdraw_order_id`.
fn server_id() -> String {
    use rand::Rng;
    rand::thread_rng()
        .gen_range(1_000_000_000u64..10_000_000_000)
        .to_string()
}

fn random_digits(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

async fn withdraw_orders(State(ctx): State<FormApiMount>, request: Request) -> Response {
    let fields = ctx.order_form(request).await;
    let merchant = match ctx.authed(&fields) {
        Ok(m) => m.clone(),
        Err(message) => return fail(&ctx, message),
    };
    let Some([amount_text, currency, order_id, bank_id, holder, _account]) = required_fields(
        &fields,
        "amount currency orderid bank_id holder_name account_no",
    ) else {
        return fail(&ctx, "Params missing.");
    };
    ctx.count_create(Kind::Withdrawal, order_id);
    let limit = merchant.limits.get(currency);
    let Some(amount) =
        amount(amount_text).filter(|a| limit.is_some_and(|l| *a >= l.min && *a <= l.max))
    else {
        return fail(&ctx, "Amount Invalid!");
    };
    if !merchant
        .withdrawal_banks
        .iter()
        .any(|b| b.id == bank_id && b.currency == currency)
    {
        return fail(&ctx, "bank_id invalid.");
    }
    let key = ctx.order_key(&merchant.username, Kind::Withdrawal, order_id);
    let payment_id = payment_id(&random_digits(3));
    let withdraw_order_id = ctx.observed().then(server_id);
    {
        let mut state = ctx.inner.state();
        if state.orders.contains_key(&key) {
            return fail(&ctx, "Order id exist!");
        }
        let balance = state
            .balances
            .entry((ctx.provider, merchant.username.clone(), currency.to_owned()))
            .or_insert(Decimal::ZERO);
        if *balance < amount {
            return fail(&ctx, "Balance not enough!");
        }
        *balance -= amount;
        state.insert_order(
            key,
            Order {
                kind: Kind::Withdrawal,
                merchant: merchant.username.clone(),
                order_id: order_id.to_owned(),
                amount,
                currency: currency.to_owned(),
                status: ctx.provider.unsettled_payout_word(),
                created_at: now_text(),
                name: holder.to_owned(),
                callback_url: ctx.order_callback_url(&fields),
                redirect_url: None,
                payment_id: payment_id.clone(),
                withdraw_order_id: withdraw_order_id.clone(),
                charge: Decimal::ZERO,
            },
            ctx.inner.config.max_orders,
        );
    }
    // Live servers answer their own id for the payout and may leave out
    // `message`; One1Pay's documented `payment_id` stays, as no
    // integration shows it gone.
    let mut answer = match withdraw_order_id {
        Some(id) => json!({ "status": true, "withdraw_order_id": id }),
        None => json!({ "status": true, "message": "Success" }),
    };
    if ctx.provider.like() == Flavour::One1pay {
        answer["payment_id"] = json!(payment_id);
    }
    ctx.inner.reply(answer)
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

async fn check_deposit(State(ctx): State<FormApiMount>, request: Request) -> Response {
    check(ctx, request, Kind::Deposit).await
}

async fn check_withdrawal(State(ctx): State<FormApiMount>, request: Request) -> Response {
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

async fn deposit_banks(State(ctx): State<FormApiMount>, request: Request) -> Response {
    banks(ctx, request, false).await
}

async fn withdrawal_banks(State(ctx): State<FormApiMount>, request: Request) -> Response {
    banks(ctx, request, true).await
}

async fn balance(State(ctx): State<FormApiMount>, request: Request) -> Response {
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

/// Forgets every auth token issued so far, as a provider's expiry would: the
/// next call made with one is answered `Params incorrect`.
async fn control_expire_tokens(State(ctx): State<FormApiMount>) -> Response {
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

async fn control_settle_deposit(
    State(ctx): State<FormApiMount>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    control_settle(ctx, Kind::Deposit, id, request).await
}

async fn control_settle_withdrawal(
    State(ctx): State<FormApiMount>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    control_settle(ctx, Kind::Withdrawal, id, request).await
}
