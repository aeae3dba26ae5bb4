//! Each adapter's table of request fields: complete, the same table its own
//! form building follows, and what docs/integration.md shows. Run with
//! `PAYBRIDGE_BLESS=1` to rewrite the document's table after changing the code.

use std::collections::BTreeSet;

use paybridge::fields::field_use;
use paybridge::{
    Config, Currency, DepositRequest, FieldRule, FieldUse, Gateway, Money, OrderKind, Provider,
    RequestField, WithdrawalRequest,
};
use paybridge_formapi::transformers::{DepositForm, WithdrawalForm};
use paybridge_formapi::DialectSpec;
use paybridge_one1pay::One1Pay;
use paybridge_onepunch::OnePunch;
use paybridge_vpay88::Vpay88;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/integration.md");

/// Gateways for the three providers; nothing is ever sent (port 9 answers nothing).
fn gateways() -> Vec<(Provider, Gateway)> {
    let text = "[vpay88]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\n\
                [one1pay]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\n\
                [onepunch]\nbase_url = \"http://127.0.0.1:9\"\nmonster_token = \"MON-x\"\nmonster_key = \"k\"\n";
    let config = Config::from_toml(text, "test.toml").unwrap();
    paybridge::providers::BUILT_IN
        .into_iter()
        .map(|p| (p, Gateway::for_provider(&config, p).unwrap()))
        .collect()
}

/// The currencies each provider takes.
fn currencies(provider: Provider) -> Vec<Currency> {
    match provider {
        paybridge::providers::VPAY88 => Vpay88::dialect().currencies().to_vec(),
        paybridge::providers::ONE1PAY => One1Pay::dialect().currencies().to_vec(),
        _ => vec![Currency::new(paybridge_onepunch::transformers::CURRENCY).unwrap()],
    }
}

fn kinds(provider: Provider) -> &'static [OrderKind] {
    match provider {
        paybridge::providers::ONEPUNCH => &[OrderKind::Deposit],
        _ => &[OrderKind::Deposit, OrderKind::Withdrawal],
    }
}

#[test]
fn every_table_names_every_field_of_its_kind_once_and_in_request_order() {
    for (provider, gateway) in gateways() {
        for &kind in kinds(provider) {
            for currency in currencies(provider) {
                let rules = gateway.request_fields(kind, &currency);
                let named: Vec<RequestField> = rules.iter().map(|r| r.field).collect();
                assert_eq!(
                    named,
                    RequestField::of(kind),
                    "{provider} {currency} {kind}s: every field once, in request order"
                );
                for rule in &rules {
                    // Extra fields go under the names the merchant gives them.
                    let has_one_wire_name = rule.field != RequestField::Extra;
                    assert_eq!(
                        rule.sent_as.is_some(),
                        rule.usage.sends() && has_one_wire_name,
                        "{provider} {currency} {kind} {}: a sent field names its wire name, no other does",
                        rule.field
                    );
                    assert!(
                        !rule.reason.is_empty(),
                        "{provider} {}: a reason",
                        rule.field
                    );
                }
            }
        }
    }
    let onepunch = &gateways()[2].1;
    let myr = Currency::new("MYR").unwrap();
    assert!(onepunch.request_fields(OrderKind::Deposit, &myr).is_empty());
    let cny = Currency::new("CNY").unwrap();
    assert!(onepunch
        .request_fields(OrderKind::Withdrawal, &cny)
        .is_empty());
}

/// A value for `field` that the request builders accept.
fn value(field: RequestField) -> &'static str {
    match field {
        RequestField::Email => "john@example.com",
        RequestField::RedirectUrl | RequestField::CallbackUrl => "https://shop.example/u",
        RequestField::Mode => "DIGI",
        RequestField::PaymentMethod => "thaiqr",
        _ => "x1",
    }
}

/// A deposit carrying every field the table does not refuse.
fn deposit_with_all_but_refused(rules: &[FieldRule], currency: &Currency) -> DepositRequest {
    let mut request = DepositRequest::builder(
        "A1",
        Money::new(paybridge::Decimal::ONE_HUNDRED, currency.clone()),
    )
    .build()
    .unwrap();
    for rule in rules.iter().filter(|r| r.usage != FieldUse::Refused) {
        let text = Some(value(rule.field).to_owned());
        match rule.field {
            RequestField::CustomerName => request.customer_name = text,
            RequestField::Email => request.email = text,
            RequestField::Phone => request.phone = text,
            RequestField::BankId => request.bank_id = text,
            RequestField::PaymentMethod => request.payment_method = text,
            RequestField::Mode => request.mode = text,
            RequestField::RedirectUrl => request.redirect_url = text,
            RequestField::CallbackUrl => request.callback_url = text,
            RequestField::CustomerBankHolderName => request.customer_bank_holder_name = text,
            RequestField::CustomerBankAccount => request.customer_bank_account = text,
            RequestField::IpAddr => request.ip_addr = text,
            RequestField::MacAddr => request.mac_addr = text,
            _ => {}
        }
    }
    request
}

fn wire_names(rules: &[FieldRule]) -> BTreeSet<&'static str> {
    rules.iter().filter_map(|r| r.sent_as).collect()
}

#[test]
fn the_form_api_sends_exactly_what_its_table_sends() {
    fn check(dialect: &DialectSpec, gateway: &Gateway) {
        let provider = dialect.provider();
        for currency in currencies(provider) {
            let rules = gateway.request_fields(OrderKind::Deposit, &currency);
            let request = deposit_with_all_but_refused(&rules, &currency);
            let form = DepositForm::new(dialect, &request)
                .unwrap_or_else(|e| panic!("{provider} {currency}: {e}"));
            let pairs = paybridge::wire::form_pairs(&form).unwrap();
            let mut sent: BTreeSet<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            assert!(sent.remove("currency"), "the currency goes with the amount");
            assert_eq!(sent, wire_names(&rules), "{provider} {currency}");

            let rules = gateway.request_fields(OrderKind::Withdrawal, &currency);
            let mut payout = WithdrawalRequest::builder(
                "W1",
                Money::new(paybridge::Decimal::ONE_HUNDRED, currency.clone()),
                "1",
                "John",
                "123",
            )
            .bank_branch("KL");
            if field_use(&rules, RequestField::CallbackUrl) != FieldUse::Refused {
                payout = payout.callback_url("https://shop.example/cb");
            }
            let form = WithdrawalForm::new(dialect, &payout.build().unwrap()).unwrap();
            let pairs = paybridge::wire::form_pairs(&form).unwrap();
            let mut sent: BTreeSet<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            assert!(sent.remove("currency"));
            assert_eq!(
                sent,
                wire_names(&rules),
                "{provider} {currency} withdrawals"
            );
        }
    }
    let gateways = gateways();
    check(&Vpay88::dialect(), &gateways[0].1);
    check(&One1Pay::dialect(), &gateways[1].1);
}

#[test]
fn onepunch_sends_exactly_what_its_table_sends() {
    let cny = Currency::new("CNY").unwrap();
    let rules = paybridge_onepunch::transformers::deposit_rules();
    let mut request = deposit_with_all_but_refused(&rules, &cny);
    request.payment_method = Some("ali-person".into());
    let gateway = OnePunch::builder("MON-x", "k").build().unwrap();
    let body = serde_json::to_value(gateway.create_body(&request).unwrap()).unwrap();
    let mut sent: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for own in ["monster_token", "magic_num", "signature"] {
        assert!(sent.remove(own), "{own} is ONE-PUNCH's own");
    }
    assert_eq!(sent, wire_names(&rules));
}

// ------------------------------------------------------------- the document

/// `use` (and wire name) of one rule, as the document's cells write it.
fn cell(rule: &FieldRule) -> String {
    match rule.sent_as {
        Some(name) => format!("{} as `{name}`", rule.usage),
        None => rule.usage.to_string(),
    }
}

/// One provider's rows for `kind`: a field whose rule is the same in every
/// currency is one row; one that differs is a row per group of currencies.
fn provider_rows(provider: Provider, gateway: &Gateway, kind: OrderKind) -> String {
    let currencies = currencies(provider);
    let tables: Vec<(Currency, Vec<FieldRule>)> = currencies
        .iter()
        .map(|c| (c.clone(), gateway.request_fields(kind, c)))
        .collect();
    let mut out = String::new();
    for &field in RequestField::of(kind) {
        let mut groups: Vec<(FieldRule, Vec<&str>)> = Vec::new();
        for (currency, rules) in &tables {
            let Some(rule) = rules.iter().find(|r| r.field == field) else {
                continue;
            };
            match groups.iter_mut().find(|(r, _)| r == rule) {
                Some((_, list)) => list.push(currency.as_str()),
                None => groups.push((rule.clone(), vec![currency.as_str()])),
            }
        }
        for (rule, list) in &groups {
            let which = if groups.len() == 1 {
                String::new()
            } else {
                format!(" ({})", list.join(", "))
            };
            out.push_str(&format!(
                "| {provider} | `{field}`{which} | {} | {} |\n",
                cell(rule),
                rule.reason
            ));
        }
    }
    out
}

fn generated() -> String {
    let gateways = gateways();
    let mut out = String::new();
    for kind in [OrderKind::Deposit, OrderKind::Withdrawal] {
        out.push_str(&format!(
            "\n{}s:\n\n| provider | field | use | why |\n|---|---|---|---|\n",
            if kind == OrderKind::Deposit {
                "Deposit"
            } else {
                "Withdrawal"
            }
        ));
        for (provider, gateway) in &gateways {
            if kinds(*provider).contains(&kind) {
                out.push_str(&provider_rows(*provider, gateway, kind));
            } else {
                out.push_str(&format!(
                    "| {provider} | (none) | unsupported | {provider} has no {kind}s |\n"
                ));
            }
        }
    }
    out.push('\n');
    out
}

#[test]
fn the_documented_field_table_is_the_code_s() {
    paybridge_testkit::generated_section_is(
        DOC,
        "request-fields",
        "cargo test -p paybridge --test request_fields",
        &generated(),
    );
}
