//! The "merchant form API" that Vpay88 and One1Pay share, written once.
//!
//! Every call is a `POST` of `multipart/form-data` to `{base_url}/merchant/...` or
//! `{base_url}/wallet/...`; every answer is JSON, errors included, with
//! `"status": false` and a `message`. A provider plugs in through [`Dialect`]: its
//! name, its operations, its currencies and the fields each order needs.
//!
//! ```no_run
//! # async fn run() -> paybridge_core::Result<()> {
//! use paybridge_core::PaymentGateway;
//! use paybridge_formapi::{Dialect, FormApiGateway};
//! # #[derive(Debug, Default)] struct MyDialect;
//! # impl Dialect for MyDialect {
//! #   const PROVIDER: &'static str = "mine";
//! #   fn capabilities(&self) -> paybridge_core::Capabilities { Default::default() }
//! #   fn currencies(&self) -> &'static [&'static str] { &["MYR"] }
//! #   fn deposit_fields(&self, _: &paybridge_core::DepositRequest, _: &mut paybridge_formapi::FormFields) -> paybridge_core::Result<()> { Ok(()) }
//! #   fn withdrawal_fields(&self, _: &paybridge_core::WithdrawalRequest, _: &mut paybridge_formapi::FormFields) -> paybridge_core::Result<()> { Ok(()) }
//! # }
//! let gateway = FormApiGateway::<MyDialect>::builder("https://pay.example", "merchant", "api-key")
//!     .secret_key("secret-key")
//!     .build()?;
//! let limits = gateway.currencies().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use paybridge_core::outcome::{settle, within_deadline, CreateCall, Settled};
use paybridge_core::transport::{HttpReply, HttpTransport, Idempotency, TransportConfig};
use paybridge_core::wire::format_amount;
use paybridge_core::{
    Balance, Bank, CallbackEvent, CallbackRejection, CallbackRequest, Capabilities, Currency,
    CurrencyLimit, DepositOrder, DepositRequest, Error, ExposeSecret, Operation, OrderKind,
    PaymentGateway, RefusalKind, Result, SecretString, StatusQuery, StatusReport,
    WithdrawalReceipt, WithdrawalRequest,
};
use tracing::{info, instrument};

pub mod transformers;

/// What makes one provider of this family different from another.
pub trait Dialect: Send + Sync + Default + fmt::Debug + 'static {
    /// The provider's name: `vpay88`, `one1pay`.
    const PROVIDER: &'static str;

    /// The operations this provider has.
    fn capabilities(&self) -> Capabilities;

    /// Currency codes this provider takes; anything else is refused before sending.
    fn currencies(&self) -> &'static [&'static str];

    /// Checks a deposit against the provider's per-currency rules and adds its
    /// provider-specific fields. Refuses missing or inapplicable fields by name.
    fn deposit_fields(&self, request: &DepositRequest, form: &mut FormFields) -> Result<()>;

    /// The same for a withdrawal.
    fn withdrawal_fields(&self, request: &WithdrawalRequest, form: &mut FormFields) -> Result<()>;
}

/// The form fields of one request, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormFields(Vec<(&'static str, String)>);

/// The operations every provider of this family has; a dialect adds its own.
pub const FORM_API_OPERATIONS: [Operation; 8] = [
    Operation::Currencies,
    Operation::DepositBanks,
    Operation::WithdrawalBanks,
    Operation::CreateDeposit,
    Operation::CreateWithdrawal,
    Operation::DepositStatus,
    Operation::WithdrawalStatus,
    Operation::VerifyCallback,
];

/// Field names whose values are credentials.
pub const SECRET_FIELDS: [&str; 2] = ["api_key", "auth"];

impl FormFields {
    /// Adds a field.
    pub fn push(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.push((name, value.into()));
    }

    /// Adds a field when it has a value.
    pub fn push_opt(&mut self, name: &'static str, value: Option<&String>) {
        if let Some(value) = value {
            self.push(name, value.clone());
        }
    }

    /// The fields.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    fn to_multipart(&self) -> reqwest::multipart::Form {
        self.0
            .iter()
            .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
                form.text(*k, v.clone())
            })
    }
}

impl fmt::Debug for FormFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                (
                    *k,
                    if SECRET_FIELDS.contains(k) {
                        "[REDACTED]"
                    } else {
                        v.as_str()
                    },
                )
            }))
            .finish()
    }
}

/// A provider-refused field: present in the request but meaningless to this
/// provider or currency.
pub fn inapplicable(field: &str, provider: &str, context: &str) -> Error {
    Error::invalid(
        field,
        format!("does not apply to {provider}{context}; remove it"),
    )
}

/// When auth tokens are fetched. The documents do not say how long one lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthPolicy {
    /// A fresh token before every call that needs one (what the documents' flow does).
    #[default]
    PerRequest,
    /// Reuse one token; on `Params incorrect`, fetch a new one and try once more.
    Cached,
}

/// Builds a [`FormApiGateway`]. `Debug` shows no secret: `SecretString` redacts itself.
#[derive(Debug)]
pub struct FormApiBuilder<D> {
    dialect: D,
    base_url: String,
    username: String,
    api_key: SecretString,
    secret_keys: Vec<CallbackSecret>,
    auth_policy: AuthPolicy,
    transport: TransportConfig,
    client: Option<reqwest::Client>,
}

/// A callback secret, and the merchant account it belongs to when that is not
/// the gateway's own (one secret per channel, each its own merchant account).
#[derive(Debug, Clone)]
struct CallbackSecret {
    secret: SecretString,
    account: Option<String>,
}

impl<D: Dialect> FormApiBuilder<D> {
    /// Adds a callback secret (`secret_key`). Call again, or use
    /// [`secret_keys`](Self::secret_keys), for one secret per channel.
    pub fn secret_key(mut self, secret: impl Into<String>) -> Self {
        self.secret_keys.push(CallbackSecret {
            secret: SecretString::from(secret.into()),
            account: None,
        });
        self
    }

    /// Adds several callback secrets.
    pub fn secret_keys(mut self, secrets: impl IntoIterator<Item = SecretString>) -> Self {
        self.secret_keys
            .extend(secrets.into_iter().map(|secret| CallbackSecret {
                secret,
                account: None,
            }));
        self
    }

    /// Adds the callback secret of another merchant account (a channel with its
    /// own user name). A callback it verifies is confirmed by asking the status
    /// API as `account`.
    pub fn channel_secret(mut self, account: impl Into<String>, secret: impl Into<String>) -> Self {
        self.secret_keys.push(CallbackSecret {
            secret: SecretString::from(secret.into()),
            account: Some(account.into()),
        });
        self
    }

    /// Sets the auth token policy.
    pub fn auth_policy(mut self, policy: AuthPolicy) -> Self {
        self.auth_policy = policy;
        self
    }

    /// Sets timeouts and retries.
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.transport = transport;
        self
    }

    /// Uses the merchant's own `reqwest::Client` (shared pools, proxies).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<FormApiGateway<D>> {
        let provider = D::PROVIDER;
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config {
                key: format!("{provider}.base_url"),
                reason: format!("{base_url:?} is not an http(s) URL"),
            });
        }
        if self.username.trim().is_empty() {
            return Err(Error::Config {
                key: format!("{provider}.username"),
                reason: "is empty".into(),
            });
        }
        if self.api_key.expose_secret().trim().is_empty() {
            return Err(Error::Config {
                key: format!("{provider}.api_key"),
                reason: "is empty".into(),
            });
        }
        if self
            .secret_keys
            .iter()
            .any(|s| s.secret.expose_secret().is_empty())
        {
            return Err(Error::Config {
                key: format!("{provider}.secret_key"),
                reason: "an empty secret would verify nothing".into(),
            });
        }
        let transport = match self.client {
            Some(client) => HttpTransport::with_client(client, &self.transport),
            None => HttpTransport::new(&self.transport)?,
        };
        Ok(FormApiGateway {
            dialect: self.dialect,
            base_url,
            username: self.username,
            api_key: self.api_key,
            secret_keys: self.secret_keys,
            auth_policy: self.auth_policy,
            cached_auth: Mutex::new(None),
            transport,
        })
    }
}

/// A Vpay88-family gateway: the wire protocol, parameterized by a [`Dialect`].
/// `Debug` shows no secret.
#[derive(Debug)]
pub struct FormApiGateway<D> {
    dialect: D,
    base_url: String,
    username: String,
    api_key: SecretString,
    secret_keys: Vec<CallbackSecret>,
    auth_policy: AuthPolicy,
    cached_auth: Mutex<Option<SecretString>>,
    transport: HttpTransport,
}

impl<D: Dialect> FormApiGateway<D> {
    /// Starts a gateway for `base_url` (which may carry a path prefix), the
    /// merchant `username` and its `api_key`.
    pub fn builder(
        base_url: impl Into<String>,
        username: impl Into<String>,
        api_key: impl Into<String>,
    ) -> FormApiBuilder<D> {
        FormApiBuilder {
            dialect: D::default(),
            base_url: base_url.into(),
            username: username.into(),
            api_key: SecretString::from(api_key.into()),
            secret_keys: Vec::new(),
            auth_policy: AuthPolicy::default(),
            transport: TransportConfig::default(),
            client: None,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn post(
        &self,
        operation: &'static str,
        path: &str,
        idempotency: Idempotency,
        form: &FormFields,
    ) -> Result<HttpReply> {
        let url = format!("{}{}", self.base_url, path);
        self.transport
            .send(operation, idempotency, |client| {
                client.post(&url).multipart(form.to_multipart())
            })
            .await
    }

    async fn call(
        &self,
        operation: &'static str,
        path: &str,
        idempotency: Idempotency,
        form: &FormFields,
    ) -> Result<Answer> {
        let reply = self.post(operation, path, idempotency, form).await?;
        let map = transformers::envelope(D::PROVIDER, operation, reply.status, &reply.body, false)?;
        Ok(Answer {
            map,
            body: reply.body,
        })
    }

    async fn fetch_auth(&self) -> Result<SecretString> {
        let mut form = FormFields::default();
        form.push("username", self.username.clone());
        form.push("api_key", self.api_key.expose_secret());
        let reply = self
            .post("auth", "/merchant/auth", Idempotency::Read, &form)
            .await?;
        let map = transformers::envelope(D::PROVIDER, "auth", reply.status, &reply.body, true)?;
        Ok(SecretString::from(transformers::auth_token(&map)?))
    }

    async fn auth(&self, refresh: bool) -> Result<SecretString> {
        if self.auth_policy == AuthPolicy::Cached && !refresh {
            if let Some(token) = self.cached_auth.lock().map_err(|_| poisoned())?.clone() {
                return Ok(token);
            }
        }
        let token = self.fetch_auth().await?;
        if self.auth_policy == AuthPolicy::Cached {
            *self.cached_auth.lock().map_err(|_| poisoned())? = Some(token.clone());
        }
        Ok(token)
    }

    /// Calls an operation that needs an auth token. `build` adds the token to
    /// the form; under the cached policy a `Params incorrect` refusal (the token
    /// was refused, so nothing was done) refreshes the token and tries once more.
    ///
    /// The caller fetches the first token, so that failing to get one (nothing
    /// sent yet) is never mistaken for an order with an unknown outcome.
    async fn call_authed(
        &self,
        operation: &'static str,
        path: &str,
        idempotency: Idempotency,
        token: SecretString,
        build: impl Fn(&SecretString) -> FormFields,
    ) -> Result<Answer> {
        let first = self
            .call(operation, path, idempotency, &build(&token))
            .await;
        match first {
            Err(Error::Provider {
                kind: RefusalKind::Unauthorized,
                ..
            }) if self.auth_policy == AuthPolicy::Cached => {
                let token = self.auth(true).await?;
                self.call(operation, path, idempotency, &build(&token))
                    .await
            }
            other => other,
        }
    }

    fn check_currency(&self, currency: &Currency) -> Result<()> {
        if self.dialect.currencies().contains(&currency.as_str()) {
            Ok(())
        } else {
            Err(Error::invalid(
                "currency",
                format!(
                    "{currency} is not offered by {}; it takes {}",
                    D::PROVIDER,
                    self.dialect.currencies().join(", ")
                ),
            ))
        }
    }

    fn status_form(&self, query: &StatusQuery) -> FormFields {
        let mut form = FormFields::default();
        form.push(
            "username",
            query
                .username
                .clone()
                .unwrap_or_else(|| self.username.clone()),
        );
        form.push("id", query.order_id.as_str());
        form
    }

    /// Builds the `generate_orders` form, without the auth token. Public so that
    /// request building can be tested and measured with no server.
    pub fn deposit_form(&self, request: &DepositRequest) -> Result<FormFields> {
        self.check_currency(request.amount.currency())?;
        let provider = D::PROVIDER;
        let mut form = FormFields::default();
        let required = |field: &'static str, value: &Option<String>| {
            value
                .clone()
                .ok_or_else(|| Error::missing(field, provider, " for every deposit"))
        };
        form.push(
            "username",
            required("customer_name", &request.customer_name)?,
        );
        form.push("amount", format_amount(request.amount.amount()));
        form.push("currency", request.amount.currency().as_str());
        form.push("orderid", request.order_id.as_str());
        form.push("email", required("email", &request.email)?);
        form.push("phone_number", required("phone", &request.phone)?);
        self.dialect.deposit_fields(request, &mut form)?;
        Ok(form)
    }

    /// Builds the `withdraw_orders` form, without the auth token.
    pub fn withdrawal_form(&self, request: &WithdrawalRequest) -> Result<FormFields> {
        self.check_currency(request.amount.currency())?;
        let mut form = FormFields::default();
        form.push("amount", format_amount(request.amount.amount()));
        form.push("currency", request.amount.currency().as_str());
        form.push("orderid", request.order_id.as_str());
        form.push("bank_id", request.bank_id.clone());
        form.push_opt("bank_branch", request.bank_branch.as_ref());
        form.push("holder_name", request.holder_name.clone());
        form.push("account_no", request.account_no.clone());
        self.dialect.withdrawal_fields(request, &mut form)?;
        Ok(form)
    }

    /// Sends an order once. The outer `Result` fails only when nothing was sent
    /// (no auth token could be had); the inner one is the order's own outcome.
    async fn send_order(
        &self,
        operation: &'static str,
        path: &str,
        form: &FormFields,
    ) -> Result<Result<Answer>> {
        let token = self
            .auth(false)
            .await
            .map_err(|e| e.before_sending(operation))?;
        Ok(self
            .call_authed(operation, path, Idempotency::Write, token, |t| {
                Self::with_auth(form, t)
            })
            .await)
    }

    fn with_auth(form: &FormFields, token: &SecretString) -> FormFields {
        let mut authed = FormFields::default();
        authed.push("auth", token.expose_secret());
        authed.0.extend(form.0.iter().cloned());
        authed
    }

    async fn status(&self, kind: OrderKind, query: &StatusQuery) -> Result<StatusReport> {
        let (operation, path) = match kind {
            OrderKind::Withdrawal => ("withdrawal_status", "/merchant/check_withdraw_status"),
            _ => ("deposit_status", "/merchant/check_status"),
        };
        let answer = self
            .call(operation, path, Idempotency::Read, &self.status_form(query))
            .await?;
        transformers::status_report(kind, query.order_id.clone(), &answer.map, &answer.body)
    }

    /// Sends an order once and settles its outcome through the outcome table,
    /// asking its status (never resending) where the answer leaves it open.
    async fn create(
        &self,
        call: CreateCall<'_>,
        operation: &'static str,
        path: &str,
        form: &FormFields,
    ) -> Result<Settled<Answer>> {
        let sent = within_deadline(
            operation,
            call.deadline,
            self.send_order(operation, path, form),
        )
        .await
        .and_then(|outcome| outcome);
        let query = StatusQuery::new(call.order_id.clone());
        let lookup = || self.status(call.kind, &query);
        settle(call, sent, Some(lookup)).await
    }
}

/// A success envelope and the body it came from (kept for error snippets).
struct Answer {
    map: serde_json::Map<String, serde_json::Value>,
    body: Vec<u8>,
}

fn poisoned() -> Error {
    Error::Config {
        key: "auth_cache".into(),
        reason: "lock poisoned by a panicked task".into(),
    }
}

#[async_trait]
impl<D: Dialect> PaymentGateway for FormApiGateway<D> {
    fn provider(&self) -> &'static str {
        D::PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        self.dialect.capabilities()
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER))]
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        let mut form = FormFields::default();
        form.push("username", self.username.clone());
        let answer = self
            .call("currencies", "/merchant/currency", Idempotency::Read, &form)
            .await?;
        transformers::currencies(&answer.map, &answer.body)
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER))]
    async fn deposit_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.banks("deposit_banks", "/wallet/bank_list", currency)
            .await
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER))]
    async fn withdrawal_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        self.banks("withdrawal_banks", "/wallet/withdraw_bank_list", currency)
            .await
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER, order_id = %request.order_id))]
    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        let form = self.deposit_form(request)?;
        let call = CreateCall::new(
            OrderKind::Deposit,
            &request.order_id,
            &request.amount,
            &self.transport,
        );
        let answer = self
            .create(call, "create_deposit", "/merchant/generate_orders", &form)
            .await?
            .into_answer(&call)?;
        let (url, reference) = transformers::created_deposit(&answer.map, &answer.body)?;
        info!("deposit created");
        Ok(DepositOrder::new(request.order_id.clone(), url, reference))
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER, order_id = %request.order_id))]
    async fn create_withdrawal(&self, request: &WithdrawalRequest) -> Result<WithdrawalReceipt> {
        let form = self.withdrawal_form(request)?;
        let call = CreateCall::new(
            OrderKind::Withdrawal,
            &request.order_id,
            &request.amount,
            &self.transport,
        );
        let receipt = match self
            .create(
                call,
                "create_withdrawal",
                "/merchant/withdraw_orders",
                &form,
            )
            .await?
        {
            Settled::Answered(answer) => WithdrawalReceipt::accepted(
                request.order_id.clone(),
                transformers::created_withdrawal(&answer.map),
            ),
            Settled::FoundByStatus(report) => WithdrawalReceipt::found(report),
        };
        info!(status = %receipt.status, "withdrawal accepted");
        Ok(receipt)
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER, order_id = %query.order_id))]
    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Deposit, query).await
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER, order_id = %query.order_id))]
    async fn withdrawal_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Withdrawal, query).await
    }

    #[instrument(skip_all, fields(provider = D::PROVIDER))]
    async fn balance(&self, currency: &Currency) -> Result<Balance> {
        if !self.capabilities().supports(Operation::Balance) {
            return Err(self.unsupported(Operation::Balance));
        }
        self.check_currency(currency)?;
        let token = self.auth(false).await?;
        let answer = self
            .call_authed(
                "balance",
                "/wallet/get_balance",
                Idempotency::Read,
                token,
                |t| {
                    let mut form = FormFields::default();
                    form.push("auth", t.expose_secret());
                    form.push("currency", currency.as_str());
                    form
                },
            )
            .await?;
        transformers::balance(currency, &answer.map, &answer.body)
    }

    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        request.check_size()?;
        if self.secret_keys.is_empty() {
            return Err(Error::Config {
                key: format!("{}.secret_key", D::PROVIDER),
                reason: "is required to verify callbacks".into(),
            });
        }
        let callback = transformers::unverified_callback(request.body, request.content_type)?;
        let expected = self.secret_keys.iter().map(|s| {
            paybridge_signing::form_callback_token(s.secret.expose_secret(), &callback.order_id)
        });
        let Some(index) = paybridge_signing::verify_any(expected, &callback.token) else {
            return Err(CallbackRejection::BadSignature.into());
        };
        let account = self.secret_keys[index].account.clone();
        Ok(
            transformers::callback_event(D::PROVIDER, callback, request.body, index)?
                .with_account(account),
        )
    }
}

impl<D: Dialect> FormApiGateway<D> {
    async fn banks(
        &self,
        operation: &'static str,
        path: &str,
        currency: Option<&Currency>,
    ) -> Result<Vec<Bank>> {
        if let Some(currency) = currency {
            self.check_currency(currency)?;
        }
        let mut form = FormFields::default();
        form.push("username", self.username.clone());
        if let Some(currency) = currency {
            form.push("currency", currency.as_str());
        }
        let answer = self.call(operation, path, Idempotency::Read, &form).await?;
        transformers::banks(operation, &answer.map, &answer.body)
    }
}
