//! Observations applied through the state machine: a compare-and-set on the
//! order's version, retried when another writer moved it first, with the
//! transition and the observation recorded in the same transaction.

use paybridge_core::{Error, Result};
use sqlx::{AnyConnection, Row};

use super::events::{log_event, Happened};
use super::orders::{insert, read};
use super::rows::{record, ORDER_COLUMNS};
use super::{db, kind_word, SqlLedger, BY_KEY};
use crate::events::EventType;
use crate::schema::Backend;
use crate::state::{step_from, LedgerState, Step};
use crate::{now_ms, Applied, Observation, OrderKey, OrderRecord, Source};

/// How many times an observation is retried when another writer moved its
/// order between the read and the compare-and-set.
const CAS_ATTEMPTS: usize = 16;

/// [`Ledger::observe`](crate::Ledger::observe).
pub(super) async fn observe(
    ledger: &SqlLedger,
    key: &OrderKey,
    observation: &Observation,
) -> Result<Applied> {
    if let Some(applied) = create_outcome(ledger, key, observation).await? {
        return Ok(applied);
    }
    for _ in 0..CAS_ATTEMPTS {
        if let Some(applied) = observe_once(ledger, key, observation).await? {
            return Ok(applied);
        }
    }
    Err(Error::local(
        "the ledger",
        format!("{key} kept changing under {CAS_ATTEMPTS} attempts to apply an observation"),
    ))
}

/// One attempt at an observation: `None` when another writer moved the
/// order first (the caller reads again and retries).
async fn observe_once(
    ledger: &SqlLedger,
    key: &OrderKey,
    observation: &Observation,
) -> Result<Option<Applied>> {
    let mut tx = ledger.write().await?;
    let current = match read(&mut tx, key).await? {
        Some(current) => current,
        None => {
            let Some(amount) = &observation.amount else {
                return Err(Error::invalid(
                    "order_id",
                    format!("{key} is not in the ledger, and the observation names no amount"),
                ));
            };
            if insert(&mut tx, key, amount, observation).await? {
                let transition = log_transition(&mut tx, key, None, observation).await?;
                log_observation(&mut tx, key, observation, "recorded").await?;
                let now = now_ms();
                let record = OrderRecord {
                    key: key.clone(),
                    amount: amount.clone(),
                    state: observation.state,
                    provider_status: observation.provider_status.clone(),
                    provider_ref: observation.provider_ref.clone(),
                    payment_url: observation.payment_url.clone(),
                    conflict: None,
                    detail: observation.detail.clone(),
                    created_at: now,
                    updated_at: now,
                };
                log_transition_event(&mut tx, &record, None, observation).await?;
                tx.commit().await.map_err(db("commit an observation"))?;
                return Ok(Some(Applied {
                    step: Step::Advance(observation.state),
                    record,
                    transition,
                }));
            }
            // Another writer recorded it first.
            return Ok(None);
        }
    };
    let (mut record, version) = current;
    warn_of_another_reference(key, &record, observation);
    let amount_differs = observation
        .amount
        .as_ref()
        .is_some_and(|amount| *amount != record.amount);
    let step = if amount_differs {
        Step::Conflict
    } else {
        step_from(observation.source, record.state, observation.state)
    };
    let now = now_ms();
    let transition = match step {
        Step::Advance(state) => {
            let moved = by_key!(
                sqlx::query(&format!(
                    "UPDATE paybridge_orders SET state = $5, \
                     provider_status = COALESCE($6, provider_status), \
                     provider_ref = COALESCE(provider_ref, $7), \
                     payment_url = COALESCE($8, payment_url), detail = COALESCE($9, detail), \
                     version = version + 1, updated_at = $10 WHERE {BY_KEY} AND version = $11"
                )),
                key
            )
            .bind(state.as_str())
            .bind(observation.provider_status.clone())
            .bind(observation.provider_ref.clone())
            .bind(observation.payment_url.clone())
            .bind(observation.detail.clone())
            .bind(now)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db("move an order"))?;
            if moved.rows_affected() != 1 {
                return Ok(None);
            }
            let from = record.state;
            record.state = state;
            let keep = |field: &mut Option<String>, new: &Option<String>| {
                if new.is_some() {
                    field.clone_from(new);
                }
            };
            keep(&mut record.provider_status, &observation.provider_status);
            if record.provider_ref.is_none() {
                record.provider_ref.clone_from(&observation.provider_ref);
            }
            keep(&mut record.payment_url, &observation.payment_url);
            keep(&mut record.detail, &observation.detail);
            record.updated_at = now;
            log_transition_event(&mut tx, &record, Some(from), observation).await?;
            log_transition(&mut tx, key, Some(from), observation).await?
        }
        Step::Conflict => {
            let reason = if amount_differs {
                format!(
                    "{} said {} where {} was asked",
                    observation.source.as_str(),
                    observation
                        .amount
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    record.amount
                )
            } else {
                format!(
                    "{} said {} after {}",
                    observation.source.as_str(),
                    observation.state,
                    record.state
                )
            };
            tracing::warn!(order = %key, %reason, "an observation contradicts the ledger; not applied");
            // Only the first conflict is kept and is news: the condition, not
            // what this writer read, decides which, as two writers may both
            // have read the order before either recorded one.
            let first = by_key!(
                sqlx::query(&format!(
                    "UPDATE paybridge_orders SET conflict = $5, updated_at = $6 \
                     WHERE {BY_KEY} AND conflict IS NULL"
                )),
                key
            )
            .bind(reason.clone())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db("record a conflict"))?
            .rows_affected()
                == 1;
            if !first {
                by_key!(
                    sqlx::query(&format!(
                        "UPDATE paybridge_orders SET updated_at = $5 WHERE {BY_KEY}"
                    )),
                    key
                )
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("record a conflict"))?;
            }
            record.updated_at = now;
            if first {
                let happened = Happened {
                    event_type: EventType::OrderConflict,
                    previous: Some(record.state),
                    confirmed: observation.confirmed,
                    conflict: Some(&reason),
                };
                log_event(&mut tx, &record, &happened).await?;
            }
            record.conflict.get_or_insert(reason);
            None
        }
        Step::Same | Step::Stale => {
            if !fill_references(&mut tx, key, &mut record, version, observation).await? {
                return Ok(None);
            }
            None
        }
    };
    let effect = match step {
        Step::Advance(_) => "applied",
        Step::Same => "duplicate",
        Step::Stale => "stale",
        Step::Conflict => "conflict",
    };
    log_observation(&mut tx, key, observation, effect).await?;
    tx.commit().await.map_err(db("commit an observation"))?;
    Ok(Some(Applied {
        step,
        record,
        transition,
    }))
}

/// Keeps the provider's reference and a deposit's payment page from an
/// observation that changes nothing else (a create answer recorded after
/// a callback completed the order), where the order lacks them: a ONE-PUNCH
/// payment is looked up by its reference. `false` when another writer
/// moved the order first.
async fn fill_references(
    connection: &mut AnyConnection,
    key: &OrderKey,
    record: &mut OrderRecord,
    version: i64,
    observation: &Observation,
) -> Result<bool> {
    let lacks = |held: &Option<String>, said: &Option<String>| held.is_none() && said.is_some();
    if !lacks(&record.provider_ref, &observation.provider_ref)
        && !lacks(&record.payment_url, &observation.payment_url)
    {
        return Ok(true);
    }
    let moved = by_key!(
        sqlx::query(&format!(
            "UPDATE paybridge_orders SET provider_ref = COALESCE(provider_ref, $5), \
             payment_url = COALESCE(payment_url, $6), version = version + 1, updated_at = $7 \
             WHERE {BY_KEY} AND version = $8"
        )),
        key
    )
    .bind(observation.provider_ref.clone())
    .bind(observation.payment_url.clone())
    .bind(now_ms())
    .bind(version)
    .execute(&mut *connection)
    .await
    .map_err(db("keep an order's reference"))?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    if record.provider_ref.is_none() {
        record.provider_ref.clone_from(&observation.provider_ref);
    }
    if record.payment_url.is_none() {
        record.payment_url.clone_from(&observation.payment_url);
    }
    Ok(true)
}

/// A create call's answer, in the common case: one statement that moves
/// the order from any state the state machine lets it leave for the
/// answered one. The answer is kept on the order itself (no observation or
/// transition row: whoever called create has it, and no handler is owed).
/// `None` when the fast path does not apply: the general path decides. An
/// answer already final (a payout found completed by status) takes the
/// general path, which records its transition: the handler is owed it, and
/// the provider's callback for it will find nothing new.
async fn create_outcome(
    ledger: &SqlLedger,
    key: &OrderKey,
    observation: &Observation,
) -> Result<Option<Applied>> {
    let owes_handler = observation.state.is_final() && observation.state.status().is_some();
    if observation.source != Source::Create || observation.amount.is_some() || owes_handler {
        return Ok(None);
    }
    let from: Vec<LedgerState> = LedgerState::ALL
        .into_iter()
        .filter(|current| {
            step_from(Source::Create, *current, observation.state)
                == Step::Advance(observation.state)
        })
        .collect();
    if from.is_empty() {
        return Ok(None);
    }
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 11)).collect();
    let sql = format!(
        "UPDATE paybridge_orders SET state = $5, provider_status = COALESCE($6, provider_status), \
         provider_ref = COALESCE(provider_ref, $7), payment_url = COALESCE($8, payment_url), \
         detail = COALESCE($9, detail), version = version + 1, updated_at = $10 \
         WHERE {BY_KEY} AND state IN ({}) RETURNING {ORDER_COLUMNS}",
        placeholders.join(", "),
    );
    let mut query = by_key!(sqlx::query(&sql), key)
        .bind(observation.state.as_str())
        .bind(observation.provider_status.clone())
        .bind(observation.provider_ref.clone())
        .bind(observation.payment_url.clone())
        .bind(observation.detail.clone())
        .bind(now_ms());
    for state in &from {
        query = query.bind(state.as_str());
    }
    let Some(event_type) = EventType::of_transition(key.kind, observation.state) else {
        // No event: the one statement is the whole write.
        let row = query
            .fetch_optional(&ledger.pool)
            .await
            .map_err(db("record a create answer"))?;
        return row
            .map(|row| {
                let moved = record(&row)?.0;
                warn_of_another_reference(key, &moved, observation);
                Ok(Applied {
                    step: Step::Advance(observation.state),
                    record: moved,
                    transition: None,
                })
            })
            .transpose();
    };
    // An event is owed (a payout answered `processing`): the move and its
    // event in one transaction, the state it left read under the same lock.
    let mut tx = ledger.write().await?;
    let lock = match ledger.backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let previous: Option<String> = by_key!(
        sqlx::query_scalar(&format!(
            "SELECT state FROM paybridge_orders WHERE {BY_KEY}{lock}"
        )),
        key
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("read an order's state"))?;
    let Some(row) = query
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("record a create answer"))?
    else {
        return Ok(None);
    };
    let moved = record(&row)?.0;
    warn_of_another_reference(key, &moved, observation);
    let happened = Happened {
        event_type,
        previous: previous.as_deref().and_then(LedgerState::parse),
        confirmed: observation.confirmed,
        conflict: None,
    };
    log_event(&mut tx, &moved, &happened).await?;
    tx.commit().await.map_err(db("commit a create answer"))?;
    Ok(Some(Applied {
        step: Step::Advance(observation.state),
        record: moved,
        transition: None,
    }))
}

/// An order keeps the first provider reference recorded for it (the one its
/// create answer or first status gave): a later observation naming another
/// one is still applied, since it was asked by order id, but does not
/// rebind the order; the difference is worth a look, so it is said.
fn warn_of_another_reference(key: &OrderKey, held: &OrderRecord, observation: &Observation) {
    if let (Some(kept), Some(said)) = (&held.provider_ref, &observation.provider_ref) {
        if kept != said {
            tracing::warn!(order = %key, kept = %kept, said = %said, source = observation.source.as_str(), "an observation names another provider reference; the order keeps its own");
        }
    }
}

/// Writes the event of a transition into `record`'s state, when that state
/// makes one, in the transaction that applies it.
async fn log_transition_event(
    connection: &mut AnyConnection,
    record: &OrderRecord,
    previous: Option<LedgerState>,
    observation: &Observation,
) -> Result<()> {
    let Some(event_type) = EventType::of_transition(record.key.kind, record.state) else {
        return Ok(());
    };
    let happened = Happened {
        event_type,
        previous,
        confirmed: observation.confirmed,
        conflict: None,
    };
    log_event(connection, record, &happened).await
}

/// Records what an observation did, beside the order.
async fn log_observation(
    connection: &mut AnyConnection,
    key: &OrderKey,
    observation: &Observation,
    effect: &str,
) -> Result<()> {
    by_key!(
        sqlx::query(
            "INSERT INTO paybridge_observations (provider, account, kind, order_id, source, \
             observed, provider_status, amount, currency, effect, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        key
    )
    .bind(observation.source.as_str())
    .bind(observation.state.as_str())
    .bind(observation.provider_status.clone())
    .bind(observation.amount.as_ref().map(|m| m.amount().to_string()))
    .bind(
        observation
            .amount
            .as_ref()
            .map(|m| m.currency().as_str().to_owned()),
    )
    .bind(effect.to_owned())
    .bind(now_ms())
    .execute(&mut *connection)
    .await
    .map_err(db("record an observation"))?;
    Ok(())
}

/// Records a transition whose handler is due; its id. A transition into
/// a local state (`sending`, `unknown`, `refused`) has no handler.
async fn log_transition(
    connection: &mut AnyConnection,
    key: &OrderKey,
    from: Option<LedgerState>,
    observation: &Observation,
) -> Result<Option<i64>> {
    if observation.state.status().is_none() {
        return Ok(None);
    }
    let row = by_key!(
        sqlx::query(
            "INSERT INTO paybridge_transitions (provider, account, kind, order_id, from_state, \
             to_state, source, at, handler) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'due') \
             ON CONFLICT (provider, account, kind, order_id, to_state) DO NOTHING RETURNING id"
        ),
        key
    )
    .bind(from.map_or("none", LedgerState::as_str))
    .bind(observation.state.as_str())
    .bind(observation.source.as_str())
    .bind(now_ms())
    .fetch_optional(&mut *connection)
    .await
    .map_err(db("record a transition"))?;
    row.map(|row| row.try_get::<i64, _>("id"))
        .transpose()
        .map_err(db("read a transition id"))
}
