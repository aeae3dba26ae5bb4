//! What the sandbox knows: merchants, credentials, balances, limits, banks.
//! Defaults are the documented demo credentials; a TOML file can replace them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

/// Demo merchant user name (Vpay88 and One1Pay).
pub const DEMO_USERNAME: &str = "demo";
/// Demo API key.
pub const DEMO_API_KEY: &str = "demo-api-key";
/// Demo callback secret.
pub const DEMO_SECRET_KEY: &str = "demo-secret-key";
/// Demo ONE-PUNCH sub-account.
pub const DEMO_MONSTER_TOKEN: &str = "MON-demo";
/// Demo ONE-PUNCH signing key.
pub const DEMO_MONSTER_KEY: &str = "demo-monster-key";

/// Which reading of the form API the sandbox answers by. ONE-PUNCH answers
/// the same under either: no public integration shows its live servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Profile {
    /// The providers' documents, read strictly: every field they list is
    /// required, and answers carry what their examples show.
    #[default]
    Documented,
    /// What live servers of the form API are seen to accept and answer by
    /// public merchant integrations: deposits without `email` and
    /// `phone_number`, wallet deposits without the payer's bank, `bank_code`
    /// for `bank_id`, an `order_id` beside `auth`, a `withdraw_order_id`
    /// without `message`, and `USDT` among Vpay88's currencies.
    Observed,
}

impl Profile {
    /// Every profile, the default first.
    pub const ALL: [Profile; 2] = [Profile::Documented, Profile::Observed];

    /// The name configuration and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Documented => "documented",
            Profile::Observed => "observed",
        }
    }

    /// What answering by it means, in a phrase.
    pub fn meaning(self) -> &'static str {
        match self {
            Profile::Documented => "answers as the providers' documents say",
            Profile::Observed => "answers as live servers of the form API are seen to",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown sandbox profile {name:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl TryFrom<String> for Profile {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

/// A bank the sandbox lists.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BankEntry {
    /// `id`.
    pub id: String,
    /// `bank_name`.
    pub name: String,
    /// `currency`.
    pub currency: String,
}

/// A min/max range.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Smallest amount.
    pub min: Decimal,
    /// Largest amount.
    pub max: Decimal,
}

/// A Vpay88 or One1Pay merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    /// Merchant user name.
    pub username: String,
    /// API key.
    pub api_key: String,
    /// Callback secret.
    pub secret_key: String,
    /// Account-level callback URL.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Payout balance per currency.
    #[serde(default)]
    pub balances: BTreeMap<String, Decimal>,
    /// Amount limits per currency (also the currencies enabled).
    #[serde(default)]
    pub limits: BTreeMap<String, Limit>,
    /// Deposit banks.
    #[serde(default)]
    pub deposit_banks: Vec<BankEntry>,
    /// Withdrawal banks.
    #[serde(default)]
    pub withdrawal_banks: Vec<BankEntry>,
}

/// A white-label brand of the form API, served under its own name
/// (`/{name}/merchant/...`) by the same emulation, answering as the document
/// it is `like`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandMount {
    /// The brand's name, its path prefix.
    pub name: String,
    /// Whose document it answers as.
    pub like: crate::state::Flavour,
    /// The currencies of its demo merchant, when it lists no merchants.
    #[serde(default)]
    pub currencies: Vec<String>,
    /// Its merchants; the demo merchant for `currencies` when none.
    #[serde(default)]
    pub merchants: Vec<Merchant>,
}

/// A ONE-PUNCH sub-account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonsterAccount {
    /// `monster_token`.
    pub monster_token: String,
    /// `monster_key`.
    pub monster_key: String,
    /// Payment methods: code and display name.
    #[serde(default = "default_methods")]
    pub methods: Vec<(String, String)>,
    /// Allowed amounts in fen.
    #[serde(default = "default_prices")]
    pub prices_fen: Vec<u64>,
}

fn default_methods() -> Vec<(String, String)> {
    vec![
        ("ali-person".into(), "Alipay (personal)".into()),
        ("wechat-person".into(), "WeChat Pay (personal)".into()),
    ]
}

fn default_prices() -> Vec<u64> {
    vec![100, 1_000, 5_000, 10_000, 50_000, 100_000]
}

/// The whole sandbox configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Which reading of the form API to answer by (`documented` by default).
    #[serde(default)]
    pub profile: Profile,
    /// Vpay88 merchants.
    #[serde(default = "vpay88_merchants")]
    pub vpay88: Vec<Merchant>,
    /// One1Pay merchants.
    #[serde(default = "one1pay_merchants")]
    pub one1pay: Vec<Merchant>,
    /// ONE-PUNCH sub-accounts.
    #[serde(default = "monster_accounts")]
    pub onepunch: Vec<MonsterAccount>,
    /// White-label brands of the form API (`[[brands]]`), none by default.
    #[serde(default)]
    pub brands: Vec<BrandMount>,
    /// Answer with the documents' trailing commas, to test a client's tolerance.
    #[serde(default)]
    pub trailing_commas: bool,
    /// Callback delivery attempts before giving up.
    #[serde(default = "default_attempts")]
    pub callback_attempts: u32,
    /// First retry delay, milliseconds (doubled each time).
    #[serde(default = "default_retry_ms")]
    pub callback_retry_ms: u64,
    /// Put `payment_token` in ONE-PUNCH notifications (the document's sample has none).
    #[serde(default)]
    pub onepunch_notify_includes_payment_token: bool,
    /// Fault injection (none by default).
    #[serde(default)]
    pub faults: crate::faults::FaultConfig,
    /// Bytes the journal keeps of requests, answers and callbacks in all
    /// (32 MiB by default); past it the oldest orders' entries are forgotten.
    /// A body larger than a sixteenth of it (at most 64 KiB) is kept as a
    /// marker naming its size.
    #[serde(default = "default_journal_bytes")]
    pub journal_bytes: usize,
    /// Orders (and payments) kept; past it the oldest are forgotten, with
    /// what the dashboard shows of them.
    #[serde(default = "default_max_orders")]
    pub max_orders: usize,
    /// Hosts beside loopback the sandbox may call back (`merchant.example`);
    /// a callback to any other host is refused and shown as such.
    #[serde(default)]
    pub allow_callback_hosts: Vec<String>,
    /// The secrets (`whsec_...`) the merchant's webhooks posted to
    /// `/merchant/webhooks` are verified with: any one may have signed a
    /// delivery, as while secrets rotate. None by default: deliveries are
    /// then taken and shown as unverified.
    #[serde(default)]
    pub webhook_secrets: Vec<crate::webhooks::Secret>,
}

fn default_journal_bytes() -> usize {
    crate::journal::DEFAULT_JOURNAL_BYTES
}

fn default_max_orders() -> usize {
    10_000
}

fn default_attempts() -> u32 {
    6
}

fn default_retry_ms() -> u64 {
    200
}

fn banks(currency: &str, names: &[&str]) -> Vec<BankEntry> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| BankEntry {
            id: (i + 1).to_string(),
            name: (*name).into(),
            currency: currency.into(),
        })
        .collect()
}

fn limit(min: i64, max: i64) -> Limit {
    Limit {
        min: Decimal::from(min),
        max: Decimal::from(max),
    }
}

/// A demo merchant for the currencies named in `currencies`, separated by spaces.
fn demo_merchant(currencies: &str) -> Merchant {
    let mut deposit_banks = Vec::new();
    let mut withdrawal_banks = Vec::new();
    let mut limits = BTreeMap::new();
    let mut balances = BTreeMap::new();
    for (offset, currency) in currencies.split_whitespace().enumerate() {
        let names: &[&str] = match currency {
            "MYR" => &["Malayan Banking Berhad", "CIMB Bank"],
            "THB" => &["Siam Commercial Bank", "Kasikornbank"],
            "IDR" => &["Bank Central Asia", "Bank Mandiri"],
            _ => &["Demo Bank"],
        };
        let mut list = banks(currency, names);
        for bank in &mut list {
            bank.id = format!(
                "{}",
                (offset + 1) * 100 + bank.id.parse::<usize>().unwrap_or(0)
            );
        }
        deposit_banks.extend(list.clone());
        withdrawal_banks.extend(list);
        limits.insert(currency.to_string(), limit(10, 50_000));
        balances.insert(currency.to_string(), Decimal::from(100_000));
    }
    Merchant {
        username: DEMO_USERNAME.into(),
        api_key: DEMO_API_KEY.into(),
        secret_key: DEMO_SECRET_KEY.into(),
        callback_url: None,
        balances,
        limits,
        deposit_banks,
        withdrawal_banks,
    }
}

fn vpay88_merchants() -> Vec<Merchant> {
    vec![demo_merchant("MYR SGD VND THB IDR")]
}

fn one1pay_merchants() -> Vec<Merchant> {
    vec![demo_merchant("THB CNY VND INR USDT-TRC20 MYR BDT SGD")]
}

fn monster_accounts() -> Vec<MonsterAccount> {
    vec![MonsterAccount {
        monster_token: DEMO_MONSTER_TOKEN.into(),
        monster_key: DEMO_MONSTER_KEY.into(),
        methods: default_methods(),
        prices_fen: default_prices(),
    }]
}

/// Brands of this API take `USDT` on Vpay88's side of the family: under the
/// `observed` profile the Vpay88 demo merchant lists it too, unless its
/// configuration already names it. Other merchants list what their file says.
pub(crate) fn add_observed_currencies(config: &mut SandboxConfig) {
    for merchant in &mut config.vpay88 {
        if merchant.username != DEMO_USERNAME || merchant.limits.contains_key("USDT") {
            continue;
        }
        // Numbered after the demo's own banks, as `demo_merchant` numbers them.
        let bank = BankEntry {
            id: format!("{}01", merchant.limits.len() + 1),
            name: "Demo Bank".into(),
            currency: "USDT".into(),
        };
        merchant.deposit_banks.push(bank.clone());
        merchant.withdrawal_banks.push(bank);
        merchant.limits.insert("USDT".into(), limit(10, 50_000));
        merchant
            .balances
            .entry("USDT".into())
            .or_insert(Decimal::from(100_000));
    }
}

/// Refuses `webhook_secrets` unless a list of good secrets, by entry
/// number: the parser's own error would quote the line, and with it a secret.
fn check_webhook_secrets(text: &str) -> Result<(), String> {
    // A file that does not parse is reported by the full parse.
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let Some(value) = table.get("webhook_secrets") else {
        return Ok(());
    };
    let items = value
        .as_array()
        .ok_or("webhook_secrets: a list of whsec_... secrets")?;
    for (n, item) in items.iter().enumerate() {
        let parsed = item
            .as_str()
            .ok_or_else(|| "not text".to_owned())
            .and_then(|text| {
                crate::webhooks::Secret::parse(text)
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
        parsed.map_err(|e| format!("webhook_secrets: entry {}: {e}", n + 1))?;
    }
    Ok(())
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            profile: Profile::default(),
            vpay88: vpay88_merchants(),
            one1pay: one1pay_merchants(),
            onepunch: monster_accounts(),
            brands: Vec::new(),
            trailing_commas: false,
            callback_attempts: default_attempts(),
            callback_retry_ms: default_retry_ms(),
            onepunch_notify_includes_payment_token: false,
            faults: crate::faults::FaultConfig::default(),
            max_orders: default_max_orders(),
            journal_bytes: default_journal_bytes(),
            allow_callback_hosts: Vec::new(),
            webhook_secrets: Vec::new(),
        }
    }
}

impl SandboxConfig {
    /// Parses a TOML file's text; absent sections keep the demo defaults.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        check_webhook_secrets(text)?;
        let mut config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check_brands()?;
        Ok(config)
    }

    /// Refuses a brand whose name is not a fresh path prefix, and gives one
    /// that lists no merchants the demo merchant for its currencies.
    fn check_brands(&mut self) -> Result<(), String> {
        // `merchant` is the prefix of the route the merchant's webhooks arrive at.
        let mut seen: Vec<String> = ["vpay88", "one1pay", "onepunch", "merchant"]
            .map(String::from)
            .to_vec();
        for brand in &mut self.brands {
            let name = brand.name.clone();
            let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !well_formed || seen.contains(&name) || name.len() > 32 {
                return Err(format!(
                    "brands: {name:?} must be a new name of lower-case letters, digits or '_' (not {})",
                    seen.join(", ")
                ));
            }
            if brand.merchants.is_empty() {
                if brand.currencies.is_empty() {
                    return Err(format!(
                        "brands: {name} lists neither merchants nor currencies"
                    ));
                }
                brand.merchants = vec![demo_merchant(&brand.currencies.join(" "))];
            }
            seen.push(name);
        }
        Ok(())
    }

    /// The merchants of the form-API mount `name` (a brand's included).
    pub fn merchants(&self, name: &str) -> &[Merchant] {
        match name {
            "vpay88" => &self.vpay88,
            "one1pay" => &self.one1pay,
            brand => self
                .brands
                .iter()
                .find(|b| b.name == brand)
                .map_or(&[], |b| &b.merchants),
        }
    }

    /// Adds a secret the merchant's webhooks are verified with.
    pub fn with_webhook_secret(mut self, secret: crate::webhooks::Secret) -> Self {
        self.webhook_secrets.push(secret);
        self
    }

    /// Sets the account-level callback URL of every `demo` merchant.
    pub fn with_demo_callback_url(mut self, url: &str) -> Self {
        let brands = self.brands.iter_mut().flat_map(|b| b.merchants.iter_mut());
        for merchant in self
            .vpay88
            .iter_mut()
            .chain(self.one1pay.iter_mut())
            .chain(brands)
        {
            if merchant.username == DEMO_USERNAME {
                merchant.callback_url = Some(url.to_owned());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_can_define_other_merchants_and_faults() {
        let config = SandboxConfig::from_toml(
            r#"
trailing_commas = true
[[vpay88]]
username = "shop"
api_key = "k"
secret_key = "s"
callback_url = "http://127.0.0.1:9/cb"
balances = { MYR = "2500.00" }
limits = { MYR = { min = "1", max = "100" } }
withdrawal_banks = [{ id = "7", name = "Test Bank", currency = "MYR" }]
[faults]
seed = 3
rules = [{ endpoint = "withdraw_orders", kind = "drop_after_commit", percent = 50 }]
"#,
        )
        .unwrap();
        assert!(config.trailing_commas);
        let shop = &config.vpay88[0];
        assert_eq!(shop.username, "shop");
        assert_eq!(shop.balances["MYR"], Decimal::new(250000, 2));
        assert_eq!(shop.limits["MYR"].max, Decimal::from(100));
        assert_eq!(shop.withdrawal_banks[0].id, "7");
        assert_eq!(
            config.one1pay[0].username, DEMO_USERNAME,
            "absent sections keep the demo"
        );
        assert_eq!(config.faults.rules[0].provider, "*");
        assert!(SandboxConfig::from_toml("[[vpay88]]\nusername = 1").is_err());
    }

    #[test]
    fn the_profile_is_documented_unless_named_and_an_unknown_name_says_which_exist() {
        assert_eq!(SandboxConfig::default().profile, Profile::Documented);
        assert_eq!(
            SandboxConfig::from_toml("").unwrap().profile,
            Profile::Documented
        );
        let observed = SandboxConfig::from_toml("profile = \"observed\"").unwrap();
        assert_eq!(observed.profile, Profile::Observed);
        let err = SandboxConfig::from_toml("profile = \"live\"").unwrap_err();
        assert!(
            err.contains("unknown sandbox profile \"live\": expected one of documented, observed"),
            "{err}"
        );
        assert_eq!("observed".parse::<Profile>(), Ok(Profile::Observed));
        assert!("Observed".parse::<Profile>().is_err(), "names are exact");
    }

    #[test]
    fn a_brand_is_another_mount_with_its_own_currencies_and_a_clashing_name_is_refused() {
        let config = SandboxConfig::from_toml(
            "[[brands]]\nname = \"fpay\"\nlike = \"vpay88\"\ncurrencies = [\"MYR\", \"THB\"]\n",
        )
        .unwrap()
        .with_demo_callback_url("http://127.0.0.1:9/cb");
        let fpay = config.merchants("fpay");
        assert_eq!(fpay.len(), 1);
        let currencies: Vec<&str> = fpay[0].limits.keys().map(String::as_str).collect();
        assert_eq!(currencies, ["MYR", "THB"]);
        assert_eq!(
            fpay[0].callback_url.as_deref(),
            Some("http://127.0.0.1:9/cb")
        );
        for text in [
            "[[brands]]\nname = \"vpay88\"\nlike = \"vpay88\"\ncurrencies = [\"MYR\"]\n",
            "[[brands]]\nname = \"merchant\"\nlike = \"vpay88\"\ncurrencies = [\"MYR\"]\n",
            "[[brands]]\nname = \"Fpay\"\nlike = \"vpay88\"\ncurrencies = [\"MYR\"]\n",
            "[[brands]]\nname = \"fpay\"\nlike = \"vpay88\"\n",
            "[[brands]]\nname = \"fpay\"\nlike = \"stripe\"\ncurrencies = [\"MYR\"]\n",
        ] {
            let err = SandboxConfig::from_toml(text).unwrap_err();
            assert!(
                err.contains("brands") || err.contains("like"),
                "{text}: {err}"
            );
        }
    }
}
