//! A white-label brand of the form API defined in configuration alone: read,
//! named like a built-in provider, refused with errors naming the key, and put
//! through the adapter conformance kit.

use std::sync::Arc;

use paybridge::wire::section::{BuildContext, SectionAt};
use paybridge::{
    Config, Currency, DepositRequest, Error, FieldUse, Gateway, Money, OrderId, OrderKind,
    PaymentGateway, RequestField, StatusQuery,
};
use paybridge_testkit::conformance::{
    payout, Adapter, FORM_API_KEY, FORM_API_MERCHANT, FORM_API_SECRET,
};

/// FPay as a merchant would configure it.
const BRAND: &str = paybridge_testkit::FPAY_BRAND;

fn fpay_config(base_url: &str, username: &str, api_key: &str, secret: &str) -> String {
    format!(
        "provider = \"fpay\"\n{BRAND}\n[fpay]\nbase_url = \"{base_url}\"\nusername = \"{username}\"\n\
         api_key = \"{api_key}\"\nsecret_key = \"{secret}\"\n"
    )
}

fn deposit(currency: &str) -> paybridge::DepositRequestBuilder {
    DepositRequest::builder("KIT-1", Money::parse("100", currency).unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
}

#[tokio::test]
async fn a_brand_defined_only_in_configuration_conforms() {
    let kit = Adapter::form_api("fpay", |base_url, transport| {
        let text = fpay_config(base_url, FORM_API_MERCHANT, FORM_API_KEY, FORM_API_SECRET);
        let config = Config::from_toml(&text, "the brand's test")?;
        let provider = config.provider()?;
        let section = config.section(provider).expect("[fpay] is configured");
        // The registry's own build, with the kit's quick transport for [http].
        let context = BuildContext {
            at: SectionAt {
                key: "fpay",
                env: "PAYBRIDGE_FPAY",
                source: "the brand's test",
            },
            transport,
            other_accounts: &[],
        };
        section.build(&context)
    })
    .deposit(deposit("MYR").extra("bank_code", "MBB").build().unwrap())
    .withdrawal(payout("MYR"));
    // Each refused by a rule the brand's configuration wrote, before any I/O.
    let refused = [
        deposit("THB"),                                     // THB: bank_id required
        deposit("MYR").payment_method("thaiqr"),            // payment_method refused
        deposit("MYR").extra("remark", "vip"),              // extra: bank_code only
        deposit("MYR").mode("DIGI"),                        // mode refused
        deposit("MYR").callback_url("https://cb.example/"), // callback_url refused
    ];
    let kit = refused.into_iter().fold(kit, |kit, request| {
        kit.invalid_deposit(request.build().unwrap())
    });
    kit.status_query(StatusQuery::new(OrderId::new("KIT-1").unwrap()))
        .run()
        .await
        .assert_passed();
}

#[tokio::test]
async fn a_brand_is_named_and_reported_like_a_built_in_provider() {
    let text = fpay_config("http://127.0.0.1:9", "m", "brand-api-key", "brand-secret");
    let config = Config::from_toml(&text, "t.toml").unwrap();
    let fpay = config.provider().unwrap();
    assert_eq!(fpay.as_str(), "fpay");
    assert!(config.is_brand(fpay));
    assert_eq!(config.provider_named("FPay ").unwrap(), fpay);
    assert!(config.providers().contains(&fpay));
    let gateway = Gateway::from_config(&config).unwrap();
    assert_eq!(gateway.provider(), fpay);
    let thb = Currency::new("THB").unwrap();
    let rules = gateway.request_fields(OrderKind::Deposit, &thb);
    let bank = rules
        .iter()
        .find(|r| r.field == RequestField::BankId)
        .unwrap();
    assert_eq!(bank.usage, FieldUse::Required);
    let request = DepositRequest::builder("A1", Money::parse("100", "THB").unwrap())
        .customer_name("john")
        .build()
        .unwrap();
    match gateway.create_deposit(&request).await {
        Err(Error::InvalidRequest { field, reason }) => {
            assert_eq!(field, "bank_id");
            assert!(reason.contains("fpay THB deposits"), "{reason}");
        }
        other => panic!("a THB deposit without a bank: {other:?}"),
    }
    // Secrets are listed and hidden, as for any provider.
    let debug = format!("{config:?}");
    for secret in ["brand-api-key", "brand-secret"] {
        assert!(config.secrets().contains(&secret), "{secret} not listed");
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    // Its section's keys are named under its name, and reached by the environment.
    let missing = format!("{BRAND}\n[fpay]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\n");
    let config = Config::from_toml(&missing, "t.toml").unwrap();
    match Gateway::for_provider(&config, fpay).unwrap_err() {
        Error::Config { key, reason } => {
            assert_eq!(key, "fpay.api_key");
            assert!(reason.contains("PAYBRIDGE_FPAY_API_KEY"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let env = [("PAYBRIDGE_FPAY_API_KEY".to_string(), "from-env".to_string())];
    let config = Config::from_toml_with_env(&missing, "t.toml", env).unwrap();
    assert!(Gateway::for_provider(&config, fpay).is_ok());
}

#[test]
fn a_brand_s_accounts_are_read_and_built_like_a_built_in_provider_s() {
    let text = format!(
        "{BRAND}\n[accounts.shop]\nprovider = \"fpay\"\nbase_url = \"http://127.0.0.1:9\"\n\
         username = \"shop\"\napi_key = \"k\"\nsecret_key = \"shop-secret\"\n\
         [accounts.other]\nprovider = \"fpay\"\nbase_url = \"http://127.0.0.1:9\"\n\
         username = \"other\"\napi_key = \"k2\"\nsecret_key = \"other-secret\"\n"
    );
    let config = Config::from_toml(&text, "t.toml").unwrap();
    assert_eq!(config.accounts["shop"].provider().as_str(), "fpay");
    let shop = Gateway::for_account(&config, "shop").unwrap();
    assert_eq!(shop.provider().as_str(), "fpay");
    let token = paybridge_signing::form_callback_token("other-secret", "A1");
    let body = format!("order_id=A1&amount=100.00&currency=MYR&order_status=paid&status=true&type=deposit&token={token}");
    match shop.verify(&paybridge::CallbackRequest::new(body.as_bytes())) {
        Err(Error::CallbackRejected(paybridge::CallbackRejection::BadSignature {
            explanation: Some(explanation),
        })) => assert!(
            explanation
                .to_string()
                .contains("another configured account (other)"),
            "{explanation}"
        ),
        other => panic!("other's callback must be refused by shop: {other:?}"),
    }
    // The brand's own status word reads.
    let token = paybridge_signing::form_callback_token("shop-secret", "A1");
    let body = format!("order_id=A1&amount=100.00&currency=MYR&order_status=paid&status=true&type=deposit&token={token}");
    let event = shop
        .verify(&paybridge::CallbackRequest::new(body.as_bytes()))
        .unwrap();
    assert_eq!(event.provider.as_str(), "fpay");
    assert_eq!(event.status, paybridge::OrderStatus::Completed);
}

#[test]
fn brand_mistakes_are_configuration_errors_naming_the_key() {
    // `rest`'s tables are the brand's own.
    let brand = |rest: &str| {
        format!(
            "[brands.fpay]\nprotocol = \"form_api\"\ncurrencies = [\"MYR\", \"THB\"]\n{}",
            rest.replace("\n[", "\n[brands.fpay.")
        )
    };
    let cases = [
        (
            "[brands.vpay88]\nprotocol = \"form_api\"\ncurrencies = [\"MYR\"]\n".to_owned(),
            "brands.vpay88",
            "built-in",
        ),
        (
            "[brands.fpay]\ncurrencies = [\"MYR\"]\n".to_owned(),
            "brands.fpay.protocol",
            "form_api",
        ),
        (
            "[brands.fpay]\nprotocol = \"soap\"\ncurrencies = [\"MYR\"]\n".to_owned(),
            "brands.fpay.protocol",
            "form_api",
        ),
        (
            brand("\n[deposit.currencies.THB]\nbank_idd = { use = \"required\", why = \"x\" }\n"),
            "brands.fpay.deposit.currencies.THB.bank_idd",
            "not a deposit field",
        ),
        (
            brand("\n[deposit.currencies.IDR]\nbank_id = { use = \"required\", why = \"x\" }\n"),
            "brands.fpay.deposit.currencies.IDR",
            "currencies",
        ),
        (
            brand("\n[deposit.fields]\nip_addr = { use = \"sent\", why = \"x\" }\n"),
            "brands.fpay.deposit.fields.ip_addr",
            "no field",
        ),
        (
            brand("\n[deposit.fields]\norder_id = { use = \"not_sent\", why = \"x\" }\n"),
            "brands.fpay.deposit.fields.order_id",
            "every order",
        ),
        (
            brand("\n[deposit.fields]\nbank_id = { use = \"sometimes\", why = \"x\" }\n"),
            "brands.fpay.deposit.fields.bank_id.use",
            "",
        ),
        (brand("colour = \"red\"\n"), "brands.fpay.colour", ""),
        (
            brand("\n[statuses.deposit]\npaid = \"done\"\n"),
            "brands.fpay.statuses.deposit.paid",
            "",
        ),
        (
            brand("\n[paths]\ndeposit = \"merchant/make\"\n"),
            "brands.fpay.paths.deposit",
            "start with /",
        ),
        (
            "[fpay]\nbase_url = \"https://p.example\"\n".to_owned(),
            "fpay",
            "unknown section",
        ),
        (
            "[accounts.x]\nprovider = \"fpay\"\n".to_owned(),
            "accounts.x.provider",
            "[brands.NAME]",
        ),
        (
            format!("{}[fpay]\nbase_urll = \"x\"\n", brand("")),
            "fpay.base_urll",
            "",
        ),
    ];
    for (text, key, says) in cases {
        match Config::from_toml(&text, "my.toml") {
            Err(Error::Config { key: named, reason }) => {
                assert_eq!(named, key, "{text}: {reason}");
                assert!(reason.contains("my.toml"), "{text}: {reason}");
                assert!(reason.contains(says), "{text}: {reason}");
            }
            other => panic!("{text}: expected a configuration error, got {other:?}"),
        }
    }
}

#[test]
fn vpay88_and_one1pay_are_dialects_written_as_a_brand_is() {
    // A brand written with Vpay88's file is Vpay88's table, under another name.
    let vpay88 = include_str!("../../vpay88/src/vpay88.toml");
    let text = format!(
        "[brands.vpay88_twin]\nprotocol = \"form_api\"\n{}\n[vpay88_twin]\nbase_url = \"http://127.0.0.1:9\"\n\
         username = \"m\"\napi_key = \"k\"\n[vpay88]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\n",
        vpay88.replace("[deposit", "[brands.vpay88_twin.deposit").replace("[withdrawal", "[brands.vpay88_twin.withdrawal")
    );
    let config = Config::from_toml(&text, "twin.toml").unwrap();
    let twin =
        Gateway::for_provider(&config, config.provider_named("vpay88_twin").unwrap()).unwrap();
    let real = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    for code in ["MYR", "SGD", "VND", "THB", "IDR"] {
        let currency = Currency::new(code).unwrap();
        for kind in [OrderKind::Deposit, OrderKind::Withdrawal] {
            assert_eq!(
                twin.request_fields(kind, &currency),
                real.request_fields(kind, &currency),
                "{code} {kind}"
            );
        }
    }
    let _: Arc<dyn PaymentGateway> = twin.inner().clone();
}

#[test]
fn the_documented_brand_reads() {
    let doc = include_str!("../../../docs/adding-a-provider.md");
    let start = doc.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let config = Config::from_toml(text, "docs/adding-a-provider.md").unwrap();
    let fpay = config.provider().unwrap();
    assert!(config.is_brand(fpay));
    let gateway = Gateway::for_account(&config, "fpay-duitnow").unwrap();
    assert!(gateway
        .capabilities()
        .supports(paybridge::Operation::Balance));
}

#[test]
fn a_brand_path_that_makes_no_url_is_refused_when_the_gateway_is_built_naming_the_path() {
    // http's URIs end at 64 KiB; this path, valid as text, makes none.
    let long = format!("/{}", "p".repeat(70_000));
    let text = format!(
        "{}[fpay]\nbase_url = \"https://p.example\"\nusername = \"u\"\napi_key = \"k\"\nsecret_key = \"s\"\n",
        BRAND.replace("[brands.fpay]", &format!("[brands.fpay.paths]\ndeposit = \"{long}\"\n[brands.fpay]"))
    );
    let config = Config::from_toml(&text, "my.toml").unwrap();
    match Gateway::for_provider(&config, config.provider_named("fpay").unwrap()) {
        Err(Error::Config { key, reason }) => {
            assert_eq!(key, "fpay.paths.deposit", "{reason}");
            assert!(reason.contains("70001 bytes"), "{reason}");
        }
        other => panic!(
            "expected a configuration error, got {:?}",
            other.map(|_| ())
        ),
    }
}
