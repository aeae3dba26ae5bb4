use paybridge_core::ExposeSecret;

use super::*;

const FILE: &str = r#"
provider = "vpay88"
[vpay88]
base_url = "https://pay.example"
username = "merchant"
api_key = "file-api-key"
secret_keys = ["bank-secret", "ewallet-secret"]
[onepunch]
monster_token = "MON-x"
monster_key = "file-monster-key"
"#;

#[test]
fn environment_overrides_the_file() {
    let env = [
        ("PAYBRIDGE_PROVIDER".to_string(), "onepunch".to_string()),
        ("PAYBRIDGE_VPAY88_API_KEY".into(), "env-api-key".into()),
        ("PAYBRIDGE_ONE1PAY_SECRET_KEYS".into(), "a, b".into()),
        ("PAYBRIDGE_HTTP_CONNECT_TIMEOUT_MS".into(), "250".into()),
        ("PAYBRIDGE_LEDGER_URL".into(), "sqlite://orders.db".into()),
        ("UNRELATED".into(), "x".into()),
    ];
    let config = Config::from_toml_with_env(FILE, "test.toml", env).unwrap();
    assert_eq!(config.provider().unwrap(), crate::providers::ONEPUNCH);
    let vpay = config.form_api_section("vpay88").unwrap();
    assert_eq!(
        vpay.api_key.as_ref().unwrap().expose_secret(),
        "env-api-key"
    );
    assert_eq!(vpay.secret_keys.len(), 2);
    assert_eq!(
        config.form_api_section("one1pay").unwrap().secret_keys[1].expose_secret(),
        "b"
    );
    assert_eq!(
        config.transport().connect_timeout,
        Duration::from_millis(250)
    );
    assert_eq!(config.ledger.url.as_deref(), Some("sqlite://orders.db"));
}

#[cfg(feature = "ledger")]
#[test]
fn ledger_options_come_from_the_file_and_the_environment() {
    let text = "[ledger]\nurl = \"sqlite://x.db\"\npool_size = 4\nconnect_timeout_s = 2\nmigrate = false\n";
    let options = Config::from_toml(text, "t.toml").unwrap().ledger.options();
    assert_eq!(
        options,
        paybridge_ledger::LedgerOptions::default()
            .pool_size(4)
            .connect_timeout(Duration::from_secs(2))
            .migrate(false)
    );
    let env = [
        ("PAYBRIDGE_LEDGER_MIGRATE".to_string(), "true".to_string()),
        ("PAYBRIDGE_LEDGER_POOL_SIZE".into(), "9".into()),
    ];
    let options = Config::from_toml_with_env(text, "t.toml", env)
        .unwrap()
        .ledger
        .options();
    assert!(options.migrate);
    assert_eq!(options.pool_size, 9);
    assert_eq!(
        Config::from_toml("", "t.toml").unwrap().ledger.options(),
        paybridge_ledger::LedgerOptions::default()
    );
    let err = Config::from_toml("[ledger]\nmigrate = \"maybe\"", "t.toml").unwrap_err();
    assert!(err.to_string().contains("ledger.migrate"), "{err}");
    let normal = Config::from_toml("[ledger]\nsqlite_synchronous = \"NORMAL\"", "t.toml")
        .unwrap()
        .ledger
        .options();
    assert_eq!(
        normal.sqlite_synchronous,
        paybridge_ledger::SqliteSynchronous::Normal
    );
    let err = Config::from_toml("[ledger]\nsqlite_synchronous = \"off\"", "t.toml").unwrap_err();
    assert!(
        err.to_string().contains("ledger.sqlite_synchronous")
            && err.to_string().contains("full or normal"),
        "{err}"
    );
}

#[tokio::test]
async fn configured_pay_methods_refuse_others_before_sending_and_let_listed_ones_through() {
    // Port 9 on loopback answers nothing: a listed method gets as far as the network.
    let text = r#"
[one1pay]
base_url = "http://127.0.0.1:9"
username = "merchant"
api_key = "k"
secret_key = "s"
[one1pay.pay_methods]
vnd = ["bank", "momo"]
"#;
    let config = Config::from_toml(text, "test.toml").unwrap();
    let gateway = crate::Gateway::for_provider(&config, crate::providers::ONE1PAY).unwrap();
    let deposit = |method: &str| {
        crate::DepositRequest::builder("A1", crate::Money::parse("100", "VND").unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
            .bank_id("1")
            .payment_method(method)
            .redirect_url("https://r.example/")
            .customer_bank_holder_name("J")
            .customer_bank_account("1")
            .build()
            .unwrap()
    };
    match gateway
        .create_deposit(&deposit("zalopay"))
        .await
        .unwrap_err()
    {
        Error::InvalidRequest { field, reason } => {
            assert_eq!(field, "payment_method");
            assert!(reason.contains("bank, momo"), "{reason}");
        }
        other => panic!("expected a refusal before sending, got {other}"),
    }
    let listed = gateway.create_deposit(&deposit("momo")).await.unwrap_err();
    assert!(
        !matches!(listed, Error::InvalidRequest { .. }),
        "a listed method must be sent: {listed}"
    );
    let empty = "[one1pay]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\n[one1pay.pay_methods]\nVND = []\n";
    let config = Config::from_toml(empty, "test.toml").unwrap();
    match crate::Gateway::for_provider(&config, crate::providers::ONE1PAY) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "one1pay.pay_methods.VND"),
        other => panic!(
            "an empty list must be a configuration error, got {:?}",
            other.err()
        ),
    }
}

#[test]
fn a_config_deserialized_under_the_merchants_own_table_reads_as_from_toml_does() {
    #[derive(Deserialize)]
    struct MyApp {
        name: String,
        paybridge: Config,
    }
    let nested = |text: &str| {
        let mut out = String::from("name = \"shop\"\n");
        for line in text.lines() {
            match line.strip_prefix('[') {
                Some(section) => out.push_str(&format!("[paybridge.{section}\n")),
                None if out.contains("[paybridge") => out.push_str(&format!("{line}\n")),
                None => out.push_str(&format!("[paybridge]\n{line}\n")),
            }
        }
        out
    };
    for text in [FILE, ACCOUNTS] {
        let direct = Config::from_toml(text, DESERIALIZED).unwrap();
        let app: MyApp = toml::from_str(&nested(text)).unwrap();
        assert_eq!(app.name, "shop");
        assert_eq!(format!("{:?}", app.paybridge), format!("{direct:?}"));
        assert_eq!(app.paybridge.secrets(), direct.secrets());
    }
    let app: MyApp = toml::from_str("name = \"x\"\n[paybridge]\n").unwrap();
    assert!(app.paybridge.provider.is_none() && app.paybridge.accounts.is_empty());
    // The same checks: unknown keys, wrong types, accounts read per provider.
    for (text, key) in [
        ("[vpay88]\nbase_urll = \"x\"", "vpay88.base_urll"),
        ("[vpay88]\napi_key = 5", "vpay88.api_key"),
        (
            "[accounts.main]\nprovider = \"onepunch\"\nusername = \"u\"",
            "accounts.main.username",
        ),
    ] {
        let err = toml::from_str::<MyApp>(&nested(text))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
    }
}

#[test]
fn a_default_payment_method_is_taken_where_the_provider_takes_one_and_refused_elsewhere() {
    let section = |provider: &str| {
        format!("[{provider}]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\npayment_method = \"bank\"\n")
    };
    let config = Config::from_toml(&section("vpay88"), "test.toml").unwrap();
    match crate::Gateway::for_provider(&config, crate::providers::VPAY88) {
        Err(Error::Config { key, reason }) => {
            assert_eq!(key, "vpay88.payment_method");
            assert!(reason.contains("takes no payment method"), "{reason}");
        }
        other => panic!("Vpay88 takes no method: {:?}", other.err()),
    }
    let config = Config::from_toml(&section("one1pay"), "test.toml").unwrap();
    assert!(crate::Gateway::for_provider(&config, crate::providers::ONE1PAY).is_ok());
    let text = "[onepunch]\nmonster_token = \"MON-x\"\nmonster_key = \"k\"\npayment_method = \"ali-person\"\n";
    let config = Config::from_toml(text, "test.toml").unwrap();
    let onepunch = config.section_as::<OnePunchSection>("onepunch").unwrap();
    assert_eq!(onepunch.payment_method.as_deref(), Some("ali-person"));
}

#[test]
fn debug_shows_no_secret() {
    let config = Config::from_toml(FILE, "test.toml").unwrap();
    let debug = format!("{config:?}");
    for secret in config.secrets() {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
    assert_eq!(config.secrets().len(), 4);
}

/// Each text is refused with a configuration error naming its key and the file.
fn assert_errors_name(cases: &[(&str, &str)]) {
    for (text, key) in cases {
        match Config::from_toml(text, "my.toml").unwrap_err() {
            Error::Config { key: named, reason } => {
                assert_eq!(named, *key, "{text}: {reason}");
                assert!(reason.contains("my.toml"), "{reason}");
            }
            other => panic!("{text}: {other}"),
        }
    }
}

#[test]
fn errors_name_the_key_and_the_source() {
    let cases = [
        ("provider = \"paypal\"", "provider"),
        ("provider = 3", "provider"),
        ("[vpay88]\napi_key = 5", "vpay88.api_key"),
        ("[vpay88]\nbase_urll = \"x\"", "vpay88.base_urll"),
        ("[paypal]\nx = 1", "paypal"),
        ("provider = ", "file"),
    ];
    assert_errors_name(&cases);
    let env = [(
        "PAYBRIDGE_HTTP_READ_ATTEMPTS".to_string(),
        "many".to_string(),
    )];
    let err = Config::from_toml_with_env("", "x", env).unwrap_err();
    assert!(err.to_string().contains("http.read_attempts"), "{err}");
}

const ACCOUNTS: &str = r#"
[accounts.main]
provider = "vpay88"
base_url = "https://pay.example"
username = "main-user"
api_key = "main-api-key"
secret_key = "main-secret"

[accounts.duit-now]
provider = "vpay88"
base_url = "https://pay.example"
username = "duitnow-user"
api_key = "duitnow-api-key"
secret_key = "duitnow-secret"

[accounts.punch]
provider = "onepunch"
monster_token = "MON-x"
monster_key = "punch-key"
"#;

#[test]
fn named_accounts_are_read_per_provider_and_the_environment_reaches_them() {
    let env = [
        (
            "PAYBRIDGE_ACCOUNTS_DUIT_NOW_USERNAME".to_string(),
            "env-user".to_string(),
        ),
        (
            "PAYBRIDGE_ACCOUNTS_NEW_ONE_PROVIDER".into(),
            "one1pay".into(),
        ),
        (
            "PAYBRIDGE_ACCOUNTS_NEW_ONE_SECRET_KEYS".into(),
            "a,b".into(),
        ),
        ("PAYBRIDGE_ACCOUNTS_MAIN_LIMITS_TTL_SECS".into(), "0".into()),
    ];
    let config = Config::from_toml_with_env(ACCOUNTS, "test.toml", env).unwrap();
    let names: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
    assert_eq!(names, ["duit-now", "main", "new_one", "punch"]);
    let form_api = |name: &str, provider: Provider| {
        let account = &config.accounts[name];
        assert_eq!(account.provider(), provider, "{name}");
        account.section_as::<FormApiSection>().unwrap()
    };
    let duitnow = form_api("duit-now", crate::providers::VPAY88);
    assert_eq!(duitnow.username.as_deref(), Some("env-user"));
    let main = form_api("main", crate::providers::VPAY88);
    assert_eq!(main.limits_ttl_secs, Some(0));
    let new_one = form_api("new_one", crate::providers::ONE1PAY);
    assert_eq!(new_one.secret_keys.len(), 2);
    assert_eq!(
        config.accounts["punch"].provider(),
        crate::providers::ONEPUNCH
    );
    let debug = format!("{config:?}");
    for secret in ["main-secret", "duitnow-api-key", "punch-key", "a", "b"] {
        assert!(config.secrets().contains(&secret), "{secret} not listed");
    }
    for secret in ["main-secret", "duitnow-api-key", "punch-key"] {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
}

#[test]
fn account_errors_name_the_account_key() {
    let cases = [
        (
            "[accounts.main]\nusername = \"u\"",
            "accounts.main.provider",
        ),
        (
            "[accounts.main]\nprovider = \"paypal\"",
            "accounts.main.provider",
        ),
        (
            "[accounts.main]\nprovider = \"onepunch\"\nusername = \"u\"",
            "accounts.main.username",
        ),
        (
            "[accounts.main]\nprovider = \"vpay88\"\napi_key = 5",
            "accounts.main.api_key",
        ),
        ("[accounts.\"a/b\"]\nprovider = \"vpay88\"", "accounts.a/b"),
    ];
    assert_errors_name(&cases);
    let env = [("PAYBRIDGE_ACCOUNTS_MAIN".to_string(), "x".to_string())];
    match Config::from_toml_with_env("", "x", env).unwrap_err() {
        Error::Config { key, reason } => {
            assert_eq!(key, "PAYBRIDGE_ACCOUNTS_MAIN");
            assert!(reason.contains("BASE_URL"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let config = Config::from_toml(ACCOUNTS, "my.toml").unwrap();
    let err = crate::Gateway::for_account(&config, "other").unwrap_err();
    assert!(
        err.to_string().contains("duit-now, main, punch"),
        "the error lists the configured accounts: {err}"
    );
    let missing = "[accounts.main]\nprovider = \"vpay88\"\nbase_url = \"https://p.example\"\nusername = \"u\"";
    let config = Config::from_toml(missing, "my.toml").unwrap();
    match crate::Gateway::for_account(&config, "main").unwrap_err() {
        Error::Config { key, reason } => {
            assert_eq!(key, "accounts.main.api_key");
            assert!(
                reason.contains("PAYBRIDGE_ACCOUNTS_MAIN_API_KEY"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
    let bad_url = "[accounts.main]\nprovider = \"vpay88\"\nbase_url = \"ftp://p\"\nusername = \"u\"\napi_key = \"k\"";
    let config = Config::from_toml(bad_url, "my.toml").unwrap();
    match crate::Gateway::for_account(&config, "main").unwrap_err() {
        Error::Config { key, .. } => assert_eq!(key, "accounts.main.base_url"),
        other => panic!("{other}"),
    }
}

#[test]
fn an_account_verifies_its_own_secret_only_and_names_the_account_whose_secret_signed() {
    let config = Config::from_toml(ACCOUNTS, "test.toml").unwrap();
    let main = crate::Gateway::for_account(&config, "main").unwrap();
    let duitnow = crate::Gateway::for_account(&config, "duit-now").unwrap();
    assert_eq!(main.account(), Some("main"));
    let body = |secret: &str| {
        let token = paybridge_signing::form_callback_token(secret, "A1");
        format!("order_id=A1&amount=100.00&currency=MYR&order_status=completed&status=true&type=deposit&token={token}")
    };
    let own = body("main-secret");
    let event = main
        .verify(&crate::CallbackRequest::new(own.as_bytes()))
        .unwrap();
    assert_eq!(event.order_id.as_ref().map(|id| id.as_str()), Some("A1"));
    match duitnow
        .verify(&crate::CallbackRequest::new(own.as_bytes()))
        .unwrap_err()
    {
        Error::CallbackRejected(crate::CallbackRejection::BadSignature {
            explanation: Some(explanation),
        }) => {
            let text = explanation.to_string();
            assert!(text.contains("another configured account (main)"), "{text}");
            assert!(!text.contains("main-secret"), "{text}");
        }
        other => panic!("main's callback must be refused by duit-now: {other}"),
    }
}

#[test]
fn the_service_is_configured_from_the_environment_too() {
    let hash = |byte: &str| format!("sha256:{}", byte.repeat(32));
    let env = [
        (
            "PAYBRIDGE_SERVE_API_KEYS".to_string(),
            format!("{}, {}", hash("ab"), hash("cd")),
        ),
        ("PAYBRIDGE_SERVE_LISTEN".into(), "0.0.0.0:9090".into()),
        ("PAYBRIDGE_SERVE_MAX_BODY".into(), "2048".into()),
        (
            "PAYBRIDGE_SERVE_WEBHOOKS_URL".into(),
            "https://merchant.example/events".into(),
        ),
        (
            "PAYBRIDGE_SERVE_WEBHOOKS_SECRETS".into(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        ),
    ];
    let config = Config::from_toml_with_env("", "x", env).unwrap();
    assert_eq!(config.serve.api_key_hashes, vec![[0xab; 32], [0xcd; 32]]);
    assert_eq!(config.serve.listen.as_deref(), Some("0.0.0.0:9090"));
    assert_eq!(config.serve.max_body, 2048);
    assert_eq!(
        config.serve.webhooks_url.as_deref(),
        Some("https://merchant.example/events")
    );
    assert_eq!(config.serve.webhook_secrets.len(), 2);
    let shown = format!("{:?}", config.serve);
    assert!(
        !shown.contains("whsec_") && !shown.contains("abab"),
        "{shown}"
    );
}

#[test]
fn the_environment_sets_the_webhooks_retry_schedule_and_timeout() {
    let file = "[serve.webhooks]\nretry_schedule = [\"1h\"]\n";
    let env = [
        (
            "PAYBRIDGE_SERVE_WEBHOOKS_RETRY_SCHEDULE".to_string(),
            "2s, 1m".to_string(),
        ),
        ("PAYBRIDGE_SERVE_WEBHOOKS_TIMEOUT".into(), "4s".into()),
    ];
    let config = Config::from_toml_with_env(file, "test.toml", env).unwrap();
    assert_eq!(
        config.serve.webhook_retry_schedule,
        Some(vec![
            std::time::Duration::from_secs(2),
            std::time::Duration::from_secs(60)
        ])
    );
    assert_eq!(
        config.serve.webhook_timeout,
        Some(std::time::Duration::from_secs(4))
    );
    let env = [("PAYBRIDGE_SERVE_WEBHOOKS_TIMEOUT".to_string(), "4".into())];
    let err = Config::from_toml_with_env("", "x", env).unwrap_err();
    assert!(err.to_string().contains("serve.webhooks.timeout"), "{err}");
}
