//! What each profile answers to the same form-API request: `documented`
//! keeps to the providers' documents, `observed` answers as live servers are
//! seen to by public merchant integrations.

use paybridge_sandbox::{Profile, Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_USERNAME};
use serde_json::{json, Value};

/// How a form is sent.
#[derive(Debug, Clone, Copy)]
enum Body {
    Multipart,
    Urlencoded,
}

struct Emulator {
    sandbox: Sandbox,
    client: reqwest::Client,
}

impl Emulator {
    async fn start(profile: Profile) -> Self {
        let config = SandboxConfig {
            profile,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        assert_eq!(sandbox.profile(), profile);
        Self {
            sandbox,
            client: reqwest::Client::new(),
        }
    }

    async fn post_as(&self, body: Body, path: &str, fields: &[(&str, &str)]) -> Value {
        let url = format!("{}{path}", self.sandbox.base_url());
        let request = self.client.post(url);
        let request = match body {
            Body::Urlencoded => request.form(fields),
            Body::Multipart => {
                let form = fields
                    .iter()
                    .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
                        form.text(k.to_string(), v.to_string())
                    });
                request.multipart(form)
            }
        };
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Posts as the documents' PHP clients do: multipart.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Value {
        self.post_as(Body::Multipart, path, fields).await
    }

    async fn auth(&self, provider: &str) -> Value {
        self.post(
            &format!("/{provider}/merchant/auth"),
            &[("username", DEMO_USERNAME), ("api_key", DEMO_API_KEY)],
        )
        .await
    }

    /// A fresh auth token.
    async fn token(&self, provider: &str) -> String {
        self.auth(provider).await["auth"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Posts `fields` to `provider`'s `operation` beside a fresh auth token.
    async fn authed(&self, provider: &str, operation: &str, fields: &[(&str, &str)]) -> Value {
        let token = self.token(provider).await;
        let mut form = vec![("auth", token.as_str())];
        form.extend_from_slice(fields);
        self.post(&format!("/{provider}/merchant/{operation}"), &form)
            .await
    }

    async fn deposit(&self, provider: &str, fields: &[(&str, &str)]) -> Value {
        self.authed(provider, "generate_orders", fields).await
    }

    async fn payout(&self, provider: &str, fields: &[(&str, &str)]) -> Value {
        self.authed(provider, "withdraw_orders", fields).await
    }
}

fn params_missing() -> Value {
    json!({ "status": false, "message": "Params missing." })
}

fn accepted(answer: &Value) -> bool {
    answer["status"] == json!(true)
}

/// A numeric id sent as a string, as live servers answer them.
fn is_numeric_id(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

fn keys(answer: &Value) -> Vec<&str> {
    answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn auth_answers_an_order_id_beside_the_token_only_under_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        for provider in ["vpay88", "one1pay"] {
            let answer = emulator.auth(provider).await;
            assert!(accepted(&answer), "{profile} {provider}: {answer}");
            match profile {
                Profile::Documented => {
                    assert_eq!(keys(&answer), ["auth", "status"], "{provider}: {answer}")
                }
                Profile::Observed => {
                    assert_eq!(keys(&answer), ["auth", "order_id", "status"]);
                    assert!(is_numeric_id(&answer["order_id"]), "{answer}");
                }
            }
        }
    }
}

/// A Vpay88 MYR deposit, with `contact` beside the fields every deposit has.
async fn myr_deposit(emulator: &Emulator, order_id: &str, contact: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        ("username", "john"),
        ("amount", "100"),
        ("currency", "MYR"),
        ("orderid", order_id),
    ];
    fields.extend_from_slice(contact);
    emulator.deposit("vpay88", &fields).await
}

#[tokio::test]
async fn a_deposit_without_email_and_phone_is_refused_as_documented_and_accepted_as_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        let without = myr_deposit(&emulator, "NO-CONTACT", &[]).await;
        let email_only = myr_deposit(&emulator, "EMAIL-ONLY", &[("email", "j@example.com")]).await;
        let both = myr_deposit(
            &emulator,
            "CONTACT",
            &[("email", "j@example.com"), ("phone_number", "60123")],
        )
        .await;
        assert!(accepted(&both), "{profile}: {both}");
        match profile {
            Profile::Documented => {
                assert_eq!(without, params_missing());
                assert_eq!(email_only, params_missing());
            }
            Profile::Observed => {
                assert!(accepted(&without), "{without}");
                assert!(without["p_url"].is_string(), "{without}");
                assert!(accepted(&email_only), "{email_only}");
            }
        }
        // An email that is given is still checked, under either profile.
        let wrong = myr_deposit(
            &emulator,
            "BAD-EMAIL",
            &[("email", "john@localhost"), ("phone_number", "60123")],
        )
        .await;
        assert_eq!(
            wrong,
            json!({ "status": false, "message": "email incorrect." }),
            "{profile}"
        );
    }
}

/// A One1Pay THB deposit paid by `method`, with `bank` beside the rest.
async fn thb_deposit(
    emulator: &Emulator,
    order_id: &str,
    method: &str,
    bank: &[(&str, &str)],
) -> Value {
    let mut fields = vec![
        ("username", "john"),
        ("amount", "100"),
        ("currency", "THB"),
        ("orderid", order_id),
        ("email", "j@example.com"),
        ("phone_number", "66123"),
        ("redirect_url", "http://127.0.0.1:9/back"),
        ("pay_method", method),
    ];
    fields.extend_from_slice(bank);
    emulator.deposit("one1pay", &fields).await
}

const PAYER_BANK: &[(&str, &str)] = &[
    ("bank_id", "101"),
    ("customer_bank_holder_name", "John"),
    ("customer_bank_account", "123"),
];

#[tokio::test]
async fn a_truemoney_deposit_without_the_payers_bank_is_accepted_only_as_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        let wallet = thb_deposit(&emulator, "TM-1", "truemoney", &[]).await;
        match profile {
            Profile::Documented => assert_eq!(wallet, params_missing()),
            Profile::Observed => {
                assert!(accepted(&wallet), "{wallet}");
                assert!(wallet["payment_id"].is_string(), "{wallet}");
            }
        }
        // A bank transfer needs the payer's bank under either profile.
        let qr = thb_deposit(&emulator, "QR-1", "thaiqr", &[]).await;
        assert_eq!(qr, params_missing(), "{profile}");
        for (order_id, method) in [("TM-2", "truemoney"), ("QR-2", "thaiqr")] {
            let with_bank = thb_deposit(&emulator, order_id, method, PAYER_BANK).await;
            assert!(accepted(&with_bank), "{profile} {method}: {with_bank}");
        }
    }
}

/// A MYR payout to `bank`, one of the sandbox's MYR banks for the provider
/// (Vpay88 `101`, One1Pay `601`).
fn myr_payout<'a>(order_id: &'a str, bank: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("amount", "100"),
        ("currency", "MYR"),
        ("orderid", order_id),
        ("bank_id", bank),
        ("holder_name", "John"),
        ("account_no", "123"),
    ]
}

#[tokio::test]
async fn a_payout_is_answered_with_a_withdraw_order_id_and_no_message_only_as_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        for (provider, bank) in [("vpay88", "101"), ("one1pay", "601")] {
            let order_id = format!("PAYOUT-{provider}");
            let answer = emulator
                .payout(provider, &myr_payout(&order_id, bank))
                .await;
            let held = emulator
                .sandbox
                .orders()
                .into_iter()
                .find(|o| o.order_id == order_id)
                .unwrap();
            let one1pay = provider == "one1pay";
            match profile {
                Profile::Documented => {
                    let mut want = json!({ "status": true, "message": "Success" });
                    if one1pay {
                        want["payment_id"] = json!(held.payment_id);
                    }
                    assert_eq!(answer, want, "{provider}");
                    assert_eq!(held.withdraw_order_id, None);
                }
                Profile::Observed => {
                    assert!(accepted(&answer), "{provider}: {answer}");
                    assert!(answer.get("message").is_none(), "{provider}: {answer}");
                    assert!(is_numeric_id(&answer["withdraw_order_id"]), "{answer}");
                    assert_eq!(
                        held.withdraw_order_id.as_deref(),
                        answer["withdraw_order_id"].as_str()
                    );
                    // One1Pay's own reference stays.
                    assert_eq!(
                        answer.get("payment_id"),
                        one1pay.then(|| json!(held.payment_id)).as_ref(),
                        "{provider}: {answer}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_form_is_taken_as_multipart_and_as_urlencoded_under_either_profile() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        for (n, body) in [Body::Multipart, Body::Urlencoded].into_iter().enumerate() {
            let auth = emulator
                .post_as(
                    body,
                    "/vpay88/merchant/auth",
                    &[("username", DEMO_USERNAME), ("api_key", DEMO_API_KEY)],
                )
                .await;
            let token = auth["auth"].as_str().unwrap();
            let order_id = format!("BODY-{n}");
            let created = emulator
                .post_as(
                    body,
                    "/vpay88/merchant/generate_orders",
                    &[
                        ("auth", token),
                        ("username", "john"),
                        ("amount", "100"),
                        ("currency", "MYR"),
                        ("orderid", &order_id),
                        ("email", "j@example.com"),
                        ("phone_number", "60123"),
                    ],
                )
                .await;
            assert!(accepted(&created), "{profile} {body:?}: {created}");
            let status = emulator
                .post_as(
                    body,
                    "/vpay88/merchant/check_status",
                    &[("username", DEMO_USERNAME), ("id", &order_id)],
                )
                .await;
            assert_eq!(status["order_status"], "pending", "{profile} {body:?}");
        }
    }
}

#[tokio::test]
async fn bank_code_stands_for_bank_id_only_as_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        let deposit = emulator
            .deposit(
                "vpay88",
                &[
                    ("username", "john"),
                    ("amount", "100"),
                    ("currency", "THB"),
                    ("orderid", "CODE-D"),
                    ("email", "j@example.com"),
                    ("phone_number", "66123"),
                    ("bank_code", "401"),
                ],
            )
            .await;
        let mut payout = myr_payout("CODE-W", "101");
        payout.retain(|(name, _)| *name != "bank_id");
        payout.push(("bank_code", "101"));
        let payout = emulator.payout("vpay88", &payout).await;
        match profile {
            Profile::Documented => {
                assert_eq!(deposit, params_missing());
                assert_eq!(payout, params_missing());
            }
            Profile::Observed => {
                assert!(accepted(&deposit), "{deposit}");
                assert!(accepted(&payout), "{payout}");
            }
        }
    }
}

#[tokio::test]
async fn vpay88_lists_and_takes_usdt_only_as_observed() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        let listed = emulator
            .post("/vpay88/merchant/currency", &[("username", DEMO_USERNAME)])
            .await;
        let currencies: Vec<&str> = listed["rate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["currency"].as_str().unwrap())
            .collect();
        let deposit = emulator
            .deposit(
                "vpay88",
                &[
                    ("username", "john"),
                    ("amount", "100"),
                    ("currency", "USDT"),
                    ("orderid", "USDT-1"),
                    ("email", "j@example.com"),
                    ("phone_number", "60123"),
                ],
            )
            .await;
        let observed = profile == Profile::Observed;
        assert_eq!(
            currencies.contains(&"USDT"),
            observed,
            "{profile}: {listed}"
        );
        if observed {
            assert!(accepted(&deposit), "{deposit}");
        } else {
            assert_eq!(
                deposit,
                json!({ "status": false, "message": "Currency invalid." })
            );
        }
        // One1Pay's documented currencies are the same under either profile.
        let one1pay = emulator
            .post("/one1pay/merchant/currency", &[("username", DEMO_USERNAME)])
            .await;
        assert_eq!(one1pay["rate"].as_array().unwrap().len(), 8, "{profile}");
    }
}

#[tokio::test]
async fn the_dashboard_names_the_profile() {
    for profile in Profile::ALL {
        let emulator = Emulator::start(profile).await;
        let response = reqwest::get(format!("{}/", emulator.sandbox.base_url())).await;
        let page = response.unwrap().text().await.unwrap();
        assert!(
            page.contains(&format!(
                "Profile <strong>{profile}</strong>: {}.",
                profile.meaning()
            )),
            "{page}"
        );
    }
}
