//! The transformers on ONE-PUNCH's fixtures and on bodies written here, with no server.

use paybridge_core::{
    DepositRequest, Operation, OrderId, OrderStatus, PaymentMethod, RefusalKind, SecretString,
    StatusReport,
};
use paybridge_wire::transport::HttpReply;
use paybridge_wire::{read_answer, Answered};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;
use crate::PROVIDER;

fn fixture(path: &str) -> Vec<u8> {
    let file = format!(
        "{}/../../fixtures/onepunch/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn answer<P: DeserializeOwned>(operation: Operation, path: &str) -> Result<Answered<Payload<P>>> {
    let reply = HttpReply::new(200, fixture(path));
    read_answer(PROVIDER, operation, reply, &REFUSALS)
}

fn status_of(path: &str) -> Result<StatusReport> {
    answer::<StatusPayload>(Operation::DepositStatus, path)?.map(|answer| {
        StatusReport::try_from(StatusOf {
            order_id: OrderId::new("ORDER-1").unwrap(),
            answer,
        })
    })
}

/// A deposit's create body, with `notify_url` as the account's default.
fn create_body(request: &DepositRequest, notify_url: String) -> Result<CreatePaymentBody> {
    let account = Account {
        monster_token: "MON-demo".into(),
        monster_key: SecretString::from("demo-monster-key".to_owned()),
        notify_url: Some(notify_url),
        return_url: Some("https://r.example/".into()),
        payment_method: None,
    };
    CreatePaymentBody::try_from(CreateOf {
        request,
        account: &account,
        magic_num: 888,
    })
}

#[test]
fn a_configured_notify_url_longer_than_200_characters_is_refused_at_200_it_passes() {
    // The request's own fields are held to the same limits by its builder; the
    // account's default URLs come from configuration and are checked here.
    let request = DepositRequest::builder("A1", Money::parse("10", "CNY").unwrap())
        .payment_method("m".repeat(32))
        .ip_addr("1".repeat(65))
        .mac_addr("2".repeat(65))
        .build()
        .unwrap();
    let url_of = |length: usize| format!("https://n.example/{}", "x".repeat(length - 18));
    assert!(create_body(&request, url_of(200)).is_ok());
    match create_body(&request, url_of(201)) {
        Err(Error::InvalidRequest { field, reason }) => {
            assert_eq!(field, "callback_url (notify_url)");
            assert_eq!(reason, "is 201 characters long; onepunch takes at most 200");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn payload(body: &str) -> Answered<Payload<Value>> {
    let reply = HttpReply::new(200, body.as_bytes().to_vec());
    read_answer(PROVIDER, Operation::PaymentMethods, reply, &REFUSALS).unwrap()
}

#[test]
fn method_entries_of_unknown_shape_are_kept_whole_not_refused() {
    let methods: Vec<PaymentMethod> = payload(
        r#"{"status":true,"payload":["ali-person",{"code":"wechat","name":"WeChat"},42,{"odd":true}]}"#,
    )
    .map_into()
    .unwrap();
    let codes: Vec<&str> = methods.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(codes, ["ali-person", "wechat", "", ""]);
    assert_eq!(methods[1].name.as_deref(), Some("WeChat"));
    assert_eq!(methods[2].raw, serde_json::json!(42));
    assert_eq!(methods[3].raw, serde_json::json!({ "odd": true }));
}

#[test]
fn price_entries_of_unknown_shape_are_kept_beside_the_amounts_read() {
    let limits = prices(
        payload(r#"{"status":true,"payload":[1000,"5000",{"amount":100},{"odd":1},true]}"#).answer,
    )
    .unwrap();
    let amounts: Vec<String> = limits[0]
        .allowed_amounts
        .iter()
        .flatten()
        .map(|a| a.normalize().to_string())
        .collect();
    assert_eq!(amounts, ["1", "10", "50"]);
    assert_eq!(
        limits[0].unrecognized,
        [serde_json::json!({ "odd": 1 }), serde_json::json!(true)]
    );
    let none_readable =
        prices(payload(r#"{"status":true,"payload":[true,{"odd":1}]}"#).answer).unwrap_err();
    assert!(
        none_readable.0.contains("none of the 2 price entries"),
        "{}",
        none_readable.0
    );
}

#[test]
fn status_fixtures_map_their_flags_and_amount_in_fen() {
    for (path, status) in [
        ("deposit_status/completed.json", OrderStatus::Completed),
        ("deposit_status/failed.json", OrderStatus::Failed),
        ("deposit_status/pending.json", OrderStatus::Pending),
    ] {
        let report = status_of(path).unwrap();
        assert_eq!(report.status, status, "{path}");
        assert_eq!(report.amount, Some(from_fen(100)), "{path}");
        assert!(report.provider_ref.is_some(), "{path}");
    }
    let err = status_of("deposit_status/ok_as_documented.json").unwrap_err();
    assert_eq!(
        err.kind(),
        "decode",
        "the document's example has raw control characters"
    );
}

#[test]
fn the_create_answer_gives_the_payment_page_and_token() {
    let created: CreatedPayment =
        answer::<CreatedPayload>(Operation::CreateDeposit, "create_deposit/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert!(created.payment_url.starts_with("http"));
    assert!(!created.payment_token.is_empty());
}

/// The payer is sent to the payment page: a `javascript:` or `data:` one
/// is no page of the provider's, as the form API's `p_url` already is not.
#[test]
fn a_create_answer_whose_payment_page_is_not_http_is_undecodable() {
    for url in [
        "javascript:alert(document.cookie)",
        "data:text/html,<b>pay</b>",
        "//evil.example/pay",
    ] {
        let body = serde_json::json!({"status": true, "message": "REGISTER PAYMENT SUCCEED",
            "user_info": {}, "payload": {"payment_url": url, "payment_token": "OPT1", "amount": 1000}});
        let reply = HttpReply::new(200, body.to_string().into_bytes());
        let created = read_answer::<Payload<CreatedPayload>>(
            PROVIDER,
            Operation::CreateDeposit,
            reply,
            &REFUSALS,
        )
        .unwrap()
        .map_into::<CreatedPayment>();
        match created {
            Err(err) => assert_eq!(err.kind(), "decode", "{url}: {err}"),
            Ok(created) => panic!("{url}: the payer would be sent to {}", created.payment_url),
        }
    }
}

#[test]
fn a_refused_signature_is_kept_verbatim_but_not_read_as_documented() {
    let err = answer::<CreatedPayload>(
        Operation::CreateDeposit,
        "create_deposit/bad_signature.json",
    )
    .unwrap_err();
    match &err {
        Error::Provider {
            kind,
            message,
            documented,
            ..
        } => {
            assert_eq!((*kind, *documented), (RefusalKind::Other, false), "{err}");
            assert!(message.to_ascii_uppercase().contains("SIGNATURE"), "{err}");
        }
        other => panic!("not a refusal: {other}"),
    }
    assert!(
        err.may_have_been_delivered(),
        "an undocumented refusal proves nothing"
    );
}

#[test]
fn prices_in_every_shape_become_one_fixed_cny_list() {
    let limits = answer::<Value>(Operation::Currencies, "currencies/ok.json")
        .unwrap()
        .map(prices)
        .unwrap();
    assert_eq!(limits.len(), 1);
    let allowed = &limits[0];
    for cny in ["1", "50", "100", "200"] {
        assert!(
            allowed.accepts(Decimal::from_str_exact(cny).unwrap()),
            "{cny}"
        );
    }
    assert!(!allowed.accepts(Decimal::from_str_exact("2").unwrap()));
}

#[test]
fn methods_keep_their_codes_names_and_raw_entries() {
    let methods: Vec<PaymentMethod> =
        answer::<Value>(Operation::PaymentMethods, "payment_methods/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert_eq!(methods.len(), 2);
    assert_eq!(methods[0].code, "ali-person");
    assert_eq!(methods[0].name.as_deref(), Some("Alipay (personal)"));
    assert_eq!(methods[1].raw["extra"], 1);
}

#[test]
fn the_notification_fixture_reads_with_the_stored_token() {
    let body = fixture("callback/notification.json");
    let mut rewritten = None;
    let n = unverified_notification(
        &body,
        None,
        Some("OP9f2dca32af10cd12ab5f6d"),
        &mut rewritten,
    )
    .unwrap();
    assert!(n.transaction_status);
    assert_eq!(n.amount_fen, 100);
    assert_eq!(n.payment_token, "OP9f2dca32af10cd12ab5f6d");
    let event = notification_event(n, &body).unwrap();
    assert_eq!(event.status, OrderStatus::Completed);
    assert_eq!(event.amount, from_fen(100));
    assert_eq!(event.order_id.unwrap().as_str(), "_some_order_num_");
}

#[test]
fn a_failed_transaction_notification_is_failed_not_pending() {
    let body = br#"{"monster_token":"MON-demo","transaction_status":false,"message":"TRANSACTION FAILED","amount":100,"payment_token":"OP1","signature":"x"}"#;
    let mut rewritten = None;
    let n = unverified_notification(body, None, None, &mut rewritten).unwrap();
    assert_eq!(
        notification_event(n, body).unwrap().status,
        OrderStatus::Failed
    );
}

#[test]
fn the_documents_notification_text_is_malformed_not_guessed() {
    let body = fixture("callback/notification_as_documented.txt");
    let err = unverified_notification(&body, None, Some("OP1"), &mut None).unwrap_err();
    assert_eq!(err.kind(), "callback_rejected", "{err}");
}

#[test]
fn fen_conversion_refuses_what_it_cannot_hold_without_panicking() {
    let cny = |text: &str| Money::parse(text, CURRENCY).unwrap();
    assert_eq!(to_fen(&cny("100.5")).unwrap(), 10050);
    assert_eq!(to_fen(&cny("0.01")).unwrap(), 1);
    for huge in [
        "1e28",
        "79228162514264337593543950335",
        "184467440737095516.16",
    ] {
        let err = to_fen(&cny(huge)).unwrap_err().to_string();
        assert!(err.contains("largest amount"), "{huge}: {err}");
    }
    let err = to_fen(&cny("0.001")).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { field, .. } if field == "amount"),
        "{err:?}"
    );
    assert!(err.to_string().contains("CNY has 2"), "{err}");
}
