//! Every answer fixture of Vpay88 and One1Pay, read and mapped with no server.

use paybridge_core::{
    Balance, Bank, CurrencyLimit, DepositRequest, Error, ExposeSecret, Money, Operation, OrderId,
    OrderKind, OrderStatus, Provider, RefusalKind, Result, StatusQuery, StatusReport,
    WithdrawalRequest,
};
use paybridge_wire::transport::HttpReply;
use paybridge_wire::{read_answer, Answered};
use serde::de::DeserializeOwned;

use super::*;
use crate::DialectSpec;

fn fixture(path: &str) -> Vec<u8> {
    let file = format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A fixture read as the answer of `operation`, over HTTP 200.
fn answer<A: DeserializeOwned>(operation: Operation, path: &str) -> Result<Answered<A>> {
    let reply = HttpReply::new(200, fixture(path));
    read_answer(Provider::new("vpay88"), operation, reply, &REFUSALS)
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap()
}

/// Every documented refusal, per provider and operation, and the kind it maps to.
const REFUSAL_FIXTURES: &[(&str, Operation, RefusalKind)] = &[
    (
        "vpay88/auth/params_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::Unauthorized,
    ),
    (
        "one1pay/auth/params_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::Unauthorized,
    ),
    (
        "vpay88/create_deposit/currency_invalid.json",
        Operation::CreateDeposit,
        RefusalKind::InvalidCurrency,
    ),
    (
        "vpay88/create_deposit/email_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::InvalidEmail,
    ),
    (
        "vpay88/create_deposit/invalid_amount.json",
        Operation::CreateDeposit,
        RefusalKind::InvalidAmount,
    ),
    (
        "vpay88/create_deposit/order_id_exist.json",
        Operation::CreateDeposit,
        RefusalKind::DuplicateOrder,
    ),
    (
        "vpay88/create_deposit/params_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::Unauthorized,
    ),
    (
        "vpay88/create_deposit/params_missing.json",
        Operation::CreateDeposit,
        RefusalKind::MissingParameter,
    ),
    (
        "one1pay/create_deposit/email_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::InvalidEmail,
    ),
    (
        "one1pay/create_deposit/invalid_amount.json",
        Operation::CreateDeposit,
        RefusalKind::InvalidAmount,
    ),
    (
        "one1pay/create_deposit/order_id_exist.json",
        Operation::CreateDeposit,
        RefusalKind::DuplicateOrder,
    ),
    (
        "one1pay/create_deposit/params_incorrect.json",
        Operation::CreateDeposit,
        RefusalKind::Unauthorized,
    ),
    (
        "one1pay/create_deposit/params_missing.json",
        Operation::CreateDeposit,
        RefusalKind::MissingParameter,
    ),
    (
        "vpay88/create_withdrawal/amount_invalid.json",
        Operation::CreateWithdrawal,
        RefusalKind::InvalidAmount,
    ),
    (
        "vpay88/create_withdrawal/balance_not_enough.json",
        Operation::CreateWithdrawal,
        RefusalKind::InsufficientBalance,
    ),
    (
        "vpay88/create_withdrawal/bank_id_invalid.json",
        Operation::CreateWithdrawal,
        RefusalKind::InvalidBank,
    ),
    (
        "vpay88/create_withdrawal/order_id_exist.json",
        Operation::CreateWithdrawal,
        RefusalKind::DuplicateOrder,
    ),
    (
        "vpay88/create_withdrawal/params_incorrect.json",
        Operation::CreateWithdrawal,
        RefusalKind::Unauthorized,
    ),
    (
        "vpay88/create_withdrawal/params_missing.json",
        Operation::CreateWithdrawal,
        RefusalKind::MissingParameter,
    ),
    (
        "one1pay/create_withdrawal/amount_invalid.json",
        Operation::CreateWithdrawal,
        RefusalKind::InvalidAmount,
    ),
    (
        "one1pay/create_withdrawal/balance_not_enough.json",
        Operation::CreateWithdrawal,
        RefusalKind::InsufficientBalance,
    ),
    (
        "one1pay/create_withdrawal/bank_id_invalid.json",
        Operation::CreateWithdrawal,
        RefusalKind::InvalidBank,
    ),
    (
        "one1pay/create_withdrawal/order_id_exist.json",
        Operation::CreateWithdrawal,
        RefusalKind::DuplicateOrder,
    ),
    (
        "one1pay/create_withdrawal/params_incorrect.json",
        Operation::CreateWithdrawal,
        RefusalKind::Unauthorized,
    ),
    (
        "one1pay/create_withdrawal/params_missing.json",
        Operation::CreateWithdrawal,
        RefusalKind::MissingParameter,
    ),
];

#[test]
fn every_documented_refusal_maps_to_its_kind_and_keeps_the_message() {
    for (path, operation, kind) in REFUSAL_FIXTURES {
        let err = answer::<DepositCreatedAnswer>(*operation, path).unwrap_err();
        match &err {
            Error::Provider {
                kind: got,
                message,
                operation: named,
                documented,
                ..
            } => {
                assert_eq!(got, kind, "{path}");
                assert!(documented, "{path}");
                assert_eq!(named, operation, "{path}");
                let body = String::from_utf8(fixture(path)).unwrap();
                assert!(body.contains(message.as_str()), "{path}: {message}");
            }
            other => panic!("{path}: expected a refusal, got {other}"),
        }
    }
}

#[test]
fn auth_answers_give_the_token() {
    for path in ["vpay88/auth/ok.json", "one1pay/auth/ok.json"] {
        let fetched: AuthToken = answer::<AuthAnswer>(Operation::CreateDeposit, path)
            .unwrap()
            .map_into()
            .unwrap();
        assert_eq!(
            fetched.token.expose_secret(),
            "t5IF5r2fXit1FnhjBVQv",
            "{path}"
        );
        assert_eq!(
            fetched.order_id, None,
            "the documents' auth answers carry none"
        );
    }
}

#[test]
fn currency_limits_read_exactly() {
    let limits: Vec<CurrencyLimit> =
        answer::<CurrencyAnswer>(Operation::Currencies, "vpay88/currencies/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert_eq!(limits.len(), 2);
    assert_eq!(limits[0].currency.as_str(), "MYR");
    assert!(limits[0].accepts(dec("420")) && limits[0].accepts(dec("42000")));
    assert!(!limits[0].accepts(dec("419.99")) && !limits[0].accepts(dec("42000.01")));
    let one1pay: Vec<CurrencyLimit> =
        answer::<CurrencyAnswer>(Operation::Currencies, "one1pay/currencies/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert!(!one1pay.is_empty());
}

#[test]
fn bank_lists_read_every_entry() {
    for (path, currency) in [
        ("vpay88/withdrawal_banks/ok.json", "MYR"),
        ("one1pay/deposit_banks/ok.json", "THB"),
        ("one1pay/withdrawal_banks/ok.json", "THB"),
    ] {
        let banks: Vec<Bank> = answer::<BankListAnswer>(Operation::WithdrawalBanks, path)
            .unwrap()
            .map_into()
            .unwrap();
        assert_eq!(banks.len(), 2, "{path}");
        assert_eq!(banks[0].id, "1", "{path}");
        assert!(
            banks.iter().all(|b| b.currency.as_str() == currency),
            "{path}"
        );
    }
}

#[test]
fn created_deposits_give_the_payment_page_and_one1pays_reference() {
    let vpay: CreatedDeposit =
        answer::<DepositCreatedAnswer>(Operation::CreateDeposit, "vpay88/create_deposit/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert!(vpay
        .payment_url
        .starts_with("https://xxxxx.com/checkout/order-pay/92/"));
    assert_eq!(vpay.provider_ref, None);
    let one1: CreatedDeposit =
        answer::<DepositCreatedAnswer>(Operation::CreateDeposit, "one1pay/create_deposit/ok.json")
            .unwrap()
            .map_into()
            .unwrap();
    assert!(one1.provider_ref.is_some());
}

#[test]
fn the_documents_create_deposit_example_missing_a_comma_is_undecodable() {
    let err = answer::<DepositCreatedAnswer>(
        Operation::CreateDeposit,
        "one1pay/create_deposit/ok_as_documented.json",
    )
    .unwrap_err();
    assert_eq!(err.kind(), "decode", "{err}");
    assert!(err.may_have_been_delivered());
}

#[test]
fn a_success_answer_without_a_payment_page_is_undecodable_naming_the_field() {
    let reply = HttpReply::new(200, br#"{"status": true}"#.to_vec());
    let err = read_answer::<DepositCreatedAnswer>(
        Provider::new("vpay88"),
        Operation::CreateDeposit,
        reply,
        &REFUSALS,
    )
    .unwrap()
    .map_into::<CreatedDeposit>()
    .unwrap_err();
    assert!(err.to_string().contains("`p_url`"), "{err}");
}

#[test]
fn created_withdrawals_give_one1pays_reference_and_none_for_vpay88() {
    let read = |path| -> CreatedWithdrawal {
        answer::<WithdrawalCreatedAnswer>(Operation::CreateWithdrawal, path)
            .unwrap()
            .map_into()
            .unwrap()
    };
    assert_eq!(read("vpay88/create_withdrawal/ok.json").provider_ref, None);
    assert_eq!(
        read("one1pay/create_withdrawal/ok.json")
            .provider_ref
            .as_deref(),
        Some("015459_330_164")
    );
}

#[test]
fn every_status_fixture_maps_to_the_status_its_name_gives() {
    let cases = [
        (
            "vpay88/deposit_status/completed.json",
            OrderStatus::Completed,
        ),
        ("vpay88/deposit_status/fail.json", OrderStatus::Failed),
        ("vpay88/deposit_status/pending.json", OrderStatus::Pending),
        (
            "vpay88/withdrawal_status/completed.json",
            OrderStatus::Completed,
        ),
        ("vpay88/withdrawal_status/fail.json", OrderStatus::Failed),
        (
            // A payout held unsettled is in flight, whichever word says so.
            "vpay88/withdrawal_status/pending.json",
            OrderStatus::Processing,
        ),
        (
            "one1pay/deposit_status/completed.json",
            OrderStatus::Completed,
        ),
        ("one1pay/deposit_status/fail.json", OrderStatus::Failed),
        ("one1pay/deposit_status/pending.json", OrderStatus::Pending),
        (
            "one1pay/withdrawal_status/completed.json",
            OrderStatus::Completed,
        ),
        ("one1pay/withdrawal_status/fail.json", OrderStatus::Failed),
        (
            "one1pay/withdrawal_status/proccess.json",
            OrderStatus::Processing,
        ),
        (
            "one1pay/withdrawal_status/rejected.json",
            OrderStatus::Rejected,
        ),
    ];
    for (path, status) in cases {
        let kind = if path.contains("withdrawal") {
            OrderKind::Withdrawal
        } else {
            OrderKind::Deposit
        };
        let report: StatusReport = answer::<StatusAnswer>(Operation::DepositStatus, path)
            .unwrap()
            .map(|answer| {
                StatusReport::try_from(StatusOf {
                    dialect: &family(),
                    kind,
                    order_id: OrderId::new("Example_123").unwrap(),
                    answer,
                })
            })
            .unwrap();
        assert_eq!(report.status, status, "{path}");
        assert_eq!(report.kind, kind, "{path}");
        assert!(report.amount.is_some(), "{path}: the amount is stated");
    }
}

#[test]
fn an_undocumented_status_word_is_surfaced_not_guessed() {
    let reply = HttpReply::new(
        200,
        br#"{"status":true,"order_status":"refunded","amount":"1","currency":"MYR"}"#.to_vec(),
    );
    let err = read_answer::<StatusAnswer>(
        Provider::new("vpay88"),
        Operation::DepositStatus,
        reply,
        &REFUSALS,
    )
    .unwrap()
    .map(|answer| {
        StatusReport::try_from(StatusOf {
            dialect: &family(),
            kind: OrderKind::Deposit,
            order_id: OrderId::new("A1").unwrap(),
            answer,
        })
    })
    .unwrap_err();
    assert!(err.to_string().contains("refunded"), "{err}");
}

#[test]
fn balance_reads_exactly_in_the_currency_asked() {
    let balance: Balance = answer::<BalanceAnswer>(Operation::Balance, "one1pay/balance/ok.json")
        .unwrap()
        .map(|answer| {
            Balance::try_from(BalanceOf {
                currency: Currency::new("THB").unwrap(),
                answer,
            })
        })
        .unwrap();
    assert_eq!(
        balance.available,
        Money::new(dec("0.00"), Currency::new("THB").unwrap())
    );
}

#[test]
fn every_callback_fixture_reads_its_status_kind_and_amount() {
    let cases = [
        (
            "vpay88/callback/deposit_completed.json",
            OrderKind::Deposit,
            OrderStatus::Completed,
        ),
        (
            "vpay88/callback/deposit_fail.json",
            OrderKind::Deposit,
            OrderStatus::Failed,
        ),
        (
            "vpay88/callback/withdrawal_completed.json",
            OrderKind::Withdrawal,
            OrderStatus::Completed,
        ),
        (
            "vpay88/callback/withdrawal_fail.json",
            OrderKind::Withdrawal,
            OrderStatus::Failed,
        ),
        (
            "one1pay/callback/deposit_completed.json",
            OrderKind::Deposit,
            OrderStatus::Completed,
        ),
        (
            "one1pay/callback/deposit_fail.json",
            OrderKind::Deposit,
            OrderStatus::Failed,
        ),
        (
            "one1pay/callback/withdrawal_completed.json",
            OrderKind::Withdrawal,
            OrderStatus::Completed,
        ),
        (
            "one1pay/callback/withdrawal_fail.json",
            OrderKind::Withdrawal,
            OrderStatus::Failed,
        ),
        (
            "one1pay/callback/withdrawal_rejected.json",
            OrderKind::Withdrawal,
            OrderStatus::Rejected,
        ),
    ];
    for (path, kind, status) in cases {
        let body = fixture(path);
        let mut rewritten = None;
        let callback = unverified_callback(&body, None, &mut rewritten).unwrap();
        assert!(!callback.token.is_empty(), "{path}: the token is read");
        let event = callback_event(&family(), callback, &body, 0).unwrap();
        assert_eq!((event.kind, event.status), (kind, status), "{path}");
        assert!(event.amount.amount() > Decimal::ZERO, "{path}");
    }
}

#[test]
fn a_callback_without_a_token_is_refused_naming_it() {
    let err =
        unverified_callback(br#"{"order_id":"A1","amount":"1"}"#, None, &mut None).unwrap_err();
    assert!(err.to_string().contains("`token`"), "{err}");
}

#[test]
fn a_refusal_the_documents_do_not_write_is_undocumented_and_may_have_been_delivered() {
    let cases: [(u16, &str, Operation); 6] = [
        (200, "Bank Maintenance.", Operation::CreateWithdrawal),
        (200, "Order ID exist!", Operation::CreateWithdrawal),
        (200, "Order id exist!", Operation::CreateDeposit),
        (200, "Too many requests", Operation::WithdrawalStatus),
        (200, "Order not found.", Operation::WithdrawalStatus),
        (409, "Order id exist!", Operation::CreateWithdrawal),
    ];
    for (status, message, operation) in cases {
        let reply = HttpReply::new(
            status,
            serde_json::json!({"status": false, "message": message})
                .to_string()
                .into_bytes(),
        );
        let err = read_answer::<WithdrawalCreatedAnswer>(
            Provider::new("vpay88"),
            operation,
            reply,
            &REFUSALS,
        )
        .unwrap_err();
        match &err {
            Error::Provider {
                kind,
                message: kept,
                documented,
                ..
            } => {
                assert_eq!(
                    (*kind, *documented),
                    (RefusalKind::Other, false),
                    "{status} {message}"
                );
                assert_eq!(kept, message);
            }
            other => panic!("{status} {message}: expected a refusal, got {other}"),
        }
        assert!(err.may_have_been_delivered(), "{status} {message}");
        assert!(!err.is_unknown_order(), "{status} {message}");
    }
}

#[test]
fn a_documented_message_in_a_body_no_document_shows_is_undocumented() {
    let bodies = [
        r#"{"status":"0","message":"Balance not enough!"}"#,
        r#"{"status":0,"message":"Balance not enough!"}"#,
        r#"{"status":"false","message":"Balance not enough!"}"#,
        r#"{"status":" false ","message":"Balance not enough!"}"#,
        r#"{"status":false,"message":"Balance not enough!","withdraw_order_id":"W77"}"#,
        r#"{"status":false,"message":"Balance not enough!","order_status":"completed"}"#,
        r#"{"status":false,"message":"Balance not enough!","data":{"status":true}}"#,
    ];
    for body in bodies {
        let err =
            answered::<WithdrawalCreatedAnswer>(Operation::CreateWithdrawal, body).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Provider {
                    documented: false,
                    kind: RefusalKind::Other,
                    ..
                }
            ),
            "{body}: {err}"
        );
        assert!(err.may_have_been_delivered(), "{body}");
    }
    // The documents' own shape, trailing comma and all, is documented.
    let err = answered::<WithdrawalCreatedAnswer>(
        Operation::CreateWithdrawal,
        "{\"status\": false, \"message\": \"Balance not enough!\",\n}",
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider {
                documented: true,
                kind: RefusalKind::InsufficientBalance,
                ..
            }
        ),
        "{err}"
    );
}

/// An answer body of `operation` over HTTP 200.
fn answered<A: DeserializeOwned>(operation: Operation, body: &str) -> Result<Answered<A>> {
    let reply = HttpReply::new(200, body.as_bytes().to_vec());
    read_answer(Provider::new("vpay88"), operation, reply, &REFUSALS)
}

#[test]
fn what_live_servers_answer_beyond_the_documents_reads() {
    // Auth with an `order_id` beside the token, a number or a string: both read.
    for body in [
        r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv","order_id":"8812"}"#,
        r#"{"status":true,"auth":"t5IF5r2fXit1FnhjBVQv","order_id":8812}"#,
    ] {
        let auth: AuthToken = answered::<AuthAnswer>(Operation::CreateDeposit, body)
            .unwrap()
            .map_into()
            .unwrap();
        assert_eq!(auth.token.expose_secret(), "t5IF5r2fXit1FnhjBVQv");
        assert_eq!(auth.order_id.as_deref(), Some("8812"), "{body}");
    }
    // A payout answer with `withdraw_order_id` and no message: its reference is kept.
    let created: CreatedWithdrawal = answered::<WithdrawalCreatedAnswer>(
        Operation::CreateWithdrawal,
        r#"{"status":true,"withdraw_order_id":246}"#,
    )
    .unwrap()
    .map_into()
    .unwrap();
    assert_eq!(created.provider_ref.as_deref(), Some("246"));
}

/// A dialect with none of its own rows: the family's words and fields alone.
fn family() -> DialectSpec {
    DialectSpec::from_toml(Provider::new("vpay88"), "currencies = [\"MYR\"]", "test").unwrap()
}

/// A dialect that sends every field this API's forms can carry.
fn sends_every_field() -> DialectSpec {
    let text = r#"
currencies = ["MYR"]
[deposit.fields]
mode = { use = "sent", why = "" }
redirect_url = { use = "sent", why = "" }
callback_url = { use = "sent", why = "" }
payment_method = { use = "sent", why = "" }
bank_id = { use = "sent", why = "" }
customer_bank_holder_name = { use = "sent", why = "" }
customer_bank_account = { use = "sent", why = "" }
[withdrawal.fields]
callback_url = { use = "sent", why = "" }
"#;
    DialectSpec::from_toml(Provider::new("vpay88"), text, "test").unwrap()
}

/// Every name a form of this API carries is in [`FORM_FIELD_NAMES`], so an
/// extra field can never be sent under one of them.
#[test]
fn every_name_a_form_sends_is_reserved_from_extra_fields() {
    let amount = Money::parse("100", "MYR").unwrap();
    let deposit = DepositRequest::builder("A1", amount.clone())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .mode("DIGI")
        .redirect_url("https://r.example/")
        .callback_url("https://c.example/")
        .payment_method("thaiqr")
        .bank_id("1")
        .customer_bank_holder_name("John")
        .customer_bank_account("123")
        .build()
        .unwrap();
    let payout = WithdrawalRequest::builder("W1", amount, "1", "John", "123")
        .bank_branch("KL")
        .callback_url("https://c.example/")
        .build()
        .unwrap();
    let mut names: Vec<String> = Vec::new();
    let mut add = |pairs: Vec<(String, String)>| names.extend(pairs.into_iter().map(|(n, _)| n));
    let deposit_form = DepositForm::new(&sends_every_field(), &deposit).unwrap();
    add(paybridge_wire::form_pairs(&Authed {
        auth: "t",
        form: &deposit_form,
    })
    .unwrap());
    let payout_form = WithdrawalForm::new(&sends_every_field(), &payout).unwrap();
    add(paybridge_wire::form_pairs(&payout_form).unwrap());
    add(paybridge_wire::form_pairs(&AuthForm {
        username: "m",
        api_key: "k",
    })
    .unwrap());
    add(paybridge_wire::form_pairs(&StatusForm::new(
        &StatusQuery::new(OrderId::new("A1").unwrap()),
        "m",
    ))
    .unwrap());
    assert!(names.len() >= 20, "{names:?}");
    for name in &names {
        assert!(
            FORM_FIELD_NAMES.contains(&name.as_str()),
            "{name} is sent but not reserved"
        );
    }
}

#[test]
fn order_datetime_parses_the_documents_form_and_refuses_anything_else() {
    let t = parse_order_datetime(" 2021-11-18 15:00:00 ").unwrap();
    assert_eq!(t.to_string(), "2021-11-18 15:00:00");
    for refused in [
        "2021-11-18T15:00:00Z",
        "2021-11-18 15:00",
        "2021-11-18 15:00:00:00",
        "2021-02-30 10:00:00",
        "2021-11-18 24:00:00",
        "2021-11-18  15:00:00",
        "2021-11-+8 15:00:00",
        "",
    ] {
        let err = parse_order_datetime(refused).unwrap_err();
        assert!(
            err.contains("is not YYYY-MM-DD HH:MM:SS"),
            "{refused:?}: {err}"
        );
    }
    assert_eq!(format_amount(Decimal::new(1005000, 4)), "100.5");
    assert_eq!(format_amount(Decimal::new(100, 0)), "100");
}

/// PHP, which the providers' documents write their examples in, reads a
/// posted field named `bank.id` as `bank_id` (it turns `.` in incoming names
/// into `_`), the last one given winning. An extra field sent after the form's
/// own under such a name would replace the bank, the payee's account or the
/// callback URL paybridge checked, so it is refused like the name itself.
#[test]
fn an_extra_field_whose_name_php_reads_as_a_reserved_one_is_refused() {
    let amount = Money::parse("100", "MYR").unwrap();
    for name in ["bank.id", "callback.url", "phone.number", "redirect.url"] {
        let deposit = DepositRequest::builder("A1", amount.clone())
            .customer_name("john")
            .extra(name, "9")
            .build()
            .unwrap();
        match DepositForm::new(&sends_every_field(), &deposit) {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "extra");
                assert!(reason.contains(name), "{reason}");
            }
            Ok(form) => panic!(
                "a deposit sending extra field {name:?} was built: {:?}",
                paybridge_wire::form_pairs(&form).unwrap()
            ),
            Err(other) => panic!("{name}: {other:?}"),
        }
    }
    for name in ["account.no", "holder.name", "bank.branch", "bank.id"] {
        let payout = WithdrawalRequest::builder("W1", amount.clone(), "1", "John", "123")
            .extra(name, "999")
            .build()
            .unwrap();
        match WithdrawalForm::new(&sends_every_field(), &payout) {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "extra");
                assert!(reason.contains(name), "{reason}");
            }
            Ok(form) => panic!(
                "a payout sending extra field {name:?} was built: {:?}",
                paybridge_wire::form_pairs(&form).unwrap()
            ),
            Err(other) => panic!("{name}: {other:?}"),
        }
    }
}
