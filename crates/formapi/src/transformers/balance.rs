//! The balance of a currency.

use paybridge_core::{Balance, Currency, Money};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::decimal;

/// `/wallet/get_balance`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceForm {
    /// The currency.
    pub currency: String,
}

/// `/wallet/get_balance`.
#[derive(Debug, Deserialize)]
pub struct BalanceAnswer {
    /// The balance.
    pub balance: Option<Scalar>,
}

/// A balance answer with the currency it was asked about (the answer names none).
#[derive(Debug)]
pub struct BalanceOf {
    /// The currency asked about.
    pub currency: Currency,
    /// The answer.
    pub answer: BalanceAnswer,
}

impl TryFrom<BalanceOf> for Balance {
    type Error = AnswerError;

    fn try_from(BalanceOf { currency, answer }: BalanceOf) -> Result<Self, AnswerError> {
        Ok(Balance::new(Money::new(
            decimal(answer.balance, "balance")?,
            currency,
        )))
    }
}
