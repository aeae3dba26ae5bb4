//! ONE-PUNCH's wire schema, as types: the signed create-payment body built by
//! `TryFrom` from paybridge's request, every answer's payload a `Deserialize`
//! struct mapped by `TryFrom` into paybridge's type, the status flags and
//! refusal messages mapped here, and the notification read before its signature
//! is checked. No I/O: the fixtures feed these types directly in the tests
//! (`transformers/tests.rs`).
//!
//! One file per exchange: `deposit.rs` (the create-payment body and its
//! answer), `listings.rs` (methods and prices), `status.rs` and
//! `notification.rs`, with `refusals.rs`; the amounts in fen and the answer's
//! payload, which all of them read, are here.

use paybridge_core::{check_request_amount, Currency, Decimal, Error, Money, Result};
use paybridge_wire::AnswerError;
use serde::Deserialize;

mod deposit;
mod listings;
mod notification;
mod refusals;
mod status;

pub use deposit::*;
pub use listings::*;
pub use notification::*;
pub use refusals::*;
pub use status::*;

/// The only currency ONE-PUNCH takes; its amounts are in fen (1/100 CNY).
pub const CURRENCY: &str = "CNY";

/// An amount in CNY as whole fen. Other currencies are refused, and every
/// amount no order may carry ([`check_request_amount`]: CNY has two decimal
/// places, so a sub-fen amount among them).
pub fn to_fen(amount: &Money) -> Result<u64> {
    if amount.currency().as_str() != CURRENCY {
        return Err(Error::invalid(
            "currency",
            format!(
                "{} is not offered by ONE-PUNCH; it takes CNY only",
                amount.currency()
            ),
        ));
    }
    check_request_amount(amount)?;
    let out_of_range =
        || Error::invalid("amount", format!("{} CNY is out of range", amount.amount()));
    let fen = amount
        .amount()
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(out_of_range)?;
    u64::try_from(fen).map_err(|_| out_of_range())
}

/// Whole fen as CNY, exactly.
pub fn from_fen(fen: u64) -> Money {
    Money::new(
        Decimal::from_i128_with_scale(i128::from(fen), 2).normalize(),
        cny(),
    )
}

/// ONE-PUNCH's one currency, validated once: every notification's amount is in it.
fn cny() -> Currency {
    static CNY: std::sync::LazyLock<Currency> =
        std::sync::LazyLock::new(|| Currency::new(CURRENCY).expect("CNY is a valid currency code"));
    CNY.clone()
}

/// The part of every answer paybridge reads beside `status` and `message`.
#[derive(Debug, Deserialize)]
pub struct Payload<P> {
    /// The payload.
    pub payload: Option<P>,
}

impl<P> Payload<P> {
    /// The payload, which every answer read must carry.
    fn required_payload(self) -> Result<P, AnswerError> {
        self.payload.ok_or_else(|| AnswerError::missing("payload"))
    }
}

#[cfg(test)]
mod tests;
