//! What the route hands the merchant's handler.

use std::collections::BTreeMap;

use crate::{CallbackEvent, StatusReport};

/// A verified (and, by default, confirmed) callback handed to the merchant,
/// or, on a route whose gateway keeps a ledger, a transition the ledger owes
/// the handler.
///
/// Which facts are the provider's: `confirmed` holds what its status API
/// confirmed (the order, its amount and currency, its status). Everything else
/// the event carries beyond those (`charge`, `name`, `remarks`) is the
/// sender's word only, listed in `unconfirmed`: the Vpay88/One1Pay token
/// covers none of it, so whoever saw one genuine callback can set it to
/// anything (`charge: -500`, a name holding `<script>`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// The verified event, raw body included. For a transition the ledger
    /// owed without the callback at hand (learned by a status query,
    /// reconcile or a create answer, or a handler run again by
    /// `OwedDeliveries`), the ledger's facts in the same shape: an empty
    /// `raw_body`, and no `charge`, `name` or `remarks`.
    pub event: CallbackEvent,
    /// The provider's confirming status, when confirmation is on.
    pub confirmed: Option<StatusReport>,
    /// The event's fields beyond the confirmed facts, by name (`charge`,
    /// `name`, `remarks`), as the sender wrote them: never checked by anyone.
    pub unconfirmed: BTreeMap<String, String>,
    /// `true` when the merchant's seen-before check recognised this event.
    pub duplicate: bool,
    /// The named account whose path received it (routes built by
    /// [`CallbackRoute::for_accounts`](super::CallbackRoute::for_accounts)).
    pub account: Option<String>,
    /// The ledger's transition this delivery is owed for, on a route whose
    /// gateway keeps a ledger: its `id` is the same at every delivery of it
    /// (a handler dedupes on it), `from` and `to` say what moved.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub transition: Option<paybridge_ledger::Transition>,
}

impl Delivery {
    /// A delivery of `event`, confirmed by `confirmed` when given, with its
    /// unconfirmed fields listed (also for merchants' own handler tests).
    pub fn new(event: CallbackEvent, confirmed: Option<StatusReport>) -> Self {
        Self {
            unconfirmed: unconfirmed_fields(&event),
            event,
            confirmed,
            duplicate: false,
            account: None,
            #[cfg(feature = "ledger")]
            transition: None,
        }
    }

    // The route sets the rest itself; these let a merchant's handler tests
    // build every delivery the route can hand over.

    /// Marks it as recognised by the route's seen-before check.
    pub fn with_duplicate(mut self, duplicate: bool) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Names the account whose path received it.
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The ledger's transition it is owed for.
    #[cfg(feature = "ledger")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
    pub fn with_transition(mut self, transition: paybridge_ledger::Transition) -> Self {
        self.transition = Some(transition);
        self
    }
}

/// The fields of `event` no status query confirms, by name, as sent.
pub(super) fn unconfirmed_fields(event: &CallbackEvent) -> BTreeMap<String, String> {
    [
        ("charge", event.charge.map(|charge| charge.to_string())),
        ("name", event.name.clone()),
        ("remarks", event.remarks.clone()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), value?)))
    .collect()
}
