//! A full exchange with every provider, logged at TRACE: no configured secret
//! and no auth token may appear anywhere in what was logged, nor in `Debug`
//! output of configurations, gateways and errors.

use std::io::Write;
use std::sync::{Arc, Mutex};

use paybridge::{Config, DepositRequest, Money, Provider, WithdrawalRequest};
use paybridge_cli::harness::{pay, Harness};
use paybridge_sandbox::{SandboxConfig, DEMO_API_KEY, DEMO_MONSTER_KEY, DEMO_SECRET_KEY};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_reaches_the_logs_even_at_trace() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    for provider in [Provider::Vpay88, Provider::One1Pay] {
        let gateway = h.gateway(provider).unwrap().clone();
        let currency = if provider == Provider::Vpay88 {
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
        if provider == Provider::One1Pay {
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
    let punch = h.gateway(Provider::OnePunch).unwrap().clone();
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

    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
