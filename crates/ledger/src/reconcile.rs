//! What a status query says about an order the merchant holds: the verdict of
//! `paybridge reconcile`, checked in one fixed order.

use std::fmt;

use paybridge_core::{Money, Result, StatusReport};

use crate::LedgerState;

/// One order's reconciliation verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Verdict {
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

impl Verdict {
    /// Every verdict, in the order they are checked.
    pub const ALL: [Verdict; 7] = [
        Verdict::Error,
        Verdict::UnknownToProvider,
        Verdict::AmountMismatch,
        Verdict::CurrencyMismatch,
        Verdict::Unchanged,
        Verdict::Advanced,
        Verdict::StatusConflict,
    ];

    /// The word printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Error => "error",
            Verdict::UnknownToProvider => "unknown_to_provider",
            Verdict::AmountMismatch => "amount_mismatch",
            Verdict::CurrencyMismatch => "currency_mismatch",
            Verdict::Unchanged => "unchanged",
            Verdict::Advanced => "advanced",
            Verdict::StatusConflict => "status_conflict",
        }
    }

    /// Whether the merchant has nothing to look into: the order is as held,
    /// or only moved on.
    pub fn is_clean(self) -> bool {
        matches!(self, Verdict::Unchanged | Verdict::Advanced)
    }
}

impl fmt::Display for Verdict {
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
) -> Verdict {
    let report = match asked {
        Ok(report) => report,
        Err(err) if err.is_unknown_order() => return Verdict::UnknownToProvider,
        Err(_) => return Verdict::Error,
    };
    if let Some(held) = &report.amount {
        if held.currency() != amount.currency() {
            return Verdict::CurrencyMismatch;
        }
        // Decimal equality ignores scale: 300.0000 equals 300.
        if held.amount() != amount.amount() {
            return Verdict::AmountMismatch;
        }
    }
    let provider = LedgerState::from(report.status);
    match merchant_status {
        Some(merchant) if merchant == provider => Verdict::Unchanged,
        Some(merchant) if merchant.is_final() => Verdict::StatusConflict,
        _ => Verdict::Advanced,
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
        let rows: Vec<(&str, Option<LedgerState>, Result<StatusReport>, Verdict)> = vec![
            ("the query failed", Some(Pending), failed, Verdict::Error),
            ("a documented not-found answer", Some(Pending), refusal(RefusalKind::OrderNotFound, true), Verdict::UnknownToProvider),
            ("a refusal no document writes", Some(Pending), refusal(RefusalKind::Other, false), Verdict::Error),
            ("another amount, a final status too", Some(Completed), report(OrderStatus::Failed, "99", "MYR"), Verdict::AmountMismatch),
            ("another currency", Some(Pending), report(OrderStatus::Pending, "100", "THB"), Verdict::CurrencyMismatch),
            ("100 held as 100.0000", Some(Completed), report(OrderStatus::Completed, "100.0000", "MYR"), Verdict::Unchanged),
            ("pending, provider pending", Some(Pending), report(OrderStatus::Pending, "100", "MYR"), Verdict::Unchanged),
            ("pending, provider completed", Some(Pending), completed(), Verdict::Advanced),
            ("processing, provider pending", Some(Processing), report(OrderStatus::Pending, "100", "MYR"), Verdict::Advanced),
            ("no merchant status, provider completed", None, completed(), Verdict::Advanced),
            ("sending in the ledger, provider completed", Some(Sending), completed(), Verdict::Advanced),
            ("completed, provider failed", Some(Completed), report(OrderStatus::Failed, "100", "MYR"), Verdict::StatusConflict),
            ("failed, provider completed", Some(Failed), completed(), Verdict::StatusConflict),
        ];
        for (case, merchant, asked_for, expected) in rows {
            assert_eq!(verdict(&asked, merchant, &asked_for), expected, "{case}");
        }
    }
}
