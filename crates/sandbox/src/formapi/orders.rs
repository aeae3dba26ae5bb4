//! Creating orders: `merchant/generate_orders` (deposits) and
//! `merchant/withdraw_orders` (payouts).

use axum::extract::{Request, State};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::json;

use super::{all_present, amount, fail, required_fields, server_id, FormApiMount};
use crate::now_text;
use crate::state::{Flavour, Kind, Order};

/// Pay methods that pay from a wallet, not a bank account.
const WALLET_METHODS: &[&str] = &["truemoney"];

pub(super) async fn generate_orders(State(ctx): State<FormApiMount>, request: Request) -> Response {
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

fn random_digits(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

pub(super) async fn withdraw_orders(State(ctx): State<FormApiMount>, request: Request) -> Response {
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
