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
//! let request = DepositRequest::builder("ORDER-1", Money::parse("0.001", "CNY").unwrap())
//!     .payment_method("ali-person")
//!     .build()
//!     .unwrap();
//! assert!(gateway.create_body(&request).unwrap_err().to_string().contains("fen"));
//! ```
#![deny(missing_docs)]

use std::sync::Mutex;

use async_trait::async_trait;
use paybridge_core::outcome::{settle, within_deadline, CreateCall, NoLookup};
use paybridge_core::transport::{HttpReply, HttpTransport, Idempotency, TransportConfig};
use paybridge_core::{
    CallbackEvent, CallbackRejection, CallbackRequest, Capabilities, CurrencyLimit, DepositOrder,
    DepositRequest, Error, ExposeSecret, Operation, OrderKind, PaymentGateway, PaymentMethod,
    Result, SecretString, StatusQuery, StatusReport,
};
use paybridge_signing::{
    onepunch_create_signature, onepunch_listing_signature, onepunch_notification_signature,
    onepunch_status_signature, verify_hex, OnepunchCreateFields, OnepunchNotificationFields,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tracing::{info, instrument};

pub mod transformers;

/// The provider name.
pub const PROVIDER: &str = "onepunch";

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.one-punch.us";

/// Builds a [`OnePunch`] gateway. `Debug` shows no secret.
#[derive(Debug)]
pub struct OnePunchBuilder {
    base_url: String,
    monster_token: String,
    monster_key: SecretString,
    notify_url: Option<String>,
    return_url: Option<String>,
    magic_seed: Option<u64>,
    transport: TransportConfig,
    client: Option<reqwest::Client>,
}

impl OnePunchBuilder {
    /// Overrides the base URL (sandbox, tests).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The `notify_url` used when a deposit names no `callback_url`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// The `return_url` used when a deposit names no `redirect_url`.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Seeds the `magic_num` generator, so tests can predict signatures.
    pub fn magic_seed(mut self, seed: u64) -> Self {
        self.magic_seed = Some(seed);
        self
    }

    /// Sets timeouts and retries.
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.transport = transport;
        self
    }

    /// Uses the merchant's own `reqwest::Client`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<OnePunch> {
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config {
                key: "onepunch.base_url".into(),
                reason: format!("{base_url:?} is not an http(s) URL"),
            });
        }
        let token_ok = !self.monster_token.is_empty()
            && self
                .monster_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !token_ok {
            return Err(Error::Config {
                key: "onepunch.monster_token".into(),
                reason: "must be non-empty letters, digits, '-' or '_' (it is a URL path segment)"
                    .into(),
            });
        }
        if self.monster_key.expose_secret().is_empty() {
            return Err(Error::Config {
                key: "onepunch.monster_key".into(),
                reason: "is empty".into(),
            });
        }
        let rng = match self.magic_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let transport = match self.client {
            Some(client) => HttpTransport::with_client(client, &self.transport),
            None => HttpTransport::new(&self.transport)?,
        };
        Ok(OnePunch {
            base_url,
            monster_token: self.monster_token,
            monster_key: self.monster_key,
            notify_url: self.notify_url,
            return_url: self.return_url,
            rng: Mutex::new(rng),
            transport,
        })
    }
}

/// A ONE-PUNCH gateway. `Debug` shows no secret.
#[derive(Debug)]
pub struct OnePunch {
    base_url: String,
    monster_token: String,
    monster_key: SecretString,
    notify_url: Option<String>,
    return_url: Option<String>,
    rng: Mutex<StdRng>,
    transport: HttpTransport,
}

/// The create-payment body, as sent (JSON; decision 6 of the provider notes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePaymentBody {
    /// Amount in fen.
    pub amount: u64,
    /// Payment method code.
    pub payment_method: String,
    /// Sub-account id.
    pub monster_token: String,
    /// Notification URL.
    pub notify_url: String,
    /// Return URL.
    pub return_url: String,
    /// Payer IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_addr: Option<String>,
    /// Payer MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_addr: Option<String>,
    /// Random number for this request.
    pub magic_num: u64,
    /// Merchant order number.
    pub order_num: String,
    /// The request signature.
    pub signature: String,
}

impl OnePunch {
    /// Starts a gateway with the sub-account id (`monster_token`) and signing key.
    pub fn builder(
        monster_token: impl Into<String>,
        monster_key: impl Into<String>,
    ) -> OnePunchBuilder {
        OnePunchBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            monster_token: monster_token.into(),
            monster_key: SecretString::from(monster_key.into()),
            notify_url: None,
            return_url: None,
            magic_seed: None,
            transport: TransportConfig::default(),
            client: None,
        }
    }

    fn magic_num(&self) -> u64 {
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.gen_range(100_000..1_000_000_000)
    }

    fn listing_url(&self, what: &str) -> String {
        let magic = self.magic_num();
        let signature = onepunch_listing_signature(
            magic,
            &self.monster_token,
            self.monster_key.expose_secret(),
        );
        format!(
            "{}/api/v0/payment/all/{what}/{}/{magic}/{signature}",
            self.base_url, self.monster_token
        )
    }

    async fn get(&self, operation: &'static str, url: String) -> Result<HttpReply> {
        self.transport
            .send(operation, Idempotency::Read, |client| client.get(&url))
            .await
    }

    /// Builds the signed create-payment body. Public so request building can be
    /// tested and measured with no server.
    pub fn create_body(&self, request: &DepositRequest) -> Result<CreatePaymentBody> {
        let amount = transformers::to_fen(&request.amount)?;
        for (field, value) in [
            ("customer_name", &request.customer_name),
            ("email", &request.email),
            ("phone", &request.phone),
            ("bank_id", &request.bank_id),
            ("mode", &request.mode),
            (
                "customer_bank_holder_name",
                &request.customer_bank_holder_name,
            ),
            ("customer_bank_account", &request.customer_bank_account),
        ] {
            if value.is_some() {
                return Err(Error::invalid(
                    field,
                    "does not apply to onepunch deposits; remove it",
                ));
            }
        }
        let payment_method = request
            .payment_method
            .clone()
            .ok_or_else(|| Error::missing("payment_method", PROVIDER, " (see payment_methods)"))?;
        let notify_url = request
            .callback_url
            .clone()
            .or_else(|| self.notify_url.clone())
            .ok_or_else(|| {
                Error::missing(
                    "callback_url",
                    PROVIDER,
                    " as notify_url, per order or in configuration",
                )
            })?;
        let return_url = request
            .redirect_url
            .clone()
            .or_else(|| self.return_url.clone())
            .ok_or_else(|| {
                Error::missing(
                    "redirect_url",
                    PROVIDER,
                    " as return_url, per order or in configuration",
                )
            })?;
        let magic_num = self.magic_num();
        let order_num = request.order_id.as_str().to_owned();
        let signature = onepunch_create_signature(
            &OnepunchCreateFields {
                magic_num,
                amount_fen: amount,
                payment_method: &payment_method,
                monster_token: &self.monster_token,
                order_num: Some(&order_num),
                notify_url: &notify_url,
                return_url: &return_url,
            },
            self.monster_key.expose_secret(),
        );
        Ok(CreatePaymentBody {
            amount,
            payment_method,
            monster_token: self.monster_token.clone(),
            notify_url,
            return_url,
            ip_addr: request.ip_addr.clone(),
            mac_addr: request.mac_addr.clone(),
            magic_num,
            order_num,
            signature,
        })
    }
}

#[async_trait]
impl PaymentGateway for OnePunch {
    fn provider(&self) -> &'static str {
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

    /// The allowed amounts (the prices call), as a fixed list in CNY.
    #[instrument(skip_all, fields(provider = PROVIDER))]
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        let reply = self.get("currencies", self.listing_url("prices")).await?;
        let payload = transformers::envelope("currencies", reply.status, &reply.body)?;
        transformers::prices(&payload, &reply.body)
    }

    #[instrument(skip_all, fields(provider = PROVIDER))]
    async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        let reply = self
            .get("payment_methods", self.listing_url("methods"))
            .await?;
        let payload = transformers::envelope("payment_methods", reply.status, &reply.body)?;
        transformers::payment_methods(&payload, &reply.body)
    }

    #[instrument(skip_all, fields(provider = PROVIDER, order_id = %request.order_id))]
    async fn create_deposit(&self, request: &DepositRequest) -> Result<DepositOrder> {
        let body = self.create_body(request)?;
        let json =
            serde_json::to_vec(&body).map_err(|e| Error::invalid("request", e.to_string()))?;
        let url = format!("{}/api/v0/payment/", self.base_url);
        let call = CreateCall::new(
            OrderKind::Deposit,
            &request.order_id,
            &request.amount,
            &self.transport,
        );
        let sending = async {
            let reply = self
                .transport
                .send("create_deposit", Idempotency::Write, |client| {
                    client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(json.clone())
                })
                .await?;
            let payload = transformers::envelope("create_deposit", reply.status, &reply.body)?;
            Ok((payload, reply.body))
        };
        let sent = within_deadline("create_deposit", call.deadline, sending).await;
        // ONE-PUNCH looks payments up only by the token its (lost) answer carried.
        let (payload, raw) = settle(call, sent, None::<NoLookup>)
            .await?
            .into_answer(&call)?;
        let created = transformers::created_payment(&payload, &raw)?;
        info!("payment registered");
        Ok(DepositOrder::new(
            request.order_id.clone(),
            created.payment_url,
            Some(created.payment_token),
        ))
    }

    #[instrument(skip_all, fields(provider = PROVIDER, order_id = %query.order_id))]
    async fn deposit_status(&self, query: &StatusQuery) -> Result<StatusReport> {
        let token = query.provider_ref.as_deref().ok_or_else(|| {
            Error::invalid(
                "provider_ref",
                "is required: ONE-PUNCH looks payments up by payment token",
            )
        })?;
        if token.is_empty()
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid("provider_ref", "is not a payment token"));
        }
        let magic = self.magic_num();
        let signature = onepunch_status_signature(
            token,
            magic,
            &self.monster_token,
            self.monster_key.expose_secret(),
        );
        let url = format!(
            "{}/api/v0/payment/status/{token}/{}/{magic}/{signature}",
            self.base_url, self.monster_token
        );
        let reply = self.get("deposit_status", url).await?;
        let payload = transformers::envelope("deposit_status", reply.status, &reply.body)?;
        transformers::status_report(query.order_id.clone(), &payload, &reply.body)
    }

    fn verify_callback(&self, request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        request.check_size()?;
        let n = transformers::unverified_notification(
            request.body,
            request.content_type,
            request.provider_ref,
        )?;
        let expected = onepunch_notification_signature(
            &OnepunchNotificationFields {
                transaction_status: n.transaction_status,
                message: &n.message,
                payment_token: &n.payment_token,
                amount_fen: n.amount_fen,
                monster_token: &self.monster_token,
                order_num: n.order_num.as_deref(),
            },
            self.monster_key.expose_secret(),
        );
        // The body's monster_token must be ours; the signature is computed over ours.
        if !verify_hex(&expected, &n.signature) || n.monster_token != self.monster_token {
            return Err(CallbackRejection::BadSignature.into());
        }
        let order_id = transformers::notification_order_id(&n.order_num)?;
        let status = if n.transaction_status {
            paybridge_core::OrderStatus::Completed
        } else {
            paybridge_core::OrderStatus::Failed
        };
        Ok(CallbackEvent::new(
            PROVIDER,
            OrderKind::Deposit,
            order_id,
            status,
            format!(
                "transaction_status={} message={}",
                n.transaction_status, n.message
            ),
            transformers::from_fen(n.amount_fen),
            request.body,
            0,
        )
        .with_provider_ref(Some(n.payment_token)))
    }
}
