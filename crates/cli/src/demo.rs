//! `paybridge demo`: the whole life of a merchant, for each provider, against an
//! embedded sandbox and a local callback receiver. The steps and their printer
//! live here; the wiring is [`crate::harness`].

use std::fmt::Display;
use std::future::Future;
use std::time::Instant;

use paybridge::axum::Delivery;
use paybridge::{
    Bank, CurrencyLimit, DepositOrder, DepositRequest, Error, Gateway, Money, OrderId, OrderStatus,
    Provider, StatusQuery, StatusReport, WithdrawalRequest,
};
use paybridge_sandbox::SandboxConfig;

use crate::harness::{pay, settle_in_back_office, Harness, Receiver};

/// Runs steps, printing one line for each.
#[derive(Default)]
pub(crate) struct Steps {
    failures: usize,
    count: usize,
}

impl Steps {
    pub(crate) async fn run<T: Summary, E: Display>(
        &mut self,
        provider: Provider,
        name: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Option<T> {
        let started = Instant::now();
        let outcome = step.await;
        let took = format!("{:.1?}", started.elapsed());
        self.count += 1;
        match outcome {
            Ok(value) => {
                println!(
                    "  ok    {provider:<8} {name:<34} {took:>9}  {}",
                    value.summary()
                );
                Some(value)
            }
            Err(err) => {
                self.failures += 1;
                println!("  FAIL  {provider:<8} {name:<34} {took:>9}  {err}");
                None
            }
        }
    }
}

/// What a successful step prints.
pub(crate) trait Summary {
    fn summary(&self) -> String;
}

impl Summary for String {
    fn summary(&self) -> String {
        self.clone()
    }
}

/// A value a later step needs, with what its step prints.
impl<T> Summary for (T, String) {
    fn summary(&self) -> String {
        self.1.clone()
    }
}

impl Summary for Vec<CurrencyLimit> {
    fn summary(&self) -> String {
        let shown: Vec<String> = self
            .iter()
            .map(|l| match &l.allowed_amounts {
                Some(amounts) => {
                    let amounts: Vec<String> = amounts.iter().map(|a| a.to_string()).collect();
                    format!("{} {}", l.currency, amounts.join("/"))
                }
                None => format!(
                    "{} {}..{}",
                    l.currency,
                    l.min.normalize(),
                    l.max.normalize()
                ),
            })
            .collect();
        shown.join(", ")
    }
}

impl Summary for Vec<Bank> {
    fn summary(&self) -> String {
        match self.first() {
            Some(bank) => format!("{} banks; first {} id {}", self.len(), bank.name, bank.id),
            None => "no banks".into(),
        }
    }
}

impl Summary for DepositOrder {
    fn summary(&self) -> String {
        format!(
            "{} (token {})",
            self.payment_url,
            self.provider_ref.as_deref().unwrap_or("-")
        )
    }
}

fn expect_status(report: &StatusReport, want: OrderStatus) -> Result<String, String> {
    let provider_status = &report.provider_status;
    if report.status == want {
        Ok(format!(
            "{} (provider says {provider_status})",
            report.status
        ))
    } else {
        Err(format!(
            "expected {want}, got {} (provider says {provider_status})",
            report.status
        ))
    }
}

fn describe(delivery: &Delivery) -> Result<String, String> {
    let event = &delivery.event;
    let confirmed = delivery
        .confirmed
        .as_ref()
        .ok_or("the callback was not confirmed")?;
    Ok(format!(
        "{} {} {}, verified and confirmed by status ({})",
        event.kind, event.amount, event.status, confirmed.status
    ))
}

/// A step that must be refused as unsupported before any request is sent.
fn refused_as_unsupported<T>(outcome: Result<T, Error>) -> Result<String, String> {
    match outcome {
        Err(Error::Unsupported { .. }) => Ok("refused before any request".into()),
        Err(other) => Err(format!("expected unsupported, got: {other}")),
        Ok(_) => Err("expected unsupported, but the call succeeded".into()),
    }
}

async fn forged_rejected(
    receiver_url: &str,
    provider: Provider,
    body: String,
) -> Result<String, String> {
    let response = reqwest::Client::new()
        .post(format!("{receiver_url}/{provider}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::BAD_REQUEST {
        Ok(format!("HTTP 400: {text}"))
    } else {
        Err(format!("a forged callback got HTTP {status}"))
    }
}

/// One way a payer can leave the payment page, and the status it must end in.
struct Outcome {
    label: &'static str,
    button: &'static str,
    want: OrderStatus,
}

const OUTCOMES: [Outcome; 2] = [
    Outcome {
        label: "paid",
        button: "completed",
        want: OrderStatus::Completed,
    },
    Outcome {
        label: "failed",
        button: "fail",
        want: OrderStatus::Failed,
    },
];

/// One deposit's life: created, paid (or failed) on its page, the callback
/// verified and confirmed, and the status asked afterwards.
async fn deposit_life(
    steps: &mut Steps,
    provider: Provider,
    gateway: &Gateway,
    receiver: &mut Receiver,
    outcome: &Outcome,
    request: Result<DepositRequest, Error>,
) {
    let created = steps
        .run(
            provider,
            &format!("deposit created ({})", outcome.label),
            async { gateway.create_deposit(&request?).await },
        )
        .await;
    let Some(order) = created else { return };
    if let Some(token) = &order.provider_ref {
        receiver.remember_payment_token(order.order_id.as_str(), token);
    }
    let page = format!("payment page: {}", outcome.button);
    steps
        .run(provider, &page, pay(&order.payment_url, outcome.button))
        .await;
    steps
        .run(provider, "callback", async {
            receiver
                .next(order.order_id.as_str())
                .await
                .and_then(|d| describe(&d))
        })
        .await;
    let mut query = StatusQuery::new(order.order_id.clone());
    if let Some(token) = order.provider_ref {
        query = query.with_provider_ref(token);
    }
    steps
        .run(provider, "deposit status", async {
            let report = gateway
                .deposit_status(&query)
                .await
                .map_err(|e| e.to_string())?;
            expect_status(&report, outcome.want)
        })
        .await;
}

async fn form_provider(
    steps: &mut Steps,
    provider: Provider,
    gateway: &Gateway,
    harness_base: &str,
    receiver: &mut Receiver,
) {
    let currency = if provider == paybridge::providers::VPAY88 {
        "MYR"
    } else {
        "THB"
    };
    let cur = paybridge::Currency::new(currency).ok();
    steps
        .run(provider, "currencies", gateway.currencies())
        .await;
    let banks = steps
        .run(
            provider,
            "withdrawal banks",
            gateway.withdrawal_banks(cur.as_ref()),
        )
        .await;
    let suffix = std::process::id();
    let return_url = format!("{}/return", receiver.url);
    let deposit = |order: &str| {
        let mut b = DepositRequest::builder(order, Money::parse("100.50", currency)?)
            .customer_name("john")
            .email("john@example.com")
            .phone("601012456789");
        if provider == paybridge::providers::ONE1PAY {
            b = b
                .bank_id("101")
                .payment_method("thaiqr")
                .redirect_url(return_url.clone())
                .customer_bank_holder_name("John Doe")
                .customer_bank_account("1234567890");
        }
        b.build()
    };
    for outcome in &OUTCOMES {
        let request = deposit(&format!("DEMO-{provider}-{}-{suffix}", outcome.label));
        deposit_life(steps, provider, gateway, receiver, outcome, request).await;
    }
    if let Some(bank_id) = banks.and_then(|b| b.first().map(|b| b.id.clone())) {
        payout_life(
            steps,
            provider,
            gateway,
            harness_base,
            receiver,
            (currency, bank_id),
        )
        .await;
    }
    if provider == paybridge::providers::ONE1PAY {
        steps
            .run(provider, "balance", async {
                let b = gateway
                    .balance(&paybridge::Currency::new(currency)?)
                    .await?;
                Ok::<_, Error>(format!("{} available", b.available))
            })
            .await;
    } else if let Some(cur) = &cur {
        steps
            .run(provider, "balance is unsupported", async {
                refused_as_unsupported(gateway.balance(cur).await)
            })
            .await;
    }
    let forged = format!(
        r#"{{"order_id":"DEMO-{provider}-paid-{suffix}","amount":"1000000","currency":"{currency}","order_status":"completed","status":true,"token":"{}","type":"deposit"}}"#,
        "0".repeat(32)
    );
    steps
        .run(
            provider,
            "forged callback rejected",
            forged_rejected(&receiver.url, provider, forged),
        )
        .await;
}

/// One payout's life: sent once, its status asked, settled by the provider
/// (the sandbox's operator endpoint) and the callback verified and confirmed.
async fn payout_life(
    steps: &mut Steps,
    provider: Provider,
    gateway: &Gateway,
    sandbox_base: &str,
    receiver: &mut Receiver,
    (currency, bank_id): (&str, String),
) {
    let payout_id = format!("DEMO-{provider}-payout-{}", std::process::id());
    let sent = steps
        .run(provider, "withdrawal created", async {
            let request = WithdrawalRequest::builder(
                &payout_id,
                Money::parse("250", currency)?,
                bank_id,
                "John Doe",
                "1234567890",
            )
            .build()?;
            let receipt = gateway.create_withdrawal(&request).await?;
            Ok::<_, Error>(format!(
                "accepted, provider_ref {}",
                receipt.provider_ref.as_deref().unwrap_or("-")
            ))
        })
        .await;
    if sent.is_none() {
        return;
    }
    steps
        .run(provider, "withdrawal status", async {
            let query = StatusQuery::new(OrderId::new(&payout_id).map_err(|e| e.to_string())?);
            let report = gateway
                .withdrawal_status(&query)
                .await
                .map_err(|e| e.to_string())?;
            // Vpay88 calls an unsettled payout `pending`, One1Pay `proccess`:
            // in flight either way.
            expect_status(&report, OrderStatus::Processing)
        })
        .await;
    steps
        .run(provider, "withdrawal settled by provider", async {
            let r = settle_in_back_office(
                sandbox_base,
                provider,
                "withdrawals",
                &payout_id,
                "completed",
            )
            .await?;
            if r.status().is_success() {
                Ok("completed".to_string())
            } else {
                Err(format!("HTTP {}", r.status()))
            }
        })
        .await;
    steps
        .run(provider, "callback", async {
            receiver.next(&payout_id).await.and_then(|d| describe(&d))
        })
        .await;
}

async fn onepunch(steps: &mut Steps, gateway: &Gateway, receiver: &mut Receiver) {
    let provider = paybridge::providers::ONEPUNCH;
    let methods = steps
        .run(provider, "payment methods", async {
            let methods = gateway.payment_methods().await?;
            let codes: Vec<&str> = methods.iter().map(|m| m.code.as_str()).collect();
            Ok::<_, Error>(codes.join(", "))
        })
        .await;
    steps
        .run(provider, "allowed amounts", gateway.currencies())
        .await;
    if methods.is_none() {
        return;
    }
    let suffix = std::process::id();
    for outcome in &OUTCOMES {
        let request = Money::parse("10.00", "CNY").and_then(|amount| {
            DepositRequest::builder(format!("DEMO-punch-{}-{suffix}", outcome.label), amount)
                .payment_method("ali-person")
                .build()
        });
        deposit_life(steps, provider, gateway, receiver, outcome, request).await;
    }
    steps
        .run(provider, "withdrawal is unsupported", async {
            let request = Money::parse("1", "CNY").and_then(|amount| {
                WithdrawalRequest::builder("DEMO-punch-w", amount, "1", "J", "1").build()
            });
            match request {
                Ok(request) => refused_as_unsupported(gateway.create_withdrawal(&request).await),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    let forged = format!(
        r#"{{"monster_token":"MON-demo","transaction_status":true,"message":"TRANSACTION SUCCEED","amount":100000,"order_num":"DEMO-punch-paid-{suffix}","signature":"{}"}}"#,
        "0".repeat(32)
    );
    steps
        .run(
            provider,
            "forged notification rejected",
            forged_rejected(&receiver.url, provider, forged),
        )
        .await;
}

/// The ledger around a Vpay88 payout: recorded before it is sent, never sent
/// twice, then settled at the provider while the merchant's ledger still says
/// processing, and resolved by `paybridge reconcile` from the ledger.
async fn ledger_life(steps: &mut Steps, sandbox: &paybridge_sandbox::Sandbox) {
    let provider = paybridge::providers::VPAY88;
    let sandbox_base = sandbox.base_url();
    let dir = std::env::temp_dir().join(format!("paybridge-demo-{}", std::process::id()));
    let payout_id = "DEMO-ledger-payout";
    let set_up = async {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::local("the demo's ledger directory", e))?;
        let mut config = crate::harness::demo_config(&sandbox_base, None)?;
        config.ledger.url = Some(format!("sqlite://{}", dir.join("ledger.db").display()));
        let ledger = config
            .open_ledger()
            .await?
            .ok_or_else(|| Error::local("the demo", "no ledger configured"))?;
        let gateway = Gateway::for_provider(&config, provider)?.with_ledger(ledger);
        Ok::<_, Error>((config, gateway))
    };
    let Some((config, gateway)) = steps
        .run(provider, "ledger opened (SQLite)", async {
            set_up.await.map(|built| {
                let summary = format!("migrations applied to {}", dir.join("ledger.db").display());
                (built, summary)
            })
        })
        .await
        .map(|(built, _)| built)
    else {
        return;
    };
    let request = Money::parse("75", "MYR").and_then(|amount| {
        WithdrawalRequest::builder(payout_id, amount, "101", "John Doe", "1234567890").build()
    });
    let Ok(request) = request else {
        return;
    };
    steps
        .run(provider, "ledger: payout recorded, then sent", async {
            let receipt = gateway.create_withdrawal(&request).await?;
            Ok::<_, Error>(format!(
                "{}, recorded as sending before it left",
                receipt.status
            ))
        })
        .await;
    steps
        .run(provider, "ledger: same payout id not resent", async {
            let receipt = gateway
                .create_withdrawal(&request)
                .await
                .map_err(|e| e.to_string())?;
            let creates: u32 = sandbox
                .create_requests()
                .iter()
                .filter(|((_, _, id), _)| id == payout_id)
                .map(|(_, n)| *n)
                .sum();
            match (receipt.learned_from, creates) {
                (paybridge::LearnedFrom::Ledger, 1) => Ok(format!(
                    "answered from the ledger ({}); the provider saw 1 create",
                    receipt.status
                )),
                (from, n) => Err(format!(
                    "learned from {from:?}, the provider saw {n} creates"
                )),
            }
        })
        .await;
    steps
        .run(provider, "payout settled at the provider", async {
            let answer = settle_in_back_office(
                &sandbox_base,
                provider,
                "withdrawals",
                payout_id,
                "completed",
            )
            .await?;
            match answer.status().is_success() {
                true => Ok("completed; the ledger still says processing".to_owned()),
                false => Err(format!("the sandbox answered HTTP {}", answer.status())),
            }
        })
        .await;
    steps
        .run(provider, "reconcile from the ledger", async {
            let options = crate::reconcile::Options {
                input: None,
                concurrency: 8,
                rate: None,
                state: None,
                progress: false,
            };
            let mut rows = Vec::new();
            crate::reconcile::run(&config, &options, &mut rows)
                .await
                .map_err(|e| e.to_string())?;
            match rows.as_slice() {
                [row] if row.verdict == "advanced" && row.provider_status == "completed" => {
                    Ok(format!(
                        "{}: {} -> {} ({})",
                        row.order_id, row.merchant_status, row.provider_status, row.verdict
                    ))
                }
                rows => Err(format!("expected one advanced payout, got {rows:?}")),
            }
        })
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the demo; `Ok(true)` when every step behaved.
pub async fn run() -> Result<bool, Error> {
    let started = Instant::now();
    let Harness {
        sandbox,
        mut receiver,
        gateways,
    } = Harness::start(SandboxConfig::default()).await?;
    println!(
        "paybridge demo: sandbox at {}, callbacks to {}",
        sandbox.base_url(),
        receiver.url
    );
    println!(
        "dashboard: {}/ (every order, request and callback, while the demo runs)",
        sandbox.base_url()
    );
    println!();
    let mut steps = Steps::default();
    let sandbox_base = sandbox.base_url();
    for (provider, gateway) in &gateways {
        match *provider {
            paybridge::providers::ONEPUNCH => onepunch(&mut steps, gateway, &mut receiver).await,
            _ => form_provider(&mut steps, *provider, gateway, &sandbox_base, &mut receiver).await,
        }
    }
    ledger_life(&mut steps, &sandbox).await;
    crate::demo_serve::serve_life(&mut steps).await;
    println!();
    println!(
        "{} steps, {} failed, {:.2?}",
        steps.count,
        steps.failures,
        started.elapsed()
    );
    Ok(steps.failures == 0)
}
