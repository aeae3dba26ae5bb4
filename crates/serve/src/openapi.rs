//! `GET /openapi.json`: OpenAPI 3.1, generated from the handlers' own types
//! and `#[utoipa::path]` attributes, never written by hand.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::body::{
    AttemptBody, Customer, DepositBody, EventBody, EventDetailBody, EventsBody, OrderBody,
    OrdersBody, PayoutBody, ReplayBody,
};
use crate::errors::{ErrorBody, ErrorDetail};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "paybridge serve", description = "Deposits, payouts and their statuses through paybridge, on its ledger; the events it sends your application."),
    paths(
        crate::api::create_deposit,
        crate::api::create_payout,
        crate::api::get_deposit,
        crate::api::get_payout,
        crate::api::list_orders,
        crate::webhooks::list_events,
        crate::webhooks::get_event,
        crate::webhooks::replay_event,
    ),
    components(schemas(Customer, DepositBody, PayoutBody, OrderBody, OrdersBody, ErrorBody, ErrorDetail,
        EventBody, EventsBody, AttemptBody, EventDetailBody, ReplayBody)),
    modifiers(&Bearer)
)]
struct Document;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document, as JSON text.
pub fn openapi_json() -> String {
    Document::openapi().to_pretty_json().unwrap_or_default()
}
