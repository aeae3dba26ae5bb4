//! The provider-agnostic trait.

use std::fmt;

use async_trait::async_trait;

use crate::callback::{CallbackEvent, CallbackRequest};
use crate::error::{Error, Result};
use crate::fields::FieldRule;
use crate::model::{
    Balance, Bank, CurrencyLimit, DepositOrder, PaymentMethod, StatusQuery, StatusReport,
    WithdrawalReceipt,
};
use crate::money::{Currency, OrderId};
use crate::operation::Operation;
use crate::provider::Provider;
use crate::request::{DepositRequest, WithdrawalRequest};
use crate::status::OrderKind;

/// The set of operations a provider has.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u16);

impl Capabilities {
    /// A set of operations.
    pub fn of(operations: &[Operation]) -> Self {
        Self(operations.iter().fold(0, |bits, op| bits | op.bit()))
    }

    /// Whether `operation` is in the set.
    pub fn supports(self, operation: Operation) -> bool {
        self.0 & operation.bit() != 0
    }

    /// The operations in the set.
    pub fn iter(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .into_iter()
            .filter(move |op| self.supports(*op))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Operation::name))
            .finish()
    }
}

/// One payment provider behind one interface. Object safe: `Box<dyn PaymentGateway>`
/// and `Arc<dyn PaymentGateway>` work, which is how the facade switches providers
/// by configuration.
///
/// Every operation a provider lacks returns [`Error::Unsupported`] before any I/O;
/// [`capabilities`](Self::capabilities) says which those are.
#[async_trait]
pub trait PaymentGateway: Send + Sync + fmt::Debug {
    /// The provider.
    fn provider(&self) -> Provider;

    /// Which operations this provider has.
    fn capabilities(&self) -> Capabilities;

    /// How each field of a `kind` of request in `currency` is used: which are
    /// required, sent, not sent, or refused, and why. Asks nothing of the
    /// provider; the adapter checks requests and builds what it sends from
    /// this same table. Empty for a provider that declares none, or a kind it
    /// does not take.
    fn request_fields(&self, _kind: OrderKind, _currency: &Currency) -> Vec<FieldRule> {
        Vec::new()
    }

    /// Currencies with their amount limits.
    async fn currencies(&self) -> Result<Vec<CurrencyLimit>> {
        Err(self.unsupported(Operation::Currencies))
    }

    /// Banks a customer can pay in from.
    async fn deposit_banks(&self, _currency: Option<&Currency>) -> Result<Vec<Bank>> {
        Err(self.unsupported(Operation::DepositBanks))
    }

    /// Banks a payout can go to.
    async fn withdrawal_banks(&self, _currency: Option<&Currency>) -> Result<Vec<Bank>> {
        Err(self.unsupported(Operation::WithdrawalBanks))
    }

    /// Payment methods on offer.
    async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        Err(self.unsupported(Operation::PaymentMethods))
    }

    /// Creates a deposit and returns where to send the payer.
    async fn create_deposit(&self, _request: &DepositRequest) -> Result<DepositOrder> {
        Err(self.unsupported(Operation::CreateDeposit))
    }

    /// Sends a payout, at most once. An unknown outcome is resolved by status,
    /// never by resending; what cannot be resolved is [`Error::Ambiguous`].
    async fn create_withdrawal(&self, _request: &WithdrawalRequest) -> Result<WithdrawalReceipt> {
        Err(self.unsupported(Operation::CreateWithdrawal))
    }

    /// A deposit's status.
    async fn deposit_status(&self, _query: &StatusQuery) -> Result<StatusReport> {
        Err(self.unsupported(Operation::DepositStatus))
    }

    /// A payout's status.
    async fn withdrawal_status(&self, _query: &StatusQuery) -> Result<StatusReport> {
        Err(self.unsupported(Operation::WithdrawalStatus))
    }

    /// The payout balance in one currency.
    async fn balance(&self, _currency: &Currency) -> Result<Balance> {
        Err(self.unsupported(Operation::Balance))
    }

    /// Verifies a callback's token or signature in constant time and parses it.
    /// No network I/O. The event is authentic but, for providers whose token does
    /// not cover amount and status, not yet trustworthy: see [`crate::confirm`].
    fn verify_callback(&self, _request: &CallbackRequest<'_>) -> Result<CallbackEvent> {
        Err(self.unsupported(Operation::VerifyCallback))
    }

    /// The order a callback names, read from its body before any
    /// verification, for providers whose verification needs what the merchant
    /// stored for that order (ONE-PUNCH signs over a payment token its
    /// notification may omit). Untrusted: a key to look the stored value up
    /// by, nothing more. `None` for providers that need nothing stored, and
    /// for a body that names no order.
    fn callback_order(&self, _request: &CallbackRequest<'_>) -> Option<(OrderKind, OrderId)> {
        None
    }

    /// Whether a callback is safe to act on only when verified against the
    /// provider reference the merchant stored for its order, or confirmed by
    /// status (ONE-PUNCH: its signature lets characters move between the
    /// payment token and the amount). A route that keeps no such reference and
    /// does not confirm refuses these callbacks rather than run them. `false`
    /// by default.
    fn callbacks_need_stored_reference(&self) -> bool {
        false
    }

    /// An [`Error::Unsupported`] for this provider.
    fn unsupported(&self, operation: Operation) -> Error {
        Error::unsupported(self.provider(), operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_a_set() {
        let caps = Capabilities::of(&[Operation::Balance, Operation::CreateDeposit]);
        assert!(caps.supports(Operation::Balance));
        assert!(!caps.supports(Operation::CreateWithdrawal));
        assert_eq!(caps.iter().count(), 2);
        assert_eq!(format!("{caps:?}"), r#"{"create_deposit", "balance"}"#);
    }
}
