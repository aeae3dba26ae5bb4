//! Tolerant scalars: numbers read exactly from their text, booleans in every
//! spelling the providers use, and answer fields as text whatever their JSON type.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use paybridge_core::parse_decimal_str;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Reads a decimal from a JSON value: a number (read from its exact text) or a string.
pub fn decimal_from_value(value: &Value) -> Result<Decimal, String> {
    match value {
        Value::Number(n) => parse_decimal_str(&n.to_string()),
        Value::String(s) => parse_decimal_str(s),
        other => Err(format!(
            "expected a number or a numeric string, found {}",
            kind_of(other)
        )),
    }
}

/// Reads a non-negative integer from a JSON number or a string of digits.
pub fn u64_from_value(value: &Value) -> Result<u64, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("expected an integer, found {}", kind_of(other))),
    };
    u64::from_str(&text).map_err(|_| format!("{text:?} is not a whole non-negative number"))
}

/// Reads a boolean from `true`/`false`, `"true"`/`"false"`, `1`/`0` or `"1"`/`"0"`.
pub fn bool_from_value(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(_) | Value::Number(_) => {
            let text = text_of(value).unwrap_or_default();
            match text.trim() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(format!("{other:?} is not a boolean")),
            }
        }
        other => Err(format!("expected a boolean, found {}", kind_of(other))),
    }
}

/// A scalar field as text: strings as they are, numbers and booleans as written.
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The JSON type of a value, for error messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A scalar field as its text: a JSON string, a JSON number (its exact text),
/// a boolean (`true`/`false`), or a form value. Lets callback bodies be read
/// straight into typed structs, whether a provider sends `300.0000` or `"300.0000"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl Scalar {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same text, borrowed.
    pub fn borrowed(&self) -> ScalarRef<'_> {
        ScalarRef(Cow::Borrowed(&self.0))
    }

    /// The text as an exact decimal.
    pub fn decimal(&self) -> Result<Decimal, String> {
        self.borrowed().decimal()
    }

    /// The text as a whole non-negative number.
    pub fn u64(&self) -> Result<u64, String> {
        self.borrowed().u64()
    }

    /// The text as a boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self) -> Result<bool, String> {
        self.borrowed().bool()
    }
}

/// serde_json's private key for numbers kept as text (`arbitrary_precision`).
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Whether a map key is [`NUMBER_TOKEN`], read without allocating it.
pub(crate) struct NumberKey(bool);

impl<'de> Deserialize<'de> for NumberKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = NumberKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<NumberKey, E> {
                Ok(NumberKey(key == NUMBER_TOKEN))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScalarRef::deserialize(deserializer).map(|text| Scalar(text.0.into_owned()))
    }
}

/// A [`Scalar`] that borrows its text from the body where it can (a string
/// without escapes, `true`, `false`): what callbacks are read into, so that
/// verifying one copies only the fields it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarRef<'a>(pub Cow<'a, str>);

impl ScalarRef<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an exact decimal.
    pub fn decimal(&self) -> Result<Decimal, String> {
        parse_decimal_str(&self.0)
    }

    /// The text as a whole non-negative number.
    pub fn u64(&self) -> Result<u64, String> {
        self.0
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not a whole non-negative number", self.0))
    }

    /// The text as a boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self) -> Result<bool, String> {
        match self.0.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(format!("{other:?} is not a boolean")),
        }
    }

    /// An optional field's text, owned; empty counts as absent.
    pub fn optional_text(value: Option<ScalarRef<'_>>) -> Option<String> {
        value.filter(|s| !blank(&s.0)).map(|s| s.0.into_owned())
    }
}

/// Whether a field's text is empty once white space is trimmed: absent, as
/// far as the providers mean it.
pub(crate) fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

impl<'de: 'a, 'a> Deserialize<'de> for ScalarRef<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = ScalarRef<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Borrowed(if v { "true" } else { "false" })))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ScalarRef(Cow::Owned(v.to_string())))
            }

            // With `arbitrary_precision`, serde_json hands numbers over as a
            // one-entry map holding their text; anything else is not a scalar.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                match map.next_key::<NumberKey>()? {
                    Some(NumberKey(true)) => Ok(ScalarRef(Cow::Owned(map.next_value::<String>()?))),
                    _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
                }
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}
