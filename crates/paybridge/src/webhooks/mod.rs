//! The ledger's events, delivered: each event the ledger's outbox holds is
//! handed to a [`Receiver`] (the merchant's HTTP endpoint, signed per Standard
//! Webhooks, or a handler of the merchant's own) at least once, retried on a
//! schedule of more than three days, then kept as dead until replayed.
//!
//! Several processes may deliver from one PostgreSQL ledger: each event is
//! claimed by one at a time, under a lease.

mod http;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use paybridge_ledger::{AfterAttempt, Attempt, ClaimedEvent, Event, EventClaim, Ledger};
use rand::Rng;

pub use self::http::{HttpReceiver, WebhookEndpoint, ATTEMPT_TIMEOUT};
pub use paybridge_signing::webhook::WebhookSecret;

/// The waits between attempts: after the first attempt fails, the second
/// comes 5 s later, the third 5 min after that, and so on; after the last
/// wait's attempt fails the event is dead. 75 h 35 min in all (over three
/// days), each wait moved by up to a tenth either way so that events failed
/// together do not all come back together.
pub const RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The longest wait a `Retry-After` may ask for; a longer one is cut to it.
pub const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What a receiver made of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// Taken (a 2xx).
    Accepted,
    /// Not taken; try again on the schedule.
    Refused,
    /// Not taken; try again after this wait (`429` or `503` with `Retry-After`).
    RetryAfter(Duration),
    /// The endpoint is gone (`410`): no more deliveries to it until enabled.
    Gone,
}

/// One delivery's result: what the receiver made of it, and what to keep of
/// the attempt (its status, the first bytes of its answer, or its failure).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// What the receiver made of it.
    pub received: Received,
    /// The answer's status, when one came.
    pub status: Option<u16>,
    /// The answer's body (its first bytes are kept).
    pub answer: Vec<u8>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
}

impl Delivery {
    /// A delivery that got no answer, for `reason`.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            received: Received::Refused,
            status: None,
            answer: Vec::new(),
            error: Some(reason.into()),
        }
    }

    /// A delivery answered `status` with `answer`, read as Standard Webhooks
    /// senders read it: 2xx taken, `410` gone, `429` and `503` asking for
    /// their `Retry-After` when they give one, anything else refused.
    pub fn answered(status: u16, answer: Vec<u8>, retry_after: Option<Duration>) -> Self {
        let received = match status {
            200..=299 => Received::Accepted,
            410 => Received::Gone,
            429 | 503 => match retry_after {
                Some(wait) => Received::RetryAfter(wait.min(LONGEST_RETRY_AFTER)),
                None => Received::Refused,
            },
            _ => Received::Refused,
        };
        Self {
            received,
            status: Some(status),
            answer,
            error: None,
        }
    }
}

/// Where events go: the merchant's endpoint ([`HttpReceiver`]) or a handler
/// of the merchant's own, which gets the same events from the same outbox.
#[async_trait]
pub trait Receiver: Send + Sync + std::fmt::Debug {
    /// A name for the endpoint, unique among the receivers of one ledger
    /// (an HTTP receiver's URL): the one `410 Gone` disables.
    fn endpoint(&self) -> &str;

    /// Delivers `event` once.
    async fn deliver(&self, event: &Event) -> Delivery;
}

/// What one round of [`Outbox::deliver_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Round {
    /// Events attempted.
    pub attempted: usize,
    /// Of those, taken.
    pub delivered: usize,
    /// Of those, to be tried again.
    pub retrying: usize,
    /// Of those, dead after their last attempt.
    pub dead: usize,
    /// Whether the endpoint is disabled (it answered `410 Gone`).
    pub disabled: bool,
}

/// Delivers a ledger's events to one receiver.
#[derive(Debug, Clone)]
pub struct Outbox {
    ledger: Arc<dyn Ledger>,
    receiver: Arc<dyn Receiver>,
    batch: i64,
    lease: Duration,
    schedule: Arc<[Duration]>,
}

impl Outbox {
    /// Delivers `ledger`'s events to `receiver`, 32 claimed at a time, each
    /// claim held for two minutes (more than one attempt's 15 s), failures
    /// retried on [`RETRY_SCHEDULE`].
    pub fn new(ledger: Arc<dyn Ledger>, receiver: Arc<dyn Receiver>) -> Self {
        Self {
            ledger,
            receiver,
            batch: 32,
            lease: lease_for(http::ATTEMPT_TIMEOUT),
            schedule: Arc::from(RETRY_SCHEDULE.as_slice()),
        }
    }

    /// Retries a failed delivery after each of `waits` in turn (each moved
    /// by up to a tenth either way) instead of [`RETRY_SCHEDULE`]; after the
    /// last wait's attempt fails the event is dead. An empty schedule keeps
    /// the default.
    pub fn retry_schedule(mut self, waits: &[Duration]) -> Self {
        if !waits.is_empty() {
            self.schedule = Arc::from(waits);
        }
        self
    }

    /// Claims at most `batch` events at a time.
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = i64::from(batch.max(1));
        self
    }

    /// Holds each claim for `lease`: past it, another deliverer takes the
    /// event over (this one died mid-delivery).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Delivers the events due now, once each, concurrently within the batch.
    pub async fn deliver_due(&self) -> paybridge_core::Result<Round> {
        let mut round = Round::default();
        let claimed = self
            .claim_due(usize::try_from(self.batch).unwrap_or(usize::MAX))
            .await?;
        let deliveries = claimed.iter().map(|claimed| self.deliver_one(claimed));
        for result in futures_util::future::join_all(deliveries).await {
            round.attempted += 1;
            match result? {
                AfterAttempt::Delivered => round.delivered += 1,
                AfterAttempt::Dead => round.dead += 1,
                _ => round.retrying += 1,
            }
        }
        round.disabled = self
            .ledger
            .endpoint_disabled(self.receiver.endpoint())
            .await?
            .is_some();
        Ok(round)
    }

    async fn deliver_one(&self, claimed: &ClaimedEvent) -> paybridge_core::Result<AfterAttempt> {
        let started = std::time::Instant::now();
        let at = paybridge_ledger::now_ms();
        let delivery = self.receiver.deliver(&claimed.event).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mut attempt = Attempt::new(at, duration_ms);
        if let Some(status) = delivery.status {
            attempt = attempt.answered(status, &delivery.answer);
        }
        if let Some(error) = &delivery.error {
            attempt = attempt.failed(error.clone());
        }
        let after = match &delivery.received {
            Received::Accepted => AfterAttempt::Delivered,
            Received::Gone => {
                self.ledger
                    .disable_endpoint(self.receiver.endpoint(), "answered 410 Gone")
                    .await?;
                // Kept due: it goes once the endpoint is enabled again.
                AfterAttempt::RetryAt(at)
            }
            Received::RetryAfter(wait) => {
                after_failure(&self.schedule, claimed.event.attempts, at, Some(*wait))
            }
            Received::Refused => after_failure(&self.schedule, claimed.event.attempts, at, None),
        };
        tracing::info!(
            event = %claimed.event.id,
            r#type = %claimed.event.event_type,
            status = delivery.status,
            outcome = ?after,
            "webhook delivery"
        );
        self.ledger.record_attempt(claimed, &attempt, after).await?;
        Ok(after)
    }

    /// Delivers until `shutdown` completes, keeping up to the batch's
    /// number of deliveries in flight: a slot freed by one delivery is
    /// claimed for the next due event at once, so a receiver slow to answer
    /// one event (up to its timeout) holds up no other. Polls every `idle`
    /// when nothing is due. A failing ledger is logged and retried, never
    /// fatal. On `shutdown` it claims nothing more and lets the deliveries
    /// in flight finish and be recorded (each bounded by its timeout).
    pub async fn run(&self, idle: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            let free = usize::try_from(self.batch)
                .unwrap_or(usize::MAX)
                .saturating_sub(in_flight.len());
            // Claimed as many as asked: more may be due, claim again now.
            let more_due = free > 0
                && match self.claim_due(free).await {
                    Ok(claimed) => {
                        let filled = claimed.len() == free;
                        for event in claimed {
                            let outbox = self.clone();
                            in_flight.spawn(async move { outbox.deliver_one(&event).await });
                        }
                        filled
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "webhook deliveries could not read the ledger; retrying");
                        false
                    }
                };
            let full = in_flight.len() >= usize::try_from(self.batch).unwrap_or(usize::MAX);
            let wait = if more_due && !full {
                Duration::ZERO
            } else {
                idle
            };
            tokio::select! {
                _ = &mut shutdown => break,
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    log_failed_record(done);
                }
                _ = tokio::time::sleep(wait), if !full => {}
            }
        }
        while let Some(done) = in_flight.join_next().await {
            log_failed_record(done);
        }
    }

    /// Claims up to `limit` due events, none while the endpoint is disabled.
    async fn claim_due(&self, limit: usize) -> paybridge_core::Result<Vec<ClaimedEvent>> {
        if self
            .ledger
            .endpoint_disabled(self.receiver.endpoint())
            .await?
            .is_some()
        {
            return Ok(Vec::new());
        }
        let claim = EventClaim {
            now: paybridge_ledger::now_ms(),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            lease_ms: i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX),
        };
        self.ledger.claim_events(&claim).await
    }
}

/// A delivery whose attempt could not be recorded: said, and left to its
/// claim's end, after which it is attempted again (at least once).
fn log_failed_record(
    done: std::result::Result<paybridge_core::Result<AfterAttempt>, tokio::task::JoinError>,
) {
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::error!(error = %err, "a webhook attempt could not be recorded; it goes again once its claim ends")
        }
        Err(err) => tracing::error!(error = %err, "a webhook delivery task ended abnormally"),
    }
}

/// The lease a claim needs when one attempt may take `timeout`: eight times
/// it (two minutes for the default 15 s), so that a slow ledger write after
/// the attempt still lands inside it, while an event claimed by a process
/// that died is taken over by another soon after.
pub fn lease_for(timeout: Duration) -> Duration {
    timeout.saturating_mul(8)
}

/// What follows a failed attempt, the event having had `attempts` before
/// this one: `schedule`'s next wait (or the receiver's own, when it asked
/// for one), or dead past the schedule's end.
fn after_failure(
    schedule: &[Duration],
    attempts: i64,
    at: i64,
    asked: Option<Duration>,
) -> AfterAttempt {
    let index = usize::try_from(attempts).unwrap_or(usize::MAX);
    let Some(wait) = schedule.get(index) else {
        return AfterAttempt::Dead;
    };
    let wait = asked.unwrap_or_else(|| jittered(*wait));
    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    AfterAttempt::RetryAt(at.saturating_add(wait_ms))
}

/// `wait` moved by up to a tenth either way.
fn jittered(wait: Duration) -> Duration {
    let tenth = wait.as_millis() / 10;
    let tenth = u64::try_from(tenth).unwrap_or(u64::MAX);
    let base = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let moved =
        rand::thread_rng().gen_range(base.saturating_sub(tenth)..=base.saturating_add(tenth));
    Duration::from_millis(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_more_than_three_days_then_the_event_is_dead() {
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total > Duration::from_secs(3 * 24 * 3600), "{total:?}");
        for (attempts, wait) in RETRY_SCHEDULE.iter().enumerate() {
            let AfterAttempt::RetryAt(at) =
                after_failure(&RETRY_SCHEDULE, attempts as i64, 0, None)
            else {
                panic!("attempt {attempts} must be retried");
            };
            let ms = wait.as_millis() as i64;
            assert!(at >= ms - ms / 10 && at <= ms + ms / 10, "{attempts}: {at}");
        }
        assert_eq!(
            after_failure(&RETRY_SCHEDULE, RETRY_SCHEDULE.len() as i64, 0, None),
            AfterAttempt::Dead
        );
    }

    #[test]
    fn a_retry_after_replaces_the_schedules_wait_but_not_its_end() {
        assert_eq!(
            after_failure(&RETRY_SCHEDULE, 0, 1_000, Some(Duration::from_secs(60))),
            AfterAttempt::RetryAt(61_000)
        );
        assert_eq!(
            after_failure(
                &RETRY_SCHEDULE,
                RETRY_SCHEDULE.len() as i64,
                0,
                Some(Duration::from_secs(1))
            ),
            AfterAttempt::Dead
        );
    }

    #[test]
    fn a_schedule_of_its_own_is_followed_to_its_end() {
        let schedule = [Duration::from_secs(1), Duration::from_secs(10)];
        for (attempts, wait) in schedule.iter().enumerate() {
            let AfterAttempt::RetryAt(at) = after_failure(&schedule, attempts as i64, 0, None)
            else {
                panic!("attempt {attempts} must be retried");
            };
            let ms = wait.as_millis() as i64;
            assert!(at >= ms - ms / 10 && at <= ms + ms / 10, "{attempts}: {at}");
        }
        assert_eq!(after_failure(&schedule, 2, 0, None), AfterAttempt::Dead);
        assert_eq!(lease_for(http::ATTEMPT_TIMEOUT), Duration::from_secs(120));
    }

    #[test]
    fn each_status_is_read_as_standard_webhooks_senders_read_it() {
        let wait = Some(Duration::from_secs(30));
        let cases: [(u16, Option<Duration>, Received); 9] = [
            (200, None, Received::Accepted),
            (204, None, Received::Accepted),
            (299, None, Received::Accepted),
            (301, None, Received::Refused),
            (400, None, Received::Refused),
            (410, None, Received::Gone),
            (429, wait, Received::RetryAfter(Duration::from_secs(30))),
            (503, None, Received::Refused),
            (500, wait, Received::Refused),
        ];
        for (status, retry_after, expected) in cases {
            assert_eq!(
                Delivery::answered(status, Vec::new(), retry_after).received,
                expected,
                "{status}"
            );
        }
        assert_eq!(
            Delivery::answered(503, Vec::new(), Some(Duration::from_secs(10 * 24 * 3600))).received,
            Received::RetryAfter(LONGEST_RETRY_AFTER)
        );
    }
}
