//! Callbacks as they arrive and as they verify; their confirmation is in `confirmation`.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{CallbackRejection, Error, Result};
use crate::money::{Money, OrderId};
use crate::provider::Provider;
use crate::status::{OrderKind, OrderStatus};

/// The largest callback body accepted. Real callbacks are well under 1 KiB.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

/// A callback as it arrived.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallbackRequest<'a> {
    /// The raw body.
    pub body: &'a [u8],
    /// The `Content-Type` header, when there was one.
    pub content_type: Option<&'a str>,
    /// The provider reference the merchant stored for the order, for providers whose
    /// signature covers a value the body may lack (ONE-PUNCH `payment_token`).
    pub provider_ref: Option<&'a str>,
}

impl<'a> CallbackRequest<'a> {
    /// A callback body with no content type.
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            content_type: None,
            provider_ref: None,
        }
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the stored provider reference.
    pub fn with_provider_ref(mut self, provider_ref: Option<&'a str>) -> Self {
        self.provider_ref = provider_ref;
        self
    }

    /// Refuses an oversized body before anything parses it.
    pub fn check_size(&self) -> Result<()> {
        if self.body.len() > MAX_CALLBACK_BODY {
            return Err(Error::CallbackRejected(CallbackRejection::TooLarge {
                size: self.body.len(),
                limit: MAX_CALLBACK_BODY,
            }));
        }
        Ok(())
    }
}

/// A callback whose token or signature verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallbackEvent {
    /// The provider.
    pub provider: Provider,
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The merchant's order id, when the callback carries one.
    pub order_id: Option<OrderId>,
    /// The provider's reference (ONE-PUNCH payment token), when known.
    pub provider_ref: Option<String>,
    /// Normalized status.
    pub status: OrderStatus,
    /// The provider's own status word or flag.
    pub provider_status: String,
    /// The amount the callback claims.
    pub amount: Money,
    /// The fee, when given.
    pub charge: Option<Decimal>,
    /// `name`, when given.
    pub name: Option<String>,
    /// `remarks`, when given.
    pub remarks: Option<String>,
    /// The body exactly as it arrived (lossy UTF-8), so nothing is lost.
    pub raw_body: String,
    /// Index of the configured secret that verified it (one secret per channel).
    pub secret_index: usize,
    /// The merchant account (user name) whose secret verified it, where the
    /// gateway holds secrets of several accounts; confirmation asks as that account.
    pub account: Option<String>,
}

impl CallbackEvent {
    /// A verified event; optional parts are set with the `with_*` methods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: Provider,
        kind: OrderKind,
        order_id: Option<OrderId>,
        status: OrderStatus,
        provider_status: String,
        amount: Money,
        raw_body: &[u8],
        secret_index: usize,
    ) -> Self {
        Self {
            provider,
            kind,
            order_id,
            provider_ref: None,
            status,
            provider_status,
            amount,
            charge: None,
            name: None,
            remarks: None,
            // Checked as UTF-8 first: far cheaper than the lossy path a valid body never needs.
            raw_body: match std::str::from_utf8(raw_body) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(raw_body).into_owned(),
            },
            secret_index,
            account: None,
        }
    }

    /// Sets the account whose secret verified the callback.
    pub fn with_account(mut self, account: Option<String>) -> Self {
        self.account = account;
        self
    }

    /// Sets the provider reference.
    pub fn with_provider_ref(mut self, provider_ref: Option<String>) -> Self {
        self.provider_ref = provider_ref;
        self
    }

    /// Sets charge, name and remarks.
    pub fn with_details(
        mut self,
        charge: Option<Decimal>,
        name: Option<String>,
        remarks: Option<String>,
    ) -> Self {
        self.charge = charge;
        self.name = name;
        self.remarks = remarks;
        self
    }
}
