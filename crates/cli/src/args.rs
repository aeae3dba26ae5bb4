//! The command line as clap reads it, and each argument set turned into the
//! SDK's request types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use paybridge::{
    DepositRequest, DepositRequestBuilder, Error, Money, OrderId, StatusQuery, WithdrawalRequest,
};

use crate::output::Output;

#[derive(Debug, Parser)]
#[command(
    name = "paybridge",
    version,
    about = "Deposits and payouts through Vpay88, One1Pay and ONE-PUNCH"
)]
pub struct Cli {
    /// Configuration file (default paybridge.toml; for `sandbox`, the sandbox's own file).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Provider, overriding the file's `provider`.
    #[arg(long, global = true)]
    pub provider: Option<String>,
    /// A named account (`[accounts.NAME]`); it implies its provider.
    #[arg(long, global = true)]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Which request fields the provider requires, sends, leaves out or
    /// refuses for a kind of order in a currency, and why. Asks the provider nothing.
    Fields {
        /// Deposit or withdrawal.
        #[arg(long, value_enum, default_value_t = BankList::Deposit)]
        kind: BankList,
        /// Currency.
        #[arg(long)]
        currency: String,
    },
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
        /// How the form API answers: `documented` (the providers' documents,
        /// the default) or `observed` (as live servers are seen to); overrides
        /// the file's `profile`.
        #[arg(long)]
        profile: Option<paybridge_sandbox::Profile>,
        /// A secret (`whsec_...`) the merchant's webhooks posted to
        /// `/merchant/webhooks` are verified with; repeat it while secrets
        /// rotate (without the flag: PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS,
        /// comma-separated). Added to the file's `webhook_secrets`. Without
        /// any, the sandbox takes them and shows them unverified.
        #[arg(
            long = "webhook-secret",
            value_name = "SECRET",
            env = "PAYBRIDGE_SANDBOX_WEBHOOK_SECRETS",
            hide_env_values = true,
            value_delimiter = ','
        )]
        webhook_secrets: Vec<String>,
    },
    /// The whole life of a merchant, for every provider, against an embedded sandbox.
    Demo,
    /// Serve the HTTP API (`/v1`, provider callbacks, `/openapi.json`) on the ledger.
    Serve {
        /// Address to listen on; `[serve] listen`, else 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Print the `sha256:<hex>` of an API key, for `[serve] api_keys`, and stop.
        #[arg(long, value_name = "KEY")]
        hash_key: Option<String>,
    },
    /// Resolve every order not final yet by asking its status: the ledger's
    /// open orders, or those of a CSV file exported from your own database.
    Reconcile(ReconcileArgs),
    /// The order ledger (`[ledger] url`).
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The ledger's events for the merchant's application, and their deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Events in the ledger, oldest first, with their delivery state.
    List {
        /// Only events in this delivery state.
        #[arg(long, value_enum)]
        state: Option<WebhookStates>,
        /// Only events written since this time (RFC 3339, or a date: 2026-11-23).
        #[arg(long)]
        since: Option<String>,
    },
    /// Every delivery attempt of one event: time, status, duration, the
    /// answer's first bytes.
    Attempts {
        /// The event's id (`evt_...`).
        id: String,
    },
    /// Queue events for delivery again, now, under their own ids.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "since"])))]
    Replay {
        /// This event.
        #[arg(long)]
        id: Option<String>,
        /// Every event written since this time (RFC 3339, or a date).
        #[arg(long)]
        since: Option<String>,
        /// With --since, only events in this state (`dead`, say).
        #[arg(long, value_enum)]
        state: Option<WebhookStates>,
        /// Deliver what is due from this process to `[serve.webhooks]`,
        /// showing progress, until each replayed event has had an attempt
        /// (a running `paybridge serve` may take some of them; that is safe).
        #[arg(long)]
        deliver: bool,
    },
    /// Let deliveries to an endpoint that answered 410 Gone go again.
    Enable {
        /// The endpoint's URL.
        #[arg(long)]
        url: String,
    },
}

/// An event's delivery state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WebhookStates {
    /// Not yet attempted.
    Pending,
    /// Attempted, to be tried again.
    Failed,
    /// Every attempt failed: kept until replayed.
    Dead,
    /// Taken by the receiver.
    Delivered,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// A CSV file of orders: header `provider,kind,order_id,amount,currency`, and
    /// optionally `account,provider_ref,merchant_status`. Without it, the
    /// ledger's open orders.
    #[arg(long)]
    pub input: Option<std::path::PathBuf>,
    /// Status queries in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// At most this many status queries a second.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Where a CSV run keeps its progress, so an interrupted run resumes; a
    /// finished run is marked so, and the next run asks every order again
    /// (only with --input: a ledger run keeps its progress in the ledger).
    #[arg(long)]
    pub state: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Orders in the ledger.
    List {
        /// Only these orders.
        #[arg(long, value_enum)]
        state: Option<LedgerStates>,
        /// Only orders changed since this time (RFC 3339, or a date: 2026-11-23).
        #[arg(long)]
        since: Option<String>,
    },
    /// Every order in the ledger, for another program.
    Export {
        /// The format written.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
    },
}

/// A class of ledger orders.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LedgerStates {
    /// Not final yet.
    Open,
    /// Final.
    Final,
    /// An observation contradicted them.
    Conflict,
}

/// An export format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header.
    Csv,
    /// One JSON array.
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BankList {
    Deposit,
    Withdrawal,
}

#[derive(Debug, Subcommand)]
pub enum DepositCommand {
    /// Create a deposit and print its payment URL.
    Create(Box<DepositArgs>),
    /// A deposit's status.
    Status(StatusArgs),
}

/// The order every create command names: id, amount and currency.
#[derive(Debug, Args)]
pub struct OrderArgs {
    /// Your order id, unique per order.
    #[arg(long)]
    pub order_id: String,
    /// The amount as a decimal string, e.g. 100.50.
    #[arg(long)]
    pub amount: String,
    /// ISO 4217 currency code, e.g. MYR.
    #[arg(long)]
    pub currency: String,
}

impl OrderArgs {
    fn money(&self) -> Result<Money, Error> {
        Money::parse(&self.amount, &self.currency)
    }
}

#[derive(Debug, Args)]
pub struct DepositArgs {
    #[command(flatten)]
    pub order: OrderArgs,
    /// The customer's user name on your site.
    #[arg(long)]
    pub customer: Option<String>,
    /// The customer's e-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// The customer's phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// The paying bank, an id from `banks deposit`, where the currency asks for one.
    #[arg(long)]
    pub bank_id: Option<String>,
    /// One1Pay pay_method or ONE-PUNCH payment_method.
    #[arg(long)]
    pub pay_method: Option<String>,
    /// Vpay88 MYR prepaid-card mode.
    #[arg(long)]
    pub mode: Option<String>,
    /// Where the payer's browser goes after paying.
    #[arg(long)]
    pub redirect_url: Option<String>,
    /// Where this deposit's callback goes, instead of the account's URL.
    #[arg(long)]
    pub callback_url: Option<String>,
    /// One1Pay customer bank holder name.
    #[arg(long)]
    pub holder_name: Option<String>,
    /// One1Pay customer bank account.
    #[arg(long)]
    pub account_no: Option<String>,
    /// ONE-PUNCH return_url (same as --redirect-url).
    #[arg(long)]
    pub return_url: Option<String>,
    /// ONE-PUNCH notify_url (same as --callback-url).
    #[arg(long)]
    pub notify_url: Option<String>,
    /// A field a brand of the provider's API takes beyond these, as
    /// NAME=VALUE (`--extra bank_code=MBB`); repeat for more.
    #[arg(long = "extra", value_name = "NAME=VALUE")]
    pub extra: Vec<String>,
}

/// Splits each `NAME=VALUE` of `--extra` at its first `=`.
fn extra_pairs(given: Vec<String>) -> Result<Vec<(String, String)>, Error> {
    given
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => Err(Error::invalid(
                "extra",
                format!("'{}' is not NAME=VALUE", pair.escape_debug()),
            )),
        })
        .collect()
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Your order id.
    #[arg(long)]
    pub order_id: String,
    /// The provider's reference (ONE-PUNCH payment token).
    #[arg(long)]
    pub provider_ref: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WithdrawalCommand {
    /// Send a payout (at most once).
    Create(WithdrawalArgs),
    /// A payout's status.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct WithdrawalArgs {
    #[command(flatten)]
    pub order: OrderArgs,
    /// The payee's bank, an id from `banks withdrawal`.
    #[arg(long)]
    pub bank_id: String,
    /// The name on the payee's account.
    #[arg(long)]
    pub holder_name: String,
    /// The payee's account number.
    #[arg(long)]
    pub account_no: String,
    /// The payee's branch, where the currency asks for one.
    #[arg(long)]
    pub bank_branch: Option<String>,
    /// Where this payout's callback goes, instead of the account's URL.
    #[arg(long)]
    pub callback_url: Option<String>,
    /// A field a brand of the provider's API takes beyond these, as
    /// NAME=VALUE; repeat for more.
    #[arg(long = "extra", value_name = "NAME=VALUE")]
    pub extra: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CallbackCommand {
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
        /// When the token or signature does not verify, show what was signed,
        /// field by field (secrets by name only), the digests, and the likely mistake.
        #[arg(long)]
        explain: bool,
    },
}

impl DepositArgs {
    /// The deposit request these arguments describe.
    pub fn into_request(self) -> Result<DepositRequest, Error> {
        let either = |a: Option<String>, b: Option<String>, name: &str| match (a, b) {
            (Some(_), Some(_)) => Err(Error::invalid(name, "was given twice under two names")),
            (a, b) => Ok(a.or(b)),
        };
        let redirect = either(self.redirect_url, self.return_url, "redirect_url")?;
        let callback = either(self.callback_url, self.notify_url, "callback_url")?;
        type Setter = fn(DepositRequestBuilder, String) -> DepositRequestBuilder;
        let setters: [(Option<String>, Setter); 10] = [
            (self.customer, |b, v| b.customer_name(v)),
            (self.email, |b, v| b.email(v)),
            (self.phone, |b, v| b.phone(v)),
            (self.bank_id, |b, v| b.bank_id(v)),
            (self.pay_method, |b, v| b.payment_method(v)),
            (self.mode, |b, v| b.mode(v)),
            (redirect, |b, v| b.redirect_url(v)),
            (callback, |b, v| b.callback_url(v)),
            (self.holder_name, |b, v| b.customer_bank_holder_name(v)),
            (self.account_no, |b, v| b.customer_bank_account(v)),
        ];
        let mut builder = DepositRequest::builder(&self.order.order_id, self.order.money()?);
        for (value, set) in setters {
            if let Some(value) = value {
                builder = set(builder, value);
            }
        }
        for (name, value) in extra_pairs(self.extra)? {
            builder = builder.extra(name, value);
        }
        builder.build()
    }
}

impl WithdrawalArgs {
    /// The payout request these arguments describe.
    pub fn into_request(self) -> Result<WithdrawalRequest, Error> {
        let mut builder = WithdrawalRequest::builder(
            &self.order.order_id,
            self.order.money()?,
            self.bank_id,
            self.holder_name,
            self.account_no,
        );
        if let Some(branch) = self.bank_branch {
            builder = builder.bank_branch(branch);
        }
        if let Some(url) = self.callback_url {
            builder = builder.callback_url(url);
        }
        for (name, value) in extra_pairs(self.extra)? {
            builder = builder.extra(name, value);
        }
        builder.build()
    }
}

impl StatusArgs {
    /// The status query these arguments describe.
    pub fn into_query(self) -> Result<StatusQuery, Error> {
        let mut query = StatusQuery::new(OrderId::new(&self.order_id)?);
        if let Some(reference) = self.provider_ref {
            query = query.with_provider_ref(reference);
        }
        Ok(query)
    }
}
