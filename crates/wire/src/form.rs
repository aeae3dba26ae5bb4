//! A form request's fields, read straight from its `Serialize` struct: each
//! field once, as text, in declaration order (flattened structs in place).
//! `None` fields are left out; a field that is not a scalar is refused. The
//! fields are encoded once as `multipart/form-data` ([`MultipartForm`]),
//! written into the body as they are read, with no list of them between.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::HeaderValue;
use rand::Rng;
use serde::ser::{self, Impossible, Serialize};

use paybridge_core::{Error, Result};

/// Where a form's fields go as they are read.
trait Fields {
    fn field(&mut self, name: &str, value: &str) -> Res<()>;
}

impl Fields for Vec<(String, String)> {
    fn field(&mut self, name: &str, value: &str) -> Res<()> {
        self.push((name.to_owned(), value.to_owned()));
        Ok(())
    }
}

/// The `(name, value)` pairs of a form, in order.
pub fn form_pairs<T: Serialize>(form: &T) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::with_capacity(12);
    read_fields(form, &mut pairs)?;
    Ok(pairs)
}

fn read_fields<T: Serialize, F: Fields>(form: &T, out: &mut F) -> Result<()> {
    form.serialize(Sink { out, name: None })
        .map_err(|e| Error::invalid("request", format!("cannot be sent as a form: {e}")))
}

/// Text fields encoded once as `multipart/form-data`, as the providers' PHP
/// examples send them (curl given an array).
///
/// Encoded by hand into one buffer: reqwest's multipart form streams every
/// part as chunks of its own, which costs several times this on each request,
/// and a retry sends the same bytes again without encoding them again. `Debug`
/// shows the size only: the fields carry credentials.
#[derive(Clone)]
pub struct MultipartForm {
    content_type: HeaderValue,
    body: Bytes,
}

/// A multipart body being written, part by part, under one boundary; whether
/// a value held the boundary (the body is then written again under another).
struct Parts {
    boundary: Boundary,
    body: Vec<u8>,
    clash: bool,
}

impl Parts {
    fn new(capacity: usize) -> Self {
        Self {
            boundary: random_boundary(),
            body: Vec::with_capacity(capacity),
            clash: false,
        }
    }

    /// The form, or `None` when a value held the boundary.
    fn finish(mut self) -> Option<MultipartForm> {
        if self.clash {
            return None;
        }
        let boundary = self.boundary.as_str();
        for piece in ["--", boundary, "--\r\n"] {
            self.body.extend_from_slice(piece.as_bytes());
        }
        let content_type = HeaderValue::from_maybe_shared(Bytes::from(
            ["multipart/form-data; boundary=", boundary].concat(),
        ))
        .expect("a boundary of ASCII letters, digits and '-' is a valid header value");
        Some(MultipartForm {
            content_type,
            body: Bytes::from(self.body),
        })
    }
}

impl Parts {
    /// One part with no content type of its own. A name's `"`, CR and LF are
    /// written `%22`, `%0D` and `%0A`, as browsers do.
    fn part(&mut self, name: &str, value: &str) {
        let boundary = self.boundary.as_str();
        // A value shorter than the boundary cannot hold it: most are, and the
        // search costs more than writing the part.
        self.clash |= value.len() >= boundary.len() && value.contains(boundary);
        let body = &mut self.body;
        for piece in [
            "--",
            boundary,
            "\r\nContent-Disposition: form-data; name=\"",
        ] {
            body.extend_from_slice(piece.as_bytes());
        }
        for &byte in name.as_bytes() {
            match byte {
                b'"' => body.extend_from_slice(b"%22"),
                b'\r' => body.extend_from_slice(b"%0D"),
                b'\n' => body.extend_from_slice(b"%0A"),
                other => body.push(other),
            }
        }
        body.extend_from_slice(b"\"\r\n\r\n");
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
}

impl Fields for Parts {
    fn field(&mut self, name: &str, value: &str) -> Res<()> {
        self.part(name, value);
        Ok(())
    }
}

/// Room for a typical provider form, so that its body is not copied as it
/// grows.
const TYPICAL_FORM_BYTES: usize = 2048;

impl MultipartForm {
    /// Encodes `fields` in order, each as a part with no content type of its
    /// own. The boundary is random and occurs in no value. A name's `"`, CR and
    /// LF are written `%22`, `%0D` and `%0A`, as browsers do.
    pub fn new(fields: &[(String, String)]) -> Self {
        let size: usize = fields
            .iter()
            .map(|(name, value)| name.len() + value.len() + 96)
            .sum();
        loop {
            let mut parts = Parts::new(size + 64);
            for (name, value) in fields {
                parts.part(name, value);
            }
            if let Some(form) = parts.finish() {
                return form;
            }
        }
    }

    /// Encodes the fields of `form` (as [`form_pairs`] reads them) straight
    /// into the body, in order.
    pub fn from_form<T: Serialize>(form: &T) -> Result<Self> {
        loop {
            let mut parts = Parts::new(TYPICAL_FORM_BYTES);
            read_fields(form, &mut parts)?;
            if let Some(form) = parts.finish() {
                return Ok(form);
            }
        }
    }

    /// The `Content-Type` header, boundary included.
    pub fn content_type(&self) -> HeaderValue {
        self.content_type.clone()
    }

    /// The encoded body; cloning it copies no bytes.
    pub fn body(&self) -> Bytes {
        self.body.clone()
    }
}

/// `paybridge-` and 32 random hex digits, written without the formatting
/// machinery (this runs on every request).
fn random_boundary() -> Boundary {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(42);
    text.push_str("paybridge-");
    let mut bits = rand::thread_rng().gen::<u128>();
    for _ in 0..32 {
        text.push(char::from(HEX[(bits & 0xf) as usize]));
        bits >>= 4;
    }
    Boundary(text)
}

/// A multipart boundary: ASCII letters, digits and `-`.
struct Boundary(String);

impl Boundary {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MultipartForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipartForm")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
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
/// struct or a map, whose fields it hands to `out`); with a `name` it takes
/// that field's value, which must be a scalar or a missing option.
struct Sink<'a, 'n, F: Fields> {
    out: &'a mut F,
    name: Option<Cow<'n, str>>,
}

impl<'n, F: Fields> Sink<'_, 'n, F> {
    fn text(self, value: &str) -> Res<()> {
        match self.name {
            Some(name) => self.out.field(&name, value),
            None => refuse("a lone value"),
        }
    }

    fn fields(self, what: &str) -> Res<Self> {
        match self.name {
            None => Ok(self),
            Some(_) => refuse(what),
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: Cow<'_, str>, value: &T) -> Res<()> {
        value.serialize(Sink {
            out: &mut *self.out,
            name: Some(name),
        })
    }
}

/// A map key's text (a key is read as a field's value would be: a scalar).
struct KeyText(Option<String>);

impl Fields for KeyText {
    fn field(&mut self, _: &str, key: &str) -> Res<()> {
        self.0 = Some(key.to_owned());
        Ok(())
    }
}

/// A map entry's key, read as text, names its value, which goes on to `out`
/// while the key is borrowed.
struct Keyed<'a, F: Fields, V: Serialize + ?Sized> {
    out: &'a mut F,
    value: &'a V,
}

impl<F: Fields, V: Serialize + ?Sized> Fields for Keyed<'_, F, V> {
    fn field(&mut self, _: &str, key: &str) -> Res<()> {
        self.value.serialize(Sink {
            out: &mut *self.out,
            name: Some(Cow::Borrowed(key)),
        })
    }
}

/// Scalar methods: each value becomes its text.
macro_rules! scalars_as_text {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, value: $ty) -> Res<()> {
            self.text(&value.to_string())
        })*
    };
}

impl<F: Fields> ser::Serializer for Sink<'_, '_, F> {
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
        serialize_u64: u64, serialize_char: char,
    );

    fn serialize_str(self, value: &str) -> Res<()> {
        self.text(value)
    }
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
        self.text(variant)
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

impl<F: Fields> ser::SerializeStruct for Sink<'_, '_, F> {
    type Ok = ();
    type Error = NotAForm;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Res<()> {
        self.field(Cow::Borrowed(name), value)
    }

    fn end(self) -> Res<()> {
        Ok(())
    }
}

impl<F: Fields> ser::SerializeMap for Sink<'_, '_, F> {
    type Ok = ();
    type Error = NotAForm;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res<()> {
        let mut text = KeyText(None);
        key.serialize(Sink {
            out: &mut text,
            name: Some(Cow::Borrowed("")),
        })?;
        self.name = text.0.map(Cow::Owned);
        Ok(())
    }

    /// A key and its value together (as a flattened struct's fields come):
    /// the value is read while the key is still borrowed, so no key is copied.
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Res<()> {
        let mut keyed = Keyed {
            out: &mut *self.out,
            value,
        };
        key.serialize(Sink {
            out: &mut keyed,
            name: Some(Cow::Borrowed("")),
        })
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

    /// A form with a number, a flattened struct with one field left out,
    /// and `last` as given.
    fn outer(last: &str) -> Outer {
        Outer {
            username: "john doe & co",
            count: 7,
            inner: Inner {
                mode: None,
                bank_id: Some("105"),
            },
            last: last.into(),
        }
    }

    #[test]
    fn fields_come_in_declaration_order_with_flattened_ones_in_place_and_none_left_out() {
        let form = outer("=");
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
        let form = WithList { ids: vec![1] };
        let err = form_pairs(&form).unwrap_err().to_string();
        assert!(err.contains("a list is not a form field"), "{err}");
        let err = MultipartForm::from_form(&form).unwrap_err().to_string();
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

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_multipart_form_reads_back_field_for_field_whatever_the_values_hold() {
        let fields = pairs(&[
            ("username", "john doe & co"),
            (
                "remark",
                "two\r\nlines, \"quoted\", --dashes-- and \u{6c47}\u{6b3e}",
            ),
            ("empty", ""),
            ("amount", "100.5"),
        ]);
        let form = MultipartForm::new(&fields);
        let content_type = form.content_type();
        let content_type = content_type.to_str().unwrap();
        assert!(content_type.starts_with("multipart/form-data; boundary=paybridge-"));
        let read = crate::multipart_fields(&form.body(), Some(content_type)).unwrap();
        assert_eq!(read, fields);
    }

    #[test]
    fn a_multipart_form_is_laid_out_as_rfc_7578_parts_byte_for_byte() {
        let form = MultipartForm::new(&pairs(&[("username", "demo"), ("id", "A1")]));
        let content_type = form.content_type();
        let boundary = content_type
            .to_str()
            .unwrap()
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_owned();
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ndemo\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nA1\r\n--{b}--\r\n",
            b = boundary
        );
        assert_eq!(form.body(), expected.as_bytes());
    }

    #[test]
    fn a_name_cannot_break_out_of_its_header() {
        let form = MultipartForm::new(&pairs(&[("a\"b\r\nX-Injected: 1", "v")]));
        let body = String::from_utf8(form.body().to_vec()).unwrap();
        assert!(body.contains("name=\"a%22b%0D%0AX-Injected: 1\""), "{body}");
        assert!(!body.contains("\r\nX-Injected"), "{body}");
    }

    #[test]
    fn a_form_encoded_straight_from_its_struct_reads_back_as_its_pairs() {
        let form = outer("two\r\nlines, \"quoted\"");
        let encoded = MultipartForm::from_form(&form).unwrap();
        let content_type = encoded.content_type();
        let read =
            crate::multipart_fields(&encoded.body(), Some(content_type.to_str().unwrap())).unwrap();
        assert_eq!(read, form_pairs(&form).unwrap());
    }

    #[test]
    fn a_value_holding_the_boundary_makes_no_form_under_it() {
        let mut parts = Parts::new(64);
        let boundary = parts.boundary.as_str().to_owned();
        parts.part("remark", &format!("x\r\n--{boundary}\r\ny"));
        assert!(parts.finish().is_none());
    }

    #[test]
    fn a_multipart_form_shows_its_size_not_its_fields() {
        let form = MultipartForm::new(&pairs(&[("api_key", "s3cr3t-key")]));
        let shown = format!("{form:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(&form.body().len().to_string()), "{shown}");
    }
}
