//! Exact money, currency codes and merchant order ids.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The conversions a validated text type shares: `as_str`, `Display` (the text
/// itself), `FromStr` and `TryFrom<String>` through `new`, and back into `String`.
macro_rules! validated_text {
    ($name:ident, $what:literal) => {
        impl $name {
            #[doc = concat!("The ", $what, ".")]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

/// A currency code as the providers write it: `MYR`, `THB`, and also `USDT-TRC20`.
///
/// Two to sixteen characters of ASCII letters, digits and `-`; stored upper case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Parses and normalizes a currency code.
    pub fn new(code: &str) -> Result<Self> {
        let code = code.trim();
        let valid_chars = code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !(2..=16).contains(&code.len()) || !valid_chars || code.starts_with('-') {
            return Err(Error::invalid(
                "currency",
                format!("{code:?} is not a currency code (2-16 letters, digits or '-')"),
            ));
        }
        Ok(Self(code.to_ascii_uppercase()))
    }
}

validated_text!(Currency, "code, upper case");

/// The decimal places of each currency the providers take: as many as its
/// minor unit has, so an amount with more cannot be paid. ISO 4217's for the
/// national currencies (VND none; IDR two, although its amounts are in
/// practice whole: the providers' documents show no IDR amount that says
/// otherwise), and six for USDT-TRC20, the places of the USDT token on TRON.
/// Sorted by code.
pub const MINOR_UNITS: [(&str, u32); 9] = [
    ("BDT", 2),
    ("CNY", 2),
    ("IDR", 2),
    ("INR", 2),
    ("MYR", 2),
    ("SGD", 2),
    ("THB", 2),
    ("USDT-TRC20", 6),
    ("VND", 0),
];

impl Currency {
    /// The decimal places of this currency's minor unit, from
    /// [`MINOR_UNITS`]; `None` for a currency it does not list.
    pub fn minor_units(&self) -> Option<u32> {
        MINOR_UNITS
            .binary_search_by(|(code, _)| (*code).cmp(self.as_str()))
            .ok()
            .map(|at| MINOR_UNITS[at].1)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An exact amount of one currency. Never a float.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount of `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Parses a decimal string such as `"100.50"` and a currency code.
    pub fn parse(amount: &str, currency: &str) -> Result<Self> {
        let parsed =
            parse_decimal_str(amount).map_err(|reason| Error::invalid("amount", reason))?;
        Ok(Self::new(parsed, Currency::new(currency)?))
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount.normalize(), self.currency)
    }
}

/// The merchant's own order id, as sent to the provider (`orderid`, `order_num`).
///
/// One to 64 characters of ASCII letters, digits, `-`, `_` and `.`: what every
/// provider accepts, and nothing that needs escaping in a URL path or form field.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    /// The longest order id accepted.
    pub const MAX_LEN: usize = 64;

    /// Validates an order id.
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() {
            return Err(Error::invalid("order_id", "must not be empty"));
        }
        if id.len() > Self::MAX_LEN {
            return Err(Error::invalid(
                "order_id",
                format!(
                    "is {} characters long; at most {} are allowed",
                    id.len(),
                    Self::MAX_LEN
                ),
            ));
        }
        // Every allowed character is ASCII, so bytes are checked (cheaper than
        // decoding characters on every callback) and the first refused one is
        // decoded only to name it.
        if let Some(at) = id
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        {
            let bad = id[at..].chars().next().unwrap_or_default();
            return Err(Error::invalid(
                "order_id",
                format!(
                    "contains {bad:?}; only ASCII letters, digits, '-', '_' and '.' are allowed"
                ),
            ));
        }
        Ok(Self(id.to_owned()))
    }
}

validated_text!(OrderId, "id");

impl fmt::Debug for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Parses a decimal written as text: `300.0000`, `1`, `9.0000`, `0.00`, `-5`, `1e3`.
///
/// Surrounding white space is allowed; anything else (thousands separators,
/// currency signs, `NaN`) is refused.
pub fn parse_decimal_str(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty string is not an amount".into());
    }
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    let parsed = if plain {
        Decimal::from_str_exact(text)
    } else if text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        Decimal::from_scientific(text)
    } else {
        return Err(format!("{text:?} is not a decimal number"));
    };
    parsed.map_err(|e| format!("{text:?} is not a decimal number ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_codes_the_providers_use() {
        for code in ["MYR", "thb", "USDT-TRC20", "CNY"] {
            assert_eq!(
                Currency::new(code).unwrap().as_str(),
                code.to_ascii_uppercase()
            );
        }
        for bad in ["", "M", "MY R", "-ABC", "ABCDEFGHIJKLMNOPQ", "€UR"] {
            assert!(Currency::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_minor_units_table_is_sorted_and_found_by_code() {
        assert!(MINOR_UNITS.windows(2).all(|pair| pair[0].0 < pair[1].0));
        for (code, places) in MINOR_UNITS {
            let currency = Currency::new(&code.to_ascii_lowercase()).unwrap();
            assert_eq!(currency.minor_units(), Some(places), "{code}");
        }
        assert_eq!(Currency::new("EUR").unwrap().minor_units(), None);
    }

    #[test]
    fn order_id_names_the_field_and_the_limit() {
        assert!(OrderId::new("Example_123").is_ok());
        assert!(OrderId::new("_some_order_num_123_").is_ok());
        let long = "a".repeat(65);
        let err = OrderId::new(&long).unwrap_err().to_string();
        assert!(err.contains("order_id") && err.contains("64"), "{err}");
        let err = OrderId::new("a b").unwrap_err().to_string();
        assert!(err.contains("' '"), "{err}");
        let err = OrderId::new("A1\u{20ac}9").unwrap_err().to_string();
        assert!(
            err.contains("'\u{20ac}'"),
            "a multi-byte character is named whole: {err}"
        );
        assert!(OrderId::new("").is_err());
    }

    #[test]
    fn money_is_exact() {
        let a = Money::parse("0.1", "MYR").unwrap().amount();
        let b = Money::parse("0.2", "MYR").unwrap().amount();
        assert_eq!(a + b, Money::parse("0.3", "MYR").unwrap().amount());
        assert_eq!(
            Money::parse("300.0000", "MYR").unwrap().to_string(),
            "300 MYR"
        );
    }
}
