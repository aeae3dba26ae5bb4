//! The exchanges `cargo xtask fixtures` records and the snapshot tests replay:
//! every operation of every adapter, with fixed inputs, and the scrubbing that
//! makes a recording the same from one run to the next.

use std::future::Future;
use std::pin::Pin;

use paybridge::{
    Currency, DepositRequest, Error, Gateway, Money, OrderId, StatusQuery, WithdrawalRequest,
};
use serde_json::{json, Value};

/// A boxed operation result, as JSON.
pub type Outcome<'a> = Pin<Box<dyn Future<Output = Result<Value, Error>> + Send + 'a>>;

/// One operation to record: its provider, its name and how to call it.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// `vpay88`, `one1pay` or `onepunch`.
    pub provider: &'static str,
    /// File name under `fixtures/sandbox/<provider>/`.
    pub name: &'static str,
    /// The call, with fixed inputs; the `&str` is the ONE-PUNCH payment token
    /// the status call asks for (the real one when recording, the scrubbed one
    /// when replaying).
    pub call: for<'a> fn(&'a Gateway, &'a str) -> Outcome<'a>,
}

fn value<T: serde::Serialize>(result: Result<T, Error>) -> Result<Value, Error> {
    result.map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
}

/// The payment token the ONE-PUNCH status call asks for (scrubbed value).
pub const PAYMENT_TOKEN: &str = "OPRECORDEDTOKEN";

fn deposit(provider: &str) -> Result<DepositRequest, Error> {
    match provider {
        "vpay88" => DepositRequest::builder("REC-DEP-1", Money::parse("100.50", "MYR")?)
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
            .build(),
        "one1pay" => DepositRequest::builder("REC-DEP-1", Money::parse("100.50", "THB")?)
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
            .bank_id("101")
            .payment_method("thaiqr")
            .redirect_url("http://merchant.example/return")
            .customer_bank_holder_name("John Doe")
            .customer_bank_account("123")
            .build(),
        _ => DepositRequest::builder("REC-DEP-1", Money::parse("10.00", "CNY")?)
            .payment_method("ali-person")
            .callback_url("http://merchant.example/notify")
            .redirect_url("http://merchant.example/return")
            .build(),
    }
}

fn currency(provider: &str) -> Currency {
    Currency::new(if provider == "vpay88" { "MYR" } else { "THB" }).expect("a valid code")
}

fn withdrawal(provider: &str) -> Result<WithdrawalRequest, Error> {
    WithdrawalRequest::builder(
        "REC-WD-1",
        Money::new(250.into(), currency(provider)),
        "101",
        "John Doe",
        "1234567890",
    )
    .build()
}

fn query(reference: Option<&str>) -> Result<StatusQuery, Error> {
    let query = StatusQuery::new(OrderId::new("REC-DEP-1")?);
    Ok(match reference {
        Some(r) => query.with_provider_ref(r),
        None => query,
    })
}

macro_rules! scenario {
    ($provider:literal, $name:literal, |$g:ident| $body:expr) => {
        scenario!($provider, $name, |$g, _token| $body)
    };
    ($provider:literal, $name:literal, |$g:ident, $token:ident| $body:expr) => {
        Scenario {
            provider: $provider,
            name: $name,
            call: |$g, $token| Box::pin(async move { $body }),
        }
    };
}

/// Every recorded operation, in recording order (creates before statuses).
pub fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    for form in [FORM_VPAY88, FORM_ONE1PAY] {
        all.extend_from_slice(form);
    }
    all.extend_from_slice(ONEPUNCH);
    all
}

const FORM_VPAY88: &[Scenario] = &[
    scenario!("vpay88", "currencies", |g| value(g.currencies().await)),
    scenario!("vpay88", "deposit_banks", |g| value(
        g.deposit_banks(Some(&currency("vpay88"))).await
    )),
    scenario!("vpay88", "withdrawal_banks", |g| value(
        g.withdrawal_banks(Some(&currency("vpay88"))).await
    )),
    scenario!("vpay88", "create_deposit", |g| value(
        g.create_deposit(&deposit("vpay88")?).await
    )),
    scenario!("vpay88", "create_deposit_duplicate", |g| value(
        g.create_deposit(&deposit("vpay88")?).await
    )),
    scenario!("vpay88", "deposit_status", |g| value(
        g.deposit_status(&query(None)?).await
    )),
    scenario!("vpay88", "create_withdrawal", |g| value(
        g.create_withdrawal(&withdrawal("vpay88")?).await
    )),
    scenario!("vpay88", "withdrawal_status", |g| {
        value(
            g.withdrawal_status(&StatusQuery::new(OrderId::new("REC-WD-1")?))
                .await,
        )
    }),
];

const FORM_ONE1PAY: &[Scenario] = &[
    scenario!("one1pay", "currencies", |g| value(g.currencies().await)),
    scenario!("one1pay", "deposit_banks", |g| value(
        g.deposit_banks(Some(&currency("one1pay"))).await
    )),
    scenario!("one1pay", "withdrawal_banks", |g| value(
        g.withdrawal_banks(None).await
    )),
    scenario!("one1pay", "create_deposit", |g| value(
        g.create_deposit(&deposit("one1pay")?).await
    )),
    scenario!("one1pay", "deposit_status", |g| value(
        g.deposit_status(&query(None)?).await
    )),
    scenario!("one1pay", "create_withdrawal", |g| value(
        g.create_withdrawal(&withdrawal("one1pay")?).await
    )),
    scenario!("one1pay", "withdrawal_status", |g| {
        value(
            g.withdrawal_status(&StatusQuery::new(OrderId::new("REC-WD-1")?))
                .await,
        )
    }),
    scenario!("one1pay", "balance", |g| value(
        g.balance(&currency("one1pay")).await
    )),
];

const ONEPUNCH: &[Scenario] = &[
    scenario!("onepunch", "payment_methods", |g| value(
        g.payment_methods().await
    )),
    scenario!("onepunch", "currencies", |g| value(g.currencies().await)),
    scenario!("onepunch", "create_deposit", |g| value(
        g.create_deposit(&deposit("onepunch")?).await
    )),
    scenario!("onepunch", "deposit_status", |g, token| value(
        g.deposit_status(&query(Some(token))?).await
    )),
];

/// Values that differ on every run (tokens, ids, times) and credentials, by field name.
const SCRUBBED: &[(&str, &str)] = &[
    ("auth", "AUTH-TOKEN"),
    ("api_key", "[REDACTED]"),
    ("payment_id", "PAYMENT-ID"),
    ("provider_ref", "PROVIDER-REF"),
    ("p_url", "http://sandbox.example/pay/PAYMENT-ID"),
    (
        "payment_url",
        "http://sandbox.example/onepunch/payment/access/OPRECORDEDTOKEN",
    ),
    ("payment_token", PAYMENT_TOKEN),
    ("trans_token", "TT-RECORDED"),
    ("order_datetime", "2026-01-01 00:00:00"),
    ("magic_num", "0"),
    ("signature", "[SIGNATURE]"),
];

/// Replaces run-specific values in a JSON body (by field name, at any depth).
pub fn scrub_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match SCRUBBED.iter().find(|(name, _)| name == key) {
                    // An absent value stays absent: scrubbing it would hide a change.
                    Some(_) if field.is_null() => {}
                    Some(_) if field.is_number() => *field = json!(0),
                    Some((_, replacement)) => *field = json!(replacement),
                    None => scrub_json(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        _ => {}
    }
}

/// Replaces run-specific form fields.
pub fn scrub_fields(fields: &mut [(String, String)]) {
    for (key, value) in fields.iter_mut() {
        if let Some((_, replacement)) = SCRUBBED.iter().find(|(name, _)| name == key) {
            *value = (*replacement).to_owned();
        }
    }
}

/// Replaces ONE-PUNCH's per-request path segments (payment token, magic, signature).
pub fn scrub_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(api) = parts.iter().position(|p| *p == "api") else {
        return path.to_owned();
    };
    let tail = &parts[api..];
    let mut out: Vec<String> = parts[..api].iter().map(|s| s.to_string()).collect();
    match tail {
        ["api", "v0", "payment", "all", what, token, _, _] => out.extend(
            [
                "api",
                "v0",
                "payment",
                "all",
                what,
                token,
                "{magic_num}",
                "{signature}",
            ]
            .map(String::from),
        ),
        ["api", "v0", "payment", "status", _, token, _, _] => out.extend(
            [
                "api",
                "v0",
                "payment",
                "status",
                "{payment_token}",
                token,
                "{magic_num}",
                "{signature}",
            ]
            .map(String::from),
        ),
        _ => return path.to_owned(),
    }
    out.join("/")
}
