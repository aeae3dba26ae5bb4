//! `paybridge webhooks list | attempts | replay | enable`: the ledger's events
//! for the merchant's application, and their deliveries, for people.

use std::collections::HashSet;

use paybridge::ledger::{DeliveryState, EventFilter, Ledger};
use paybridge::webhooks::Outbox;
use paybridge::Error;
use paybridge_serve::{AttemptBody, EventBody};

use paybridge_cli::meter::Meter;

use crate::args::{Cli, WebhookStates, WebhooksCommand};
use crate::ledger::since;

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

/// Where the replayed events stand after `--deliver`.
#[derive(Debug, Default, serde::Serialize)]
struct Delivered {
    delivered: usize,
    retrying: usize,
    dead: usize,
    /// Not attempted yet: the endpoint is disabled, or another instance holds them.
    waiting: usize,
}

/// Delivers what is due until each of `ids` has had an attempt since it was
/// queued, or nothing more is due here; progress on stderr.
async fn deliver_replayed(
    outbox: &Outbox,
    ledger: &dyn Ledger,
    ids: &HashSet<String>,
    since: Option<&str>,
) -> Result<Delivered, Error> {
    let mut meter = Meter::new("replay", "events delivered", ids.len(), 0, true);
    loop {
        let round = outbox.deliver_due().await?;
        // Other due events may go in the same rounds: the bar counts
        // attempts, at most as many as were replayed.
        for _ in 0..round.attempted.min(ids.len().saturating_sub(meter.done())) {
            meter.tick();
        }
        if round.disabled {
            eprintln!("replay: the endpoint is disabled (it answered 410 Gone); `paybridge webhooks enable --url URL` lets deliveries go again");
            break;
        }
        if round.attempted == 0 {
            break;
        }
    }
    meter.finish();
    let mut scope = EventFilter::all();
    if let Some(from) = since {
        scope = scope.since(crate::ledger::since(from)?);
    }
    if let [id] = ids.iter().collect::<Vec<_>>()[..] {
        scope = scope.id(id.clone());
    }
    let mut out = Delivered::default();
    for event in ledger.events(&scope).await? {
        if !ids.contains(&event.id) {
            continue;
        }
        match (event.state, event.attempts) {
            (DeliveryState::Delivered, _) => out.delivered += 1,
            (DeliveryState::Dead, _) => out.dead += 1,
            (_, 0) => out.waiting += 1,
            _ => out.retrying += 1,
        }
    }
    Ok(out)
}

/// Runs a webhooks command, writing to stdout.
pub async fn run(cli: &Cli, command: &WebhooksCommand) -> Result<(), Error> {
    let (config, ledger) = crate::ledger::required_ledger(cli).await?;
    let out =
        match command {
            WebhooksCommand::List { state, since } => {
                let events = ledger.events(&filter(*state, since.as_deref())?).await?;
                let rows: Vec<EventBody> = events.into_iter().map(EventBody::from).collect();
                serde_json::to_value(rows).unwrap_or_default()
            }
            WebhooksCommand::Attempts { id } => {
                let attempts = ledger.event_attempts(id).await?;
                if attempts.is_empty()
                    && ledger
                        .events(&EventFilter::all().id(id.clone()))
                        .await?
                        .is_empty()
                {
                    return Err(Error::invalid(
                        "id",
                        format!("{id:?} is no event in the ledger"),
                    ));
                }
                let rows: Vec<AttemptBody> = attempts.into_iter().map(AttemptBody::from).collect();
                serde_json::to_value(rows).unwrap_or_default()
            }
            WebhooksCommand::Replay {
                id,
                since,
                state,
                deliver,
            } => {
                let chosen = filter(*state, since.as_deref())?;
                // The events chosen, by id, to follow them once they are queued
                // (queuing makes them pending, so the state filter no longer finds them).
                let ids: HashSet<String> = match (*deliver, id) {
                    (false, _) => HashSet::new(),
                    (true, Some(id)) => HashSet::from([id.clone()]),
                    (true, None) => ledger
                        .events(&chosen)
                        .await?
                        .into_iter()
                        .map(|e| e.id)
                        .collect(),
                };
                let queued = ledger.replay_events(id.as_deref(), &chosen).await?;
                if queued == 0 && id.is_some() {
                    return Err(Error::invalid(
                        "id",
                        format!(
                            "{:?} is no event in the ledger",
                            id.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                if *deliver && queued > 0 {
                    let outbox = paybridge_serve::webhook_outbox(&config, ledger.clone())?
                        .ok_or_else(|| Error::Config {
                            key: "serve.webhooks.url".into(),
                            reason: format!(
                                "is missing in {}: --deliver needs the endpoint events go to",
                                config.source
                            ),
                        })?;
                    let delivered =
                        deliver_replayed(&outbox, ledger.as_ref(), &ids, since.as_deref()).await?;
                    serde_json::json!({ "queued": queued, "delivery": delivered })
                } else {
                    serde_json::json!({ "queued": queued })
                }
            }
            WebhooksCommand::Enable { url } => {
                let was_disabled = ledger.enable_endpoint(url).await?;
                serde_json::json!({ "url": url, "was_disabled": was_disabled })
            }
        };
    cli.output.print(&out);
    Ok(())
}
