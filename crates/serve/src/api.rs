//! The `/v1` handlers: each reads its body strictly, sends through the same
//! `Gateway` (with its ledger) a Rust merchant uses, and answers one shape.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paybridge::ledger::{ListFilter, OrderKey, OrderRecord, Which};
use paybridge::{DepositRequest, Error, Money, OrderId, OrderKind, WithdrawalRequest};
use serde::Deserialize;

use crate::body::{DepositBody, OrderBody, OrdersBody, PayoutBody};
use crate::errors::{ApiError, ErrorBody};
use crate::{Account, Shared};

/// A body read as `T`: JSON only, every field known, each error naming its field.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            "unsupported_media_type",
            format!("the body must be application/json, not {:?}", essence),
        ));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        // serde names an unknown field in its message: `unknown field `x``.
        let field = match message.strip_prefix("unknown field `") {
            Some(rest) => rest.split('`').next().map(str::to_owned),
            None => (path != ".").then_some(path),
        };
        let api = ApiError::new(
            "invalid_request",
            format!("the body is not valid: {message}"),
        );
        match field {
            Some(field) => api.field(field),
            None => api,
        }
    })?;
    // Anything after the one JSON value is refused too.
    reader
        .end()
        .map_err(|e| ApiError::new("invalid_request", format!("the body is not valid: {e}")))?;
    Ok(value)
}

/// The account a request names, or the default one.
fn account<'s>(shared: &'s Shared, named: Option<&str>) -> Result<&'s Account, ApiError> {
    let name = named.unwrap_or(&shared.default_account);
    shared
        .accounts
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = shared.accounts.iter().map(|a| a.name.as_str()).collect();
            ApiError::new(
                "invalid_request",
                format!(
                    "{name:?} is not a configured account; these are: {}",
                    known.join(", ")
                ),
            )
            .field("account")
        })
}

/// An amount as the API takes it: digits, then a point and digits when it has
/// cents. The library also reads `1e3` and surrounding spaces (providers write
/// them); money a merchant sends is read only as written plainly.
fn money(amount: &str, currency: &str) -> Result<Money, ApiError> {
    let (whole, cents) = amount.split_once('.').unwrap_or((amount, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) && digits(cents)) {
        return Err(ApiError::new(
            "invalid_request",
            format!(
                "invalid request: `amount` {amount:?} is not a plain decimal such as \"150.00\""
            ),
        )
        .field("amount"));
    }
    Money::parse(amount, currency).map_err(|e| ApiError::from(e).field("amount"))
}

fn kind_word(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Deposit => "deposit",
        _ => "payout",
    }
}

fn base(account: &Account, kind: OrderKind, order_id: &str) -> OrderBody {
    OrderBody {
        order_id: order_id.to_owned(),
        account: account.name.clone(),
        provider: account.gateway.provider().to_string(),
        kind: kind_word(kind).to_owned(),
        ..OrderBody::default()
    }
}

/// An answer and its status, ready to be kept for an idempotent replay.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    fn json(status: u16, body: &impl serde::Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_string(body).unwrap_or_default(),
        }
    }

    fn error(err: ApiError) -> Self {
        Self::json(err.status, &err.body)
    }

    pub(crate) fn into_response(self, replayed: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        if replayed {
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
        }
        response
    }
}

/// An error from a create: an open outcome is 202 with `status: unknown`.
fn create_failed(account: &Account, kind: OrderKind, order_id: &str, err: Error) -> Answer {
    let api = ApiError::from(err);
    if api.kind() == "ambiguous" {
        let mut body = base(account, kind, order_id);
        body.status = "unknown".into();
        body.error = Some(api.body.error);
        return Answer::json(202, &body);
    }
    Answer::error(api)
}

/// Creates a deposit.
#[utoipa::path(post, path = "/v1/deposits", request_body = DepositBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to the same body")),
    responses((status = 201, body = OrderBody), (status = 202, body = OrderBody, description = "Outcome open: reconcile"),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_deposit(shared: &Shared, body: DepositBody) -> Answer {
    let account = match account(shared, body.account.as_deref()) {
        Ok(account) => account,
        Err(err) => return Answer::error(err),
    };
    let request = match deposit_request(&body) {
        Ok(request) => request,
        Err(err) => return Answer::error(err),
    };
    let started = std::time::Instant::now();
    let result = account.gateway.create_deposit(&request).await;
    shared
        .metrics
        .provider_call(&account.gateway, "create_deposit", &result, started);
    match result {
        Ok(order) => {
            let mut answer = base(account, OrderKind::Deposit, &body.order_id);
            answer.status = "pending".into();
            answer.payment_url = Some(order.payment_url);
            answer.provider_ref = order.provider_ref;
            answer.learned_from = Some("create_answer".into());
            Answer::json(201, &answer)
        }
        Err(err) => create_failed(account, OrderKind::Deposit, &body.order_id, err),
    }
}

fn deposit_request(body: &DepositBody) -> Result<DepositRequest, ApiError> {
    let mut builder = DepositRequest::builder(&body.order_id, money(&body.amount, &body.currency)?);
    let set = |builder: paybridge::DepositRequestBuilder,
               value: &Option<String>,
               f: fn(
        paybridge::DepositRequestBuilder,
        String,
    ) -> paybridge::DepositRequestBuilder| {
        match value {
            Some(v) => f(builder, v.clone()),
            None => builder,
        }
    };
    builder = set(builder, &body.customer.name, |b, v| b.customer_name(v));
    builder = set(builder, &body.customer.email, |b, v| b.email(v));
    builder = set(builder, &body.customer.phone, |b, v| b.phone(v));
    builder = set(builder, &body.bank_id, |b, v| b.bank_id(v));
    builder = set(builder, &body.pay_method, |b, v| b.payment_method(v));
    builder = set(builder, &body.mode, |b, v| b.mode(v));
    builder = set(builder, &body.return_url, |b, v| b.redirect_url(v));
    builder = set(builder, &body.callback_url, |b, v| b.callback_url(v));
    builder = set(builder, &body.ip, |b, v| b.ip_addr(v));
    for (name, value) in &body.extra {
        builder = builder.extra(name.clone(), value.clone());
    }
    builder.build().map_err(ApiError::from)
}

/// Creates a payout: sent at most once under its order id.
#[utoipa::path(post, path = "/v1/payouts", request_body = PayoutBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to the same body")),
    responses((status = 201, body = OrderBody), (status = 202, body = OrderBody, description = "Outcome open: reconcile"),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_payout(shared: &Shared, body: PayoutBody) -> Answer {
    let account = match account(shared, body.account.as_deref()) {
        Ok(account) => account,
        Err(err) => return Answer::error(err),
    };
    let request = match payout_request(&body) {
        Ok(request) => request,
        Err(err) => return Answer::error(err),
    };
    let started = std::time::Instant::now();
    let result = account.gateway.create_withdrawal(&request).await;
    shared
        .metrics
        .provider_call(&account.gateway, "create_withdrawal", &result, started);
    match result {
        Ok(receipt) => {
            let mut answer = base(account, OrderKind::Withdrawal, &body.order_id);
            answer.status = receipt.status.to_string();
            answer.provider_status = receipt.provider_status;
            answer.provider_ref = receipt.provider_ref;
            answer.learned_from = serde_json::to_value(receipt.learned_from)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            Answer::json(201, &answer)
        }
        Err(err) => create_failed(account, OrderKind::Withdrawal, &body.order_id, err),
    }
}

fn payout_request(body: &PayoutBody) -> Result<WithdrawalRequest, ApiError> {
    let mut builder = WithdrawalRequest::builder(
        &body.order_id,
        money(&body.amount, &body.currency)?,
        &body.bank_id,
        &body.holder_name,
        &body.account_no,
    );
    if let Some(branch) = &body.bank_branch {
        builder = builder.bank_branch(branch.clone());
    }
    if let Some(url) = &body.callback_url {
        builder = builder.callback_url(url.clone());
    }
    builder.build().map_err(ApiError::from)
}

/// `?account=&refresh=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadQuery {
    /// A named account; the default one otherwise.
    account: Option<String>,
    /// Ask the provider first (`true`), then answer the ledger's view.
    #[serde(default)]
    refresh: bool,
}

fn record_body(account: &Account, record: OrderRecord) -> OrderBody {
    let mut body = base(account, record.key.kind, &record.key.order_id);
    body.status = record.state.to_string();
    body.provider_status = record.provider_status;
    body.payment_url = record.payment_url;
    body.provider_ref = record.provider_ref;
    body.learned_from = Some("ledger".into());
    body.amount = Some(record.amount.amount().to_string());
    body.currency = Some(record.amount.currency().to_string());
    body.conflict = record.conflict;
    body
}

async fn read_order(
    shared: &Shared,
    kind: OrderKind,
    order_id: &str,
    query: &ReadQuery,
) -> Result<OrderBody, ApiError> {
    let account = account(shared, query.account.as_deref())?;
    let id = OrderId::new(order_id).map_err(|e| ApiError::from(e).field("order_id"))?;
    let key = OrderKey::new(
        account.gateway.provider(),
        account.gateway.account(),
        kind,
        &id,
    );
    let not_found = || {
        ApiError::new(
            "not_found",
            format!("the ledger holds no {} {order_id:?}", kind_word(kind)),
        )
        .order(order_id)
    };
    let record = if query.refresh {
        let started = std::time::Instant::now();
        let result = account.gateway.refresh(kind, &id).await;
        let operation = match kind {
            OrderKind::Deposit => "deposit_status",
            _ => "withdrawal_status",
        };
        // An order the ledger does not hold is answered without asking.
        if !matches!(result, Ok(None)) {
            shared
                .metrics
                .provider_call(&account.gateway, operation, &result, started);
        }
        result?
    } else {
        shared.ledger.get(&key).await?
    };
    let record = record.ok_or_else(not_found)?;
    Ok(record_body(account, record))
}

/// A deposit as the ledger holds it.
#[utoipa::path(get, path = "/v1/deposits/{order_id}", params(("order_id" = String, Path, description = "Your order id"), ReadQuery),
    responses((status = 200, body = OrderBody), (status = 404, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_deposit(
    State(shared): State<std::sync::Arc<Shared>>,
    Path(order_id): Path<String>,
    query: Result<Query<ReadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new("invalid_request", e.body_text()))?;
    Ok(axum::Json(
        read_order(&shared, OrderKind::Deposit, &order_id, &query).await?,
    ))
}

/// A payout as the ledger holds it.
#[utoipa::path(get, path = "/v1/payouts/{order_id}", params(("order_id" = String, Path, description = "Your order id"), ReadQuery),
    responses((status = 200, body = OrderBody), (status = 404, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_payout(
    State(shared): State<std::sync::Arc<Shared>>,
    Path(order_id): Path<String>,
    query: Result<Query<ReadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new("invalid_request", e.body_text()))?;
    Ok(axum::Json(
        read_order(&shared, OrderKind::Withdrawal, &order_id, &query).await?,
    ))
}

/// `?state=&since=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// `open`, `final` or `conflict`; every order otherwise.
    state: Option<String>,
    /// Only orders changed since this time (RFC 3339, or a date).
    since: Option<String>,
}

/// Orders in the ledger, oldest change first.
#[utoipa::path(get, path = "/v1/orders", params(ListQuery),
    responses((status = 200, body = OrdersBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_orders(
    State(shared): State<std::sync::Arc<Shared>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<OrdersBody>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new("invalid_request", e.body_text()))?;
    let which = match query.state.as_deref() {
        None => Which::All,
        Some("open") => Which::Open,
        Some("final") => Which::Final,
        Some("conflict") => Which::Conflict,
        Some(other) => {
            return Err(ApiError::new(
                "invalid_request",
                format!("{other:?} is not open, final or conflict"),
            )
            .field("state"))
        }
    };
    let since = match &query.since {
        None => None,
        Some(text) => Some(crate::time::parse("since", text)?),
    };
    let records = shared.ledger.list(&ListFilter::new(which, since)).await?;
    let orders = records
        .into_iter()
        .map(|record| {
            let account = shared
                .accounts
                .iter()
                .find(|a| {
                    a.gateway.provider().as_str() == record.key.provider
                        && a.gateway.account().unwrap_or_default() == record.key.account
                })
                .unwrap_or(&shared.accounts[0]);
            record_body(account, record)
        })
        .collect();
    Ok(axum::Json(OrdersBody { orders }))
}

/// POST bodies are read here, so every bad body gets the one shape.
pub(crate) async fn post_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Bytes,
) -> Result<T, ApiError> {
    read_json(headers, &body)
}
