//! Order kinds and normalized statuses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether an order takes money in or sends it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderKind {
    /// Money paid in by a customer.
    Deposit,
    /// A payout from the merchant's balance.
    Withdrawal,
}

impl OrderKind {
    /// `deposit` or `withdrawal`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Deposit => "deposit",
            OrderKind::Withdrawal => "withdrawal",
        }
    }
}

impl fmt::Display for OrderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider's order status, normalized. The provider's own word is always kept
/// beside it (`provider_status`), since the words differ and are misspelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderStatus {
    /// Created, nothing paid yet.
    Pending,
    /// Being worked on by the provider (a payout in flight: `proccess`).
    Processing,
    /// Money moved.
    Completed,
    /// Did not go through.
    Failed,
    /// Refused by the provider or the bank (payouts).
    Rejected,
}

impl OrderStatus {
    /// Whether the status can still change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Failed | OrderStatus::Rejected
        )
    }

    /// The normalized name: `pending`, `processing`, `completed`, `failed`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Processing => "processing",
            OrderStatus::Completed => "completed",
            OrderStatus::Failed => "failed",
            OrderStatus::Rejected => "rejected",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
