use std::borrow::Cow;

use rust_decimal::Decimal;
use serde_json::Value;

use super::*;

/// A callback body's fields as text, whatever its format.
fn parse_callback_fields(
    body: &[u8],
    content_type: Option<&str>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let fields: std::collections::BTreeMap<String, Scalar> =
        parse_callback_body(body, content_type, &mut None)?;
    Ok(fields.into_iter().map(|(k, v)| (k, v.0)).collect())
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

#[test]
fn every_documented_number_format_parses_exactly() {
    let body = br#"{"a":300.0000,"b":1,"c":"9.0000","d":"0","e":"0.00","f":0.1}"#;
    let map = parse_json_tolerant(body).unwrap();
    let get = |k: &str| decimal_from_value(&map[k]).unwrap();
    assert_eq!(get("a"), dec("300"));
    assert_eq!(get("a").to_string(), "300.0000", "scale kept from the text");
    assert_eq!(get("b"), dec("1"));
    assert_eq!(get("c"), dec("9"));
    assert_eq!(get("d"), Decimal::ZERO);
    assert_eq!(get("e").to_string(), "0.00");
    assert_eq!(get("f") + dec("0.2"), dec("0.3"), "no float drift");
}

#[test]
fn bad_numbers_are_refused_with_the_text() {
    for bad in ["", "abc", "1,000", "NaN", "$5"] {
        let err = parse_decimal_str(bad).unwrap_err();
        assert!(!err.is_empty());
    }
    assert!(decimal_from_value(&Value::Bool(true)).is_err());
    assert_eq!(parse_decimal_str("1e3").unwrap(), dec("1000"));
}

#[test]
fn trailing_commas_and_bom_are_tolerated() {
    let body =
        "\u{feff}{\n \"order_id\": \"20073\",\n \"list\": [1, 2,],\n \"type\":\"deposit\",\n   \n}";
    let map = parse_json_tolerant(body.as_bytes()).unwrap();
    assert_eq!(map["type"], "deposit");
    assert_eq!(map["list"].as_array().unwrap().len(), 2);
}

#[test]
fn commas_inside_strings_are_kept() {
    let body = br#"{"remarks":"a, }","x":1,}"#;
    let map = parse_json_tolerant(body).unwrap();
    assert_eq!(map["remarks"], "a, }");
}

#[test]
fn form_callbacks_parse() {
    let map = parse_callback_fields(
        b"order_id=A1&amount=300.0000&token=abc",
        Some("application/x-www-form-urlencoded"),
    )
    .unwrap();
    assert_eq!(map["order_id"], "A1");
    assert_eq!(parse_decimal_str(&map["amount"]).unwrap(), dec("300"));
    assert!(parse_callback_fields(b"a=1&a=2", None).is_err());
    assert!(parse_callback_fields(b"", None).is_err());
    assert!(parse_callback_fields(b"{\"a\":", Some("application/json")).is_err());
    // A JSON body labelled as a form (PHP's curl default) is read as JSON.
    let map = parse_callback_fields(
        b"{\"order_id\":\"A1\"}",
        Some("application/x-www-form-urlencoded"),
    )
    .unwrap();
    assert_eq!(map["order_id"], "A1");
}

#[test]
fn multipart_callbacks_parse_with_or_without_a_declared_boundary() {
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"order_id\"\r\n\r\nA1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n300.0000\r\n--XyZ--\r\n";
    for content_type in [
        Some("multipart/form-data; boundary=XyZ"),
        Some("multipart/form-data; boundary=\"XyZ\""),
        None,
        Some("application/json"),
    ] {
        let map = parse_callback_fields(body, content_type).unwrap();
        assert_eq!(map["order_id"], "A1", "{content_type:?}");
        assert_eq!(map["amount"], "300.0000", "{content_type:?}");
    }
    let unterminated = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
    assert!(parse_callback_fields(unterminated, None).is_err());
    let file =
        b"--B\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"\r\n\r\n1\r\n--B--";
    assert!(parse_callback_fields(file, None).is_err());
}

#[derive(Debug, serde::Deserialize)]
struct Typed {
    order_id: Option<Scalar>,
    amount: Option<Scalar>,
    status: Option<Scalar>,
}

#[test]
fn typed_callback_bodies_read_numbers_strings_and_forms_alike() {
    let json: Typed = parse_callback_body(
        b"{\"order_id\": 20073, \"amount\": 300.0000, \"status\": true,\n}",
        None,
        &mut None,
    )
    .unwrap();
    assert_eq!(json.order_id.unwrap().as_str(), "20073");
    assert_eq!(
        json.amount.unwrap().as_str(),
        "300.0000",
        "the number's exact text"
    );
    assert!(json.status.unwrap().bool().unwrap());
    let form: Typed = parse_callback_body(
        b"order_id=A1&amount=9.0000",
        Some("application/x-www-form-urlencoded"),
        &mut None,
    )
    .unwrap();
    assert_eq!(form.amount.unwrap().decimal().unwrap(), Decimal::new(9, 0));
    assert!(form.status.is_none());
    assert!(parse_callback_body::<Typed>(b"{\"order_id\": {\"x\": 1}}", None, &mut None).is_err());
    assert!(parse_callback_body::<Typed>(b"order_id=A&order_id=B", None, &mut None).is_err());
    assert!(parse_callback_body::<Typed>(b"", None, &mut None).is_err());
}

/// Fields by name, each borrowed or owned as the reader left it.
type Fields<'a> = std::collections::BTreeMap<String, ScalarRef<'a>>;

fn borrowed(fields: &Fields<'_>, name: &str) -> bool {
    matches!(fields.get(name), Some(ScalarRef(Cow::Borrowed(_))))
}

#[test]
fn callback_fields_borrow_from_the_body_unless_it_was_rewritten() {
    let mut rewritten = None;
    let plain: Fields = parse_callback_body(
        br#"{"order_id": "A1", "amount": 300.0000, "status": true}"#,
        None,
        &mut rewritten,
    )
    .unwrap();
    assert!(borrowed(&plain, "order_id") && borrowed(&plain, "status"));
    assert_eq!(plain["amount"].as_str(), "300.0000");
    assert!(rewritten.is_none(), "a strict body is read where it lies");

    let mut rewritten = None;
    let escaped: Fields =
        parse_callback_body(br#"{"order_id": "A\u0031",}"#, None, &mut rewritten).unwrap();
    assert_eq!(escaped["order_id"].as_str(), "A1");
    assert!(
        !borrowed(&escaped, "order_id"),
        "an escaped string is decoded"
    );
    assert_eq!(rewritten.as_deref(), Some(r#"{"order_id": "A\u0031"}"#));

    let mut rewritten = None;
    let multipart: Fields = parse_callback_body(
        b"--B\r\nContent-Disposition: form-data; name=\"order_id\"\r\n\r\nA 1\r\n--B--\r\n",
        Some("multipart/form-data; boundary=B"),
        &mut rewritten,
    )
    .unwrap();
    assert_eq!(multipart["order_id"].as_str(), "A 1");
    assert_eq!(rewritten.as_deref(), Some("order_id=A+1"));

    let mut rewritten = None;
    let form: Fields = parse_callback_body(b"order_id=A1&status=1", None, &mut rewritten).unwrap();
    assert!(borrowed(&form, "order_id"));
    assert!(form["status"].bool().unwrap());
}

#[test]
fn booleans_in_every_spelling() {
    for (v, want) in [
        (serde_json::json!(true), true),
        (serde_json::json!("false"), false),
        (serde_json::json!(1), true),
        (serde_json::json!("0"), false),
    ] {
        assert_eq!(bool_from_value(&v).unwrap(), want);
    }
    assert!(bool_from_value(&serde_json::json!("yes")).is_err());
}
