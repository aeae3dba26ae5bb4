//! What each command does: the gateway it builds, the call it makes, and the
//! value it hands to [`crate::output`].

use std::io::Read;
use std::path::PathBuf;

use paybridge::{CallbackRequest, Config, Currency, Error, Gateway, OrderKind};
use serde_json::{json, Value};

use crate::args::{
    BankList, CallbackCommand, Cli, Command, DepositCommand, ReconcileArgs, WithdrawalCommand,
};
use crate::output::{money_fields, report_json};

/// The configuration `--config` names (or `paybridge.toml`), with the environment.
pub fn config(cli: &Cli) -> Result<Config, Error> {
    let path = cli.config.clone().unwrap_or_else(paybridge::default_path);
    Config::load(&path)
}

/// The gateway the command line selects, keeping its orders in the
/// configured ledger when there is one.
async fn gateway(cli: &Cli) -> Result<Gateway, Error> {
    let config = config(cli)?;
    let gateway = select(cli, &config)?;
    Ok(match config.open_ledger().await? {
        Some(ledger) => gateway.with_ledger(ledger),
        None => gateway,
    })
}

/// The gateway `--account` / `--provider` / the file's `provider` names.
fn select(cli: &Cli, config: &Config) -> Result<Gateway, Error> {
    let provider = cli
        .provider
        .as_deref()
        .map(|name| config.provider_named(name))
        .transpose()?;
    match (&cli.account, provider) {
        (Some(account), provider) => {
            let gateway = Gateway::for_account(config, account)?;
            match provider {
                Some(provider) if provider != gateway.provider() => Err(Error::Config {
                    key: "--provider".into(),
                    reason: format!(
                        "names {provider}, but account {account} is a {} account",
                        gateway.provider()
                    ),
                }),
                _ => Ok(gateway),
            }
        }
        (None, Some(provider)) => Gateway::for_provider(config, provider),
        (None, None) => Gateway::from_config(config),
    }
}

fn currency(code: Option<&String>) -> Result<Option<Currency>, Error> {
    code.map(|c| Currency::new(c)).transpose()
}

/// Runs one gateway command and returns what it prints.
pub async fn run(cli: Cli) -> Result<Value, Error> {
    let gateway = gateway(&cli).await?;
    match cli.command {
        Command::Currencies => {
            let limits = gateway.currencies().await?;
            Ok(Value::Array(
                limits
                    .iter()
                    .map(|l| {
                        json!({
                            "currency": l.currency,
                            "min": l.min.to_string(),
                            "max": l.max.to_string(),
                            "allowed_amounts": l.allowed_amounts.as_ref().map(|a| a.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
                        })
                    })
                    .collect(),
            ))
        }
        Command::Banks {
            which,
            currency: code,
        } => {
            let code = currency(code.as_ref())?;
            let banks = match which {
                BankList::Deposit => gateway.deposit_banks(code.as_ref()).await?,
                BankList::Withdrawal => gateway.withdrawal_banks(code.as_ref()).await?,
            };
            Ok(serde_json::to_value(banks).unwrap_or_default())
        }
        Command::Fields { kind, currency } => {
            let kind = match kind {
                BankList::Deposit => OrderKind::Deposit,
                BankList::Withdrawal => OrderKind::Withdrawal,
            };
            let rules = gateway.request_fields(kind, &Currency::new(&currency)?);
            Ok(Value::Array(
                rules
                    .iter()
                    .map(|r| {
                        json!({
                            "field": r.field,
                            "use": r.usage.as_str(),
                            "sent_as": r.sent_as,
                            "reason": r.reason,
                        })
                    })
                    .collect(),
            ))
        }
        Command::Methods => {
            let methods = gateway.payment_methods().await?;
            Ok(Value::Array(
                methods
                    .iter()
                    .map(|m| json!({ "code": m.code, "name": m.name }))
                    .collect(),
            ))
        }
        Command::Deposit(DepositCommand::Create(args)) => {
            let request = args.into_request()?;
            let order = gateway.create_deposit(&request).await?;
            Ok(json!({
                "order_id": order.order_id,
                "payment_url": order.payment_url,
                "provider_ref": order.provider_ref,
            }))
        }
        Command::Deposit(DepositCommand::Status(args)) => Ok(report_json(
            &gateway.deposit_status(&args.into_query()?).await?,
        )),
        Command::Withdrawal(WithdrawalCommand::Create(args)) => {
            let receipt = gateway.create_withdrawal(&args.into_request()?).await?;
            Ok(json!({
                "order_id": receipt.order_id,
                "status": receipt.status,
                "provider_status": receipt.provider_status,
                "learned_from": receipt.learned_from,
                "provider_ref": receipt.provider_ref,
            }))
        }
        Command::Withdrawal(WithdrawalCommand::Status(args)) => Ok(report_json(
            &gateway.withdrawal_status(&args.into_query()?).await?,
        )),
        Command::Balance { currency: code } => {
            let balance = gateway.balance(&Currency::new(&code)?).await?;
            Ok(money_fields(json!({}), "available", &balance.available))
        }
        Command::Sandbox { .. }
        | Command::Demo
        | Command::Reconcile(_)
        | Command::Ledger(_)
        | Command::Webhooks(_)
        | Command::Serve { .. } => Err(Error::invalid(
            "command",
            "handled before any gateway is built",
        )),
        Command::Callback(CallbackCommand::Verify {
            file,
            confirm,
            content_type,
            provider_ref,
            explain,
        }) => {
            let body = read_body(file.as_ref())?;
            let request = CallbackRequest::new(&body)
                .with_content_type(content_type.as_deref())
                .with_provider_ref(provider_ref.as_deref());
            let event = gateway.verify(&request).inspect_err(|err| {
                if explain {
                    explain_rejection(err);
                }
            })?;
            let confirmed = if confirm {
                Some(gateway.confirm(&event).await?)
            } else {
                None
            };
            // The Vpay88/One1Pay token covers only the order id.
            let unconfirmed: &[&str] = if confirmed.is_none()
                && event.provider != paybridge::providers::ONEPUNCH
            {
                eprintln!(
                    "warning: the token verified, but {} signs only the order id: amount and status are unconfirmed until --confirm asks the provider",
                    event.provider
                );
                &["amount", "status"]
            } else {
                &[]
            };
            let value = json!({
                "provider": event.provider,
                "account": gateway.account(),
                "kind": event.kind,
                "order_id": event.order_id,
                "status": event.status,
                "provider_status": event.provider_status,
                "charge": event.charge.map(|c| c.to_string()),
                "provider_ref": event.provider_ref,
                "confirmed": confirmed.is_some(),
                "unconfirmed": unconfirmed,
            });
            Ok(money_fields(value, "amount", &event.amount))
        }
    }
}

/// Prints why a token or signature did not verify, for `--explain`.
fn explain_rejection(err: &Error) {
    let Error::CallbackRejected(paybridge::CallbackRejection::BadSignature { explanation }) = err
    else {
        return;
    };
    match explanation {
        Some(explanation) => {
            eprintln!("{explanation}");
            eprintln!("expected digest:       {}", explanation.expected());
        }
        None => {
            eprintln!("the body names another account than the configured one; nothing to compare")
        }
    }
}

fn read_body(file: Option<&PathBuf>) -> Result<Vec<u8>, Error> {
    let limit = paybridge::MAX_CALLBACK_BODY;
    let mut body = Vec::new();
    let read = match file {
        Some(path) => {
            std::fs::File::open(path).and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut body))
        }
        None => std::io::stdin()
            .take(limit as u64 + 1)
            .read_to_end(&mut body),
    };
    read.map_err(|e| Error::invalid("file", e.to_string()))?;
    if body.len() > limit {
        return Err(Error::CallbackRejected(
            paybridge::CallbackRejection::TooLarge {
                size: body.len(),
                limit,
            },
        ));
    }
    Ok(body)
}

/// Runs the sandbox until Ctrl-C.
pub async fn sandbox(
    config: Option<&PathBuf>,
    listen: std::net::SocketAddr,
    callback_url: Option<&str>,
    profile: Option<paybridge_sandbox::Profile>,
    webhook_secrets: &[String],
) -> Result<(), Error> {
    let config_error = |key: &str, reason: String| Error::Config {
        key: key.into(),
        reason,
    };
    let mut sandbox_config = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| config_error("file", format!("{}: {e}", path.display())))?;
            paybridge_sandbox::SandboxConfig::from_toml(&text)
                .map_err(|e| config_error("file", format!("{}: {e}", path.display())))?
        }
        None => paybridge_sandbox::SandboxConfig::default(),
    };
    if let Some(url) = callback_url {
        sandbox_config = sandbox_config.with_demo_callback_url(url);
    }
    if let Some(profile) = profile {
        sandbox_config.profile = profile;
    }
    for (n, text) in webhook_secrets.iter().enumerate() {
        // Named by position: the text is a secret, never repeated.
        let secret = paybridge_sandbox::webhooks::Secret::parse(text).map_err(|e| {
            config_error(
                "--webhook-secret or PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS",
                format!("secret number {}: {e}", n + 1),
            )
        })?;
        sandbox_config = sandbox_config.with_webhook_secret(secret);
    }
    let secrets = sandbox_config.webhook_secrets.len();
    let sandbox = paybridge_sandbox::Sandbox::start(sandbox_config, listen)
        .await
        .map_err(|e| config_error("listen", format!("{listen}: {e}")))?;
    let profile = sandbox.profile();
    eprintln!(
        "paybridge sandbox listening on {}, profile {profile} ({})",
        sandbox.base_url(),
        profile.meaning()
    );
    match sandbox.token() {
        Some(token) => {
            eprintln!();
            eprintln!("WARNING: {listen} is not a loopback address: anyone who reaches it can use this sandbox.");
            eprintln!("         The dashboard and control endpoints need this token: {token}");
            eprintln!("         dashboard: {}/?token={token}", sandbox.base_url());
            eprintln!();
        }
        None => eprintln!("dashboard: {}/", sandbox.base_url()),
    }
    for provider in ["vpay88", "one1pay", "onepunch"] {
        eprintln!(
            "  {provider:<9} base_url = \"{}/{provider}\"",
            sandbox.base_url()
        );
    }
    let verified = match secrets {
        0 => "no secret: taken and shown unverified".to_owned(),
        1 => "verified with 1 secret".to_owned(),
        n => format!("verified with {n} secrets"),
    };
    eprintln!(
        "  webhooks  [serve.webhooks] url = \"{}{}\" ({verified})",
        sandbox.base_url(),
        paybridge_sandbox::webhooks::PATH
    );
    eprintln!("demo credentials: username demo, api_key demo-api-key, secret_key demo-secret-key; monster_token MON-demo, monster_key demo-monster-key");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| config_error("signal", e.to_string()))?;
    eprintln!("stopping");
    Ok(())
}

/// `paybridge reconcile`: runs it, printing each row as it is decided and
/// the summary at the end; the exit code.
pub async fn reconcile(cli: &Cli, args: &ReconcileArgs) -> Result<u8, Error> {
    let config = config(cli)?;
    let options = paybridge_cli::reconcile::Options {
        input: args.input.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        state: args.state.clone(),
        progress: true,
    };
    let stdout = std::io::BufWriter::new(std::io::stdout());
    let mut printer = paybridge_cli::reconcile::Printer::new(cli.output.reconcile(), stdout);
    let report = paybridge_cli::reconcile::run(&config, &options, &mut printer).await?;
    // Ended whole even when interrupted, so what was printed reads as a document.
    printer
        .finish(&report)
        .map_err(|e| Error::local("the report could not be written", e))?;
    if report.interrupted {
        eprintln!(
            "reconcile: interrupted, {} of {} orders done; run the same command again to resume",
            report.reported, report.total
        );
        return Ok(crate::output::exit::INTERRUPTED);
    }
    Ok(if report.is_clean() {
        0
    } else {
        crate::output::exit::RECONCILE_FINDINGS
    })
}
