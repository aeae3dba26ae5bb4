//! Parsers never panic, whatever arrives; and what they accept, they read exactly.

use paybridge::wire::{parse_callback_body, parse_decimal_str, parse_json_tolerant, Scalar};
use paybridge::{CallbackRequest, Config, Decimal, Gateway};
use proptest::prelude::*;

fn gateways() -> Vec<Gateway> {
    let config = Config::from_toml(
        r#"
[vpay88]
base_url = "http://127.0.0.1:9"
username = "m"
api_key = "k"
secret_keys = ["s1", "s2"]
[one1pay]
base_url = "http://127.0.0.1:9"
username = "m"
api_key = "k"
secret_key = "s"
[onepunch]
monster_token = "MON-x"
monster_key = "key"
"#,
        "properties",
    )
    .unwrap();
    paybridge::providers::BUILT_IN
        .iter()
        .map(|p| Gateway::for_provider(&config, *p).unwrap())
        .collect()
}

/// Bytes that look like callbacks often enough to reach deep into the parsers.
fn callbackish() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("order_id"),
        Just("token"),
        Just("amount"),
        Just("currency"),
        Just("order_status"),
        Just("type"),
        Just("charge"),
        Just("monster_token"),
        Just("transaction_status"),
        Just("signature"),
        Just("message"),
        Just("order_num"),
        Just("payment_token"),
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,30}(\\.[0-9]{0,30})?".prop_map(|s| s),
        "\"[ -~]{0,40}\"".prop_map(|s| s),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
        Just("\"deposit\"".to_owned()),
        Just("\"completed\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ];
    prop_oneof![
        proptest::collection::vec((field, value), 0..12).prop_map(|pairs| {
            let body: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{},}}", body.join(",")).into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..256),
        "[ -~]{0,200}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decimal_parsing_never_panics(text in "\\PC{0,64}") {
        let _ = parse_decimal_str(&text);
    }

    #[test]
    fn decimals_round_trip_exactly(mantissa in any::<i64>(), scale in 0u32..12) {
        let value = Decimal::new(mantissa, scale);
        prop_assert_eq!(parse_decimal_str(&value.to_string()).unwrap(), value);
        let json = format!("{{\"amount\":{value}}}");
        let parsed = parse_json_tolerant(json.as_bytes()).unwrap();
        prop_assert_eq!(paybridge::wire::decimal_from_value(&parsed["amount"]).unwrap(), value);
    }

    #[test]
    fn json_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json_tolerant(&body);
    }

    #[test]
    fn trailing_commas_change_nothing(entries in proptest::collection::btree_map("[a-z]{1,8}", any::<i32>(), 0..8)) {
        let strict = serde_json::to_string(&entries).unwrap();
        let relaxed = if entries.is_empty() { strict.clone() } else { format!("{},\n}}", &strict[..strict.len() - 1]) };
        prop_assert_eq!(parse_json_tolerant(relaxed.as_bytes()).unwrap(), parse_json_tolerant(strict.as_bytes()).unwrap());
    }

    #[test]
    fn callback_parsing_never_panics(body in callbackish(), form in any::<bool>()) {
        let content_type = form.then_some("application/x-www-form-urlencoded");
        let _ = parse_callback_body::<std::collections::BTreeMap<String, Scalar>>(&body, content_type, &mut None);
    }

    #[test]
    fn callback_verification_never_panics_and_never_accepts_noise(body in callbackish(), form in any::<bool>()) {
        let content_type = form.then_some("application/x-www-form-urlencoded");
        for gateway in gateways() {
            let request = CallbackRequest::new(&body).with_content_type(content_type).with_provider_ref(Some("OP1"));
            prop_assert!(gateway.verify_callback(&request).is_err());
        }
    }

    #[test]
    fn a_genuine_callback_verifies_whatever_its_order_id(order_id in "[A-Za-z0-9_.-]{1,64}", cents in 1u64..10_000_000) {
        let token = paybridge_signing::form_callback_token("s2", &order_id);
        let amount = Decimal::new(cents as i64, 2);
        let body = format!(
            "{{\"order_id\":\"{order_id}\",\"amount\":{amount},\"currency\":\"MYR\",\"order_status\":\"completed\",\"status\":true,\"token\":\"{token}\",\"type\":\"deposit\",}}"
        );
        let event = gateways()[0].verify_callback(&CallbackRequest::new(body.as_bytes())).unwrap();
        prop_assert_eq!(event.amount.amount(), amount);
        prop_assert_eq!(event.secret_index, 1);
    }
}

proptest! {
    /// For every currency of the table: an amount with as many decimal places
    /// as its minor unit is accepted, one with a further (non-zero) place is
    /// refused naming `amount`.
    #[test]
    fn amounts_are_refused_exactly_past_their_currencys_places(
        at in 0..paybridge::MINOR_UNITS.len(),
        units in 1u64..1_000_000_000,
        last in 1u64..10,
    ) {
        use paybridge::{check_request_amount, Money};
        let (code, places) = paybridge::MINOR_UNITS[at];
        let exact = Decimal::from_i128_with_scale(i128::from(units), places);
        let currency = paybridge::Currency::new(code).unwrap();
        prop_assert!(check_request_amount(&Money::new(exact, currency.clone())).is_ok());
        let finer = Decimal::from_i128_with_scale(i128::from(units * 10 + last), places + 1);
        match check_request_amount(&Money::new(finer, currency)) {
            Err(paybridge::Error::InvalidRequest { field, .. }) => prop_assert_eq!(field, "amount"),
            other => prop_assert!(false, "{} {}: {:?}", finer, code, other),
        }
    }
}

/// Every currency an adapter offers has its places in the table, so no
/// adapter sends an amount whose decimals were not checked.
#[test]
fn every_currency_an_adapter_offers_is_in_the_table() {
    let form_api = [
        paybridge_vpay88::Vpay88::dialect(),
        paybridge_one1pay::One1Pay::dialect(),
    ];
    let offered = form_api
        .iter()
        .flat_map(|d| d.currencies().iter().map(|c| c.as_str()))
        .chain([paybridge_onepunch::transformers::CURRENCY]);
    for code in offered {
        let currency = paybridge::Currency::new(code).unwrap();
        assert!(
            currency.minor_units().is_some(),
            "{code} is not in MINOR_UNITS"
        );
    }
}
