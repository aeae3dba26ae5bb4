//! End to end through the SDK against the sandbox, over real HTTP, callbacks
//! included; and a real headless browser paying on the payment page.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{
    Config, Currency, DepositRequest, Error, Gateway, LearnedFrom, Money, OrderId, OrderStatus,
    Provider, RefusalKind, StatusQuery, WithdrawalRequest,
};
use paybridge_cli::harness::{pay, settle_in_back_office, Harness};
use paybridge_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn myr_deposit(order_id: &str, amount: &str) -> DepositRequest {
    paybridge_cli::harness::myr_deposit(order_id, amount).unwrap()
}

#[tokio::test]
async fn the_demo_behaves_for_every_provider() {
    assert!(
        paybridge_cli::demo::run().await.unwrap(),
        "a demo step failed; see its output"
    );
}

#[tokio::test]
async fn trailing_commas_from_the_sandbox_are_tolerated() {
    let config = SandboxConfig {
        trailing_commas: true,
        ..SandboxConfig::default()
    };
    let mut h = Harness::start(config).await.unwrap();
    let raw = reqwest::Client::new()
        .post(format!("{}/vpay88/merchant/currency", h.sandbox.base_url()))
        .form(&[("username", "demo")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.trim_end().ends_with(",\n}"),
        "sandbox answered without trailing comma: {raw}"
    );
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap().clone();
    assert_eq!(vpay.currencies().await.unwrap().len(), 5);
    let order = vpay
        .create_deposit(&myr_deposit("TC-1", "100"))
        .await
        .unwrap();
    pay(&order.payment_url, "completed").await.unwrap();
    let delivery = h.receiver.next("TC-1").await.unwrap();
    assert_eq!(delivery.event.status, OrderStatus::Completed);
    assert!(delivery.confirmed.is_some());
}

/// Posts `form` urlencoded to the sandbox, as a hand-written client would, and
/// reads the JSON answer.
async fn post_raw(url: String, form: &[(&str, &str)]) -> Value {
    let response = reqwest::Client::new().post(url).form(form).send().await;
    response.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn urlencoded_requests_are_accepted_like_multipart() {
    let h = Harness::start(SandboxConfig::default()).await.unwrap();
    let answer = post_raw(
        format!("{}/one1pay/merchant/auth", h.sandbox.base_url()),
        &[
            ("username", "demo"),
            ("api_key", "demo-api-key"),
            ("extra", "ignored"),
        ],
    )
    .await;
    assert_eq!(answer["status"], true);
    assert_eq!(answer["auth"].as_str().unwrap().len(), 20);
}

fn refusal(err: Error) -> (RefusalKind, String) {
    match err {
        Error::Provider { kind, message, .. } => (kind, message),
        other => panic!("expected a provider refusal, got {other}"),
    }
}

#[tokio::test]
async fn documented_failures_come_back_typed() {
    let h = Harness::start(SandboxConfig::default()).await.unwrap();
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap();
    vpay.create_deposit(&myr_deposit("DUP-1", "100"))
        .await
        .unwrap();
    // "Order ID Exist." for the same deposit: the provider holds it, but the
    // payment URL of the first answer is not given again, so it is ambiguous.
    match vpay
        .create_deposit(&myr_deposit("DUP-1", "100"))
        .await
        .unwrap_err()
    {
        Error::Ambiguous {
            order_id, reason, ..
        } => {
            assert_eq!(order_id.as_str(), "DUP-1");
            assert!(
                reason.contains("Order ID Exist.") && reason.contains("pending"),
                "{reason}"
            );
        }
        other => panic!("a repeated deposit id must be ambiguous, got {other}"),
    }
    // The same id for another amount is another order's id.
    match vpay
        .create_deposit(&myr_deposit("DUP-1", "200"))
        .await
        .unwrap_err()
    {
        Error::OrderIdConflict { held, .. } => assert_eq!(held.to_string(), "100 MYR"),
        other => panic!("another amount under a held id must conflict, got {other}"),
    }
    // Below the minimum the provider publishes: refused before sending, by name.
    match vpay
        .create_deposit(&myr_deposit("LIMIT-1", "1"))
        .await
        .unwrap_err()
    {
        Error::InvalidRequest { field, reason } => {
            assert_eq!(field, "amount");
            assert!(reason.contains("the minimum is 10"), "{reason}");
        }
        other => panic!("an amount below the published minimum must be refused, got {other}"),
    }
    assert!(
        h.sandbox
            .create_requests()
            .keys()
            .all(|(_, _, id)| id != "LIMIT-1"),
        "the refused deposit was never sent"
    );

    let one1 = h.gateway(paybridge::providers::ONE1PAY).unwrap();
    let payout = |id: &str, amount: &str, bank: &str| {
        WithdrawalRequest::builder(
            id,
            Money::parse(amount, "THB").unwrap(),
            bank,
            "John",
            "123",
        )
        .build()
        .unwrap()
    };
    let (kind, message) = refusal(
        one1.create_withdrawal(&payout("W-BANK", "100", "999"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (kind, message.as_str()),
        (RefusalKind::InvalidBank, "bank_id invalid.")
    );
    // Drain the balance, then one more is refused.
    for i in 0..2 {
        one1.create_withdrawal(&payout(&format!("W-BIG-{i}"), "50000", "101"))
            .await
            .unwrap();
    }
    let before = one1.balance(&Currency::new("THB").unwrap()).await.unwrap();
    assert_eq!(before.available.amount(), rust_decimal::Decimal::ZERO);
    let (kind, _) = refusal(
        one1.create_withdrawal(&payout("W-BROKE", "10", "101"))
            .await
            .unwrap_err(),
    );
    assert_eq!(kind, RefusalKind::InsufficientBalance);
    // "Order id exist!" for the same payout means it was already submitted.
    let again = one1
        .create_withdrawal(&payout("W-BIG-0", "50000", "101"))
        .await
        .unwrap();
    assert_eq!(
        (
            again.learned_from,
            again.status,
            again.provider_status.as_deref()
        ),
        (
            LearnedFrom::StatusQuery,
            OrderStatus::Processing,
            Some("proccess")
        ),
        "a resubmitted identical payout is recognised by status, not doubled"
    );
    match one1
        .create_withdrawal(&payout("W-BIG-0", "10", "101"))
        .await
        .unwrap_err()
    {
        Error::OrderIdConflict {
            requested, held, ..
        } => {
            assert_eq!(requested.to_string(), "10 THB");
            assert_eq!(held.to_string(), "50000 THB");
        }
        other => panic!("same id, another amount must be an id conflict, got {other}"),
    }

    // Wrong credentials.
    let base = h.sandbox.base_url();
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base}/vpay88\"\nusername = \"demo\"\napi_key = \"wrong\"\nsecret_key = \"s\"\n[onepunch]\nbase_url = \"{base}/onepunch\"\nmonster_token = \"MON-demo\"\nmonster_key = \"wrong\"\nnotify_url = \"http://127.0.0.1:9/\"\nreturn_url = \"http://127.0.0.1:9/\"\n"
        ),
        "inline",
    )
    .unwrap();
    let wrong = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    let (kind, _) = refusal(
        wrong
            .create_deposit(&myr_deposit("AUTH-1", "100"))
            .await
            .unwrap_err(),
    );
    assert_eq!(kind, RefusalKind::Unauthorized);
    let wrong = Gateway::for_provider(&config, paybridge::providers::ONEPUNCH).unwrap();
    // ONE-PUNCH's document writes no refusal: its message is kept, its meaning not guessed.
    let (kind, message) = refusal(wrong.payment_methods().await.unwrap_err());
    assert_eq!(
        (kind, message.as_str()),
        (RefusalKind::Other, "SIGNATURE VERIFICATION FAILED")
    );

    // ONE-PUNCH takes only its listed prices.
    let punch = h.gateway(paybridge::providers::ONEPUNCH).unwrap();
    let odd = DepositRequest::builder("P-ODD", Money::parse("12.34", "CNY").unwrap())
        .payment_method("ali-person")
        .build()
        .unwrap();
    // An undocumented refusal of a create leaves it open, its message kept.
    match punch.create_deposit(&odd).await.unwrap_err() {
        Error::Ambiguous {
            order_id, reason, ..
        } => {
            assert_eq!(order_id.as_str(), "P-ODD");
            assert!(reason.contains("\"INVALID AMOUNT\""), "{reason}");
        }
        other => panic!("expected an open outcome, got {other}"),
    }
}

#[tokio::test]
async fn a_withdrawal_that_fails_refunds_the_balance_and_calls_back() {
    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    let one1 = h.gateway(paybridge::providers::ONE1PAY).unwrap().clone();
    let thb = Currency::new("THB").unwrap();
    let start = one1.balance(&thb).await.unwrap().available.amount();
    let request = WithdrawalRequest::builder(
        "W-REJ",
        Money::parse("1000", "THB").unwrap(),
        "101",
        "John",
        "1",
    )
    .build()
    .unwrap();
    one1.create_withdrawal(&request).await.unwrap();
    assert_eq!(
        one1.balance(&thb).await.unwrap().available.amount(),
        start - rust_decimal::Decimal::from(1000)
    );
    let status = one1
        .withdrawal_status(&StatusQuery::new(OrderId::new("W-REJ").unwrap()))
        .await
        .unwrap();
    assert_eq!(
        (status.status, status.provider_status.as_str()),
        (OrderStatus::Processing, "proccess")
    );
    let settled = settle_in_back_office(
        &h.sandbox.base_url(),
        paybridge::providers::ONE1PAY,
        "withdrawals",
        "W-REJ",
        "rejected",
    )
    .await
    .unwrap();
    assert!(settled.status().is_success());
    let delivery = h.receiver.next("W-REJ").await.unwrap();
    assert_eq!(delivery.event.status, OrderStatus::Rejected);
    assert_eq!(one1.balance(&thb).await.unwrap().available.amount(), start);
}

/// A WebDriver session over chromedriver's HTTP API.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
}

impl Browser {
    /// The browser, or `None` (said loudly) where Chromium is not installed and
    /// `PAYBRIDGE_REQUIRE_BROWSER` (set by `cargo xtask test` and CI) is not set.
    async fn start() -> Option<Browser> {
        let chromium =
            std::env::var("PAYBRIDGE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver = std::env::var("PAYBRIDGE_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let installed = std::path::Path::new(&chromium).exists()
            && std::path::Path::new(&chromedriver).exists();
        if !installed {
            assert!(
                std::env::var_os("PAYBRIDGE_REQUIRE_BROWSER").is_none(),
                "the browser test needs Debian's chromium and chromium-driver: `cargo xtask test` installs them"
            );
            // Straight to the process's stderr: the test harness does not capture
            // it, so the skip shows even when the test passes.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n*** SKIPPED: the real-browser payment test: {chromium} or {chromedriver} is missing. \
                 `cargo xtask test` installs Debian's chromium and chromium-driver and runs it. ***\n"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A profile of its own: two browser tests may run at once.
        let profile = paybridge_testkit::temp_dir("paybridge-chromium");
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display())]
        }}}});
        let session: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_owned();
        Some(Browser {
            driver,
            base,
            session,
            client,
        })
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer: Value = self
            .client
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    /// The ids of the elements `css` selects, in document order.
    async fn find_all(&self, css: &str) -> Vec<String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|element| {
                element
                    .as_object()?
                    .values()
                    .next()?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Clicks the first element `css` selects, waiting up to 10 s for one.
    async fn click(&self, css: &str) {
        for _ in 0..100 {
            if let Some(id) = self.find_all(css).await.first() {
                self.command(
                    reqwest::Method::POST,
                    &format!("/element/{id}/click"),
                    json!({}),
                )
                .await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nothing matches {css}");
    }

    /// The text of every element `css` selects.
    async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for id in self.find_all(css).await {
            let text = self
                .command(
                    reqwest::Method::GET,
                    &format!("/element/{id}/text"),
                    json!({}),
                )
                .await;
            texts.push(text.as_str().unwrap_or_default().to_owned());
        }
        texts
    }

    /// Waits up to 15 s until the texts `css` selects satisfy `done`.
    async fn wait_for(&self, css: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let mut texts = Vec::new();
        for _ in 0..150 {
            texts = self.texts(css).await;
            if done(&texts) {
                return texts;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never got there: {texts:?}");
    }

    /// Saves a PNG of the page as a test artifact, under
    /// `target/tmp/screenshots/`; its path.
    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine as _;
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// One1Pay's document names `pay_method`s for THB only: the SDK holds THB to
/// them and lets other currencies' methods through; the sandbox answers a wrong
/// THB method and a currency without limits with messages that are not the
/// token-refusal `Params incorrect.`.
#[tokio::test]
async fn one1pay_pay_methods_are_checked_for_thb_only_on_both_sides() {
    let h = Harness::start(SandboxConfig::default()).await.unwrap();
    let one1 = h.gateway(paybridge::providers::ONE1PAY).unwrap();
    let deposit = |id: &str, currency: &str, method: &str| {
        DepositRequest::builder(id, Money::parse("100", currency).unwrap())
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789")
            .bank_id("301")
            .payment_method(method)
            .redirect_url("http://127.0.0.1:9/back")
            .customer_bank_holder_name("John Doe")
            .customer_bank_account("123")
            .build()
            .unwrap()
    };
    one1.create_deposit(&deposit("VND-M-1", "VND", "bank-transfer"))
        .await
        .unwrap();
    match one1
        .create_deposit(&deposit("THB-M-1", "THB", "promptpay"))
        .await
        .unwrap_err()
    {
        Error::InvalidRequest { field, .. } => assert_eq!(field, "payment_method"),
        other => panic!("a THB method the document does not name must be refused, got {other}"),
    }
    assert_eq!(
        h.sandbox.create_requests().len(),
        1,
        "the refused one was never sent"
    );

    let base = h.sandbox.base_url();
    let token = post_raw(
        format!("{base}/one1pay/merchant/auth"),
        &[("username", "demo"), ("api_key", "demo-api-key")],
    )
    .await;
    let token = token["auth"].as_str().unwrap();
    let create = |order_id: &'static str, currency: &'static str| {
        let form = [
            ("auth", token),
            ("username", "john"),
            ("amount", "100"),
            ("currency", currency),
            ("orderid", order_id),
            ("email", "john@example.com"),
            ("phone_number", "601012456789"),
            ("redirect_url", "http://127.0.0.1:9/back"),
            ("customer_bank_holder_name", "John Doe"),
            ("customer_bank_account", "123"),
            ("bank_id", "101"),
            ("pay_method", "promptpay"),
        ];
        let url = format!("{base}/one1pay/merchant/generate_orders");
        async move { post_raw(url, &form).await }
    };
    assert_eq!(
        create("RAW-THB", "THB").await,
        json!({ "status": false, "message": "pay_method invalid." })
    );
    assert_eq!(
        create("RAW-USD", "USD").await,
        json!({ "status": false, "message": "Invalid Amount." })
    );
}

/// Vpay88's document shows an unsettled payout as `pending` and settles one as
/// `completed` or `fail` only; `rejected` is One1Pay's word alone.
#[tokio::test]
async fn a_vpay88_payout_is_pending_until_settled_and_never_rejected() {
    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap().clone();
    let payout = WithdrawalRequest::builder(
        "V-PAYOUT-1",
        Money::parse("250", "MYR").unwrap(),
        "101",
        "John Doe",
        "1234567890",
    )
    .build()
    .unwrap();
    let receipt = vpay.create_withdrawal(&payout).await.unwrap();
    // Accepted by the create answer, so in hand and not yet final.
    assert_eq!(
        (receipt.learned_from, receipt.status),
        (LearnedFrom::CreateAnswer, OrderStatus::Processing)
    );
    let status = vpay
        .withdrawal_status(&StatusQuery::new(OrderId::new("V-PAYOUT-1").unwrap()))
        .await
        .unwrap();
    // Vpay88's word for a payout it holds unsettled; in flight, like One1Pay's `proccess`.
    assert_eq!(
        (status.status, status.provider_status.as_str()),
        (OrderStatus::Processing, "pending")
    );
    let base = h.sandbox.base_url();
    let settle = |outcome| {
        settle_in_back_office(
            &base,
            paybridge::providers::VPAY88,
            "withdrawals",
            "V-PAYOUT-1",
            outcome,
        )
    };
    let rejected = settle("rejected").await.unwrap();
    assert_eq!(rejected.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(rejected.text().await.unwrap().contains("completed, fail"));
    assert!(settle("fail").await.unwrap().status().is_success());
    let delivery = h.receiver.next("V-PAYOUT-1").await.unwrap();
    assert_eq!(delivery.event.status, OrderStatus::Failed);
    assert_eq!(
        delivery.confirmed.map(|c| c.provider_status),
        Some("fail".to_owned())
    );
}

#[tokio::test]
async fn a_real_browser_pays_on_the_payment_page() {
    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    let return_url = format!("{}/return", h.receiver.url);
    let one1 = h.gateway(paybridge::providers::ONE1PAY).unwrap().clone();
    let request = DepositRequest::builder("BROWSER-1", Money::parse("250", "THB").unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .bank_id("101")
        .payment_method("thaiqr")
        .redirect_url(&return_url)
        .customer_bank_holder_name("John Doe")
        .customer_bank_account("123")
        .build()
        .unwrap();
    let order = one1.create_deposit(&request).await.unwrap();

    let Some(browser) = Browser::start().await else {
        return;
    };
    use reqwest::Method;
    browser
        .command(Method::POST, "/url", json!({ "url": order.payment_url }))
        .await;
    let title = browser.command(Method::GET, "/title", json!({})).await;
    assert_eq!(title, "one1pay sandbox payment");
    let amount = browser
        .command(
            Method::POST,
            "/element",
            json!({ "using": "css selector", "value": "td#amount" }),
        )
        .await;
    let amount_id = amount
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let text = browser
        .command(
            Method::GET,
            &format!("/element/{amount_id}/text"),
            json!({}),
        )
        .await;
    assert_eq!(text, "250 THB");
    let button = browser
        .command(
            Method::POST,
            "/element",
            json!({ "using": "css selector", "value": "#pay" }),
        )
        .await;
    let button_id = button
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    browser
        .command(
            Method::POST,
            &format!("/element/{button_id}/click"),
            json!({}),
        )
        .await;

    let delivery = h.receiver.next("BROWSER-1").await.unwrap();
    assert_eq!(delivery.event.status, OrderStatus::Completed);
    assert_eq!(delivery.event.amount, Money::parse("250", "THB").unwrap());
    assert!(
        delivery.confirmed.is_some(),
        "verified and confirmed by status"
    );
    let mut landed = Value::Null;
    for _ in 0..50 {
        landed = browser.command(Method::GET, "/url", json!({})).await;
        if landed == json!(return_url) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        landed,
        json!(return_url),
        "the browser was redirected to redirect_url"
    );
    browser.command(Method::DELETE, "", json!({})).await;
}

/// The sandbox's dashboard in a real browser: an order made through the SDK is
/// listed; "Settle completed" sends its callback, "Resend" another, and both
/// appear as deliveries the merchant acknowledged. Screenshots of both pages
/// are saved as test artifacts (`target/tmp/screenshots/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser_settles_and_resends() {
    let mut h = Harness::start(SandboxConfig::default()).await.unwrap();
    let vpay = h.gateway(paybridge::providers::VPAY88).unwrap().clone();
    vpay.create_deposit(&myr_deposit("DASH-BROWSER-1", "100"))
        .await
        .unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    use reqwest::Method;
    let base = h.sandbox.base_url();
    browser
        .command(
            Method::POST,
            "/window/rect",
            json!({ "width": 1280, "height": 900 }),
        )
        .await;
    browser
        .command(Method::POST, "/url", json!({ "url": format!("{base}/") }))
        .await;
    let title = browser.command(Method::GET, "/title", json!({})).await;
    assert_eq!(title, "paybridge sandbox dashboard");
    let listed = browser.texts("section[aria-labelledby=vpay88] td a").await;
    assert_eq!(listed, ["DASH-BROWSER-1"]);
    browser.screenshot("dashboard-orders").await;

    browser.click("section[aria-labelledby=vpay88] td a").await;
    browser
        .click("button[data-form^=\"outcome=completed\"]")
        .await;
    let delivery = h.receiver.next("DASH-BROWSER-1").await.unwrap();
    assert_eq!(delivery.event.status, OrderStatus::Completed);
    let rows = browser
        .wait_for("#deliveries tr.delivery", |rows| {
            rows.len() == 1 && rows[0].contains(" 200 ")
        })
        .await;
    assert!(rows[0].starts_with("1 callback"), "{rows:?}");
    assert_eq!(browser.texts("#detail-status").await, ["completed"]);

    browser.click("#deliveries button").await;
    let rows = browser
        .wait_for("#deliveries tr.delivery", |rows| {
            rows.len() == 2 && rows.iter().all(|r| r.contains(" 200 "))
        })
        .await;
    assert!(rows[1].starts_with("2 resend"), "{rows:?}");
    let shot = browser.screenshot("dashboard-order").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real picture"
    );
    browser.command(Method::DELETE, "", json!({})).await;
}

#[tokio::test]
async fn a_payout_whose_answer_trickles_past_the_timeout_is_found_not_resent() {
    use paybridge_sandbox::faults::{FaultConfig, FaultKind, FaultRule};
    let faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            provider: "vpay88".into(),
            endpoint: "withdraw_orders".into(),
            kind: FaultKind::Trickle,
            percent: 100,
            latency_ms: 20,
        }],
        ..FaultConfig::default()
    };
    let h = Harness::start(SandboxConfig {
        faults,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let base = h.sandbox.base_url();
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base}/vpay88\"\nusername = \"demo\"\napi_key = \"demo-api-key\"\nsecret_key = \"demo-secret-key\"\n[http]\nrequest_timeout_ms = 300\nresolve_delay_ms = 10\n"
        ),
        "inline",
    )
    .unwrap();
    let gateway = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    let request = WithdrawalRequest::builder(
        "TRICKLE-1",
        Money::parse("10", "MYR").unwrap(),
        "101",
        "J",
        "1",
    )
    .build()
    .unwrap();
    let receipt = gateway.create_withdrawal(&request).await.unwrap();
    assert_eq!(
        receipt.learned_from,
        LearnedFrom::StatusQuery,
        "the timed-out payout was found by status"
    );
    let sent = h.sandbox.create_requests();
    assert_eq!(
        sent[&(
            "vpay88".to_owned(),
            paybridge_sandbox::state::Kind::Withdrawal,
            "TRICKLE-1".to_owned()
        )],
        1
    );
}

const ACCOUNTS: [(&str, &str); 2] = [("main", "main-secret"), ("duitnow", "duitnow-secret")];

fn myr_payout(order_id: &str) -> WithdrawalRequest {
    WithdrawalRequest::builder(
        order_id,
        Money::parse("50", "MYR").unwrap(),
        // The sandbox's first MYR bank.
        "101",
        "john",
        "1234567890",
    )
    .build()
    .unwrap()
}

async fn next_delivery(
    deliveries: &mut mpsc::UnboundedReceiver<Delivery>,
    order_id: &str,
) -> Delivery {
    loop {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.recv())
            .await
            .unwrap_or_else(|_| panic!("no callback for {order_id}"))
            .expect("receiver stopped");
        if delivery.event.order_id.as_ref().map(OrderId::as_str) == Some(order_id) {
            return delivery;
        }
    }
}

/// Two Vpay88 accounts of one merchant: orders on each, each account's
/// callbacks on its own path, verified with its own secret and confirmed as its
/// own user; a callback signed for one account is refused on the other's path.
#[tokio::test]
async fn two_accounts_of_one_provider_each_take_orders_and_callbacks_on_their_own_path() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}", listener.local_addr().unwrap());

    let mut sandbox_config = SandboxConfig::default();
    let demo = sandbox_config.vpay88[0].clone();
    sandbox_config.vpay88 = ACCOUNTS
        .iter()
        .map(|(name, secret)| {
            let mut merchant = demo.clone();
            merchant.username = format!("{name}-user");
            merchant.api_key = format!("{name}-api-key");
            merchant.secret_key = (*secret).to_owned();
            merchant.callback_url = Some(format!("{receiver}/callbacks/{name}"));
            merchant
        })
        .collect();
    let sandbox = Sandbox::start(sandbox_config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let base = sandbox.base_url();

    let mut text = String::new();
    for (name, secret) in ACCOUNTS {
        text.push_str(&format!(
            "[accounts.{name}]\nprovider = \"vpay88\"\nbase_url = \"{base}/vpay88\"\nusername = \"{name}-user\"\napi_key = \"{name}-api-key\"\nsecret_key = \"{secret}\"\n"
        ));
    }
    let config = Config::from_toml(&text, "accounts.toml").unwrap();
    let gateways = Gateway::for_every_account(&config).unwrap();
    let (tx, mut deliveries) = mpsc::unbounded_channel();
    let route = CallbackRoute::for_accounts(gateways, move |delivery: Delivery| {
        let tx = tx.clone();
        async move { tx.send(delivery).map_err(|_| "receiver closed") }
    })
    .unwrap();
    let app = axum::Router::new().nest("/callbacks", route.into_router());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut genuine = Vec::new();
    for (name, _) in ACCOUNTS {
        let gateway = Gateway::for_account(&config, name).unwrap();
        let deposit_id = format!("{name}-D1");
        let order = gateway
            .create_deposit(&myr_deposit(&deposit_id, "100"))
            .await
            .unwrap();
        pay(&order.payment_url, "completed").await.unwrap();
        let delivery = next_delivery(&mut deliveries, &deposit_id).await;
        assert_eq!(delivery.account.as_deref(), Some(name));
        assert_eq!(delivery.event.status, OrderStatus::Completed);
        // The sandbox keeps each account's orders apart: only a status query
        // made as this account's user finds this order.
        let confirmed = delivery.confirmed.as_ref().expect("confirmed");
        assert_eq!(confirmed.status, OrderStatus::Completed);
        genuine.push((name, delivery.event.raw_body.clone()));

        let payout_id = format!("{name}-W1");
        gateway
            .create_withdrawal(&myr_payout(&payout_id))
            .await
            .unwrap();
        let settled = reqwest::Client::new()
            .post(format!(
                "{base}/vpay88/_sandbox/withdrawals/{payout_id}/settle"
            ))
            .form(&[
                ("outcome", "completed"),
                ("merchant", &format!("{name}-user")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(settled.status(), 200, "{}", settled.text().await.unwrap());
        let delivery = next_delivery(&mut deliveries, &payout_id).await;
        assert_eq!(delivery.account.as_deref(), Some(name));
        assert_eq!(delivery.event.status, OrderStatus::Completed);
        assert!(delivery.confirmed.is_some());
    }
    let other = Gateway::for_account(&config, "duitnow").unwrap();
    let asked_as_other = other
        .deposit_status(&StatusQuery::new(OrderId::new("main-D1").unwrap()))
        .await;
    assert!(
        asked_as_other.is_err(),
        "the sandbox must not show main's order to duitnow: {asked_as_other:?}"
    );

    // main's genuine callback, posted to duitnow's path and back to its own.
    let (_, main_body) = &genuine[0];
    let client = reqwest::Client::new();
    let post = |account: &str| {
        client
            .post(format!("{receiver}/callbacks/{account}"))
            .header("content-type", "application/json")
            .body(main_body.clone())
            .send()
    };
    let refused = post("duitnow").await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.text().await.unwrap(), "rejected: signature");
    let accepted = post("main").await.unwrap();
    assert_eq!(accepted.status(), 200);
    let again = next_delivery(&mut deliveries, "main-D1").await;
    assert_eq!(again.account.as_deref(), Some("main"));
    let unknown = post("nosuch").await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// The one deposit a merchant builds for every provider: only the currency is
/// a parameter (Vpay88 and One1Pay take MYR, ONE-PUNCH CNY only).
fn universal_deposit(order_id: &str, currency: &str) -> DepositRequest {
    DepositRequest::builder(order_id, Money::parse("100", currency).unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .redirect_url("http://127.0.0.1:9/back")
        .ip_addr("203.0.113.7")
        .bank_id("101")
        .customer_bank_holder_name("John Tan")
        .customer_bank_account("1234567890")
        .build()
        .unwrap()
}

/// The field names the sandbox received with the create request of `order`
/// (ONE-PUNCH journals its payments by payment token).
async fn received_fields(base: &str, provider: Provider, order: &str) -> Vec<String> {
    let detail: Value = reqwest::get(format!("{base}/_sandbox/orders/{provider}/{order}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exchanges = detail["exchanges"].as_array().cloned().unwrap_or_default();
    let create = exchanges
        .iter()
        .find(|e| {
            let endpoint = e["endpoint"].as_str().unwrap_or("");
            endpoint.ends_with("/generate_orders") || endpoint.ends_with("/api/v0/payment/")
        })
        .unwrap_or_else(|| panic!("{provider}: no create request journaled for {order}: {detail}"));
    create["fields"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn one_unchanged_request_goes_through_every_provider_and_only_what_each_takes_is_sent() {
    use paybridge::{FieldUse, OrderKind, RequestField};
    let h = Harness::start(SandboxConfig::default()).await.unwrap();
    let base = h.sandbox.base_url();
    let (notify, ret) = (
        format!("{}/onepunch", h.receiver.url),
        format!("{}/return", h.receiver.url),
    );
    let mut config = paybridge_cli::harness::demo_config(&base, Some((&notify, &ret))).unwrap();
    // The payment method is each provider's own code: configuration, not request.
    config
        .form_api_section_mut("one1pay")
        .unwrap()
        .payment_method = Some("bank".into());
    config
        .section_as_mut::<paybridge::OnePunchSection>("onepunch")
        .unwrap()
        .payment_method = Some("ali-person".into());

    let myr = universal_deposit("ONE-REQ", "MYR");
    let mut only_currency_differs = universal_deposit("ONE-REQ", "CNY");
    only_currency_differs.amount = myr.amount.clone();
    assert_eq!(
        only_currency_differs, myr,
        "the requests differ in currency only"
    );

    for (provider, currency) in [
        (paybridge::providers::VPAY88, "MYR"),
        (paybridge::providers::ONE1PAY, "MYR"),
        (paybridge::providers::ONEPUNCH, "CNY"),
    ] {
        let gateway = Gateway::for_provider(&config, provider).unwrap();
        let order_id = format!("ONE-{provider}");
        let request = universal_deposit(&order_id, currency);
        let order = gateway
            .create_deposit(&request)
            .await
            .unwrap_or_else(|e| panic!("{provider} {currency}: {e}"));
        assert!(order.payment_url.starts_with(&base), "{provider}");

        // What went on the wire: exactly the fields the table sends and the
        // request (or the configuration's default) gave, and the protocol's own.
        let journaled = match provider {
            paybridge::providers::ONEPUNCH => order.provider_ref.clone().unwrap(),
            _ => order_id.clone(),
        };
        let mut received = received_fields(&base, provider, &journaled).await;
        received.sort();
        // What the configuration supplies when the request names none.
        let defaulted: &[RequestField] = match provider {
            paybridge::providers::ONEPUNCH => {
                &[RequestField::PaymentMethod, RequestField::CallbackUrl]
            }
            paybridge::providers::ONE1PAY => &[RequestField::PaymentMethod],
            _ => &[],
        };
        let rules = gateway.request_fields(OrderKind::Deposit, &request.amount.currency().clone());
        let own: &[&str] = match provider {
            paybridge::providers::ONEPUNCH => &["magic_num", "monster_token", "signature"],
            _ => &["auth", "currency"],
        };
        let mut expected: Vec<String> = rules
            .iter()
            .filter(|r| r.usage.sends() && (request.has(r.field) || defaulted.contains(&r.field)))
            .filter_map(|r| r.sent_as)
            .chain(own.iter().copied())
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(received, expected, "{provider}: what was sent");
        for rule in rules.iter().filter(|r| r.usage == FieldUse::NotSent) {
            let name = rule.field.name();
            assert!(
                !received.iter().any(|r| r == name),
                "{provider}: {name} is not taken and was sent"
            );
        }
    }

    // A per-order callback URL Vpay88 cannot honour is still refused, by name
    // and with the reason, and nothing is sent; One1Pay takes it.
    let mut with_callback = universal_deposit("ONE-CB", "MYR");
    with_callback.callback_url = Some(format!("{}/one1pay", h.receiver.url));
    let vpay = Gateway::for_provider(&config, paybridge::providers::VPAY88).unwrap();
    match vpay.create_deposit(&with_callback).await.unwrap_err() {
        Error::InvalidRequest { field, reason } => {
            assert_eq!(field, "callback_url");
            assert!(reason.contains("account page"), "{reason}");
        }
        other => panic!("Vpay88 must refuse a per-order callback URL, got {other}"),
    }
    assert!(
        h.sandbox
            .create_requests()
            .keys()
            .all(|(_, _, id)| id != "ONE-CB"),
        "the refused deposit was never sent"
    );
    let one1 = Gateway::for_provider(&config, paybridge::providers::ONE1PAY).unwrap();
    one1.create_deposit(&with_callback).await.unwrap();
    let received = received_fields(&base, paybridge::providers::ONE1PAY, "ONE-CB").await;
    assert!(received.iter().any(|f| f == "callback_url"), "{received:?}");
}
