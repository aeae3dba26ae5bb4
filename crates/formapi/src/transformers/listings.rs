//! The listings: currencies with their limits, and banks.

use paybridge_core::{Bank, CurrencyLimit};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::{currency, decimal};

/// `/merchant/currency`, `/wallet/bank_list`, `/wallet/withdraw_bank_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingForm {
    /// The merchant user name.
    pub username: String,
    /// Only this currency's entries (bank lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// One `rate` entry of `/merchant/currency`.
#[derive(Debug, Deserialize)]
pub struct RateEntry {
    /// The currency code.
    pub currency: Option<Scalar>,
    /// The smallest amount.
    pub min: Option<Scalar>,
    /// The largest amount.
    pub max: Option<Scalar>,
}

/// `/merchant/currency`.
#[derive(Debug, Deserialize)]
pub struct CurrencyAnswer {
    /// The limits per currency.
    pub rate: Option<Vec<RateEntry>>,
}

impl TryFrom<CurrencyAnswer> for Vec<CurrencyLimit> {
    type Error = AnswerError;

    fn try_from(answer: CurrencyAnswer) -> Result<Self, AnswerError> {
        let rates = answer.rate.ok_or_else(|| AnswerError::missing("rate"))?;
        rates
            .into_iter()
            .map(|entry| {
                Ok(CurrencyLimit::range(
                    currency(entry.currency, "currency")?,
                    decimal(entry.min, "min")?,
                    decimal(entry.max, "max")?,
                ))
            })
            .collect()
    }
}

/// One entry of `/wallet/bank_list` or `/wallet/withdraw_bank_list`.
#[derive(Debug, Deserialize)]
pub struct BankEntry {
    /// The bank id to send back.
    pub id: Option<Scalar>,
    /// Its name.
    pub bank_name: Option<Scalar>,
    /// Its currency.
    pub currency: Option<Scalar>,
}

/// `/wallet/bank_list` and `/wallet/withdraw_bank_list`.
#[derive(Debug, Deserialize)]
pub struct BankListAnswer {
    /// The banks.
    pub data: Option<Vec<BankEntry>>,
}

impl TryFrom<BankListAnswer> for Vec<Bank> {
    type Error = AnswerError;

    fn try_from(answer: BankListAnswer) -> Result<Self, AnswerError> {
        let data = answer.data.ok_or_else(|| AnswerError::missing("data"))?;
        data.into_iter()
            .map(|entry| {
                Ok(Bank::new(
                    Scalar::required_text(entry.id, "id")?,
                    Scalar::required_text(entry.bank_name, "bank_name")?,
                    currency(entry.currency, "currency")?,
                ))
            })
            .collect()
    }
}
