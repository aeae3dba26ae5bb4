//! `paybridge`: the command-line face of the SDK. Every gateway operation, the
//! local sandbox, and a demo of a merchant's whole life against it.

mod output;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use paybridge::{
    CallbackRequest, Config, Currency, DepositRequest, Error, Gateway, Money, OrderId, Provider,
    StatusQuery, WithdrawalRequest,
};
use serde_json::{json, Value};

use crate::output::{money_fields, report_json, Output};
use paybridge_cli::demo;

#[derive(Debug, Parser)]
#[command(
    name = "paybridge",
    version,
    about = "Deposits and payouts through Vpay88, One1Pay and ONE-PUNCH"
)]
struct Cli {
    /// Configuration file (default paybridge.toml; for `sandbox`, the sandbox's own file).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Provider, overriding the file's `provider`.
    #[arg(long, global = true)]
    provider: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Currencies and amount limits.
    Currencies,
    /// Deposit or withdrawal bank lists.
    Banks {
        /// Which list.
        #[arg(value_enum)]
        which: BankList,
        /// Only banks for this currency.
        #[arg(long)]
        currency: Option<String>,
    },
    /// Payment methods.
    Methods,
    /// Create a deposit or ask its status.
    #[command(subcommand)]
    Deposit(DepositCommand),
    /// Send a payout or ask its status.
    #[command(subcommand)]
    Withdrawal(WithdrawalCommand),
    /// The payout balance.
    Balance {
        /// Currency.
        #[arg(long)]
        currency: String,
    },
    /// Verify a callback body.
    #[command(subcommand)]
    Callback(CallbackCommand),
    /// Run the local emulator of every provider.
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: std::net::SocketAddr,
        /// Account-level callback URL for the `demo` merchants.
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// The whole life of a merchant, for every provider, against an embedded sandbox.
    Demo,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BankList {
    Deposit,
    Withdrawal,
}

#[derive(Debug, Subcommand)]
enum DepositCommand {
    /// Create a deposit and print its payment URL.
    Create(Box<DepositArgs>),
    /// A deposit's status.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
struct DepositArgs {
    #[arg(long)]
    order_id: String,
    #[arg(long)]
    amount: String,
    #[arg(long)]
    currency: String,
    /// The customer's user name on your site.
    #[arg(long)]
    customer: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    bank_id: Option<String>,
    /// One1Pay pay_method or ONE-PUNCH payment_method.
    #[arg(long)]
    pay_method: Option<String>,
    /// Vpay88 MYR prepaid-card mode.
    #[arg(long)]
    mode: Option<String>,
    #[arg(long)]
    redirect_url: Option<String>,
    #[arg(long)]
    callback_url: Option<String>,
    /// One1Pay customer bank holder name.
    #[arg(long)]
    holder_name: Option<String>,
    /// One1Pay customer bank account.
    #[arg(long)]
    account_no: Option<String>,
    /// ONE-PUNCH return_url (same as --redirect-url).
    #[arg(long)]
    return_url: Option<String>,
    /// ONE-PUNCH notify_url (same as --callback-url).
    #[arg(long)]
    notify_url: Option<String>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[arg(long)]
    order_id: String,
    /// The provider's reference (ONE-PUNCH payment token).
    #[arg(long)]
    provider_ref: Option<String>,
}

#[derive(Debug, Subcommand)]
enum WithdrawalCommand {
    /// Send a payout (at most once).
    Create(WithdrawalArgs),
    /// A payout's status.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
struct WithdrawalArgs {
    #[arg(long)]
    order_id: String,
    #[arg(long)]
    amount: String,
    #[arg(long)]
    currency: String,
    #[arg(long)]
    bank_id: String,
    #[arg(long)]
    holder_name: String,
    #[arg(long)]
    account_no: String,
    #[arg(long)]
    bank_branch: Option<String>,
    #[arg(long)]
    callback_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum CallbackCommand {
    /// Verify a callback's token or signature (no network I/O unless --confirm).
    Verify {
        /// Read the body from this file instead of standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Also confirm status and amount with the provider's status API.
        #[arg(long)]
        confirm: bool,
        /// The body's content type, e.g. application/x-www-form-urlencoded.
        #[arg(long)]
        content_type: Option<String>,
        /// The payment token stored for the order (ONE-PUNCH).
        #[arg(long)]
        provider_ref: Option<String>,
    },
}

/// Exit codes, part of the command's contract (README, "Exit codes").
mod exit {
    pub const USAGE: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const TRANSPORT: u8 = 4;
    pub const CALLBACK_REJECTED: u8 = 5;
    pub const HELD_AS_FAILED: u8 = 7;
    pub const ORDER_ID_CONFLICT: u8 = 8;
}

fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Provider { .. } => exit::REFUSED,
        Error::HttpStatus { status, .. } if *status < 500 => exit::REFUSED,
        Error::Transport { .. }
        | Error::Timeout { .. }
        | Error::HttpStatus { .. }
        | Error::Ambiguous { .. }
        | Error::Decode { .. } => exit::TRANSPORT,
        Error::CallbackRejected(_) => exit::CALLBACK_REJECTED,
        Error::HeldAsFailed { .. } => exit::HELD_AS_FAILED,
        Error::OrderIdConflict { .. } => exit::ORDER_ID_CONFLICT,
        _ => exit::USAGE,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(match cli.command {
        Command::Sandbox { .. } => "info",
        Command::Demo => "error",
        _ => "warn",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::TRANSPORT);
        }
    };
    let output = cli.output;
    match &cli.command {
        Command::Demo => {
            return match runtime.block_on(demo::run()) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(err) => {
                    output.print_error(&err);
                    ExitCode::from(exit_code(&err))
                }
            }
        }
        Command::Sandbox {
            listen,
            callback_url,
        } => {
            return match runtime.block_on(sandbox(
                cli.config.as_ref(),
                *listen,
                callback_url.as_deref(),
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    output.print_error(&err);
                    ExitCode::from(exit_code(&err))
                }
            };
        }
        _ => {}
    }
    match runtime.block_on(run(cli)) {
        Ok(value) => {
            output.print(&value);
            ExitCode::SUCCESS
        }
        Err(err) => {
            output.print_error(&err);
            ExitCode::from(exit_code(&err))
        }
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAYBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn gateway(cli: &Cli) -> Result<Gateway, Error> {
    let path = cli.config.clone().unwrap_or_else(paybridge::default_path);
    let config = Config::load(&path)?;
    match &cli.provider {
        Some(name) => Gateway::for_provider(&config, Provider::parse(name)?),
        None => Gateway::from_config(&config),
    }
}

fn currency(code: Option<&String>) -> Result<Option<Currency>, Error> {
    code.map(|c| Currency::new(c)).transpose()
}

async fn run(cli: Cli) -> Result<Value, Error> {
    let gateway = gateway(&cli)?;
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
            let request = deposit_request(*args)?;
            let order = gateway.create_deposit(&request).await?;
            Ok(json!({
                "order_id": order.order_id,
                "payment_url": order.payment_url,
                "provider_ref": order.provider_ref,
            }))
        }
        Command::Deposit(DepositCommand::Status(args)) => Ok(report_json(
            &gateway.deposit_status(&status_query(args)?).await?,
        )),
        Command::Withdrawal(WithdrawalCommand::Create(args)) => {
            let mut builder = WithdrawalRequest::builder(
                &args.order_id,
                Money::parse(&args.amount, &args.currency)?,
                args.bank_id,
                args.holder_name,
                args.account_no,
            );
            if let Some(branch) = args.bank_branch {
                builder = builder.bank_branch(branch);
            }
            if let Some(url) = args.callback_url {
                builder = builder.callback_url(url);
            }
            let receipt = gateway.create_withdrawal(&builder.build()?).await?;
            Ok(json!({
                "order_id": receipt.order_id,
                "status": receipt.status,
                "provider_status": receipt.provider_status,
                "learned_from": receipt.learned_from,
                "provider_ref": receipt.provider_ref,
            }))
        }
        Command::Withdrawal(WithdrawalCommand::Status(args)) => Ok(report_json(
            &gateway.withdrawal_status(&status_query(args)?).await?,
        )),
        Command::Balance { currency: code } => {
            let balance = gateway.balance(&Currency::new(&code)?).await?;
            Ok(money_fields(json!({}), "available", &balance.available))
        }
        Command::Sandbox { .. } | Command::Demo => Err(Error::invalid(
            "command",
            "handled before any gateway is built",
        )),
        Command::Callback(CallbackCommand::Verify {
            file,
            confirm,
            content_type,
            provider_ref,
        }) => {
            let body = read_body(file.as_ref())?;
            let request = CallbackRequest::new(&body)
                .with_content_type(content_type.as_deref())
                .with_provider_ref(provider_ref.as_deref());
            let event = gateway.verify(&request)?;
            let confirmed = if confirm {
                Some(gateway.confirm(&event).await?)
            } else {
                None
            };
            // The Vpay88/One1Pay token covers only the order id.
            let unconfirmed: &[&str] = if confirmed.is_none()
                && event.provider != paybridge::Provider::OnePunch
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

fn deposit_request(args: DepositArgs) -> Result<DepositRequest, Error> {
    let mut b =
        DepositRequest::builder(&args.order_id, Money::parse(&args.amount, &args.currency)?);
    let either = |a: Option<String>, b: Option<String>, name: &str| match (a, b) {
        (Some(_), Some(_)) => Err(Error::invalid(name, "was given twice under two names")),
        (a, b) => Ok(a.or(b)),
    };
    let redirect = either(args.redirect_url, args.return_url, "redirect_url")?;
    let callback = either(args.callback_url, args.notify_url, "callback_url")?;
    type Setter = fn(paybridge::DepositRequestBuilder, String) -> paybridge::DepositRequestBuilder;
    let setters: [(Option<String>, Setter); 10] = [
        (args.customer, |b, v| b.customer_name(v)),
        (args.email, |b, v| b.email(v)),
        (args.phone, |b, v| b.phone(v)),
        (args.bank_id, |b, v| b.bank_id(v)),
        (args.pay_method, |b, v| b.payment_method(v)),
        (args.mode, |b, v| b.mode(v)),
        (redirect, |b, v| b.redirect_url(v)),
        (callback, |b, v| b.callback_url(v)),
        (args.holder_name, |b, v| b.customer_bank_holder_name(v)),
        (args.account_no, |b, v| b.customer_bank_account(v)),
    ];
    for (value, set) in setters {
        if let Some(value) = value {
            b = set(b, value);
        }
    }
    b.build()
}

fn status_query(args: StatusArgs) -> Result<StatusQuery, Error> {
    let mut query = StatusQuery::new(OrderId::new(&args.order_id)?);
    if let Some(reference) = args.provider_ref {
        query = query.with_provider_ref(reference);
    }
    Ok(query)
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

async fn sandbox(
    config: Option<&PathBuf>,
    listen: std::net::SocketAddr,
    callback_url: Option<&str>,
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
    let sandbox = paybridge_sandbox::Sandbox::start(sandbox_config, listen)
        .await
        .map_err(|e| config_error("listen", format!("{listen}: {e}")))?;
    eprintln!("paybridge sandbox listening on {}", sandbox.base_url());
    for provider in ["vpay88", "one1pay", "onepunch"] {
        eprintln!(
            "  {provider:<9} base_url = \"{}/{provider}\"",
            sandbox.base_url()
        );
    }
    eprintln!("demo credentials: username demo, api_key demo-api-key, secret_key demo-secret-key; monster_token MON-demo, monster_key demo-monster-key");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| config_error("signal", e.to_string()))?;
    eprintln!("stopping");
    Ok(())
}
