//! The operations of the [`PaymentGateway`](crate::PaymentGateway) trait, named in
//! errors, logs and capabilities.

use std::fmt;

/// One operation of the [`PaymentGateway`](crate::PaymentGateway) trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`PaymentGateway::currencies`](crate::PaymentGateway::currencies).
    Currencies,
    /// [`PaymentGateway::deposit_banks`](crate::PaymentGateway::deposit_banks).
    DepositBanks,
    /// [`PaymentGateway::withdrawal_banks`](crate::PaymentGateway::withdrawal_banks).
    WithdrawalBanks,
    /// [`PaymentGateway::payment_methods`](crate::PaymentGateway::payment_methods).
    PaymentMethods,
    /// [`PaymentGateway::create_deposit`](crate::PaymentGateway::create_deposit).
    CreateDeposit,
    /// [`PaymentGateway::create_withdrawal`](crate::PaymentGateway::create_withdrawal).
    CreateWithdrawal,
    /// [`PaymentGateway::deposit_status`](crate::PaymentGateway::deposit_status).
    DepositStatus,
    /// [`PaymentGateway::withdrawal_status`](crate::PaymentGateway::withdrawal_status).
    WithdrawalStatus,
    /// [`PaymentGateway::balance`](crate::PaymentGateway::balance).
    Balance,
    /// [`PaymentGateway::verify_callback`](crate::PaymentGateway::verify_callback).
    VerifyCallback,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 10] = [
        Operation::Currencies,
        Operation::DepositBanks,
        Operation::WithdrawalBanks,
        Operation::PaymentMethods,
        Operation::CreateDeposit,
        Operation::CreateWithdrawal,
        Operation::DepositStatus,
        Operation::WithdrawalStatus,
        Operation::Balance,
        Operation::VerifyCallback,
    ];

    /// Snake-case name, as used in errors and logs.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Currencies => "currencies",
            Operation::DepositBanks => "deposit_banks",
            Operation::WithdrawalBanks => "withdrawal_banks",
            Operation::PaymentMethods => "payment_methods",
            Operation::CreateDeposit => "create_deposit",
            Operation::CreateWithdrawal => "create_withdrawal",
            Operation::DepositStatus => "deposit_status",
            Operation::WithdrawalStatus => "withdrawal_status",
            Operation::Balance => "balance",
            Operation::VerifyCallback => "verify_callback",
        }
    }

    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
