//! The currencies and amount limits the provider publishes for the merchant's
//! account (`/merchant/currency`), kept for a while and checked before an order
//! is sent: a currency the account does not list, or an amount out of its
//! range, is refused by name instead of by the provider's `Currency invalid.`
//! or `Invalid Amount.`. The published list decides, not the documents' list:
//! brands of this API offer currencies the documents never name (`USDT`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paybridge_core::{CurrencyLimit, Error, Money, Provider, Result};

/// How long published limits are trusted by default.
pub const DEFAULT_LIMITS_TTL: Duration = Duration::from_secs(600);

/// The limits last fetched, and when.
#[derive(Debug)]
pub(crate) struct LimitsCache {
    /// `None`: limits are never fetched nor checked.
    ttl: Option<Duration>,
    /// The last answer; an empty list when fetching failed, so a provider that
    /// does not answer is not asked again before every order.
    kept: Mutex<Option<(Instant, Arc<Vec<CurrencyLimit>>)>>,
}

impl LimitsCache {
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            kept: Mutex::new(None),
        }
    }

    /// The limits to check against: `None` when checking is off, the kept ones
    /// while fresh, else `fetch`'s answer (kept for next time).
    pub(crate) async fn current<F, Fut>(&self, fetch: F) -> Option<Arc<Vec<CurrencyLimit>>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<CurrencyLimit>>>,
    {
        let ttl = self.ttl?;
        if let Some((at, limits)) = self.lock().as_ref() {
            if at.elapsed() < ttl {
                return Some(Arc::clone(limits));
            }
        }
        let limits = Arc::new(match fetch().await {
            Ok(limits) => limits,
            Err(err) => {
                // The provider still checks the amount itself; the order is not held up.
                tracing::warn!(error = %err, "currency limits unavailable; amounts go unchecked until they are fetched again");
                Vec::new()
            }
        });
        *self.lock() = Some((Instant::now(), Arc::clone(&limits)));
        Some(limits)
    }

    /// Limits are only ever replaced whole: a poisoned lock still holds a whole list.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<CurrencyLimit>>)>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Refuses `amount` when the provider's published list does not name its
/// currency, or names limits that exclude it. An empty list (none could be
/// fetched) refuses nothing: the provider decides, and its refusal of a
/// currency is a definite one.
pub(crate) fn check_amount(
    amount: &Money,
    limits: &[CurrencyLimit],
    provider: Provider,
) -> Result<()> {
    if limits.is_empty() {
        return Ok(());
    }
    let Some(limit) = limits.iter().find(|l| &l.currency == amount.currency()) else {
        let listed: Vec<&str> = limits.iter().map(|l| l.currency.as_str()).collect();
        return Err(Error::invalid(
            "currency",
            format!(
                "{} is not among the currencies {provider} publishes for this account ({})",
                amount.currency(),
                listed.join(", ")
            ),
        ));
    };
    let value = amount.amount();
    let bound = if value < limit.min {
        Some(("minimum", limit.min))
    } else if value > limit.max {
        Some(("maximum", limit.max))
    } else {
        None
    };
    match bound {
        Some((which, bound)) => Err(Error::invalid(
            "amount",
            format!(
                "{amount} is outside the provider's published {} limits: the {which} is {}",
                amount.currency(),
                bound.normalize()
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use paybridge_core::{Currency, Decimal};

    use super::*;

    fn myr_limits() -> Vec<CurrencyLimit> {
        let myr = Currency::new("MYR").unwrap();
        vec![CurrencyLimit::range(
            myr,
            Decimal::new(4200, 1),
            Decimal::new(420_000, 1),
        )]
    }

    #[test]
    fn amounts_inside_the_range_and_at_its_ends_pass_others_name_the_limit() {
        let limits = myr_limits();
        let check = |amount: &str, currency: &str, limits: &[CurrencyLimit]| {
            check_amount(
                &Money::parse(amount, currency).unwrap(),
                limits,
                Provider::new("vpay88"),
            )
        };
        for ok in ["420", "420.00", "1000", "42000"] {
            assert!(check(ok, "MYR", &limits).is_ok(), "{ok}");
        }
        for (amount, named) in [
            ("419.99", "minimum is 420"),
            ("42000.01", "maximum is 42000"),
        ] {
            let err = check(amount, "MYR", &limits).unwrap_err().to_string();
            assert!(err.contains(named), "{amount}: {err}");
        }
    }

    #[test]
    fn a_currency_the_published_list_does_not_name_is_refused_naming_the_list() {
        let mut limits = myr_limits();
        limits.push(CurrencyLimit::range(
            Currency::new("USDT").unwrap(),
            Decimal::ONE,
            Decimal::new(1000, 0),
        ));
        let usdt = check_amount(
            &Money::parse("10.5", "USDT").unwrap(),
            &limits,
            Provider::new("vpay88"),
        );
        assert!(
            usdt.is_ok(),
            "a listed currency the documents never name: {usdt:?}"
        );
        match check_amount(
            &Money::parse("100", "THB").unwrap(),
            &limits,
            Provider::new("vpay88"),
        ) {
            Err(Error::InvalidRequest { field, reason }) => {
                assert_eq!(field, "currency");
                assert!(
                    reason.contains("THB") && reason.contains("MYR, USDT"),
                    "{reason}"
                );
            }
            other => panic!("THB is not published here: {other:?}"),
        }
        let none_fetched = check_amount(
            &Money::parse("100", "THB").unwrap(),
            &[],
            Provider::new("vpay88"),
        );
        assert!(
            none_fetched.is_ok(),
            "without a list the provider decides: {none_fetched:?}"
        );
    }

    #[tokio::test]
    async fn limits_are_fetched_once_per_ttl_and_a_failure_is_kept_too() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let fetches = AtomicUsize::new(0);
        let answering = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(myr_limits())
        };
        let cache = LimitsCache::new(Some(Duration::from_secs(60)));
        assert_eq!(cache.current(answering).await.unwrap().len(), 1);
        assert_eq!(cache.current(answering).await.unwrap().len(), 1);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        let failures = AtomicUsize::new(0);
        let failing = || async {
            failures.fetch_add(1, Ordering::SeqCst);
            Err(Error::invalid("limits", "the provider is down"))
        };
        let cache = LimitsCache::new(Some(Duration::from_secs(60)));
        assert_eq!(cache.current(failing).await.unwrap().len(), 0);
        assert_eq!(cache.current(failing).await.unwrap().len(), 0);
        assert_eq!(failures.load(Ordering::SeqCst), 1);

        let off = LimitsCache::new(None);
        assert!(off.current(answering).await.is_none());
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "checking off fetches nothing"
        );
    }
}
