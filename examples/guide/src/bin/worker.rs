use std::time::Duration;

use paybridge::axum::{CallbackRoute, Delivery};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = paybridge_guide::ledger::gateway().await?;
    let (callbacks, worker) = CallbackRoute::new(gateway, |delivery: Delivery| async move {
        let Some(transition) = &delivery.transition else {
            return Err("no ledger");
        };
        // In one transaction: skip if transition.id is already applied, else apply
        // transition.to for transition.key and remember transition.id.
        let _ = (transition.id, transition.from, transition.to);
        Ok::<(), &'static str>(())
    })
    .into_router_and_worker();
    tokio::spawn(worker.run(Duration::from_secs(10)));

    let app = axum::Router::new().nest("/callbacks", callbacks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
