//! A full exchange with every provider, logged at TRACE: no configured secret
//! and no auth token may appear anywhere in what was logged, nor in `Debug`
//! output of configurations, gateways and errors. Then every configuration
//! type, builder, request and error that can carry configured text, with
//! every secret set to a distinctive value, formatted with `{:?}` and `{}`.

use paybridge::{Config, DepositRequest, Money, WithdrawalRequest};
use paybridge_cli::harness::{pay, Harness};
use paybridge_sandbox::{SandboxConfig, DEMO_API_KEY, DEMO_MONSTER_KEY, DEMO_SECRET_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_reaches_the_logs_even_at_trace() {
    let captured = paybridge_testkit::logs::capture(tracing::Level::TRACE, false);

    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    for provider in [paybridge::providers::VPAY88, paybridge::providers::ONE1PAY] {
        let gateway = h.gateway(provider).unwrap().clone();
        let currency = if provider == paybridge::providers::VPAY88 {
            "MYR"
        } else {
            "THB"
        };
        let mut request = DepositRequest::builder(
            format!("LOG-{provider}"),
            Money::parse("100", currency).unwrap(),
        )
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789");
        if provider == paybridge::providers::ONE1PAY {
            request = request
                .bank_id("101")
                .payment_method("thaiqr")
                .redirect_url("http://127.0.0.1:9/")
                .customer_bank_holder_name("J")
                .customer_bank_account("1");
        }
        let order = gateway
            .create_deposit(&request.build().unwrap())
            .await
            .unwrap();
        pay(&order.payment_url, "completed").await.unwrap();
        h.receiver.next(&format!("LOG-{provider}")).await.unwrap();
        let payout = WithdrawalRequest::builder(
            format!("LOG-W-{provider}"),
            Money::parse("10", currency).unwrap(),
            "101",
            "J",
            "1",
        )
        .build()
        .unwrap();
        gateway.create_withdrawal(&payout).await.unwrap();
        // A refusal and a failed verification, which log errors.
        let _ = gateway.create_withdrawal(&payout).await;
        let _ = gateway.verify(&paybridge::CallbackRequest::new(
            b"{\"order_id\":\"x\",\"token\":\"y\"}",
        ));
        tracing::info!(gateway = ?gateway, "gateway debug");
    }
    let punch = h.gateway(paybridge::providers::ONEPUNCH).unwrap().clone();
    let order = punch
        .create_deposit(
            &DepositRequest::builder("LOG-P", Money::parse("10", "CNY").unwrap())
                .payment_method("ali-person")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    h.receiver
        .remember_payment_token("LOG-P", order.provider_ref.as_deref().unwrap());
    pay(&order.payment_url, "completed").await.unwrap();
    h.receiver.next("LOG-P").await.unwrap();
    tracing::info!(gateway = ?punch, "gateway debug");
    let config = Config::from_toml(
        &format!("[vpay88]\nbase_url = \"http://x.example\"\nusername = \"u\"\napi_key = \"{DEMO_API_KEY}\"\nsecret_keys = [\"{DEMO_SECRET_KEY}\"]\n[onepunch]\nmonster_token = \"MON-demo\"\nmonster_key = \"{DEMO_MONSTER_KEY}\"\n"),
        "inline",
    )
    .unwrap();
    tracing::info!(config = ?config, "config debug");

    // Gateways built and ledgers opened from a configuration whose every
    // secret is set: SQLite, and PostgreSQL (opened twice, as a restart
    // does) when it is here. Its password is ignored by the test cluster's
    // trust authentication, but it is in the URL all the same.
    let sqlite = paybridge_testkit::temp_dir("paybridge-secrets").join("ledger.db");
    let server = paybridge_testkit::postgres::TestPostgres::start("secrets at TRACE");
    let mut ledger_urls = vec![format!("sqlite://{}", sqlite.display())];
    if let Some(server) = &server {
        ledger_urls.push(
            server
                .url()
                .replace("paybridge@", "paybridge:SECRET-pg-7f3@"),
        );
    }
    for url in &ledger_urls {
        let config = Config::from_toml(&secret_laden_toml(url), "secrets.toml").unwrap();
        for provider in [
            paybridge::providers::VPAY88,
            paybridge::providers::ONE1PAY,
            paybridge::providers::ONEPUNCH,
        ] {
            let gateway = paybridge::Gateway::for_provider(&config, provider).unwrap();
            tracing::debug!(gateway = ?gateway, "built");
        }
        for _ in 0..2 {
            let ledger = config.open_ledger().await.unwrap().unwrap();
            tracing::debug!(ledger = ?ledger, config = ?config, "ledger opened");
        }
    }

    let logged = captured.text();
    assert_hidden("the TRACE logs", &logged);
    assert!(
        logged.contains("ledger opened") && logged.contains("[REDACTED]@"),
        "the ledger's opening was logged, its URL redacted"
    );
    assert!(
        !logged.contains("already exists"),
        "reopening a ledger creates nothing and logs no notice"
    );
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "the capture saw verbose logs"
    );
    assert!(logged.contains("gateway debug") && logged.contains("[REDACTED]"));
    let tokens = h.sandbox.issued_auth_tokens();
    assert!(
        tokens.len() >= 4,
        "auth tokens were issued: {}",
        tokens.len()
    );
    let mut secrets: Vec<String> = vec![
        DEMO_API_KEY.into(),
        DEMO_SECRET_KEY.into(),
        DEMO_MONSTER_KEY.into(),
    ];
    secrets.extend(tokens);
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "{secret:?} appeared in the logs"
        );
    }
    println!(
        "scanned {} bytes of TRACE logs for {} secrets: none found",
        logged.len(),
        secrets.len()
    );
}

/// Every secret the configuration below holds: keys, and the passwords and
/// tokens in its URLs.
const SECRETS: [&str; 9] = [
    "SECRET-api-7f3",
    "SECRET-cb-7f3",
    "SECRET-cbs-7f3",
    "SECRET-monster-7f3",
    "SECRET-pg-7f3",
    "SECRET-base-7f3",
    "SECRET-notify-7f3",
    "SECRET-acct-7f3",
    "SECRET-query-7f3",
];

/// A configuration with every section and every secret set.
fn secret_laden_toml(ledger_url: &str) -> String {
    format!(
        r#"
provider = "vpay88"
[vpay88]
base_url = "http://127.0.0.1:9/vpay88"
username = "merchant"
api_key = "SECRET-api-7f3"
secret_key = "SECRET-cb-7f3"
secret_keys = ["SECRET-cbs-7f3"]
auth_policy = "cached"
[vpay88.pay_methods]
MYR = ["online"]
[one1pay]
base_url = "http://127.0.0.1:9/one1pay"
username = "merchant"
api_key = "SECRET-api-7f3"
secret_key = "SECRET-cb-7f3"
[onepunch]
base_url = "http://127.0.0.1:9/onepunch"
monster_token = "MON-x"
monster_key = "SECRET-monster-7f3"
notify_url = "https://hook:SECRET-notify-7f3@merchant.example/notify?token=SECRET-query-7f3"
return_url = "https://merchant.example/back?sig=SECRET-query-7f3"
[accounts.main]
provider = "one1pay"
base_url = "http://127.0.0.1:9/one1pay"
username = "main"
api_key = "SECRET-acct-7f3"
secret_key = "SECRET-cb-7f3"
[accounts.punch]
provider = "onepunch"
monster_token = "MON-y"
monster_key = "SECRET-monster-7f3"
notify_url = "https://SECRET-notify-7f3@merchant.example/notify"
[http]
connect_timeout_ms = 500
[callback]
answer = "success"
[ledger]
url = "{ledger_url}"
"#
    )
}

/// Fails naming the secret and where it showed.
fn assert_hidden(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} shown by {what}: {text}");
    }
}

/// `{:?}` of a value, checked.
fn debug_hides(what: &str, value: &dyn std::fmt::Debug) {
    assert_hidden(what, &format!("{value:?}"));
    assert_hidden(what, &format!("{value:#?}"));
}

/// `{}` and `{:?}` of an error, its sources included, checked.
fn error_hides(what: &str, error: &paybridge::Error) {
    debug_hides(what, error);
    let mut shown = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        shown.push_str(&format!(" / {cause} / {cause:?}"));
        source = cause.source();
    }
    assert_hidden(what, &shown);
}

#[test]
fn every_configuration_type_builder_request_and_error_hides_its_secrets() {
    let text = secret_laden_toml("postgres://app:SECRET-pg-7f3@db.internal:5432/orders");
    let config = Config::from_toml(&text, "secrets.toml").unwrap();
    // Every secret is really in there: a check that could not fail proves nothing.
    // (The base URL's secret is given to builders below: a configured base
    // URL with credentials cannot build a gateway.)
    for secret in SECRETS.iter().filter(|s| !s.contains("base")) {
        assert!(text.contains(secret), "{secret} is configured");
    }
    assert_eq!(
        config.ledger.url.as_deref(),
        Some("postgres://app:SECRET-pg-7f3@db.internal:5432/orders")
    );
    debug_hides("Config", &config);
    let shown = format!("{config:?}");
    assert!(
        shown.contains("postgres://app:[REDACTED]@db.internal:5432/orders"),
        "the ledger URL is shown with its password hidden: {shown}"
    );
    debug_hides("FormApiSection", config.form_api_section("vpay88").unwrap());
    debug_hides(
        "FormApiSection",
        config.form_api_section("one1pay").unwrap(),
    );
    let onepunch = config.section_as::<paybridge::OnePunchSection>("onepunch");
    debug_hides("OnePunchSection", onepunch.unwrap());
    debug_hides("LedgerSection", &config.ledger);
    debug_hides("HttpSection", &config.http);
    debug_hides("CallbackSection", &config.callback);
    for (name, account) in &config.accounts {
        debug_hides(name, account);
    }

    // Gateways and builders.
    for provider in [
        paybridge::providers::VPAY88,
        paybridge::providers::ONE1PAY,
        paybridge::providers::ONEPUNCH,
    ] {
        let gateway = paybridge::Gateway::for_provider(&config, provider).unwrap();
        debug_hides("Gateway", &gateway);
    }
    for gateway in paybridge::Gateway::for_every_account(&config).unwrap() {
        debug_hides("account Gateway", &gateway);
    }
    let builder = paybridge::adapters::Vpay88::builder(
        "https://u:SECRET-base-7f3@pay.example",
        "merchant",
        "SECRET-api-7f3",
    );
    debug_hides("Vpay88 builder", &builder);
    let punch = paybridge::adapters::OnePunch::builder("MON-x", "SECRET-monster-7f3")
        .base_url("https://u:SECRET-base-7f3@api.example")
        .notify_url("https://u:SECRET-notify-7f3@merchant.example/n");
    debug_hides("OnePunch builder", &punch);

    // A base URL with credentials is refused, the error hiding them.
    for (what, err) in [
        ("Vpay88 build", builder.build().unwrap_err()),
        ("OnePunch build", punch.build().unwrap_err()),
    ] {
        error_hides(what, &err);
        match &err {
            paybridge::Error::Config { key, reason } => {
                assert!(key.ends_with("base_url"), "{key}");
                assert!(reason.contains("credentials"), "{reason}");
                assert!(reason.contains("[REDACTED]"), "{reason}");
            }
            other => panic!("{what}: a configuration error, not {other}"),
        }
    }
    for base_url in [
        "ftp://u:SECRET-base-7f3@pay.example",
        "http://u:SECRET-base-7f3@",
        "https://pay.example/x?api_key=SECRET-base-7f3",
        "https://u:SECRET-base-7f3@pay.example/merchant",
    ] {
        let err = paybridge::adapters::Vpay88::builder(base_url, "m", "k")
            .build()
            .unwrap_err();
        error_hides(base_url, &err);
        assert!(matches!(err, paybridge::Error::Config { .. }), "{err}");
        let toml = format!(
            "[vpay88]\nbase_url = \"{base_url}\"\nusername = \"m\"\napi_key = \"SECRET-api-7f3\"\n"
        );
        let config = Config::from_toml(&toml, "x.toml").unwrap();
        let err =
            paybridge::Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap_err();
        error_hides(base_url, &err);
    }

    // Requests carrying URLs with credentials, and their refusals.
    let deposit = DepositRequest::builder("D1", Money::parse("10", "MYR").unwrap())
        .callback_url("https://u:SECRET-notify-7f3@merchant.example/cb")
        .redirect_url("https://merchant.example/back?token=SECRET-query-7f3");
    debug_hides("DepositRequestBuilder", &deposit);
    debug_hides("DepositRequest", &deposit.build().unwrap());
    let payout =
        WithdrawalRequest::builder("W1", Money::parse("10", "MYR").unwrap(), "1", "J", "2")
            .callback_url("https://u:SECRET-notify-7f3@merchant.example/cb");
    debug_hides("WithdrawalRequestBuilder", &payout);
    debug_hides("WithdrawalRequest", &payout.build().unwrap());
    let refused = DepositRequest::builder("D2", Money::parse("10", "MYR").unwrap())
        .callback_url("ftp://u:SECRET-notify-7f3@merchant.example/cb")
        .build()
        .unwrap_err();
    error_hides("callback_url refusal", &refused);
}
