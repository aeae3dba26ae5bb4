//! The dashboard at `/`, and the JSON API behind it: every order per provider,
//! and for each the requests received (secrets scrubbed), the answers given and
//! every callback delivery, with buttons to settle, resend, duplicate, send an
//! out-of-order pair, and set the fault injection.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/` | the dashboard (`?order=PROVIDER/KIND/ID` opens one order) |
//! | GET | `/_sandbox/orders` | every order, newest first (`?provider=vpay88`) |
//! | GET | `/_sandbox/orders/{provider}/{order_id}` | one order, its requests and deliveries (`?kind=withdrawal`) |
//! | POST | `/_sandbox/deliveries/{id}/resend` | sends a delivery's body again |
//! | POST | `/_sandbox/orders/{provider}/{order_id}/duplicate` | its latest callback, twice at once |
//! | POST | `/_sandbox/orders/{provider}/{order_id}/out_of_order` | its latest callback, then an older status after it |
//! | GET | `/_sandbox/webhooks` | the merchant's webhooks received, newest first |

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::journal::{scrubbed_json, JournalKey, OrderLog};
use crate::state::{FormProvider, Kind, Stored};
use crate::webhooks::ReceivedWebhook;
use crate::{page::escape, SandboxState};

/// One order as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// `vpay88`, `one1pay` or `onepunch`.
    pub provider: &'static str,
    /// Deposit or withdrawal.
    pub kind: Kind,
    /// The merchant's order id (ONE-PUNCH: the payment token).
    pub order_id: String,
    /// The merchant account (ONE-PUNCH: the sub-account).
    pub merchant: String,
    /// Amount, as a decimal string (ONE-PUNCH: in CNY).
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// The provider's status word.
    pub status: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
}

pub(crate) fn router(inner: Arc<SandboxState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/_sandbox/orders", get(list))
        .route("/_sandbox/orders/{provider}/{order_id}", get(detail))
        .route("/_sandbox/deliveries/{id}/resend", post(resend))
        .route("/_sandbox/webhooks", get(webhooks))
        .route(
            "/_sandbox/orders/{provider}/{order_id}/duplicate",
            post(duplicate),
        )
        .route(
            "/_sandbox/orders/{provider}/{order_id}/out_of_order",
            post(out_of_order),
        )
        .with_state(inner)
}

/// Every order the sandbox holds, newest first.
fn orders(inner: &SandboxState, provider: Option<&str>) -> Vec<Listed> {
    let state = inner.state();
    state
        .arrival
        .iter()
        .rev()
        .filter_map(|stored| match stored {
            Stored::Form(key) => state.orders.get(key).map(|o| Listed {
                provider: key.0.name(),
                kind: o.kind,
                order_id: o.order_id.clone(),
                merchant: o.merchant.clone(),
                amount: o.amount.to_string(),
                currency: o.currency.clone(),
                status: o.status.to_owned(),
                created_at: o.created_at.clone(),
            }),
            Stored::Punch(token) => state.payments.get(token).map(|p| Listed {
                provider: "onepunch",
                kind: Kind::Deposit,
                order_id: p.payment_token.clone(),
                merchant: p.monster_token.clone(),
                amount: rust_decimal::Decimal::new(
                    i64::try_from(p.amount_fen).unwrap_or(i64::MAX),
                    2,
                )
                .to_string(),
                currency: "CNY".into(),
                status: p.status().to_owned(),
                created_at: p.created_at.clone(),
            }),
        })
        .filter(|o| provider.is_none_or(|p| o.provider == p))
        .collect()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    provider: Option<String>,
}

async fn list(
    State(inner): State<Arc<SandboxState>>,
    Query(query): Query<ListQuery>,
) -> Json<Vec<Listed>> {
    Json(orders(&inner, query.provider.as_deref()))
}

/// The merchant's webhooks received, newest first.
async fn webhooks(State(inner): State<Arc<SandboxState>>) -> Json<Vec<ReceivedWebhook>> {
    Json(inner.journal().webhooks.all().rev().cloned().collect())
}

#[derive(Debug, Deserialize)]
struct KindQuery {
    kind: Option<String>,
}

fn parse_kind(word: Option<&str>) -> Option<Kind> {
    match word {
        Some("withdrawal") => Some(Kind::Withdrawal),
        Some("deposit") => Some(Kind::Deposit),
        _ => None,
    }
}

/// The order `provider`/`order_id` (of `kind`, when given) and its log.
fn find(
    inner: &SandboxState,
    provider: &str,
    order_id: &str,
    kind: Option<Kind>,
) -> Option<(Listed, OrderLog)> {
    let order = orders(inner, Some(provider))
        .into_iter()
        .find(|o| o.order_id == order_id && kind.is_none_or(|k| o.kind == k))?;
    let key = JournalKey {
        provider: order.provider,
        kind: order.kind,
        reference: order.order_id.clone(),
    };
    let log = inner.journal().log(&key).cloned().unwrap_or_default();
    Some((order, log))
}

fn missing(what: &str) -> Response {
    refusal(StatusCode::NOT_FOUND, what)
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "status": false, "message": message }))).into_response()
}

/// The log as shown: callback bodies with their tokens and signatures scrubbed.
fn shown(log: &OrderLog) -> Value {
    let mut value = serde_json::to_value(log).unwrap_or(Value::Null);
    if let Some(deliveries) = value["deliveries"].as_array_mut() {
        for delivery in deliveries {
            delivery["body"] = scrubbed_json(&delivery["body"]);
        }
    }
    value
}

async fn detail(
    State(inner): State<Arc<SandboxState>>,
    Path((provider, order_id)): Path<(String, String)>,
    Query(query): Query<KindQuery>,
) -> Response {
    match find(
        &inner,
        &provider,
        &order_id,
        parse_kind(query.kind.as_deref()),
    ) {
        Some((order, log)) => {
            let log = shown(&log);
            Json(json!({
                "order": order,
                "exchanges": log["exchanges"],
                "deliveries": log["deliveries"],
            }))
            .into_response()
        }
        None => missing("no such order"),
    }
}

async fn resend(State(inner): State<Arc<SandboxState>>, Path(id): Path<u64>) -> Response {
    let Some((key, delivery)) = inner.journal().delivery(id) else {
        return missing("no such delivery");
    };
    let sent = inner.send_callback(
        &key,
        "resend",
        &delivery.url,
        &delivery.body,
        Duration::ZERO,
    );
    Json(json!({ "status": true, "delivery": sent })).into_response()
}

/// The order's latest callback: its key and delivery, or why there is none.
fn latest(
    inner: &SandboxState,
    provider: &str,
    order_id: &str,
    kind: Option<Kind>,
) -> Result<(JournalKey, crate::journal::DeliveryLog), (StatusCode, &'static str)> {
    let Some((order, log)) = find(inner, provider, order_id, kind) else {
        return Err((StatusCode::NOT_FOUND, "no such order"));
    };
    let Some(delivery) = log.deliveries.back().cloned() else {
        return Err((
            StatusCode::CONFLICT,
            "no callback yet: settle the order first",
        ));
    };
    let key = JournalKey {
        provider: order.provider,
        kind: order.kind,
        reference: order.order_id,
    };
    Ok((key, delivery))
}

async fn duplicate(
    State(inner): State<Arc<SandboxState>>,
    Path((provider, order_id)): Path<(String, String)>,
    Query(query): Query<KindQuery>,
) -> Response {
    match latest(
        &inner,
        &provider,
        &order_id,
        parse_kind(query.kind.as_deref()),
    ) {
        Ok((key, delivery)) => {
            let ids: Vec<u64> = (0..2)
                .map(|_| {
                    inner.send_callback(
                        &key,
                        "duplicate",
                        &delivery.url,
                        &delivery.body,
                        Duration::ZERO,
                    )
                })
                .collect();
            Json(json!({ "status": true, "deliveries": ids })).into_response()
        }
        Err((status, message)) => refusal(status, message),
    }
}

/// The latest callback now, then the same order's earlier status after it,
/// as a provider whose queue reorders them would. The form APIs' token covers
/// only the order id, so the older body still verifies. ONE-PUNCH notifies a
/// payment once, when it ends: it has no earlier status to send.
async fn out_of_order(
    State(inner): State<Arc<SandboxState>>,
    Path((provider, order_id)): Path<(String, String)>,
    Query(query): Query<KindQuery>,
) -> Response {
    let (key, delivery) = match latest(
        &inner,
        &provider,
        &order_id,
        parse_kind(query.kind.as_deref()),
    ) {
        Ok(found) => found,
        Err((status, message)) => return refusal(status, message),
    };
    let earlier = match (key.provider, key.kind) {
        ("onepunch", _) => return refusal(
            StatusCode::CONFLICT,
            "ONE-PUNCH notifies a payment once, when it ends: there is no earlier status to send",
        ),
        (name, Kind::Withdrawal) => inner
            .mount(name)
            .unwrap_or(FormProvider::VPAY88)
            .unsettled_payout_word(),
        _ => "pending",
    };
    let mut older = delivery.body.clone();
    older["order_status"] = json!(earlier);
    let first = inner.send_callback(
        &key,
        "out of order",
        &delivery.url,
        &delivery.body,
        Duration::ZERO,
    );
    let second = inner.send_callback(
        &key,
        "out of order",
        &delivery.url,
        &older,
        Duration::from_millis(50),
    );
    Json(json!({ "status": true, "deliveries": [first, second] })).into_response()
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    order: Option<String>,
    token: Option<String>,
}

/// The dashboard page, with a policy that runs its own script and style
/// only (a fresh nonce each time) and lets no other site frame it.
async fn page(State(inner): State<Arc<SandboxState>>, Query(query): Query<PageQuery>) -> Response {
    let nonce = crate::random_token(24);
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    let html = page_html(&inner, query, &nonce);
    (
        [
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::X_FRAME_OPTIONS, "DENY".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        html,
    )
        .into_response()
}

/// The dashboard's HTML, its script and style carrying `nonce`.
fn page_html(inner: &SandboxState, query: PageQuery, nonce: &str) -> Html<String> {
    let token = query.token.unwrap_or_default();
    let with_token = |path: &str| {
        if token.is_empty() {
            path.to_owned()
        } else {
            let glue = if path.contains('?') { '&' } else { '?' };
            format!("{path}{glue}token={}", escape(&token))
        }
    };
    let all = orders(inner, None);
    let mut body = String::new();
    let _ = writeln!(body, "<h1>paybridge sandbox</h1><p>No real money moves here. This page refreshes itself every 2 seconds while open.</p>");
    let profile = inner.config.profile;
    let _ = writeln!(
        body,
        "<p id=\"profile\">Profile <strong>{profile}</strong>: {}.</p>",
        profile.meaning()
    );
    if let Some(selected) = &query.order {
        let mut parts = selected.splitn(3, '/');
        let (provider, kind, id) = (
            parts.next().unwrap_or(""),
            parts.next(),
            parts.next().unwrap_or(""),
        );
        match find(inner, provider, id, parse_kind(kind)) {
            Some((order, log)) => {
                order_section(&mut body, &order, &log, &with_token);
                order_webhooks(&mut body, inner, &order);
                let _ = writeln!(body, "</section>");
            }
            None => {
                let _ = writeln!(body, "<section aria-labelledby=\"detail\"><h2 id=\"detail\">Order not found</h2><p>{}</p></section>", escape(selected));
            }
        }
    }
    let mounts = inner.mounts.iter().map(|m| m.name());
    for provider in mounts.chain(["onepunch"]) {
        let rows: Vec<&Listed> = all.iter().filter(|o| o.provider == provider).collect();
        let _ = writeln!(
            body,
            "<section aria-labelledby=\"{provider}\"><h2 id=\"{provider}\">{provider}</h2>"
        );
        if rows.is_empty() {
            let _ = writeln!(body, "<p>No orders yet.</p></section>");
            continue;
        }
        let _ = writeln!(body, "<table><caption>{provider} orders, newest first</caption><thead><tr><th scope=\"col\">kind</th><th scope=\"col\">order id</th><th scope=\"col\">amount</th><th scope=\"col\">currency</th><th scope=\"col\">status</th><th scope=\"col\">created</th></tr></thead><tbody>");
        for o in rows {
            let link = with_token(&format!(
                "/?order={}/{}/{}",
                o.provider,
                kind_word(o.kind),
                o.order_id
            ));
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"status\">{}</td><td>{}</td></tr>",
                kind_word(o.kind),
                escape(&link),
                escape(&o.order_id),
                escape(&o.amount),
                escape(&o.currency),
                escape(&o.status),
                escape(&o.created_at)
            );
        }
        let _ = writeln!(body, "</tbody></table></section>");
    }
    webhooks_section(&mut body, inner);
    let faults = serde_json::to_string_pretty(&inner.faults().config()).unwrap_or_default();
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"faults\"><h2 id=\"faults\">Fault injection</h2>\
         <p>Rules per provider and endpoint, as <code>POST /_sandbox/faults</code> takes them.</p>\
         <label for=\"faults-json\">Fault settings (JSON)</label><br>\
         <textarea id=\"faults-json\" rows=\"8\" cols=\"70\">{}</textarea><br>\
         <button type=\"button\" id=\"set-faults\" data-faults=\"{}\">Set faults</button> <span id=\"faults-said\" role=\"status\"></span></section>",
        escape(&faults),
        escape(&with_token("/_sandbox/faults"))
    );
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paybridge sandbox dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="{nonce}">
body{{font-family:sans-serif;margin:1.5em;max-width:75em}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}
th,td{{border:1px solid #999;padding:.25em .6em;text-align:left;vertical-align:top}}
caption{{text-align:left;font-weight:bold;padding:.3em 0}}
button{{margin:.2em .4em .2em 0;font-size:1em}}
button:focus,a:focus,textarea:focus{{outline:3px solid #1a5fb4}}
pre{{margin:0;white-space:pre-wrap;word-break:break-all;max-width:40em}}
</style></head><body><main id="main">
{body}
</main>
<script nonce="{nonce}">
const token = new URLSearchParams(location.search).get("token");
const headers = token ? {{"Authorization": "Bearer " + token}} : {{}};
async function post(path, body, type) {{
  const response = await fetch(path, {{method: "POST", headers: Object.assign({{"Content-Type": type}}, headers), body}});
  return response.status + " " + await response.text();
}}
document.addEventListener("click", async (event) => {{
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.post) {{
    const said = await post(button.dataset.post, button.dataset.form || "", "application/x-www-form-urlencoded");
    document.getElementById("said").textContent = said;
    refresh();
  }} else if (button.dataset.faults) {{
    const said = await post(button.dataset.faults, document.getElementById("faults-json").value, "application/json");
    document.getElementById("faults-said").textContent = said;
  }}
}});
async function refresh() {{
  if (document.activeElement && document.activeElement.id === "faults-json") return;
  const response = await fetch(location.href, {{headers}});
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const said = document.getElementById("said");
  const kept = said ? said.textContent : "";
  document.getElementById("main").replaceWith(page.getElementById("main"));
  const again = document.getElementById("said");
  if (again) again.textContent = kept;
}}
setInterval(refresh, 2000);
</script>
</body></html>"#
    ))
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Deposit => "deposit",
        Kind::Withdrawal => "withdrawal",
    }
}

/// One order's detail: what it received, what it answered, every callback;
/// its section left open for the webhooks about it.
fn order_section(
    body: &mut String,
    order: &Listed,
    log: &OrderLog,
    with_token: &dyn Fn(&str) -> String,
) {
    let kind = kind_word(order.kind);
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"detail\"><h2 id=\"detail\">{} {kind} {}</h2><p>{} {} — status <strong id=\"detail-status\">{}</strong>, created {}</p>",
        order.provider,
        escape(&order.order_id),
        escape(&order.amount),
        escape(&order.currency),
        escape(&order.status),
        escape(&order.created_at)
    );
    let settle_words: &[&str] = match (order.provider, order.kind) {
        ("one1pay", Kind::Withdrawal) => &["completed", "fail", "rejected"],
        ("onepunch", _) => &["completed", "failed"],
        _ => &["completed", "fail"],
    };
    let settle_path = match order.provider {
        "onepunch" => format!("/onepunch/_sandbox/deposits/{}/settle", order.order_id),
        provider => format!("/{provider}/_sandbox/{kind}s/{}/settle", order.order_id),
    };
    let _ = write!(body, "<h3>Actions</h3><p>");
    for word in settle_words {
        let _ = write!(
            body,
            "<button type=\"button\" data-post=\"{}\" data-form=\"outcome={word}&amp;merchant={}\">Settle {word}</button>",
            escape(&with_token(&settle_path)),
            escape(&order.merchant)
        );
    }
    let order_path = format!("/_sandbox/orders/{}/{}", order.provider, order.order_id);
    for (action, label) in [
        ("duplicate", "Send a duplicate"),
        ("out_of_order", "Send an out-of-order pair"),
    ] {
        let _ = write!(
            body,
            "<button type=\"button\" data-post=\"{}\">{label}</button>",
            escape(&with_token(&format!("{order_path}/{action}?kind={kind}")))
        );
    }
    let _ = writeln!(body, "</p><p id=\"said\" role=\"status\"></p>");
    let _ = writeln!(body, "<table><caption>Requests received and answers given</caption><thead><tr><th scope=\"col\">time</th><th scope=\"col\">endpoint</th><th scope=\"col\">fields</th><th scope=\"col\">answer</th></tr></thead><tbody>");
    for e in &log.exchanges {
        let fields: Vec<String> = e.fields().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
            escape(&e.at()),
            escape(e.endpoint()),
            escape(&fields.join("\n")),
            escape(&e.answer().to_string())
        );
    }
    let _ = writeln!(body, "</tbody></table>");
    let _ = writeln!(body, "<table id=\"deliveries\"><caption>Callback deliveries</caption><thead><tr><th scope=\"col\">delivery</th><th scope=\"col\">attempt</th><th scope=\"col\">time</th><th scope=\"col\">URL</th><th scope=\"col\">HTTP status</th><th scope=\"col\">response</th><th scope=\"col\">latency</th><th scope=\"col\">resend</th></tr></thead><tbody>");
    for d in &log.deliveries {
        let resend = format!(
            "<button type=\"button\" data-post=\"{}\">Resend {}</button>",
            escape(&with_token(&format!(
                "/_sandbox/deliveries/{}/resend",
                d.id
            ))),
            d.id
        );
        if d.attempts.is_empty() {
            let _ = writeln!(
                body,
                "<tr class=\"delivery\"><td>{} {}</td><td>-</td><td>-</td><td>{}</td><td>waiting</td><td></td><td></td><td>{resend}</td></tr>",
                d.id,
                d.label,
                escape(&d.url)
            );
        }
        for (n, a) in d.attempts.iter().enumerate() {
            let _ = writeln!(
                body,
                "<tr class=\"delivery\"><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
                d.id,
                d.label,
                n + 1,
                escape(&a.at),
                escape(&d.url),
                a.http_status.map_or("none".to_owned(), |s| s.to_string()),
                escape(&a.response),
                a.latency_us / 1000,
                if n == 0 { resend.as_str() } else { "" }
            );
        }
    }
    let _ = writeln!(body, "</tbody></table>");
}

/// Webhooks shown on the page at most (the JSON API has every one kept).
const WEBHOOKS_SHOWN: usize = 50;

/// The merchant's webhooks received, newest first: the latest
/// [`WEBHOOKS_SHOWN`].
fn webhooks_section(body: &mut String, inner: &SandboxState) {
    let journal = inner.journal();
    let inbox = journal.webhooks();
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"webhooks\"><h2 id=\"webhooks\">Webhooks received</h2>\
         <p>paybridge's events for your application, posted to <code>{}</code> and verified {}.</p>",
        crate::webhooks::PATH,
        if inner.config.webhook_secrets.is_empty() {
            "with no secret: none is configured, so each is shown unverified"
        } else {
            "with the configured secrets"
        }
    );
    if inbox.is_empty() {
        let _ = writeln!(body, "<p>No webhooks yet.</p></section>");
        return;
    }
    let caption = if inbox.len() > WEBHOOKS_SHOWN {
        format!(
            "The latest {WEBHOOKS_SHOWN} of {} webhooks, newest first (all at /_sandbox/webhooks)",
            inbox.len()
        )
    } else {
        "Webhooks, newest first".to_owned()
    };
    webhook_table(
        body,
        "webhooks-received",
        &caption,
        inbox.all().rev().take(WEBHOOKS_SHOWN),
    );
    let _ = writeln!(body, "</section>");
}

/// The webhooks received about one order, beside its callbacks.
fn order_webhooks(body: &mut String, inner: &SandboxState, order: &Listed) {
    let journal = inner.journal();
    let about = journal.webhooks().all().rev().filter(|w| {
        w.order_id.as_deref() == Some(order.order_id.as_str())
            && w.provider.as_deref() == Some(order.provider)
    });
    webhook_table(
        body,
        "order-webhooks",
        "Webhooks your application received for this order",
        about,
    );
}

fn webhook_table<'a>(
    body: &mut String,
    id: &str,
    caption: &str,
    rows: impl Iterator<Item = &'a ReceivedWebhook>,
) {
    let _ = writeln!(body, "<table id=\"{id}\"><caption>{}</caption><thead><tr><th scope=\"col\">received</th><th scope=\"col\">webhook-id</th><th scope=\"col\">type</th><th scope=\"col\">order id</th><th scope=\"col\">sequence</th><th scope=\"col\">status</th><th scope=\"col\">verdict</th><th scope=\"col\">duplicate</th><th scope=\"col\">answered</th></tr></thead><tbody>", escape(caption));
    let text = |t: &Option<String>| escape(t.as_deref().unwrap_or("-"));
    for w in rows {
        let _ = writeln!(
            body,
            "<tr class=\"webhook {}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"verdict\">{}</td><td>{}</td><td>{}</td></tr>",
            w.outcome,
            escape(&w.received_at),
            escape(&w.webhook_id),
            text(&w.event_type),
            text(&w.order_id),
            w.sequence.map_or("-".to_owned(), |n| n.to_string()),
            text(&w.status),
            escape(&w.verdict),
            if w.duplicate { "duplicate" } else { "" },
            w.http_status
        );
    }
    let _ = writeln!(body, "</tbody></table>");
}
