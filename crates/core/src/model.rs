//! What providers answer: orders, receipts, statuses, banks, limits, balances.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::{Currency, Money, OrderId};
use crate::status::{OrderKind, OrderStatus};

/// Which order to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusQuery {
    /// The merchant's order id.
    pub order_id: OrderId,
    /// The provider's reference, where its status API needs one (ONE-PUNCH payment token).
    pub provider_ref: Option<String>,
    /// Overrides the `username` sent to Vpay88/One1Pay status calls (the documents name both the merchant and the payer `username`).
    pub username: Option<String>,
}

impl StatusQuery {
    /// A query by merchant order id.
    pub fn new(order_id: OrderId) -> Self {
        Self {
            order_id,
            provider_ref: None,
            username: None,
        }
    }

    /// Adds the provider's reference.
    pub fn with_provider_ref(mut self, provider_ref: impl Into<String>) -> Self {
        self.provider_ref = Some(provider_ref.into());
        self
    }

    /// Overrides the user name sent with the query.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

/// A created deposit: where to send the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DepositOrder {
    /// The merchant's order id.
    pub order_id: OrderId,
    /// The payment page (`p_url`, `payment_url`).
    pub payment_url: String,
    /// The provider's reference (`payment_id`, `payment_token`), when it gives one.
    pub provider_ref: Option<String>,
}

impl DepositOrder {
    /// A created deposit.
    pub fn new(order_id: OrderId, payment_url: String, provider_ref: Option<String>) -> Self {
        Self {
            order_id,
            payment_url,
            provider_ref,
        }
    }
}

/// A payout the provider holds, and what it is known to hold it as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WithdrawalReceipt {
    /// The merchant's withdrawal id.
    pub order_id: OrderId,
    /// The provider's reference (`payment_id`, `withdraw_order_id`), when it gives one.
    pub provider_ref: Option<String>,
    /// Normalized status: `processing` for a payout just accepted (the create
    /// answer states none), else what the status query said.
    pub status: OrderStatus,
    /// The provider's own status word, when one was read.
    pub provider_status: Option<String>,
    /// Whether the create answer or a later status query established it.
    pub learned_from: LearnedFrom,
}

impl WithdrawalReceipt {
    /// A payout the provider acknowledged in its create answer.
    pub fn accepted(order_id: OrderId, provider_ref: Option<String>) -> Self {
        Self {
            order_id,
            provider_ref,
            status: OrderStatus::Processing,
            provider_status: None,
            learned_from: LearnedFrom::CreateAnswer,
        }
    }

    /// A payout found by status after its create answer was lost or unclear.
    pub fn found(report: StatusReport) -> Self {
        Self {
            order_id: report.order_id,
            provider_ref: report.provider_ref,
            status: report.status,
            provider_status: Some(report.provider_status),
            learned_from: LearnedFrom::StatusQuery,
        }
    }
}

/// The provider's view of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// Deposit or withdrawal.
    pub kind: OrderKind,
    /// The merchant's order id.
    pub order_id: OrderId,
    /// Normalized status.
    pub status: OrderStatus,
    /// The provider's own word (`proccess`, `fail`...) or flags.
    pub provider_status: String,
    /// The amount the provider holds for the order.
    pub amount: Option<Money>,
    /// `order_datetime`, provider local time.
    pub order_datetime: Option<NaiveDateTime>,
    /// The provider's reference, when known.
    pub provider_ref: Option<String>,
}

impl StatusReport {
    /// A status report.
    pub fn new(
        kind: OrderKind,
        order_id: OrderId,
        status: OrderStatus,
        provider_status: String,
    ) -> Self {
        Self {
            kind,
            order_id,
            status,
            provider_status,
            amount: None,
            order_datetime: None,
            provider_ref: None,
        }
    }

    /// Sets the amount.
    pub fn with_amount(mut self, amount: Money) -> Self {
        self.amount = Some(amount);
        self
    }

    /// Sets the order time.
    pub fn with_order_datetime(mut self, at: NaiveDateTime) -> Self {
        self.order_datetime = Some(at);
        self
    }

    /// Sets the provider reference.
    pub fn with_provider_ref(mut self, provider_ref: Option<String>) -> Self {
        self.provider_ref = provider_ref;
        self
    }
}

/// A bank from a deposit or withdrawal bank list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Bank {
    /// The id to send as `bank_id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Currency the bank is listed for.
    pub currency: Currency,
}

impl Bank {
    /// A bank.
    pub fn new(id: String, name: String, currency: Currency) -> Self {
        Self { id, name, currency }
    }
}

/// The amounts a provider accepts in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CurrencyLimit {
    /// Currency.
    pub currency: Currency,
    /// Smallest amount.
    pub min: Decimal,
    /// Largest amount.
    pub max: Decimal,
    /// Where only fixed amounts are accepted (ONE-PUNCH prices), the list of them.
    pub allowed_amounts: Option<Vec<Decimal>>,
    /// Entries of the provider's answer that paybridge could not read, as they
    /// came (the ONE-PUNCH prices answer is undocumented): kept, not dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unrecognized: Vec<serde_json::Value>,
}

impl CurrencyLimit {
    /// A min/max range.
    pub fn range(currency: Currency, min: Decimal, max: Decimal) -> Self {
        Self {
            currency,
            min,
            max,
            allowed_amounts: None,
            unrecognized: Vec::new(),
        }
    }

    /// A fixed list of amounts; `None` when the list is empty.
    pub fn fixed(currency: Currency, mut amounts: Vec<Decimal>) -> Option<Self> {
        amounts.sort();
        let min = *amounts.first()?;
        let max = *amounts.last()?;
        Some(Self {
            currency,
            min,
            max,
            allowed_amounts: Some(amounts),
            unrecognized: Vec::new(),
        })
    }

    /// Keeps entries of the provider's answer that could not be read.
    pub fn with_unrecognized(mut self, entries: Vec<serde_json::Value>) -> Self {
        self.unrecognized = entries;
        self
    }

    /// Whether `amount` is accepted.
    pub fn accepts(&self, amount: Decimal) -> bool {
        match &self.allowed_amounts {
            Some(list) => list.contains(&amount),
            None => amount >= self.min && amount <= self.max,
        }
    }
}

/// The merchant's payout balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Balance {
    /// What is available.
    pub available: Money,
}

impl Balance {
    /// A balance.
    pub fn new(available: Money) -> Self {
        Self { available }
    }
}

/// A payment method a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PaymentMethod {
    /// The code to send (`ali-person`, `thaiqr`); empty for an entry whose shape
    /// paybridge does not know, which is kept in `raw` rather than dropped.
    pub code: String,
    /// Display name, when given.
    pub name: Option<String>,
    /// The provider's entry as it came.
    pub raw: serde_json::Value,
}

impl PaymentMethod {
    /// A payment method.
    pub fn new(code: String, name: Option<String>, raw: serde_json::Value) -> Self {
        Self { code, name, raw }
    }
}

/// How a payout's or deposit's status was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LearnedFrom {
    /// The create call's own answer.
    CreateAnswer,
    /// A status query made after the create call's answer left its fate open.
    StatusQuery,
    /// The order ledger, which already held the order: nothing was sent.
    Ledger,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_limits_accept_only_listed_amounts() {
        let cny = Currency::new("CNY").unwrap();
        let limit =
            CurrencyLimit::fixed(cny, vec![Decimal::new(100, 0), Decimal::new(1, 0)]).unwrap();
        assert_eq!(limit.min, Decimal::new(1, 0));
        assert!(limit.accepts(Decimal::new(100, 0)));
        assert!(!limit.accepts(Decimal::new(50, 0)));
    }
}
