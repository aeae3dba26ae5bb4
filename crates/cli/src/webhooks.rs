//! `paybridge webhooks list | attempts | replay | enable`: the ledger's events
//! for the merchant's application, and their deliveries, for people.

use paybridge::ledger::{DeliveryState, Event, EventFilter};
use paybridge::Error;
use serde::Serialize;

use crate::args::{Cli, WebhookStates, WebhooksCommand};
use crate::ledger::{required_ledger, since, time};

/// An event as listed: times in RFC 3339.
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    r#type: String,
    provider: String,
    account: String,
    kind: String,
    order_id: String,
    sequence: i64,
    state: String,
    attempts: i64,
    created_at: String,
    next_attempt_at: String,
}

impl From<Event> for Listed {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            r#type: e.event_type.to_string(),
            provider: e.key.provider,
            account: e.key.account,
            kind: e.key.kind.to_string(),
            order_id: e.key.order_id,
            sequence: e.sequence,
            state: e.state.to_string(),
            attempts: e.attempts,
            created_at: time(e.created_at),
            next_attempt_at: time(e.next_attempt_at),
        }
    }
}

fn delivery_state(state: WebhookStates) -> DeliveryState {
    match state {
        WebhookStates::Pending => DeliveryState::Pending,
        WebhookStates::Failed => DeliveryState::Failed,
        WebhookStates::Dead => DeliveryState::Dead,
        WebhookStates::Delivered => DeliveryState::Delivered,
    }
}

/// The filter of `--state` and `--since`.
fn filter(state: Option<WebhookStates>, from: Option<&str>) -> Result<EventFilter, Error> {
    let mut filter = EventFilter::all();
    if let Some(state) = state {
        filter = filter.state(delivery_state(state));
    }
    if let Some(from) = from {
        filter = filter.since(since(from)?);
    }
    Ok(filter)
}

/// Runs a webhooks command, writing to stdout.
pub async fn run(cli: &Cli, command: &WebhooksCommand) -> Result<(), Error> {
    let ledger = required_ledger(cli).await?;
    let out = match command {
        WebhooksCommand::List { state, since } => {
            let events = ledger.events(&filter(*state, since.as_deref())?).await?;
            let rows: Vec<serde_json::Value> = events
                .into_iter()
                .map(|e| serde_json::to_value(Listed::from(e)).unwrap_or_default())
                .collect();
            serde_json::Value::Array(rows)
        }
        WebhooksCommand::Attempts { id } => {
            let attempts = ledger.event_attempts(id).await?;
            if attempts.is_empty()
                && ledger
                    .events(&EventFilter::all())
                    .await?
                    .iter()
                    .all(|e| &e.id != id)
            {
                return Err(Error::invalid(
                    "id",
                    format!("{id:?} is no event in the ledger"),
                ));
            }
            serde_json::Value::Array(
                attempts
                    .into_iter()
                    .map(|a| {
                        serde_json::json!({
                            "at": time(a.at),
                            "status": a.status,
                            "duration_ms": a.duration_ms,
                            "answer": a.answer,
                            "error": a.error,
                        })
                    })
                    .collect(),
            )
        }
        WebhooksCommand::Replay { id, since, state } => {
            let queued = ledger
                .replay_events(id.as_deref(), &filter(*state, since.as_deref())?)
                .await?;
            if queued == 0 && id.is_some() {
                return Err(Error::invalid(
                    "id",
                    format!(
                        "{:?} is no event in the ledger",
                        id.as_deref().unwrap_or_default()
                    ),
                ));
            }
            serde_json::json!({ "queued": queued })
        }
        WebhooksCommand::Enable { url } => {
            let was_disabled = ledger.enable_endpoint(url).await?;
            serde_json::json!({ "url": url, "was_disabled": was_disabled })
        }
    };
    cli.output.print(&out);
    Ok(())
}
