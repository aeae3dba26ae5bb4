//! What paybridge costs per call with no network: signatures, callback
//! verification beside plain JSON parsing of the same bytes, decimal parsing,
//! and request building for each operation.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use paybridge::adapters::{FormApiGateway, One1Pay, OnePunch, Vpay88};
use paybridge::transport::HttpReply;
use paybridge::wire::{form_pairs, parse_decimal_str, read_answer};
use paybridge::{
    CallbackRequest, DepositRequest, Money, Operation, OrderId, OrderKind, PaymentGateway,
    StatusReport, WithdrawalRequest,
};
use paybridge_signing::{
    form_callback_token, onepunch_create_signature, onepunch_listing_signature,
    onepunch_notification_signature, onepunch_status_signature, verify_hex, OnepunchCreateFields,
    OnepunchNotificationFields,
};
use paybridge_vpay88::transformers::{StatusAnswer, StatusOf, REFUSALS};
use paybridge_vpay88::{DepositForm, WithdrawalForm};

const SECRET: &str = "demo-secret-key";
const KEY: &str = "demo-monster-key";

fn vpay88() -> FormApiGateway {
    Vpay88::builder("http://127.0.0.1:9", "demo", "demo-api-key")
        .secret_key(SECRET)
        .build()
        .unwrap()
}

fn onepunch() -> OnePunch {
    OnePunch::builder("MON-demo", KEY)
        .base_url("http://127.0.0.1:9")
        .notify_url("http://merchant.example/notify")
        .return_url("http://merchant.example/return")
        .build()
        .unwrap()
}

/// The Vpay88 document's deposit callback, signed with the bench secret.
fn vpay88_body() -> Vec<u8> {
    format!(
        "{{\n    \"order_id\": \"20073\",\n    \"amount\": 300.0000,\n    \"currency\": \"MYR\",\n    \"order_status\":\"completed\",\n    \"status\": true,\n    \"charge\": \"9.0000\",\n    \"token\":\"{}\",\n    \"name\":\"john doe\",\n    \"type\":\"deposit\"\n}}",
        form_callback_token(SECRET, "20073")
    )
    .into_bytes()
}

fn onepunch_body() -> Vec<u8> {
    let signature = onepunch_notification_signature(
        &OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: "OP9f2dca32af10cd12ab5f6d",
            amount_fen: 100,
            monster_token: "MON-demo",
            order_num: Some("_some_order_num_"),
        },
        KEY,
    );
    format!(
        "{{\"monster_token\":\"MON-demo\",\"transaction_status\":true,\"message\":\"TRANSACTION SUCCEED\",\"amount\":100,\"order_num\":\"_some_order_num_\",\"signature\":\"{signature}\",\"payment_token\":\"OP9f2dca32af10cd12ab5f6d\"}}"
    )
    .into_bytes()
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("signature");
    g.bench_function("form_callback_token", |b| {
        b.iter(|| form_callback_token(black_box(SECRET), black_box("ORDER-12345")))
    });
    g.bench_function("onepunch_listing", |b| {
        b.iter(|| onepunch_listing_signature(black_box(123456789), "MON-demo", KEY))
    });
    let create = OnepunchCreateFields {
        magic_num: 123456789,
        amount_fen: 10000,
        payment_method: "ali-person",
        monster_token: "MON-demo",
        order_num: Some("ORDER-12345"),
        notify_url: "http://merchant.example/notify",
        return_url: "http://merchant.example/return",
    };
    g.bench_function("onepunch_create", |b| {
        b.iter(|| onepunch_create_signature(black_box(&create), KEY))
    });
    g.bench_function("onepunch_status", |b| {
        b.iter(|| onepunch_status_signature("OP9f2dca", black_box(123456789), "MON-demo", KEY))
    });
    let token = form_callback_token(SECRET, "ORDER-12345");
    g.bench_function("verify_hex", |b| {
        b.iter(|| verify_hex(black_box(&token), black_box(&token)))
    });
    g.finish();
}

fn callbacks(c: &mut Criterion) {
    let mut g = c.benchmark_group("callback");
    let (vpay, punch) = (vpay88(), onepunch());
    let (vpay_body, punch_body) = (vpay88_body(), onepunch_body());
    assert!(vpay
        .verify_callback(&CallbackRequest::new(&vpay_body))
        .is_ok());
    assert!(punch
        .verify_callback(&CallbackRequest::new(&punch_body))
        .is_ok());
    g.bench_function("vpay88/serde_json_only", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&vpay_body)).unwrap())
    });
    g.bench_function("vpay88/verify", |b| {
        b.iter(|| {
            vpay.verify_callback(&CallbackRequest::new(black_box(&vpay_body)))
                .unwrap()
        })
    });
    g.bench_function("onepunch/serde_json_only", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&punch_body)).unwrap())
    });
    g.bench_function("onepunch/verify", |b| {
        b.iter(|| {
            punch
                .verify_callback(&CallbackRequest::new(black_box(&punch_body)))
                .unwrap()
        })
    });
    g.finish();
}

fn decimals(c: &mut Criterion) {
    let mut g = c.benchmark_group("decimal");
    for text in ["300.0000", "1", "9.0000", "0.00", "123456789.1234"] {
        g.bench_function(text, |b| {
            b.iter(|| parse_decimal_str(black_box(text)).unwrap())
        });
    }
    g.finish();
}

fn requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("request");
    let _vpay = vpay88();
    let _one1 = One1Pay::builder("http://127.0.0.1:9", "demo", "demo-api-key")
        .build()
        .unwrap();
    let punch = onepunch();
    let myr = DepositRequest::builder("ORDER-1", Money::parse("100.50", "MYR").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .build()
        .unwrap();
    let thb = DepositRequest::builder("ORDER-1", Money::parse("100.50", "THB").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .bank_id("101")
        .payment_method("thaiqr")
        .redirect_url("http://merchant.example/r")
        .customer_bank_holder_name("J")
        .customer_bank_account("1")
        .build()
        .unwrap();
    let cny = DepositRequest::builder("ORDER-1", Money::parse("100", "CNY").unwrap())
        .payment_method("ali-person")
        .build()
        .unwrap();
    let payout = WithdrawalRequest::builder(
        "W-1",
        Money::parse("250", "MYR").unwrap(),
        "101",
        "John Doe",
        "123",
    )
    .build()
    .unwrap();
    // Each form as sent: the typed request, then its fields in order.
    g.bench_function("vpay88/deposit_form", |b| {
        b.iter(|| form_pairs(&DepositForm::new(&Vpay88::dialect(), black_box(&myr)).unwrap()))
    });
    g.bench_function("one1pay/deposit_form", |b| {
        b.iter(|| form_pairs(&DepositForm::new(&One1Pay::dialect(), black_box(&thb)).unwrap()))
    });
    g.bench_function("vpay88/withdrawal_form", |b| {
        b.iter(|| form_pairs(&WithdrawalForm::new(&Vpay88::dialect(), black_box(&payout)).unwrap()))
    });
    g.bench_function("onepunch/create_body", |b| {
        b.iter(|| punch.create_body(black_box(&cny)).unwrap())
    });
    let status_body = br#"{"status":true,"order_status":"completed","order_datetime":"2021-11-18 15:00:00","amount":300.0000,"currency":"MYR"}"#;
    let dialect = Vpay88::dialect();
    g.bench_function("vpay88/status_decode", |b| {
        b.iter(|| {
            let reply = HttpReply::new(200, black_box(status_body).to_vec());
            read_answer::<StatusAnswer>(
                paybridge::providers::VPAY88,
                Operation::DepositStatus,
                reply,
                &REFUSALS,
            )
            .unwrap()
            .map(|answer| {
                StatusReport::try_from(StatusOf {
                    dialect: &dialect,
                    kind: OrderKind::Deposit,
                    order_id: OrderId::new("ORDER-1").unwrap(),
                    answer,
                })
            })
            .unwrap()
        })
    });
    g.bench_function("vpay88/status_serde_json_only", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(status_body)).unwrap())
    });
    g.bench_function("builder/deposit", |b| {
        b.iter(|| {
            DepositRequest::builder("ORDER-1", Money::parse(black_box("100.50"), "MYR").unwrap())
                .customer_name("john")
                .email("john@example.com")
                .phone("601012456789")
                .build()
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, signatures, callbacks, decimals, requests);
criterion_main!(benches);
