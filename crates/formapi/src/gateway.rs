//! [`FormApiGateway`]: each operation's path and HTTP, nothing else. What goes
//! on the wire and how answers read is in [`crate::transformers`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use paybridge_core::outcome::{settle, within_deadline, CreateCall, Settled};
use paybridge_core::{
    Balance, Bank, CallbackEvent, CallbackRejection, CallbackRequest, Capabilities, Currency,
    CurrencyLimit, DepositOrder, DepositRequest, Error, ExposeSecret, FieldRule, Money, Operation,
    OrderKind, PaymentGateway, Provider, Result, SecretString, StatusQuery, StatusReport,
    WithdrawalReceipt, WithdrawalRequest,
};
use paybridge_wire::transport::{BaseUrl, Endpoint, HttpTransport, Idempotency, Outgoing};
use paybridge_wire::{read_answer, AnswerError, Answered, MultipartForm};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{info, instrument};

use crate::auth::{token_refused, AuthCache, AuthPolicy};
use crate::dialect::Endpoints;
use crate::limits::{check_amount, LimitsCache};
use crate::transformers::{
    self as wire, AuthAnswer, AuthForm, AuthToken, Authed, BalanceAnswer, BalanceForm, BalanceOf,
    BankListAnswer, CreatedDeposit, CreatedWithdrawal, CurrencyAnswer, DepositCreatedAnswer,
    DepositForm, ListingForm, StatusAnswer, StatusForm, StatusOf, WithdrawalCreatedAnswer,
    WithdrawalForm,
};
use crate::DialectSpec;

/// A callback secret, and the merchant account it belongs to when that is not
/// the gateway's own (one secret per channel, each its own merchant account).
#[derive(Debug, Clone)]
pub(crate) struct CallbackSecret {
    pub(crate) secret: SecretString,
    pub(crate) account: Option<String>,
}

/// A gateway of the form API family: the wire protocol, spoken in a
/// [`DialectSpec`]. `Debug` shows no secret.
#[derive(Debug)]
pub struct FormApiGateway {
    pub(crate) dialect: Arc<DialectSpec>,
    pub(crate) base_url: BaseUrl,
    /// Each operation's URL, built once from the dialect's paths.
    pub(crate) endpoints: Arc<Endpoints>,
    pub(crate) username: String,
    pub(crate) api_key: SecretString,
    pub(crate) secret_keys: Vec<CallbackSecret>,
    /// Other configured accounts' secrets, used only to explain a refusal.
    pub(crate) other_accounts: Vec<(String, SecretString)>,
    pub(crate) auth: AuthCache,
    /// The methods the merchant's account takes, per currency, from configuration.
    pub(crate) payment_methods: BTreeMap<String, Vec<String>>,
    /// The method sent for a deposit that names none, from configuration.
    pub(crate) default_payment_method: Option<String>,
    /// The provider's published amount limits, kept for a while.
    pub(crate) limits: LimitsCache,
    pub(crate) transport: HttpTransport,
}

impl FormApiGateway {
    /// The dialect it speaks.
    pub fn dialect(&self) -> &Arc<DialectSpec> {
        &self.dialect
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// Why `token` did not verify for `order_id`, against the first secret, with
    /// the others and other configured accounts' as other accounts (named by
    /// account where they have one).
    fn explain_token(&self, order_id: &str, token: &str) -> paybridge_signing::Explanation {
        let others: Vec<(String, &str)> = self
            .secret_keys
            .iter()
            .enumerate()
            .skip(1)
            .map(|(index, s)| {
                let name = s
                    .account
                    .clone()
                    .unwrap_or_else(|| format!("secret number {}", index + 1));
                (name, s.secret.expose_secret())
            })
            .chain(
                self.other_accounts
                    .iter()
                    .map(|(name, secret)| (name.clone(), secret.expose_secret())),
            )
            .collect();
        paybridge_signing::explain_form_token(
            &paybridge_signing::FormTokenContext {
                order_id,
                secret_key: self.secret_keys[0].secret.expose_secret(),
                api_key: Some(self.api_key.expose_secret()),
                other_accounts: &others,
                provider_reference: None,
            },
            token,
        )
    }

    /// The deposit with the configured default payment method when it names none.
    fn with_default_method<'r>(&self, request: &'r DepositRequest) -> Cow<'r, DepositRequest> {
        match (&request.payment_method, &self.default_payment_method) {
            (None, Some(method)) => {
                let mut request = request.clone();
                request.payment_method = Some(method.clone());
                Cow::Owned(request)
            }
            _ => Cow::Borrowed(request),
        }
    }

    /// Refuses a payment method the configuration does not list for the
    /// deposit's currency.
    fn check_payment_method(&self, request: &DepositRequest) -> Result<()> {
        let currency = request.amount.currency().as_str();
        match (
            self.payment_methods.get(currency),
            &request.payment_method,
        ) {
            (Some(allowed), Some(method)) if !allowed.contains(method) => Err(Error::invalid(
                "payment_method",
                format!(
                    "{method:?} is not among the {currency} methods configured for this account ({})",
                    allowed.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses a currency the provider does not publish for this account, or
    /// an amount outside the limits it publishes for it.
    async fn check_limits(&self, amount: &Money) -> Result<()> {
        if let Some(limits) = self.limits.current(|| self.currencies()).await {
            check_amount(amount, &limits, self.dialect.provider())?;
        }
        Ok(())
    }

    /// Posts `form` as multipart form data and reads the answer as `A`.
    async fn post<A: DeserializeOwned>(
        &self,
        operation: Operation,
        endpoint: &Endpoint,
        idempotency: Idempotency,
        form: &impl Serialize,
    ) -> Result<Answered<A>> {
        let multipart = MultipartForm::from_form(form)?;
        let request = Outgoing::post(endpoint.clone(), multipart.content_type(), multipart.body());
        let reply = self
            .transport
            .send(operation, idempotency, &request)
            .await?;
        read_answer(self.dialect.provider(), operation, reply, &wire::REFUSALS)
    }

    async fn fetch_token(&self, operation: Operation) -> Result<AuthToken> {
        let form = AuthForm {
            username: &self.username,
            api_key: self.api_key.expose_secret(),
        };
        let answered = self
            .post::<AuthAnswer>(operation, &self.endpoints.auth, Idempotency::Read, &form)
            .await?;
        let fetched: AuthToken = answered.map_into()?;
        self.auth.keep(&fetched.token);
        Ok(fetched)
    }

    /// Posts a form that needs an auth token, with the `order_id` the auth
    /// answer carried when a token was fetched for this call. A failure to get
    /// a token is a failure before sending. Under the cached policy a refused
    /// token (the provider did nothing) is replaced and the form sent once more.
    async fn post_authed<A: DeserializeOwned>(
        &self,
        operation: Operation,
        endpoint: &Endpoint,
        idempotency: Idempotency,
        form: &(impl Serialize + Sync),
    ) -> Result<(Answered<A>, Option<String>)> {
        let fetch = || async {
            self.fetch_token(operation)
                .await
                .map_err(|e| e.before_sending(operation))
        };
        let fetched = match self.auth.get() {
            Some(token) => AuthToken {
                token,
                order_id: None,
            },
            None => fetch().await?,
        };
        let send = |fetched: AuthToken| async move {
            let authed = Authed {
                auth: fetched.token.expose_secret(),
                form,
            };
            let answered = self.post(operation, endpoint, idempotency, &authed).await?;
            Ok((answered, fetched.order_id))
        };
        match send(fetched).await {
            Err(err) if token_refused(&err) && self.auth.policy() == AuthPolicy::Cached => {
                send(fetch().await?).await
            }
            other => other,
        }
    }

    async fn status(&self, kind: OrderKind, query: &StatusQuery) -> Result<StatusReport> {
        let endpoints = &self.endpoints;
        let (operation, endpoint) = match kind {
            OrderKind::Withdrawal => (Operation::WithdrawalStatus, &endpoints.withdrawal_status),
            _ => (Operation::DepositStatus, &endpoints.deposit_status),
        };
        let form = StatusForm::new(query, &self.username);
        self.post::<StatusAnswer>(operation, endpoint, Idempotency::Read, &form)
            .await?
            .map(|answer| {
                StatusReport::try_from(StatusOf {
                    dialect: &self.dialect,
                    kind,
                    order_id: query.order_id.clone(),
                    answer,
                })
            })
    }

    /// Sends an order once and settles its outcome through the outcome table,
    /// asking its status (never resending) where the answer leaves it open;
    /// with the `order_id` the auth answer carried for this order, if any.
    async fn create<A, T>(
        &self,
        call: CreateCall<'_>,
        operation: Operation,
        endpoint: &Endpoint,
        form: &(impl Serialize + Sync),
    ) -> Result<(Settled<T>, Option<String>)>
    where
        A: DeserializeOwned,
        T: TryFrom<A, Error = AnswerError>,
    {
        let auth_order_id = std::sync::OnceLock::new();
        let sending = async {
            let (answered, order_id) = self
                .post_authed::<A>(operation, endpoint, Idempotency::Write, form)
                .await?;
            if let Some(order_id) = order_id {
                let _ = auth_order_id.set(order_id);
            }
            answered.map_into::<T>()
        };
        let sent = within_deadline(operation, call.deadline, sending).await;
        let query = StatusQuery::new(call.order_id.clone());
        let settled = settle(call, sent, Some(|| self.status(call.kind, &query))).await?;
        Ok((settled, auth_order_id.into_inner()))
    }

    async fn banks(
        &self,
        operation: Operation,
        endpoint: &Endpoint,
        currency: Option<&Currency>,
    ) -> Result<Vec<Bank>> {
        let form = ListingForm {
            username: self.username.clone(),
            currency: currency.map(|c| c.as_str().to_owned()),
        };
        self.post::<BankListAnswer>(operation, endpoint, Idempotency::Read, &form)
            .await?
            .map_into()
    }
}

#[async_trait]
impl PaymentGateway for FormApiGateway {
    fn provider(&self) -> Provider {
        self.dialect.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.dialect.capabilities()
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider()))]
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        let form = ListingForm {
            username: self.username.clone(),
            currency: None,
        };
        self.post::<CurrencyAnswer>(
            Operation::Currencies,
            &self.endpoints.currency,
            Idempotency::Read,
            &form,
        )
        .await?
        .map_into()
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider()))]
    async fn deposit_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        let endpoint = &self.endpoints.deposit_banks;
        self.banks(Operation::DepositBanks, endpoint, currency)
            .await
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider()))]
    async fn withdrawal_banks(&self, currency: Option<&Currency>) -> Result<Vec<Bank>> {
        let endpoint = &self.endpoints.withdrawal_banks;
        self.banks(Operation::WithdrawalBanks, endpoint, currency)
            .await
    }

    fn request_fields(&self, kind: OrderKind, currency: &Currency) -> Vec<FieldRule> {
        self.dialect.rules(kind, currency).to_vec()
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider(), order_id = %request.order_id))]
    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        let defaulted = self.with_default_method(request);
        let request: &DepositRequest = &defaulted;
        self.check_payment_method(request)?;
        let form = DepositForm::new(&self.dialect, request)?;
        self.check_limits(&request.amount).await?;
        let call = CreateCall::deposit(request, self.transport.call_limits());
        let (settled, auth_order_id) = self
            .create::<DepositCreatedAnswer, CreatedDeposit>(
                call,
                Operation::CreateDeposit,
                &self.endpoints.deposit,
                &form,
            )
            .await?;
        let created = settled.into_answer(&call)?;
        info!("deposit created");
        Ok(DepositOrder::new(
            request.order_id.clone(),
            created.payment_url,
            created.provider_ref.or(auth_order_id),
        ))
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider(), order_id = %request.order_id))]
    async fn create_withdrawal(&self, request: &WithdrawalRequest) -> Result<WithdrawalReceipt> {
        let form = WithdrawalForm::new(&self.dialect, request)?;
        self.check_limits(&request.amount).await?;
        let call = CreateCall::withdrawal(request, self.transport.call_limits());
        let (settled, auth_order_id) = self
            .create::<WithdrawalCreatedAnswer, CreatedWithdrawal>(
                call,
                Operation::CreateWithdrawal,
                &self.endpoints.withdrawal,
                &form,
            )
            .await?;
        let receipt = match settled {
            Settled::Answered(created) => WithdrawalReceipt::accepted(
                request.order_id.clone(),
                created.provider_ref.or(auth_order_id),
            ),
            Settled::FoundByStatus(report) => WithdrawalReceipt::found(report),
        };
        info!(status = %receipt.status, "withdrawal accepted");
        Ok(receipt)
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider(), order_id = %query.order_id))]
    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Deposit, query).await
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider(), order_id = %query.order_id))]
    async fn withdrawal_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        self.status(OrderKind::Withdrawal, query).await
    }

    #[instrument(skip_all, fields(provider = %self.dialect.provider()))]
    async fn balance(&self, currency: &Currency) -> Result<Balance> {
        if !self.dialect.capabilities().supports(Operation::Balance) {
            return Err(self.unsupported(Operation::Balance));
        }
        let form = BalanceForm {
            currency: currency.as_str().to_owned(),
        };
        self.post_authed::<BalanceAnswer>(
            Operation::Balance,
            &self.endpoints.balance,
            Idempotency::Read,
            &form,
        )
        .await?
        .0
        .map(|answer| {
            Balance::try_from(BalanceOf {
                currency: currency.clone(),
                answer,
            })
        })
    }

    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        request.check_size()?;
        if self.secret_keys.is_empty() {
            return Err(Error::Config {
                key: format!("{}.secret_key", self.dialect.provider()),
                reason: "is required to verify callbacks".into(),
            });
        }
        let mut rewritten = None;
        let callback =
            wire::unverified_callback(request.body, request.content_type, &mut rewritten)?;
        let expected = self.secret_keys.iter().map(|s| {
            paybridge_signing::form_callback_token(s.secret.expose_secret(), &callback.order_id)
        });
        let Some(index) = paybridge_signing::verify_any(expected, &callback.token) else {
            let explanation = self.explain_token(&callback.order_id, &callback.token);
            return Err(CallbackRejection::BadSignature {
                explanation: Some(Box::new(explanation)),
            }
            .into());
        };
        let account = self.secret_keys[index].account.clone();
        Ok(
            wire::callback_event(&self.dialect, callback, request.body, index)?
                .with_account(account),
        )
    }
}
