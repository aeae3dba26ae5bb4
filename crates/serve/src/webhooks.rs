//! `/v1/webhooks`: the ledger's events for your application and their
//! deliveries, read and replayed over HTTP as `paybridge webhooks` does.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use paybridge::ledger::{DeliveryState, EventFilter};
use serde::Deserialize;

use crate::body::{EventBody, EventDetailBody, EventsBody, ReplayBody};
use crate::errors::{ApiError, ErrorBody};
use crate::Shared;

/// The most events one `GET /v1/webhooks` answers.
const MOST_LISTED: i64 = 1000;

/// `?state=&since=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// `pending`, `failed`, `dead` or `delivered`; every state otherwise.
    state: Option<String>,
    /// Only events written since this time (RFC 3339, or a date).
    since: Option<String>,
    /// At most this many, oldest first (1 to 1000; 1000 when not given).
    limit: Option<i64>,
}

/// The delivery state `word` names, or an invalid request naming `state`.
pub(crate) fn delivery_state(word: &str) -> Result<DeliveryState, ApiError> {
    DeliveryState::parse(word).ok_or_else(|| {
        ApiError::new(
            "invalid_request",
            format!("{word:?} is not pending, failed, dead or delivered"),
        )
        .field("state")
    })
}

/// The ledger's events, oldest first.
#[utoipa::path(get, path = "/v1/webhooks", params(EventsQuery),
    responses((status = 200, body = EventsBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_events(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsBody>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new("invalid_request", e.body_text()))?;
    let limit = query.limit.unwrap_or(MOST_LISTED);
    if !(1..=MOST_LISTED).contains(&limit) {
        return Err(ApiError::new(
            "invalid_request",
            format!("limit is 1 to {MOST_LISTED}, not {limit}"),
        )
        .field("limit"));
    }
    let mut filter = EventFilter::all().limit(limit);
    if let Some(state) = &query.state {
        filter = filter.state(delivery_state(state)?);
    }
    if let Some(since) = &query.since {
        filter = filter.since(crate::time::parse("since", since)?);
    }
    let events = shared.ledger.events(&filter).await?;
    Ok(Json(EventsBody {
        events: events.into_iter().map(EventBody::from).collect(),
    }))
}

fn unknown_event(id: &str) -> ApiError {
    ApiError::new("not_found", format!("the ledger holds no event {id:?}"))
}

/// The event of `id`, or 404.
async fn held_event(shared: &Shared, id: &str) -> Result<paybridge::ledger::Event, ApiError> {
    shared
        .ledger
        .events(&EventFilter::all().id(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| unknown_event(id))
}

/// An event and every attempt to deliver it.
#[utoipa::path(get, path = "/v1/webhooks/{id}", params(("id" = String, Path, description = "The event's id (its webhook-id)")),
    responses((status = 200, body = EventDetailBody), (status = 404, body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_event(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<EventDetailBody>, ApiError> {
    let event = held_event(&shared, &id).await?;
    let attempts = shared.ledger.event_attempts(&id).await?;
    Ok(Json(EventDetailBody {
        event: event.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Queues an event for delivery again, now, under its own id (a receiver
/// that saw it drops it by its `webhook-id`).
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", params(("id" = String, Path, description = "The event's id (its webhook-id)")),
    responses((status = 202, body = ReplayBody), (status = 404, body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn replay_event(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ReplayBody>), ApiError> {
    let queued = shared
        .ledger
        .replay_events(Some(&id), &EventFilter::all())
        .await?;
    if queued == 0 {
        return Err(unknown_event(&id));
    }
    let event = held_event(&shared, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReplayBody {
            id,
            next_attempt_at: crate::time::format(event.next_attempt_at),
        }),
    ))
}
