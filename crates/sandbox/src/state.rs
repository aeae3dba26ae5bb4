//! The sandbox's memory: tokens, orders, balances, payments, deliveries.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

/// Which of the two form-API documents a mount answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// Vpay88's document.
    Vpay88,
    /// One1Pay's document.
    One1pay,
}

impl Flavour {
    /// The status word of a payout not yet settled, as each document shows it:
    /// Vpay88 `pending`, One1Pay `proccess` (sic).
    pub fn unsettled_payout_word(self) -> &'static str {
        match self {
            Flavour::Vpay88 => "pending",
            Flavour::One1pay => "proccess",
        }
    }
}

/// A form-API mount: its name (also its path prefix) and the document it
/// answers as. Vpay88 and One1Pay are the two documented mounts; a
/// configured brand is another mount of the same emulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FormProvider {
    name: &'static str,
    like: Flavour,
}

impl FormProvider {
    /// Vpay88.
    pub const VPAY88: Self = Self {
        name: "vpay88",
        like: Flavour::Vpay88,
    };
    /// One1Pay.
    pub const ONE1PAY: Self = Self {
        name: "one1pay",
        like: Flavour::One1pay,
    };

    /// A brand's mount. Its name is kept for the process's life: a sandbox
    /// makes one per configured brand, once, and every record names it as a
    /// `&'static str` like the documented mounts'.
    pub fn brand(name: &str, like: Flavour) -> Self {
        Self {
            name: Box::leak(name.to_owned().into_boxed_str()),
            like,
        }
    }

    /// Path prefix and name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The document it answers as.
    pub fn like(self) -> Flavour {
        self.like
    }

    /// The status word of a payout not yet settled, as its document shows it.
    pub fn unsettled_payout_word(self) -> &'static str {
        self.like.unsettled_payout_word()
    }
}

impl Serialize for FormProvider {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

/// Deposit or withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A deposit.
    Deposit,
    /// A withdrawal.
    Withdrawal,
}

/// Where a form-API order is stored: provider, merchant user name, kind, merchant order id.
pub type OrderKey = (FormProvider, String, Kind, String);

/// Requests counted per (provider, kind, order id).
pub type RequestCounts = HashMap<(String, Kind, String), u32>;

/// Request tallies as the sandbox keeps them: bounded.
pub type RequestTallies = Bounded<(String, Kind, String), u32>;

impl RequestTallies {
    /// Counts one request for `provider`'s order `order_id`; the oldest
    /// tallies past `limit` are forgotten.
    pub fn count(&mut self, provider: &str, kind: Kind, order_id: &str, limit: usize) {
        *self.get_or_default((provider.to_owned(), kind, order_id.to_owned()), limit) += 1;
    }
}

/// A map that holds at most a limit of keys, forgetting the oldest first, so
/// that what a long-running sandbox remembers does not grow without end.
#[derive(Debug)]
pub struct Bounded<K, V> {
    map: HashMap<K, V>,
    arrival: VecDeque<K>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            arrival: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Everything held, oldest key first.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.arrival
            .iter()
            .filter_map(|key| self.map.get_key_value(key))
    }

    /// Everything held.
    pub fn map(&self) -> &HashMap<K, V> {
        &self.map
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `key`, made with `V::default()` when new; the oldest keys
    /// past `limit` are forgotten.
    pub fn get_or_default(&mut self, key: K, limit: usize) -> &mut V
    where
        V: Default,
    {
        if !self.map.contains_key(&key) {
            // Counts and tokens refer to nothing else: the forgotten just go.
            drop(self.insert(key.clone(), V::default(), limit));
        }
        self.map.entry(key).or_default()
    }

    /// Sets `key`; the oldest keys past `limit` are forgotten, and returned
    /// for a caller that must let go of what they referred to.
    pub fn insert(&mut self, key: K, value: V, limit: usize) -> Vec<V> {
        if self.map.insert(key.clone(), value).is_some() {
            return Vec::new();
        }
        self.arrival.push_back(key);
        self.forget_past(limit)
    }

    /// Keeps only the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(|k, v| keep(k, v));
        let map = &self.map;
        self.arrival.retain(|k| map.contains_key(k));
    }

    /// Removes the oldest entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        while let Some(oldest) = self.arrival.pop_front() {
            if let Some(value) = self.map.remove(&oldest) {
                return Some((oldest, value));
            }
        }
        None
    }

    fn forget_past(&mut self, limit: usize) -> Vec<V> {
        let mut forgotten = Vec::new();
        while self.arrival.len() > limit.max(1) {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            forgotten.extend(self.map.remove(&oldest));
        }
        forgotten
    }
}

/// An order of a form-API merchant.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    /// Deposit or withdrawal.
    pub kind: Kind,
    /// Merchant user name.
    pub merchant: String,
    /// Merchant order id.
    pub order_id: String,
    /// Amount as sent.
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// The provider's status word (`pending`, `proccess`, `completed`, `fail`, `rejected`).
    pub status: &'static str,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
    /// Customer or account holder name.
    pub name: String,
    /// Per-order callback URL.
    pub callback_url: Option<String>,
    /// Where the payer goes afterwards.
    pub redirect_url: Option<String>,
    /// `payment_id` (One1Pay).
    pub payment_id: String,
    /// The `withdraw_order_id` a payout was answered with (the `observed`
    /// profile's; the documents show none).
    pub withdraw_order_id: Option<String>,
    /// Fee charged.
    pub charge: Decimal,
}

/// A ONE-PUNCH payment.
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    /// Sub-account.
    pub monster_token: String,
    /// `payment_token`.
    pub payment_token: String,
    /// `trans_token`.
    pub trans_token: String,
    /// Method code.
    pub payment_method: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Merchant order number.
    pub order_num: Option<String>,
    /// Notification URL.
    pub notify_url: String,
    /// Return URL.
    pub return_url: String,
    /// Whether the provider finished with it.
    pub processed: bool,
    /// Whether it was paid.
    pub completed: bool,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
}

impl Payment {
    /// Its status in words: `pending`, `completed` or `failed`.
    pub fn status(&self) -> &'static str {
        match (self.processed, self.completed) {
            (_, true) => "completed",
            (true, false) => "failed",
            _ => "pending",
        }
    }
}

/// An order as the sandbox stores it, in arrival order, for forgetting the oldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A form-API order.
    Form(OrderKey),
    /// A ONE-PUNCH payment, by token.
    Punch(String),
}

/// One callback delivery attempt series.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Provider name.
    pub provider: &'static str,
    /// Order id or payment token.
    pub reference: String,
    /// Where it was sent.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Whether an HTTP 200 came back.
    pub delivered: bool,
}

/// Everything the sandbox remembers.
#[derive(Debug, Default)]
pub struct State {
    /// Issued auth tokens: (provider, token) to merchant; the oldest past the
    /// limit expire, as a provider's tokens would.
    pub auth_tokens: Bounded<(FormProvider, String), String>,
    /// Orders by (provider, merchant, kind, order id).
    pub orders: HashMap<OrderKey, Order>,
    /// Payout balances by (provider, merchant, currency).
    pub balances: HashMap<(FormProvider, String, String), Decimal>,
    /// Payment pages: (provider, payment id) to the order's key.
    pub pages: HashMap<(FormProvider, String), (FormProvider, String, Kind, String)>,
    /// ONE-PUNCH payments by token.
    pub payments: HashMap<String, Payment>,
    /// Every stored order and payment, oldest first.
    pub arrival: VecDeque<Stored>,
    /// Create requests per (provider, kind, order id): more than one is a resend.
    pub create_requests: RequestTallies,
    /// Status queries per (provider, kind, order id), for tests that show a
    /// run asked each order once.
    pub status_requests: RequestTallies,
}

impl State {
    /// Stores a form-API order (and its payment page), forgetting the oldest
    /// orders past `limit`.
    pub fn insert_order(&mut self, key: OrderKey, order: Order, limit: usize) {
        if order.kind == Kind::Deposit {
            self.pages
                .insert((key.0, order.payment_id.clone()), key.clone());
        }
        self.orders.insert(key.clone(), order);
        self.arrival.push_back(Stored::Form(key));
        self.forget_past(limit);
    }

    /// Stores a ONE-PUNCH payment, forgetting the oldest orders past `limit`.
    pub fn insert_payment(&mut self, payment: Payment, limit: usize) {
        let token = payment.payment_token.clone();
        self.payments.insert(token.clone(), payment);
        self.arrival.push_back(Stored::Punch(token));
        self.forget_past(limit);
    }

    fn forget_past(&mut self, limit: usize) {
        while self.arrival.len() > limit.max(1) {
            match self.arrival.pop_front() {
                Some(Stored::Form(key)) => {
                    if let Some(order) = self.orders.remove(&key) {
                        self.pages.remove(&(key.0, order.payment_id));
                    }
                }
                Some(Stored::Punch(token)) => {
                    self.payments.remove(&token);
                }
                None => break,
            }
        }
    }
}
