//! A running `paybridge serve` over a sandbox, on a ledger, through real HTTP.

#![allow(dead_code)]

use std::sync::Arc;

use paybridge::ledger::Ledger;
use paybridge::Config;
use paybridge_sandbox::{Sandbox, SandboxConfig, DEMO_API_KEY, DEMO_SECRET_KEY, DEMO_USERNAME};
use paybridge_serve::Service;

/// The API key every test calls with.
pub const KEY: &str = "serve-test-key-7c1f";

/// A second configured API key: its idempotency keys are its own.
pub const SECOND_KEY: &str = "serve-test-key-second-93ad";

/// One running service.
pub struct Running {
    /// The service's address, `http://127.0.0.1:PORT`.
    pub api: String,
    /// The sandbox's.
    pub sandbox_url: String,
    /// The ledger under it.
    pub ledger: Arc<dyn Ledger>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _sandbox: Option<Arc<Sandbox>>,
}

impl Running {
    /// The sandbox it sends to, for a second instance in front of the same provider.
    pub fn sandbox(&self) -> Option<Arc<Sandbox>> {
        self._sandbox.clone()
    }

    /// Stops accepting and waits for what is in flight; whether it ended cleanly.
    pub async fn stop(mut self) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.served.take() {
            Some(served) => matches!(served.await, Ok(Ok(()))),
            None => false,
        }
    }
}

/// The configuration of a service on `ledger_url` in front of `sandbox_url`.
pub fn config(sandbox_url: &str, ledger_url: &str, extra: &str) -> Config {
    let hash = format!(
        "{}\", \"{}",
        paybridge_serve::hash_key(KEY),
        paybridge_serve::hash_key(SECOND_KEY)
    );
    Config::from_toml(
        &format!(
            "provider = \"vpay88\"\n[vpay88]\nbase_url = \"{sandbox_url}/vpay88\"\nusername = \"{DEMO_USERNAME}\"\n\
             api_key = \"{DEMO_API_KEY}\"\nsecret_key = \"{DEMO_SECRET_KEY}\"\n[http]\nresolve_delay_ms = 50\n\
             [ledger]\nurl = \"{ledger_url}\"\n[serve]\napi_keys = [\"{hash}\"]\nmax_body = 4096\n{extra}"
        ),
        "serve-test.toml",
    )
    .unwrap()
}

/// A sandbox whose Vpay88 demo merchant calls back to `callback_base/v1/callbacks/vpay88`.
pub async fn sandbox(callback_base: &str) -> Arc<Sandbox> {
    let mut config = SandboxConfig::default();
    for merchant in &mut config.vpay88 {
        merchant.callback_url = Some(format!("{callback_base}/v1/callbacks/vpay88"));
    }
    Arc::new(
        Sandbox::start(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap(),
    )
}

/// A service on `ledger_url` in front of `sandbox` (started for it when `None`).
pub async fn start(ledger_url: &str, sandbox: Option<Arc<Sandbox>>) -> Running {
    start_with(ledger_url, sandbox, "").await
}

/// [`start`] with `extra` configuration (named accounts, say) appended.
pub async fn start_with(ledger_url: &str, sandbox: Option<Arc<Sandbox>>, extra: &str) -> Running {
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    start_on(loopback, ledger_url, sandbox, extra).await
}

/// [`start_with`], listening on `ip`.
pub async fn start_on(
    ip: std::net::IpAddr,
    ledger_url: &str,
    sandbox: Option<Arc<Sandbox>>,
    extra: &str,
) -> Running {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = match sandbox {
        Some(sandbox) => sandbox,
        None => self::sandbox(&api).await,
    };
    let config = config(&sandbox.base_url(), ledger_url, extra);
    let mut running = serve(listener, &config, &sandbox.base_url()).await;
    running._sandbox = Some(sandbox);
    running
}

/// `config`'s service on `listener`, in front of the sandbox at
/// `sandbox_url` (which need not be running yet).
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: &Config,
    sandbox_url: &str,
) -> Running {
    let api = format!("http://{}", listener.local_addr().unwrap());
    let ledger = config.open_ledger().await.unwrap().unwrap();
    let service = Service::new(config, ledger.clone()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        paybridge_serve::run(
            &service,
            listener,
            async move {
                let _ = stopped.await;
            },
            std::time::Duration::from_secs(5),
        )
        .await
    });
    Running {
        api,
        sandbox_url: sandbox_url.to_owned(),
        ledger,
        stop: Some(stop),
        served: Some(served),
        _sandbox: None,
    }
}

/// A call with the test's key; its status and JSON body.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("Bearer {KEY}"));
    if let Some(body) = body {
        request = request.json(body);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body, headers)
}

/// How many times the sandbox was sent `endpoint` (its last path word) for `order_id`.
pub async fn sent(sandbox_url: &str, order_id: &str, kind: &str, endpoint: &str) -> usize {
    let url = format!("{sandbox_url}/_sandbox/orders/vpay88/{order_id}?kind={kind}");
    let order: serde_json::Value = reqwest::get(url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    order["exchanges"]
        .as_array()
        .map(|exchanges| {
            exchanges
                .iter()
                .filter(|e| {
                    e["endpoint"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(endpoint))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Sets the sandbox's faults: each `(endpoint, kind)` on every Vpay88 call of
/// that endpoint (its last path word), `latency_ms` where the kind waits.
pub async fn faults(sandbox_url: &str, rules: &[(&str, &str)], latency_ms: u64) {
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .map(|(endpoint, kind)| {
            serde_json::json!({
                "provider": "vpay88", "endpoint": endpoint, "kind": kind,
                "percent": 100, "latency_ms": latency_ms,
            })
        })
        .collect();
    let answer = reqwest::Client::new()
        .post(format!("{sandbox_url}/_sandbox/faults"))
        .json(&serde_json::json!({ "seed": 1, "rules": rules }))
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
}
