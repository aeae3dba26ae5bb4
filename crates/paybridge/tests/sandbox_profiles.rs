//! The same deposit, payout and status flows through the Vpay88, One1Pay and
//! ONE-PUNCH gateways against the sandbox under each profile: `documented`
//! refuses what the documents require and a request leaves out, `observed`
//! takes it as live servers are seen to, and ONE-PUNCH answers the same under
//! both.

use paybridge::{
    Config, DepositRequest, DepositRequestBuilder, Error, Gateway, Money, OrderStatus, Provider,
    StatusQuery, WithdrawalRequest,
};
use paybridge_sandbox::{
    Profile, Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_MONSTER_KEY, DEMO_MONSTER_TOKEN,
    DEMO_SECRET_KEY, DEMO_USERNAME,
};

/// A sandbox answering by `profile`, and a gateway for each provider at it.
struct Merchant {
    sandbox: Sandbox,
    profile: Profile,
    vpay88: Gateway,
    one1pay: Gateway,
    onepunch: Gateway,
}

impl Merchant {
    async fn start(profile: Profile) -> Self {
        let config = SandboxConfig {
            profile,
            // Nothing listens at the notify URL: one attempt is enough.
            callback_attempts: 1,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let base = sandbox.base_url();
        let form_api = |provider: Provider| {
            format!(
                "[{provider}]\nbase_url = \"{base}/{provider}\"\nusername = \"{DEMO_USERNAME}\"\n\
                 api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n"
            )
        };
        let text = format!(
            "{}{}[onepunch]\nbase_url = \"{base}/onepunch\"\nmonster_token = \"{DEMO_MONSTER_TOKEN}\"\n\
             monster_key = \"{DEMO_MONSTER_KEY}\"\nnotify_url = \"http://127.0.0.1:9/notify\"\n\
             return_url = \"http://127.0.0.1:9/back\"\n[http]\nresolve_delay_ms = 20\n",
            form_api(paybridge::providers::VPAY88),
            form_api(paybridge::providers::ONE1PAY),
        );
        let config = Config::from_toml(&text, "sandbox_profiles.toml").unwrap();
        let gateway = |provider| Gateway::for_provider(&config, provider).unwrap();
        Self {
            vpay88: gateway(paybridge::providers::VPAY88),
            one1pay: gateway(paybridge::providers::ONE1PAY),
            onepunch: gateway(paybridge::providers::ONEPUNCH),
            sandbox,
            profile,
        }
    }

    fn gateway(&self, provider: Provider) -> &Gateway {
        match provider {
            paybridge::providers::VPAY88 => &self.vpay88,
            paybridge::providers::ONE1PAY => &self.one1pay,
            _ => &self.onepunch,
        }
    }

    /// Settles an order as the provider's back office would (ONE-PUNCH: by
    /// payment token).
    async fn settle(&self, provider: Provider, kind: &str, id: &str) {
        let url = format!(
            "{}/{provider}/_sandbox/{kind}/{id}/settle",
            self.sandbox.base_url()
        );
        let response = reqwest::Client::new()
            .post(url)
            .form(&[("outcome", "completed")])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{provider} {kind} {id}");
    }

    /// Creates a deposit; when taken, settles it and asks its status, which
    /// must say completed.
    async fn deposit_flow(&self, provider: Provider, request: DepositRequest) -> Result<(), Error> {
        let gateway = self.gateway(provider);
        let order = gateway.create_deposit(&request).await?;
        assert!(order.payment_url.starts_with("http"), "{order:?}");
        if provider == paybridge::providers::VPAY88 {
            // Vpay88's own answer names no reference: the auth answer's
            // `order_id`, which only an observed server gives, is the one kept.
            let from_auth = order.provider_ref.as_deref();
            match self.profile {
                Profile::Documented => assert_eq!(from_auth, None, "{order:?}"),
                Profile::Observed => assert!(
                    from_auth
                        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit())),
                    "{order:?}"
                ),
            }
        }
        let mut query = StatusQuery::new(order.order_id.clone());
        let settled_as = match provider {
            paybridge::providers::ONEPUNCH => {
                let token = order.provider_ref.clone().expect("a payment token");
                query = query.with_provider_ref(token.clone());
                token
            }
            _ => order.order_id.to_string(),
        };
        self.settle(provider, "deposits", &settled_as).await;
        let report = gateway.deposit_status(&query).await?;
        assert_eq!(
            report.status,
            OrderStatus::Completed,
            "{} {provider}: {report:?}",
            self.profile
        );
        Ok(())
    }

    /// What the sandbox holds of a form-API order.
    fn held(&self, order_id: &str) -> paybridge_sandbox::state::Order {
        self.sandbox
            .orders()
            .into_iter()
            .find(|o| o.order_id == order_id)
            .unwrap()
    }
}

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

/// A deposit by `john` in `currency`, with no email and no phone.
fn without_contact(order_id: &str, currency: &str) -> DepositRequestBuilder {
    DepositRequest::builder(order_id, money("100", currency))
        .customer_name("john")
        .redirect_url("http://127.0.0.1:9/back")
}

fn with_contact(order_id: &str, currency: &str) -> DepositRequestBuilder {
    without_contact(order_id, currency)
        .email("john@example.com")
        .phone("601012456789")
}

/// A One1Pay THB deposit paid by bank transfer, with the payer's bank.
fn thaiqr(builder: DepositRequestBuilder) -> DepositRequest {
    builder
        .payment_method("thaiqr")
        .bank_id("101")
        .customer_bank_holder_name("John")
        .customer_bank_account("123")
        .build()
        .unwrap()
}

/// What the documented profile answers to a deposit that leaves out a field
/// the documents list: a documented refusal, nothing held.
fn assert_params_missing(result: Result<(), Error>, what: &str) {
    match result {
        Err(Error::Provider {
            message,
            documented,
            ..
        }) => {
            assert_eq!(message, "Params missing.", "{what}");
            assert!(documented, "{what}: the documents write it");
        }
        other => panic!("{what}: expected `Params missing.`, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_with_email_and_phone_is_paid_under_either_profile() {
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        let vpay88 = with_contact("FULL-V", "MYR").build().unwrap();
        m.deposit_flow(paybridge::providers::VPAY88, vpay88)
            .await
            .unwrap();
        let one1pay = thaiqr(with_contact("FULL-O", "THB"));
        m.deposit_flow(paybridge::providers::ONE1PAY, one1pay)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_without_email_and_phone_is_refused_as_documented_and_paid_as_observed() {
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        let vpay88 = without_contact("NO-CONTACT-V", "MYR").build().unwrap();
        let one1pay = thaiqr(without_contact("NO-CONTACT-O", "THB"));
        let sent = [
            (
                paybridge::providers::VPAY88,
                m.deposit_flow(paybridge::providers::VPAY88, vpay88).await,
            ),
            (
                paybridge::providers::ONE1PAY,
                m.deposit_flow(paybridge::providers::ONE1PAY, one1pay).await,
            ),
        ];
        for (provider, result) in sent {
            match profile {
                Profile::Documented => assert_params_missing(result, provider.as_str()),
                Profile::Observed => result.unwrap(),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truemoney_deposit_without_the_payers_bank_is_refused_as_documented_and_paid_as_observed()
{
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        // The adapter sends a wallet's deposit without the payer's bank.
        let request = with_contact("TRUEMONEY-1", "THB")
            .payment_method("truemoney")
            .build()
            .unwrap();
        let result = m.deposit_flow(paybridge::providers::ONE1PAY, request).await;
        match profile {
            Profile::Documented => assert_params_missing(result, "truemoney"),
            Profile::Observed => result.unwrap(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_is_settled_and_its_receipt_names_the_reference_each_profile_answers() {
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        for (provider, bank) in [
            (paybridge::providers::VPAY88, "101"),
            (paybridge::providers::ONE1PAY, "601"),
        ] {
            let order_id = format!("PAYOUT-{provider}");
            let request = WithdrawalRequest::builder(
                order_id.as_str(),
                money("100", "MYR"),
                bank,
                "John",
                "123",
            )
            .build()
            .unwrap();
            let gateway = m.gateway(provider);
            let receipt = gateway.create_withdrawal(&request).await.unwrap();
            assert_eq!(
                receipt.status,
                OrderStatus::Processing,
                "{profile} {provider}"
            );
            let held = m.held(&order_id);
            // One1Pay's documented `payment_id` comes first; a Vpay88 payout
            // is named by the `withdraw_order_id` live servers answer.
            let want = match (provider, profile) {
                (paybridge::providers::ONE1PAY, _) => Some(held.payment_id.clone()),
                (_, Profile::Observed) => {
                    let id = held.withdraw_order_id.clone();
                    assert!(id.is_some(), "observed answers a withdraw_order_id");
                    id
                }
                _ => None,
            };
            assert_eq!(receipt.provider_ref, want, "{profile} {provider}");

            m.settle(provider, "withdrawals", &order_id).await;
            let report = gateway
                .withdrawal_status(&StatusQuery::new(order_id.parse().unwrap()))
                .await
                .unwrap();
            assert_eq!(
                report.status,
                OrderStatus::Completed,
                "{profile} {provider}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_onepunch_payment_is_paid_alike_under_either_profile() {
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        let request = DepositRequest::builder("PUNCH-1", money("10.00", "CNY"))
            .payment_method("ali-person")
            .build()
            .unwrap();
        m.deposit_flow(paybridge::providers::ONEPUNCH, request)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usdt_on_vpay88_is_paid_as_observed_and_refused_before_sending_as_documented() {
    for profile in Profile::ALL {
        let m = Merchant::start(profile).await;
        let request = with_contact("USDT-1", "USDT").build().unwrap();
        let result = m.deposit_flow(paybridge::providers::VPAY88, request).await;
        match profile {
            // The account's published list leaves USDT out.
            Profile::Documented => match result {
                Err(Error::InvalidRequest { field, .. }) => assert_eq!(field, "currency"),
                other => panic!("USDT refused naming currency, got {other:?}"),
            },
            Profile::Observed => result.unwrap(),
        }
        let sent = m.sandbox.create_requests().contains_key(&(
            "vpay88".to_owned(),
            paybridge_sandbox::state::Kind::Deposit,
            "USDT-1".to_owned(),
        ));
        assert_eq!(sent, profile == Profile::Observed, "{profile}");
    }
}
