//! A dialect of the form API as data: the currencies a brand documents, how
//! each deposit and payout field is used per currency, the values a field may
//! take, its status words, paths and whether it has a balance. Vpay88 and
//! One1Pay are two such dialects, each read from a TOML file embedded in its
//! crate by [`DialectSpec::from_toml`]; a brand configured as `[brands.NAME]`
//! is read by the same [`DialectSpec::read`].

use std::collections::BTreeMap;

use paybridge_core::fields::{in_request_order, FieldUse};
use paybridge_core::{
    Capabilities, Currency, DepositRequest, Error, FieldRule, Operation, OrderKind, OrderStatus,
    Provider, RequestField, Result,
};
use paybridge_wire::section::SectionAt;
use paybridge_wire::transport::{BaseUrl, Endpoint};
use serde::Deserialize;

use crate::transformers::{common_deposit_rules, common_withdrawal_rules, order_status};
use crate::FORM_API_OPERATIONS;

/// One row of a dialect's table: the rule, and the checks beyond presence.
#[derive(Debug, Clone)]
struct Row {
    rule: FieldRule,
    /// The values the field may take (for `extra`, the names it may carry).
    values: Option<Vec<String>>,
    /// Required unless the deposit's payment method is one of these (a wallet
    /// pays from no bank account): the rule itself then says `sent`.
    required_unless_payment_method: Vec<String>,
}

impl Row {
    fn plain(rule: FieldRule) -> Self {
        Self {
            rule,
            values: None,
            required_unless_payment_method: Vec::new(),
        }
    }
}

/// A kind of order's rows as the dialect file writes them: for every
/// currency, and per currency over those.
#[derive(Debug, Clone, Default)]
struct OrderRows {
    every: Vec<Row>,
    by_currency: BTreeMap<String, Vec<Row>>,
}

/// A kind of order's table in one currency: the family's rules with the
/// dialect's rows over them, in request order. Merged once when the dialect is
/// read, not on every order.
#[derive(Debug, Clone)]
struct Table {
    rows: Vec<Row>,
    rules: Vec<FieldRule>,
}

/// A kind of order's tables: each currency the file writes rows for, and the
/// table of every other currency.
#[derive(Debug, Clone)]
struct Tables {
    by_currency: BTreeMap<String, Table>,
    other: Table,
}

impl Tables {
    fn merge(kind: OrderKind, rows: &OrderRows) -> Self {
        let table = |own: Option<&Vec<Row>>| {
            let common = match kind {
                OrderKind::Deposit => common_deposit_rules(),
                _ => common_withdrawal_rules(),
            };
            let mut out: Vec<Row> = common.into_iter().map(Row::plain).collect();
            for row in rows.every.iter().chain(own.into_iter().flatten()) {
                match out.iter_mut().find(|r| r.rule.field == row.rule.field) {
                    Some(existing) => *existing = row.clone(),
                    None => out.push(row.clone()),
                }
            }
            // Checked in request order, so the first field a request misses is
            // the one named; a field of another kind goes last.
            let order = RequestField::of(kind);
            out.sort_by_key(|row| order.iter().position(|f| *f == row.rule.field));
            let rules = in_request_order(out.iter().map(|r| r.rule.clone()).collect(), kind);
            Table { rows: out, rules }
        };
        Self {
            by_currency: rows
                .by_currency
                .iter()
                .map(|(currency, own)| (currency.clone(), table(Some(own))))
                .collect(),
            other: table(None),
        }
    }

    fn of(&self, currency: &Currency) -> &Table {
        self.by_currency
            .get(currency.as_str())
            .unwrap_or(&self.other)
    }
}

/// Each operation's path under the base URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Paths {
    /// Currency limits.
    pub currency: String,
    /// Auth token.
    pub auth: String,
    /// Create a deposit.
    pub deposit: String,
    /// Create a withdrawal.
    pub withdrawal: String,
    /// Deposit status.
    pub deposit_status: String,
    /// Withdrawal status.
    pub withdrawal_status: String,
    /// Deposit banks.
    pub deposit_banks: String,
    /// Withdrawal banks.
    pub withdrawal_banks: String,
    /// Balance, where the dialect has one.
    pub balance: String,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            currency: "/merchant/currency".into(),
            auth: "/merchant/auth".into(),
            deposit: "/merchant/generate_orders".into(),
            withdrawal: "/merchant/withdraw_orders".into(),
            deposit_status: "/merchant/check_status".into(),
            withdrawal_status: "/merchant/check_withdraw_status".into(),
            deposit_banks: "/wallet/bank_list".into(),
            withdrawal_banks: "/wallet/withdraw_bank_list".into(),
            balance: "/wallet/get_balance".into(),
        }
    }
}

/// Each operation's URL under a gateway's base URL: its [`Paths`] read as
/// URLs once, when the gateway is built, rather than on every request.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) currency: Endpoint,
    pub(crate) auth: Endpoint,
    pub(crate) deposit: Endpoint,
    pub(crate) withdrawal: Endpoint,
    pub(crate) deposit_status: Endpoint,
    pub(crate) withdrawal_status: Endpoint,
    pub(crate) deposit_banks: Endpoint,
    pub(crate) withdrawal_banks: Endpoint,
    pub(crate) balance: Endpoint,
}

impl Endpoints {
    /// `paths` under `base`; a path that makes no URL there is a configuration
    /// error naming it under `section` (the dialect's section, `fpay`).
    pub(crate) fn new(base: &BaseUrl, paths: &Paths, section: &str) -> Result<Self> {
        let at = |name: &str, path: &str| {
            base.endpoint(path).map_err(|e| Error::Config {
                key: format!("{section}.paths.{name}"),
                reason: e.to_string(),
            })
        };
        Ok(Self {
            currency: at("currency", &paths.currency)?,
            auth: at("auth", &paths.auth)?,
            deposit: at("deposit", &paths.deposit)?,
            withdrawal: at("withdrawal", &paths.withdrawal)?,
            deposit_status: at("deposit_status", &paths.deposit_status)?,
            withdrawal_status: at("withdrawal_status", &paths.withdrawal_status)?,
            deposit_banks: at("deposit_banks", &paths.deposit_banks)?,
            withdrawal_banks: at("withdrawal_banks", &paths.withdrawal_banks)?,
            balance: at("balance", &paths.balance)?,
        })
    }
}

impl Paths {
    fn all(&self) -> [(&'static str, &str); 9] {
        [
            ("currency", &self.currency),
            ("auth", &self.auth),
            ("deposit", &self.deposit),
            ("withdrawal", &self.withdrawal),
            ("deposit_status", &self.deposit_status),
            ("withdrawal_status", &self.withdrawal_status),
            ("deposit_banks", &self.deposit_banks),
            ("withdrawal_banks", &self.withdrawal_banks),
            ("balance", &self.balance),
        ]
    }
}

/// A dialect of the form API. Shared by its gateways behind an `Arc`.
#[derive(Debug, Clone)]
pub struct DialectSpec {
    provider: Provider,
    currencies: Vec<Currency>,
    balance: bool,
    paths: Paths,
    /// Words beyond (or instead of) the family's, per kind, lower case.
    statuses: BTreeMap<(&'static str, String), OrderStatus>,
    deposit: Tables,
    withdrawal: Tables,
}

// ------------------------------------------------------------ the file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialectFile {
    currencies: Vec<String>,
    #[serde(default)]
    balance: bool,
    #[serde(default)]
    paths: Paths,
    #[serde(default)]
    statuses: StatusFile,
    #[serde(default)]
    deposit: OrderFile,
    #[serde(default)]
    withdrawal: OrderFile,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusFile {
    #[serde(default)]
    deposit: BTreeMap<String, OrderStatus>,
    #[serde(default)]
    withdrawal: BTreeMap<String, OrderStatus>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderFile {
    #[serde(default)]
    fields: BTreeMap<String, RowFile>,
    #[serde(default)]
    currencies: BTreeMap<String, BTreeMap<String, RowFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowFile {
    #[serde(rename = "use")]
    usage: UseFile,
    why: String,
    values: Option<Vec<String>>,
    #[serde(default)]
    required_unless_payment_method: Vec<String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UseFile {
    Required,
    Sent,
    NotSent,
    Refused,
}

impl From<UseFile> for FieldUse {
    fn from(usage: UseFile) -> Self {
        match usage {
            UseFile::Required => FieldUse::Required,
            UseFile::Sent => FieldUse::Sent,
            UseFile::NotSent => FieldUse::NotSent,
            UseFile::Refused => FieldUse::Refused,
        }
    }
}

/// The name a field is sent as by this API's forms; `None` for a field its
/// forms have no place for, and the fields every form always sends are not
/// a dialect's to change.
fn wire_name(kind: OrderKind, field: RequestField) -> Option<&'static str> {
    use RequestField as F;
    Some(match (kind, field) {
        (OrderKind::Deposit, F::CustomerName) => "username",
        (OrderKind::Deposit, F::Email) => "email",
        (OrderKind::Deposit, F::Phone) => "phone_number",
        (OrderKind::Deposit, F::RedirectUrl) => "redirect_url",
        (OrderKind::Deposit, F::PaymentMethod) => "pay_method",
        (OrderKind::Deposit, F::BankId) => "bank_id",
        (OrderKind::Deposit, F::CustomerBankHolderName) => "customer_bank_holder_name",
        (OrderKind::Deposit, F::CustomerBankAccount) => "customer_bank_account",
        (OrderKind::Deposit, F::Mode) => "mode",
        (OrderKind::Withdrawal, F::BankBranch) => "bank_branch",
        (_, F::CallbackUrl) => "callback_url",
        _ => return None,
    })
}

/// Fields every form of its kind sends whatever the dialect says.
fn always_sent(kind: OrderKind, field: RequestField) -> bool {
    use RequestField as F;
    matches!(field, F::OrderId | F::Amount)
        || (kind == OrderKind::Withdrawal
            && matches!(field, F::BankId | F::HolderName | F::AccountNo))
}

fn kind_word(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Deposit => "deposit",
        _ => "withdrawal",
    }
}

fn read_row(
    at: &SectionAt<'_>,
    key: &str,
    kind: OrderKind,
    name: &str,
    row: RowFile,
) -> Result<Row> {
    let fields = RequestField::of(kind);
    let Some(field) = fields.iter().copied().find(|f| f.name() == name) else {
        let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
        return Err(at.error(
            key,
            format!(
                "is not a {} field (one of {})",
                kind_word(kind),
                names.join(", ")
            ),
        ));
    };
    if always_sent(kind, field) {
        return Err(at.error(
            key,
            "is sent with every order of this API; a dialect cannot change it",
        ));
    }
    let usage = FieldUse::from(row.usage);
    let sent_as = if field == RequestField::Extra {
        None
    } else {
        match (wire_name(kind, field), usage.sends()) {
            (Some(name), true) => Some(name),
            (None, true) => {
                return Err(at.error(
                    key,
                    "this API's forms have no field for it; write not_sent or refused",
                ))
            }
            (_, false) => None,
        }
    };
    if row.values.is_some() && !usage.sends() {
        return Err(at.error(
            &format!("{key}.values"),
            "lists values of a field that is not sent",
        ));
    }
    if !row.required_unless_payment_method.is_empty()
        && (kind != OrderKind::Deposit || usage != FieldUse::Sent)
    {
        return Err(at.error(
            &format!("{key}.required_unless_payment_method"),
            "applies to a deposit field whose use is `sent` (sent when given, required otherwise)",
        ));
    }
    Ok(Row {
        rule: FieldRule::new(field, usage, sent_as, row.why),
        values: row.values,
        required_unless_payment_method: row.required_unless_payment_method,
    })
}

fn read_rows(
    at: &SectionAt<'_>,
    kind: OrderKind,
    file: OrderFile,
    currencies: &[Currency],
) -> Result<OrderRows> {
    let prefix = kind_word(kind);
    let rows = |at_key: String, table: BTreeMap<String, RowFile>| {
        table
            .into_iter()
            .map(|(name, row)| read_row(at, &format!("{at_key}.{name}"), kind, &name, row))
            .collect::<Result<Vec<Row>>>()
    };
    let every = rows(format!("{prefix}.fields"), file.fields)?;
    let mut by_currency = BTreeMap::new();
    for (code, table) in file.currencies {
        let key = format!("{prefix}.currencies.{code}");
        let currency = Currency::new(&code).map_err(|e| at.error(&key, e))?;
        if !currencies.contains(&currency) {
            return Err(at.error(&key, "names a currency missing from `currencies`"));
        }
        by_currency.insert(currency.as_str().to_owned(), rows(key, table)?);
    }
    Ok(OrderRows { every, by_currency })
}

impl DialectSpec {
    /// Reads a dialect from a TOML table (a `[brands.NAME]` section without
    /// its `protocol`, or a built-in dialect's file); errors name keys under `at`.
    pub fn read(provider: Provider, value: toml::Value, at: &SectionAt<'_>) -> Result<Self> {
        let file: DialectFile = at.read(value)?;
        if file.currencies.is_empty() {
            return Err(at.error(
                "currencies",
                "is empty; list the currencies the brand takes",
            ));
        }
        let currencies = file
            .currencies
            .iter()
            .map(|code| Currency::new(code).map_err(|e| at.error("currencies", e)))
            .collect::<Result<Vec<_>>>()?;
        for (name, path) in file.paths.all() {
            if !path.starts_with('/') {
                return Err(at.error(
                    &format!("paths.{name}"),
                    format!("{path:?} must start with /"),
                ));
            }
        }
        let mut statuses = BTreeMap::new();
        for (kind, words) in [
            (OrderKind::Deposit, file.statuses.deposit),
            (OrderKind::Withdrawal, file.statuses.withdrawal),
        ] {
            for (word, status) in words {
                statuses.insert((kind_word(kind), word.trim().to_ascii_lowercase()), status);
            }
        }
        Ok(Self {
            provider,
            balance: file.balance,
            paths: file.paths,
            statuses,
            deposit: Tables::merge(
                OrderKind::Deposit,
                &read_rows(at, OrderKind::Deposit, file.deposit, &currencies)?,
            ),
            withdrawal: Tables::merge(
                OrderKind::Withdrawal,
                &read_rows(at, OrderKind::Withdrawal, file.withdrawal, &currencies)?,
            ),
            currencies,
        })
    }

    /// Reads a dialect from TOML text, errors naming `source`.
    pub fn from_toml(provider: Provider, text: &str, source: &str) -> Result<Self> {
        let value: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Config {
            key: provider.as_str().to_owned(),
            reason: format!("in {source}: {}", e.message()),
        })?;
        let at = SectionAt {
            key: provider.as_str(),
            env: "",
            source,
        };
        Self::read(provider, toml::Value::Table(value), &at)
    }

    /// The provider this dialect is.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The currencies the dialect documents. They list the fields each takes;
    /// what a merchant's account takes is the list the provider publishes
    /// (`/merchant/currency`), which decides before anything is sent.
    pub fn currencies(&self) -> &[Currency] {
        &self.currencies
    }

    /// Each operation's path.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The operations it has.
    pub fn capabilities(&self) -> Capabilities {
        let mut operations = FORM_API_OPERATIONS.to_vec();
        if self.balance {
            operations.push(Operation::Balance);
        }
        Capabilities::of(&operations)
    }

    /// Maps a status word of a `kind` of order: the dialect's own words first,
    /// then the family's; `None` for a word neither knows.
    pub fn status(&self, kind: OrderKind, word: &str) -> Option<OrderStatus> {
        let key = (kind_word(kind), word.trim().to_ascii_lowercase());
        self.statuses
            .get(&key)
            .copied()
            .or_else(|| order_status(kind, word))
    }

    fn table(&self, kind: OrderKind, currency: &Currency) -> &Table {
        match kind {
            OrderKind::Deposit => self.deposit.of(currency),
            _ => self.withdrawal.of(currency),
        }
    }

    /// How each field of a `kind` of order is used in `currency`: the one table
    /// the form is checked against and built from, in request order.
    pub fn rules(&self, kind: OrderKind, currency: &Currency) -> &[FieldRule] {
        &self.table(kind, currency).rules
    }

    /// Whether a deposit in its first documented currency sends a payment
    /// method (a configured default method is refused where none is taken).
    pub fn takes_payment_method(&self) -> bool {
        let rules = self.rules(OrderKind::Deposit, &self.currencies[0]);
        paybridge_core::fields::field_use(rules, RequestField::PaymentMethod).sends()
    }

    /// The checks beyond the table's presence check, once it has passed:
    /// fields required unless a payment method exempts them, then the values
    /// a field may take (and the names of extra fields).
    pub fn check_deposit_values(&self, request: &DepositRequest) -> Result<()> {
        let currency = request.amount.currency();
        let rows = &self.table(OrderKind::Deposit, currency).rows;
        let method = request.payment_method.as_deref();
        for row in rows {
            let exempt = &row.required_unless_payment_method;
            let field = row.rule.field;
            if !exempt.is_empty()
                && !request.has(field)
                && !method.is_some_and(|m| exempt.iter().any(|e| e == m))
            {
                return Err(Error::invalid(
                    field.name(),
                    format!(
                        "is required by {} {currency} deposits whose payment method is not {}: {}",
                        self.provider,
                        exempt.join(" or "),
                        row.rule.reason
                    ),
                ));
            }
        }
        for row in rows {
            let Some(allowed) = &row.values else { continue };
            let field = row.rule.field;
            let given: Vec<&str> = if field == RequestField::Extra {
                request.extra.iter().map(|(name, _)| name).collect()
            } else {
                request.text(field).into_iter().collect()
            };
            if let Some(value) = given.into_iter().find(|v| !allowed.iter().any(|a| a == v)) {
                return Err(Error::invalid(
                    field.name(),
                    format!(
                        "{value:?} is not one of {} for {} {currency} deposits",
                        allowed.join(", "),
                        self.provider
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A dialect a crate embeds as TOML text (Vpay88's, One1Pay's), read on first
/// use by [`DialectSpec::from_toml`], the reader of configured brands.
#[derive(Debug)]
pub struct BuiltInDialect {
    provider: Provider,
    text: &'static str,
    read: std::sync::OnceLock<std::sync::Arc<DialectSpec>>,
}

impl BuiltInDialect {
    /// The dialect of `provider` written in `text`. The crate's tests read it,
    /// so a mistake in it never reaches a merchant.
    pub const fn new(provider: Provider, text: &'static str) -> Self {
        Self {
            provider,
            text,
            read: std::sync::OnceLock::new(),
        }
    }

    /// The dialect, read.
    ///
    /// # Panics
    ///
    /// When the embedded text does not read (the crate's own tests catch it).
    pub fn dialect(&self) -> std::sync::Arc<DialectSpec> {
        self.read
            .get_or_init(|| {
                let source = format!("the built-in {} dialect", self.provider);
                match DialectSpec::from_toml(self.provider, self.text, &source) {
                    Ok(dialect) => std::sync::Arc::new(dialect),
                    Err(err) => panic!("{err}"),
                }
            })
            .clone()
    }

    /// A gateway builder speaking this dialect.
    pub fn builder(
        &self,
        base_url: impl Into<String>,
        username: impl Into<String>,
        api_key: impl Into<String>,
    ) -> crate::FormApiBuilder {
        crate::FormApiGateway::builder(self.dialect(), base_url, username, api_key)
    }

    /// The reader of this dialect's configuration sections.
    pub fn reader(&self) -> crate::config::FormApiReader {
        crate::config::FormApiReader::new(self.dialect())
    }
}

/// Declares a built-in dialect's crate items: `DIALECT`, read from the
/// crate's TOML file, and the provider's unit struct with `builder` and
/// `dialect`, so each built-in brand is declared the same way in one line.
#[macro_export]
macro_rules! built_in_dialect {
    ($(#[$doc:meta])* $name:ident, $provider:expr, $file:literal) => {
        #[doc = concat!("The dialect, from `", $file, "`.")]
        pub static DIALECT: $crate::BuiltInDialect =
            $crate::BuiltInDialect::new($provider, include_str!($file));

        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $name {
            /// Starts a gateway for `base_url` (which may carry a path prefix),
            /// the merchant `username` and its `api_key`.
            pub fn builder(
                base_url: impl Into<String>,
                username: impl Into<String>,
                api_key: impl Into<String>,
            ) -> $crate::FormApiBuilder {
                DIALECT.builder(base_url, username, api_key)
            }

            /// The dialect its gateways speak.
            pub fn dialect() -> std::sync::Arc<$crate::DialectSpec> {
                DIALECT.dialect()
            }
        }
    };
}
