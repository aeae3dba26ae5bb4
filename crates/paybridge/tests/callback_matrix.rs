//! Callbacks are read by what the body is, not by what its Content-Type claims.
//!
//! The matrix: body format (JSON, urlencoded form, multipart) x declared type
//! (none, JSON, form, multipart, text/plain, each with and without a charset)
//! x a leading UTF-8 BOM or not x trailing commas or not (JSON only), for the
//! form API (Vpay88, One1Pay) and ONE-PUNCH. Every genuine callback yields the
//! same event; every tampered one is refused. Then ONE-PUNCH's shift attack.

use paybridge::{CallbackEvent, CallbackRequest, Config, Error, Gateway};
use paybridge_signing::{
    form_callback_token, onepunch_notification_signature, OnepunchNotificationFields,
};

const BOUNDARY: &str = "X-PAYBRIDGE-B0UND";

const DECLARED: [Option<&str>; 9] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("multipart/form-data; boundary=X-PAYBRIDGE-B0UND"),
    Some("multipart/form-data; charset=utf-8; boundary=\"X-PAYBRIDGE-B0UND\""),
    Some("text/plain"),
    Some("text/plain; charset=utf-8"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Form,
    Multipart,
}

/// A field's value and whether JSON writes it bare (a number or a boolean).
type Field = (&'static str, String, bool);

fn encode(fields: &[Field], format: Format, trailing_comma: bool) -> String {
    match format {
        Format::Json => {
            let items: Vec<String> = fields
                .iter()
                .map(|(k, v, bare)| {
                    if *bare {
                        format!("\"{k}\": {v}")
                    } else {
                        format!("\"{k}\": \"{v}\"")
                    }
                })
                .collect();
            let comma = if trailing_comma { "," } else { "" };
            format!("{{\n  {}{comma}\n}}", items.join(",\n  "))
        }
        Format::Form => {
            let pairs: Vec<(&str, &str)> =
                fields.iter().map(|(k, v, _)| (*k, v.as_str())).collect();
            serde_urlencoded::to_string(pairs).unwrap()
        }
        Format::Multipart => {
            let mut body = String::new();
            for (k, v, _) in fields {
                body.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                ));
            }
            body.push_str(&format!("--{BOUNDARY}--\r\n"));
            body
        }
    }
}

fn gateways() -> (Gateway, Gateway) {
    let config = Config::from_toml(
        r#"
[vpay88]
base_url = "http://127.0.0.1:9"
username = "m"
api_key = "k"
secret_key = "vpay-secret"
[onepunch]
base_url = "http://127.0.0.1:9"
monster_token = "MON-x"
monster_key = "op-key"
"#,
        "matrix",
    )
    .unwrap();
    (
        Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap(),
        Gateway::for_provider(&config, paybridge::providers::ONEPUNCH).unwrap(),
    )
}

fn form_api_fields(order_id: &str, token: &str) -> Vec<Field> {
    vec![
        ("order_id", order_id.into(), false),
        ("amount", "300.0000".into(), true),
        ("currency", "MYR".into(), false),
        ("order_status", "completed".into(), false),
        ("status", "true".into(), true),
        ("charge", "1.5".into(), true),
        ("token", token.into(), false),
        ("name", "john".into(), false),
        ("type", "deposit".into(), false),
    ]
}

fn onepunch_signature(token: &str, amount_fen: u64) -> String {
    onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: token,
            amount_fen,
            monster_token: "MON-x",
            order_num: Some("A1"),
        },
        "op-key",
    )
}

fn onepunch_fields(token: &str, amount_fen: u64, signature: &str) -> Vec<Field> {
    vec![
        ("monster_token", "MON-x".into(), false),
        ("transaction_status", "true".into(), true),
        ("message", "TRANSACTION SUCCEED".into(), false),
        ("amount", amount_fen.to_string(), true),
        ("order_num", "A1".into(), false),
        ("payment_token", token.into(), false),
        ("signature", signature.into(), false),
    ]
}

/// The event without its raw body, which differs by format by design.
fn comparable(mut event: CallbackEvent) -> CallbackEvent {
    event.raw_body = String::new();
    event
}

/// Every (format, declared type, BOM, trailing comma) shape of one field set.
fn shapes(fields: &[Field]) -> Vec<(String, Vec<u8>, Option<&'static str>)> {
    let mut out = Vec::new();
    for format in [Format::Json, Format::Form, Format::Multipart] {
        for declared in DECLARED {
            for bom in [false, true] {
                let commas: &[bool] = if format == Format::Json {
                    &[false, true]
                } else {
                    &[false]
                };
                for &trailing_comma in commas {
                    let mut body = if bom {
                        "\u{feff}".as_bytes().to_vec()
                    } else {
                        Vec::new()
                    };
                    body.extend_from_slice(encode(fields, format, trailing_comma).as_bytes());
                    let label = format!(
                        "{format:?} declared {} bom={bom} trailing_comma={trailing_comma}",
                        declared.unwrap_or("(none)")
                    );
                    out.push((label, body, declared));
                }
            }
        }
    }
    out
}

fn verify(
    gateway: &Gateway,
    body: &[u8],
    declared: Option<&str>,
    stored: Option<&str>,
) -> Result<CallbackEvent, Error> {
    gateway.verify(
        &CallbackRequest::new(body)
            .with_content_type(declared)
            .with_provider_ref(stored),
    )
}

#[test]
fn every_genuine_form_api_callback_yields_the_same_event_and_tampered_ones_are_refused() {
    let (vpay, _) = gateways();
    let token = form_callback_token("vpay-secret", "ORDER-7");
    let genuine = shapes(&form_api_fields("ORDER-7", &token));
    // 3 formats x 9 declared types x 2 BOMs, JSON twice more for trailing commas.
    assert_eq!(genuine.len(), 4 * 9 * 2);
    let mut first: Option<CallbackEvent> = None;
    for (label, body, declared) in &genuine {
        let event = verify(&vpay, body, *declared, None)
            .unwrap_or_else(|e| panic!("{label}: genuine callback refused: {e}"));
        let event = comparable(event);
        match &first {
            None => first = Some(event),
            Some(first) => assert_eq!(&event, first, "{label}"),
        }
    }
    let first = first.unwrap();
    assert_eq!(first.order_id.as_ref().map(|o| o.as_str()), Some("ORDER-7"));
    assert_eq!(first.amount.to_string(), "300 MYR");
    // The token covers the order id: another order id under this token is refused.
    for (label, body, declared) in shapes(&form_api_fields("ORDER-8", &token)) {
        match verify(&vpay, &body, declared, None) {
            Err(Error::CallbackRejected(_)) => {}
            other => panic!("{label}: tampered order id accepted: {other:?}"),
        }
    }
}

#[test]
fn every_genuine_onepunch_callback_yields_the_same_event_and_tampered_ones_are_refused() {
    let (_, onepunch) = gateways();
    let signature = onepunch_signature("OPT1", 1000);
    let mut first: Option<CallbackEvent> = None;
    for (label, body, declared) in shapes(&onepunch_fields("OPT1", 1000, &signature)) {
        let event = comparable(
            verify(&onepunch, &body, declared, Some("OPT1"))
                .unwrap_or_else(|e| panic!("{label}: genuine callback refused: {e}")),
        );
        match &first {
            None => first = Some(event),
            Some(first) => assert_eq!(&event, first, "{label}"),
        }
    }
    assert_eq!(first.unwrap().amount.to_string(), "10 CNY");
    for (label, body, declared) in shapes(&onepunch_fields("OPT1", 2000, &signature)) {
        match verify(&onepunch, &body, declared, Some("OPT1")) {
            Err(Error::CallbackRejected(_)) => {}
            other => panic!("{label}: tampered amount accepted: {other:?}"),
        }
    }
}

/// `OPT1` + `1000` concatenates like `OPT` + `11000`: the same signature.
#[test]
fn onepunch_shift_attack_is_refused_when_the_stored_token_is_given() {
    let (_, onepunch) = gateways();
    let signature = onepunch_signature("OPT1", 1000);
    assert_eq!(
        signature,
        onepunch_signature("OPT", 11000),
        "the shift keeps the signature"
    );
    let shifted = encode(
        &onepunch_fields("OPT", 11000, &signature),
        Format::Json,
        false,
    );

    // Without the stored token, verification alone cannot tell: it accepts the
    // shifted amount (confirmation, or the stored token, is what closes this).
    let unprotected = verify(&onepunch, shifted.as_bytes(), None, None).unwrap();
    assert_eq!(unprotected.amount.to_string(), "110 CNY");
    assert_eq!(unprotected.provider_ref.as_deref(), Some("OPT"));

    // With the stored token, the body's other token is refused...
    match verify(&onepunch, shifted.as_bytes(), None, Some("OPT1")) {
        Err(Error::CallbackRejected(rejection)) => {
            assert_eq!(rejection.class(), "rejected: malformed", "{rejection}")
        }
        other => panic!("the shifted callback was accepted: {other:?}"),
    }
    // ...and a body that omits its token is signed over the stored one, so the
    // shifted amount no longer verifies.
    let mut without_token = onepunch_fields("OPT", 11000, &signature);
    without_token.retain(|(k, _, _)| *k != "payment_token");
    let body = encode(&without_token, Format::Json, false);
    match verify(&onepunch, body.as_bytes(), None, Some("OPT1")) {
        Err(Error::CallbackRejected(rejection)) => {
            assert_eq!(rejection.class(), "rejected: signature", "{rejection}")
        }
        other => panic!("the shifted callback was accepted: {other:?}"),
    }
    // The genuine one still verifies against the stored token.
    let genuine = encode(
        &onepunch_fields("OPT1", 1000, &signature),
        Format::Json,
        false,
    );
    let event = verify(&onepunch, genuine.as_bytes(), None, Some("OPT1")).unwrap();
    assert_eq!(event.amount.to_string(), "10 CNY");
}
