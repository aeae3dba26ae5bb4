//! What a status query says about an order the merchant holds: the verdict of
//! `paybridge reconcile`, checked in one fixed order.

use std::fmt;

use paybridge_core::{Money, Result, StatusReport};

use crate::LedgerState;

/// One order's reconciliation verdict: what its status query says against
/// what the merchant holds. A create call's is
/// [`paybridge_core::outcome::Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReconcileVerdict {
    /// The status query failed.
    Error,
    /// The provider does not hold the order.
    UnknownToProvider,
    /// The provider holds another amount (same currency).
    AmountMismatch,
    /// The provider holds it in another currency.
    CurrencyMismatch,
    /// The provider's status is the merchant's.
    Unchanged,
    /// The merchant's status was not final, and the provider's differs: the
    /// merchant should take the provider's.
    Advanced,
    /// The merchant's status is final and the provider's differs.
    StatusConflict,
}

impl ReconcileVerdict {
    /// Every verdict, in the order they are checked.
    pub const ALL: [ReconcileVerdict; 7] = [
        ReconcileVerdict::Error,
        ReconcileVerdict::UnknownToProvider,
        ReconcileVerdict::AmountMismatch,
        ReconcileVerdict::CurrencyMismatch,
        ReconcileVerdict::Unchanged,
        ReconcileVerdict::Advanced,
        ReconcileVerdict::StatusConflict,
    ];

    /// The word printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileVerdict::Error => "error",
            ReconcileVerdict::UnknownToProvider => "unknown_to_provider",
            ReconcileVerdict::AmountMismatch => "amount_mismatch",
            ReconcileVerdict::CurrencyMismatch => "currency_mismatch",
            ReconcileVerdict::Unchanged => "unchanged",
            ReconcileVerdict::Advanced => "advanced",
            ReconcileVerdict::StatusConflict => "status_conflict",
        }
    }

    /// Whether the merchant has nothing to look into: the order is as held,
    /// or only moved on.
    pub fn is_clean(self) -> bool {
        matches!(
            self,
            ReconcileVerdict::Unchanged | ReconcileVerdict::Advanced
        )
    }
}

impl fmt::Display for ReconcileVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The verdict on an order of `amount` the merchant holds as
/// `merchant_status` (not final when unknown), given what its status query
/// returned.
pub fn verdict(
    amount: &Money,
    merchant_status: Option<LedgerState>,
    asked: &Result<StatusReport>,
) -> ReconcileVerdict {
    let report = match asked {
        Ok(report) => report,
        Err(err) if err.is_unknown_order() => return ReconcileVerdict::UnknownToProvider,
        Err(_) => return ReconcileVerdict::Error,
    };
    if let Some(held) = &report.amount {
        if held.currency() != amount.currency() {
            return ReconcileVerdict::CurrencyMismatch;
        }
        // Decimal equality ignores scale: 300.0000 equals 300.
        if held.amount() != amount.amount() {
            return ReconcileVerdict::AmountMismatch;
        }
    }
    let provider = LedgerState::from(report.status);
    match merchant_status {
        Some(merchant) if merchant == provider => ReconcileVerdict::Unchanged,
        Some(merchant) if merchant.is_final() => ReconcileVerdict::StatusConflict,
        _ => ReconcileVerdict::Advanced,
    }
}

#[cfg(test)]
mod tests {
    use paybridge_core::{Error, OrderId, OrderKind, OrderStatus, Provider, RefusalKind};

    use super::*;

    fn report(status: OrderStatus, amount: &str, currency: &str) -> Result<StatusReport> {
        Ok(StatusReport::new(
            OrderKind::Withdrawal,
            OrderId::new("R1").unwrap(),
            status,
            status.to_string(),
        )
        .with_amount(Money::parse(amount, currency).unwrap()))
    }

    #[test]
    fn every_row_of_the_verdict_table() {
        use LedgerState::*;
        let asked = Money::parse("100.00", "MYR").unwrap();
        let refusal = |kind, documented| -> Result<StatusReport> {
            Err(Error::Provider {
                provider: Provider::new("vpay88"),
                operation: paybridge_core::Operation::WithdrawalStatus,
                kind,
                message: "Order not found.".into(),
                documented,
            })
        };
        let failed: Result<StatusReport> = Err(Error::local("test", "connection reset"));
        let completed = || report(OrderStatus::Completed, "100", "MYR");
        #[rustfmt::skip]
        let rows: Vec<(&str, Option<LedgerState>, Result<StatusReport>, ReconcileVerdict)> = vec![
            ("the query failed", Some(Pending), failed, ReconcileVerdict::Error),
            ("a documented not-found answer", Some(Pending), refusal(RefusalKind::OrderNotFound, true), ReconcileVerdict::UnknownToProvider),
            ("a refusal no document writes", Some(Pending), refusal(RefusalKind::Other, false), ReconcileVerdict::Error),
            ("another amount, a final status too", Some(Completed), report(OrderStatus::Failed, "99", "MYR"), ReconcileVerdict::AmountMismatch),
            ("another currency", Some(Pending), report(OrderStatus::Pending, "100", "THB"), ReconcileVerdict::CurrencyMismatch),
            ("100 held as 100.0000", Some(Completed), report(OrderStatus::Completed, "100.0000", "MYR"), ReconcileVerdict::Unchanged),
            ("pending, provider pending", Some(Pending), report(OrderStatus::Pending, "100", "MYR"), ReconcileVerdict::Unchanged),
            ("pending, provider completed", Some(Pending), completed(), ReconcileVerdict::Advanced),
            ("processing, provider pending", Some(Processing), report(OrderStatus::Pending, "100", "MYR"), ReconcileVerdict::Advanced),
            ("no merchant status, provider completed", None, completed(), ReconcileVerdict::Advanced),
            ("sending in the ledger, provider completed", Some(Sending), completed(), ReconcileVerdict::Advanced),
            ("completed, provider failed", Some(Completed), report(OrderStatus::Failed, "100", "MYR"), ReconcileVerdict::StatusConflict),
            ("failed, provider completed", Some(Failed), completed(), ReconcileVerdict::StatusConflict),
        ];
        for (case, merchant, asked_for, expected) in rows {
            assert_eq!(verdict(&asked, merchant, &asked_for), expected, "{case}");
        }
    }
}
