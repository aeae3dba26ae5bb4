use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use paybridge::axum::{CallbackRoute, Delivery};
use paybridge::{Config, Gateway, OrderStatus};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(std::path::Path::new("paybridge.toml"))?;
    let gateway = Gateway::from_config(&config)?;

    // Your database stands here: which events were already applied.
    let applied: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen = applied.clone();

    let callbacks = CallbackRoute::new(gateway, move |delivery: Delivery| {
        let applied = applied.clone();
        async move {
            let event = &delivery.event;
            let Some(order_id) = &event.order_id else {
                return Err("no order id");
            };
            if delivery.duplicate {
                return Ok(()); // already applied: acknowledge again, change nothing
            }
            if event.status == OrderStatus::Completed {
                // Credit event.amount to the order, in one transaction with marking it applied.
            }
            applied
                .lock()
                .map_err(|_| "lock poisoned")?
                .insert(order_id.to_string());
            Ok::<(), &'static str>(())
        }
    })
    .seen_before(move |event| {
        let key = event
            .order_id
            .as_ref()
            .map(|id| id.to_string())
            .unwrap_or_default();
        seen.lock().map(|s| s.contains(&key)).unwrap_or(false)
    })
    // ONE-PUNCH notifications may omit the payment token their signature covers:
    // give paybridge the one you stored when the deposit was created.
    .provider_ref_lookup(|_order_num| None)
    .into_router();

    let app = axum::Router::new().nest("/callbacks", callbacks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
