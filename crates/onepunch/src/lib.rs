//! paybridge adapter for ONE-PUNCH: signed GET paths, a signed JSON create-payment
//! POST, amounts in fen, and signed notifications.
//!
//! ```
//! use paybridge_core::{DepositRequest, Money, Operation, PaymentGateway};
//! use paybridge_onepunch::OnePunch;
//!
//! let gateway = OnePunch::builder("MON-demo", "demo-monster-key")
//!     .base_url("http://127.0.0.1:7878/onepunch")
//!     .magic_seed(7) // tests only: a reproducible magic_num sequence
//!     .build()
//!     .unwrap();
//! assert!(!gateway.capabilities().supports(Operation::CreateWithdrawal));
//!
//! // 0.001 CNY is not a whole number of fen: refused before anything is sent.
//! let refused = DepositRequest::builder("ORDER-1", Money::parse("0.001", "CNY").unwrap())
//!     .payment_method("ali-person")
//!     .build()
//!     .unwrap_err();
//! assert!(refused.to_string().contains("CNY has 2"));
//! ```
#![deny(missing_docs)]

use std::sync::Mutex;

use async_trait::async_trait;
use paybridge_core::outcome::{settle, within_deadline, CreateCall, NoLookup};
use paybridge_core::{ExposeSecret, SecretString};
use paybridge_signing::{
    explain_onepunch_notification, onepunch_listing_signature, onepunch_notification_matches,
    onepunch_status_signature, OnepunchNotificationFields,
};
use paybridge_wire::transport::{BaseUrl, HttpSettings, HttpTransport, Idempotency, Outgoing};
use paybridge_wire::HeaderValue;
use paybridge_wire::{read_answer, Answered};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use tracing::{info, instrument};

pub mod config;
pub mod transformers;

// The types this adapter's API speaks, so a program needs no other paybridge crate.
pub use paybridge_wire::prelude::*;

use transformers::{
    Account, CreateOf, CreatePaymentBody, CreatedPayload, CreatedPayment, MethodsAnswer, Payload,
    PricesAnswer, StatusOf, StatusPayload,
};

/// The provider.
pub const PROVIDER: Provider = Provider::new("onepunch");

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.one-punch.us";

/// Builds a [`OnePunch`] gateway. `Debug` shows no secret.
pub struct OnePunchBuilder {
    base_url: String,
    account: Account,
    magic_seed: Option<u64>,
    http: HttpSettings,
}

impl std::fmt::Debug for OnePunchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnePunchBuilder")
            .field("base_url", &paybridge_core::redact::Url(&self.base_url))
            .field("account", &self.account)
            .field("magic_seed", &self.magic_seed)
            .field("http", &self.http)
            .finish()
    }
}

impl OnePunchBuilder {
    /// Overrides the base URL (sandbox, tests).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The `notify_url` used when a deposit names no `callback_url`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.account.notify_url = Some(url.into());
        self
    }

    /// The `return_url` used when a deposit names no `redirect_url`.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.account.return_url = Some(url.into());
        self
    }

    /// The `payment_method` used when a deposit names none (`ali-person`), so
    /// one request serves every provider.
    pub fn payment_method(mut self, method: impl Into<String>) -> Self {
        self.account.payment_method = Some(method.into());
        self
    }

    /// Seeds the `magic_num` generator, so tests can predict signatures.
    pub fn magic_seed(mut self, seed: u64) -> Self {
        self.magic_seed = Some(seed);
        self
    }

    paybridge_wire::http_options!(http);

    /// Validates and builds.
    pub fn build(self) -> Result<OnePunch> {
        let base_url = BaseUrl::parse("onepunch.base_url", &self.base_url)?;
        if !is_path_segment(&self.account.monster_token) {
            return Err(Error::Config {
                key: "onepunch.monster_token".into(),
                reason: "must be non-empty letters, digits, '-' or '_' (it is a URL path segment)"
                    .into(),
            });
        }
        if self.account.monster_key.expose_secret().is_empty() {
            return Err(Error::Config {
                key: "onepunch.monster_key".into(),
                reason: "is empty".into(),
            });
        }
        let rng = match self.magic_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let transport = self.http.into_transport()?;
        Ok(OnePunch {
            base_url,
            account: self.account,
            rng: Mutex::new(rng),
            transport,
        })
    }
}

/// A ONE-PUNCH gateway. `Debug` shows no secret.
#[derive(Debug)]
pub struct OnePunch {
    base_url: BaseUrl,
    account: Account,
    rng: Mutex<StdRng>,
    transport: HttpTransport,
}

impl OnePunch {
    /// Starts a gateway with the sub-account id (`monster_token`) and signing key.
    pub fn builder(
        monster_token: impl Into<String>,
        monster_key: impl Into<String>,
    ) -> OnePunchBuilder {
        OnePunchBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            account: Account {
                monster_token: monster_token.into(),
                monster_key: SecretString::from(monster_key.into()),
                notify_url: None,
                return_url: None,
                payment_method: None,
            },
            magic_seed: None,
            http: HttpSettings::default(),
        }
    }

    /// The next `magic_num`. The generator holds no invariant a panic could
    /// break, so a poisoned lock is recovered.
    fn magic_num(&self) -> u64 {
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.gen_range(100_000..1_000_000_000)
    }

    fn monster_key(&self) -> &str {
        self.account.monster_key.expose_secret()
    }

    /// Builds the signed create-payment body. Public so request building can be
    /// tested and measured with no server.
    pub fn create_body(&self, request: &DepositRequest) -> Result<CreatePaymentBody> {
        CreatePaymentBody::try_from(CreateOf {
            request,
            account: &self.account,
            magic_num: self.magic_num(),
        })
    }

    /// Sends a request and reads its answer's payload as `P`.
    async fn send<P: DeserializeOwned>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        request: &Outgoing,
    ) -> Result<Answered<Payload<P>>> {
        let reply = self
            .transport
            .send(operation, idempotency, request)
            .await
            .map_err(|err| transformers::refusal_in_status(operation, err))?;
        read_answer(PROVIDER, operation, reply, &transformers::REFUSALS)
    }

    /// `GET` a signed listing (`methods`, `prices`).
    async fn listing(
        &self,
        operation: Operation,
        what: &str,
    ) -> Result<Answered<Payload<serde_json::Value>>> {
        let magic = self.magic_num();
        let token = &self.account.monster_token;
        let signature = onepunch_listing_signature(magic, token, self.monster_key());
        let url = self.base_url.endpoint(&format!(
            "/api/v0/payment/all/{what}/{token}/{magic}/{signature}"
        ))?;
        self.send(operation, Idempotency::Read, &Outgoing::get(url))
            .await
    }
}

#[async_trait]
impl PaymentGateway for OnePunch {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[
            Operation::Currencies,
            Operation::PaymentMethods,
            Operation::CreateDeposit,
            Operation::DepositStatus,
            Operation::VerifyCallback,
        ])
    }

    fn request_fields(&self, kind: OrderKind, currency: &Currency) -> Vec<FieldRule> {
        match kind {
            OrderKind::Deposit if currency.as_str() == transformers::CURRENCY => {
                transformers::deposit_rules()
            }
            _ => Vec::new(),
        }
    }

    /// The allowed amounts (the prices call), as a fixed list in CNY.
    #[instrument(skip_all, fields(provider = %PROVIDER))]
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        let answered: Answered<PricesAnswer> =
            self.listing(Operation::Currencies, "prices").await?;
        answered.map(transformers::prices)
    }

    #[instrument(skip_all, fields(provider = %PROVIDER))]
    async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        let answered: Answered<MethodsAnswer> =
            self.listing(Operation::PaymentMethods, "methods").await?;
        answered.map_into()
    }

    #[instrument(skip_all, fields(provider = %PROVIDER, order_id = %request.order_id))]
    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        const OPERATION: Operation = Operation::CreateDeposit;
        let body = self.create_body(request)?;
        let json =
            serde_json::to_vec(&body).map_err(|e| Error::invalid("request", e.to_string()))?;
        let outgoing = Outgoing::post(
            self.base_url.endpoint("/api/v0/payment/")?,
            HeaderValue::from_static("application/json"),
            json.into(),
        );
        let call = CreateCall::deposit(request, self.transport.call_limits());
        let sending = async {
            self.send::<CreatedPayload>(OPERATION, Idempotency::Write, &outgoing)
                .await?
                .map_into::<CreatedPayment>()
        };
        let sent = within_deadline(OPERATION, call.deadline, sending).await;
        // ONE-PUNCH looks payments up only by the token its (lost) answer carried.
        let created = settle(call, sent, None::<NoLookup>)
            .await?
            .into_answer(&call)?;
        created.check_amount(&request.order_id, &request.amount)?;
        info!("payment registered");
        Ok(DepositOrder::new(
            request.order_id.clone(),
            created.payment_url,
            Some(created.payment_token),
        ))
    }

    #[instrument(skip_all, fields(provider = %PROVIDER, order_id = %query.order_id))]
    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        let token = query.provider_ref.as_deref().ok_or_else(|| {
            Error::invalid(
                "provider_ref",
                "is required: ONE-PUNCH looks payments up by payment token",
            )
        })?;
        if !is_path_segment(token) {
            return Err(Error::invalid("provider_ref", "is not a payment token"));
        }
        let magic = self.magic_num();
        let monster_token = &self.account.monster_token;
        let signature = onepunch_status_signature(token, magic, monster_token, self.monster_key());
        let url = self.base_url.endpoint(&format!(
            "/api/v0/payment/status/{token}/{monster_token}/{magic}/{signature}"
        ))?;
        self.send::<StatusPayload>(
            Operation::DepositStatus,
            Idempotency::Read,
            &Outgoing::get(url),
        )
        .await?
        .map(|answer| {
            StatusReport::try_from(StatusOf {
                order_id: query.order_id.clone(),
                answer,
            })
        })
    }

    /// The notification's signature covers a plain concatenation in which
    /// characters can move between `payment_token` and `amount`.
    fn callbacks_need_stored_reference(&self) -> bool {
        true
    }

    fn callback_order(&self, request: &CallbackRequest<'_>) -> Option<(OrderKind, OrderId)> {
        let order = transformers::notification_order(request.body, request.content_type)?;
        Some((OrderKind::Deposit, order))
    }

    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        request.check_size()?;
        let mut rewritten = None;
        let n = transformers::unverified_notification(
            request.body,
            request.content_type,
            request.provider_ref,
            &mut rewritten,
        )?;
        let fields = OnepunchNotificationFields {
            transaction_status: n.transaction_status,
            message: &n.message,
            payment_token: &n.payment_token,
            amount_fen: n.amount_fen,
            monster_token: &self.account.monster_token,
            order_num: n.order_num.as_deref(),
        };
        // The body's monster_token must be ours; the signature is computed over ours.
        if n.monster_token != self.account.monster_token {
            return Err(CallbackRejection::BadSignature { explanation: None }.into());
        }
        if !onepunch_notification_matches(&fields, self.monster_key(), &n.signature) {
            let explanation =
                explain_onepunch_notification(&fields, self.monster_key(), &n.signature);
            return Err(CallbackRejection::BadSignature {
                explanation: Some(Box::new(explanation)),
            }
            .into());
        }
        transformers::notification_event(n, request.body)
    }
}
/// Whether `text` can stand as one URL path segment unescaped: non-empty
/// letters, digits, `-` and `_` (ONE-PUNCH's tokens, which travel in paths).
pub fn is_path_segment(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
