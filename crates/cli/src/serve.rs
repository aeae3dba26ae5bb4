//! `paybridge serve`: the HTTP API on the configured ledger, with the
//! ledger's events delivered to `[serve.webhooks]` when it is set.

use std::sync::Arc;
use std::time::Duration;

use paybridge::webhooks::{
    lease_for, HttpReceiver, Outbox, WebhookEndpoint, WebhookSecret, ATTEMPT_TIMEOUT,
};
use paybridge::Error;
use paybridge_serve::Service;

use crate::args::Cli;

/// How long requests in flight may take to finish after SIGTERM.
const GRACE: Duration = Duration::from_secs(30);

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the service until SIGTERM.
pub async fn run(cli: &Cli, listen: Option<&str>, hash_key: Option<&str>) -> Result<(), Error> {
    if let Some(key) = hash_key {
        println!("{}", paybridge_serve::hash_key(key));
        return Ok(());
    }
    let mut config = crate::commands::config(cli)?;
    if config.ledger.url.is_none() {
        let beside = std::path::Path::new(&config.source)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .join("paybridge.db");
        eprintln!(
            "paybridge serve: {} has no [ledger]; keeping orders in sqlite://{}",
            config.source,
            beside.display()
        );
        config.ledger.url = Some(format!("sqlite://{}", beside.display()));
    }
    let ledger = config.open_ledger().await?.ok_or_else(|| Error::Config {
        key: "ledger.url".into(),
        reason: "could not be opened".into(),
    })?;
    if config.serve.api_key_hashes.is_empty() {
        eprintln!(
            "paybridge serve: [serve] api_keys is empty (or set PAYBRIDGE_SERVE_API_KEYS): every /v1 request will be refused with 401"
        );
    }
    let service = Service::new(&config, ledger.clone())?;
    let address = listen
        .map(str::to_owned)
        .or_else(|| config.serve.listen.clone())
        .unwrap_or_else(|| paybridge::DEFAULT_LISTEN.to_owned());
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| Error::local(format!("listening on {address}"), e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::local("reading the listening address", e))?;
    eprintln!(
        "paybridge serve: listening on http://{bound} (accounts: {}); callbacks at /v1/callbacks/ACCOUNT",
        service.accounts().join(", ")
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let deliveries = match &config.serve.webhooks_url {
        Some(url) => {
            let secrets = config
                .serve
                .webhook_secrets
                .iter()
                .map(|s| WebhookSecret::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Config {
                    key: "serve.webhooks.secrets".into(),
                    reason: e.to_string(),
                })?;
            let endpoint = WebhookEndpoint::new("serve.webhooks.url", url, secrets)?;
            let timeout = config.serve.webhook_timeout.unwrap_or(ATTEMPT_TIMEOUT);
            let receiver = HttpReceiver::with_timeout(endpoint, timeout)?;
            // A claim outlives an attempt; an instance killed mid-delivery
            // leaves its claims to the others once they run out.
            let mut outbox =
                Outbox::new(ledger.clone(), Arc::new(receiver)).lease(lease_for(timeout));
            if let Some(schedule) = &config.serve.webhook_retry_schedule {
                outbox = outbox.retry_schedule(schedule);
            }
            let mut stop = stop_rx.clone();
            eprintln!(
                "paybridge serve: delivering the ledger's events to {:?}",
                paybridge::redact::Url(url)
            );
            Some(tokio::spawn(async move {
                outbox
                    .run(Duration::from_millis(500), async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
            }))
        }
        None => None,
    };
    let served = paybridge_serve::run(&service, listener, stop_signal(), GRACE).await;
    let _ = stop_tx.send(true);
    if let Some(deliveries) = deliveries {
        let _ = deliveries.await;
    }
    eprintln!("paybridge serve: stopped");
    served.map_err(|e| Error::local("serving", e))
}
