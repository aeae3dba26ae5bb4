//! A form request's fields, read straight from its `Serialize` struct: each
//! field once, as text, in declaration order (flattened structs in place).
//! `None` fields are left out; a field that is not a scalar is refused.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

use crate::{Error, Result};

/// The `(name, value)` pairs of a form, in order.
pub fn form_pairs<T: Serialize>(form: &T) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::with_capacity(12);
    form.serialize(Sink {
        pairs: &mut pairs,
        name: None,
    })
    .map_err(|e| Error::invalid("request", format!("cannot be sent as a form: {e}")))?;
    Ok(pairs)
}

/// Why a value cannot be a form.
#[derive(Debug)]
struct NotAForm(String);

impl fmt::Display for NotAForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAForm {}

impl ser::Error for NotAForm {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NotAForm(msg.to_string())
    }
}

type Res<T> = std::result::Result<T, NotAForm>;

fn refuse<T>(what: &str) -> Res<T> {
    Err(NotAForm(format!("{what} is not a form field")))
}

/// One serializer for both levels: with no `name` it takes the form itself (a
/// struct or a map, whose fields it collects); with a `name` it takes that
/// field's value, which must be a scalar or a missing option.
struct Sink<'a> {
    pairs: &'a mut Vec<(String, String)>,
    name: Option<String>,
}

impl Sink<'_> {
    fn text(self, value: String) -> Res<()> {
        match self.name {
            Some(name) => {
                self.pairs.push((name, value));
                Ok(())
            }
            None => refuse("a lone value"),
        }
    }

    fn fields(self, what: &str) -> Res<Self> {
        match self.name {
            None => Ok(self),
            Some(_) => refuse(what),
        }
    }
}

/// Scalar methods: each value becomes its text.
macro_rules! scalars_as_text {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, value: $ty) -> Res<()> {
            self.text(value.to_string())
        })*
    };
}

impl<'a> ser::Serializer for Sink<'a> {
    type Ok = ();
    type Error = NotAForm;
    type SerializeSeq = Impossible<(), NotAForm>;
    type SerializeTuple = Impossible<(), NotAForm>;
    type SerializeTupleStruct = Impossible<(), NotAForm>;
    type SerializeTupleVariant = Impossible<(), NotAForm>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotAForm>;

    scalars_as_text!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_char: char, serialize_str: &str,
    );

    fn serialize_f32(self, _: f32) -> Res<()> {
        refuse("a float")
    }
    fn serialize_f64(self, _: f64) -> Res<()> {
        refuse("a float")
    }
    fn serialize_bytes(self, _: &[u8]) -> Res<()> {
        refuse("bytes")
    }
    fn serialize_none(self) -> Res<()> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res<()> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Res<()> {
        self.text(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Res<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Res<()> {
        refuse("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Res<Self::SerializeSeq> {
        refuse("a list")
    }
    fn serialize_tuple(self, _: usize) -> Res<Self::SerializeTuple> {
        refuse("a tuple")
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Res<Self::SerializeTupleStruct> {
        refuse("a tuple")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Res<Self::SerializeTupleVariant> {
        refuse("an enum with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Res<Self> {
        self.fields("a nested map")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Res<Self> {
        self.fields("a nested struct")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Res<Self::SerializeStructVariant> {
        refuse("an enum with data")
    }
}

impl Sink<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, name: String, value: &T) -> Res<()> {
        value.serialize(Sink {
            pairs: self.pairs,
            name: Some(name),
        })
    }
}

impl ser::SerializeStruct for Sink<'_> {
    type Ok = ();
    type Error = NotAForm;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Res<()> {
        self.field(name.to_owned(), value)
    }

    fn end(self) -> Res<()> {
        Ok(())
    }
}

impl ser::SerializeMap for Sink<'_> {
    type Ok = ();
    type Error = NotAForm;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res<()> {
        let mut named = Vec::with_capacity(1);
        key.serialize(Sink {
            pairs: &mut named,
            name: Some(String::new()),
        })?;
        self.name = named.pop().map(|(_, key)| key);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res<()> {
        let name = self
            .name
            .take()
            .ok_or_else(|| NotAForm("a value without a name".into()))?;
        self.field(name, value)
    }

    fn end(self) -> Res<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Inner {
        mode: Option<&'static str>,
        bank_id: Option<&'static str>,
    }

    #[derive(Serialize)]
    struct Outer {
        username: &'static str,
        count: u32,
        #[serde(flatten)]
        inner: Inner,
        last: String,
    }

    #[test]
    fn fields_come_in_declaration_order_with_flattened_ones_in_place_and_none_left_out() {
        let form = Outer {
            username: "john doe & co",
            count: 7,
            inner: Inner {
                mode: None,
                bank_id: Some("105"),
            },
            last: "=".into(),
        };
        let pairs = form_pairs(&form).unwrap();
        let expected: Vec<(String, String)> = [
            ("username", "john doe & co"),
            ("count", "7"),
            ("bank_id", "105"),
            ("last", "="),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn a_list_field_is_refused_with_a_reason() {
        #[derive(Serialize)]
        struct WithList {
            ids: Vec<u32>,
        }
        let err = form_pairs(&WithList { ids: vec![1] })
            .unwrap_err()
            .to_string();
        assert!(err.contains("a list is not a form field"), "{err}");
    }

    #[test]
    fn a_float_field_is_refused() {
        #[derive(Serialize)]
        struct WithFloat {
            amount: f64,
        }
        assert!(form_pairs(&WithFloat { amount: 1.5 }).is_err());
    }
}
