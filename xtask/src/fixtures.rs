//! `cargo xtask fixtures`: records every operation of every adapter into
//! `fixtures/sandbox/`, through a recording proxy, against the sandbox (or a
//! real provider: `PAYBRIDGE_RECORD_BASE_URL`, `PAYBRIDGE_RECORD_PROVIDER` and
//! the provider's `PAYBRIDGE_<PROVIDER>_*` credentials in the environment).

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use paybridge::{Config, Gateway, Provider};
use paybridge_cli::harness::demo_config;
use paybridge_cli::recorded::{scenarios, scrub_fields, scrub_json, scrub_path};
use paybridge_sandbox::{Sandbox, SandboxConfig};
use paybridge_testkit::parse_multipart;
use serde_json::{json, Value};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    exchanges: Arc<Mutex<Vec<Value>>>,
}

fn request_fields(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    if content_type.starts_with("multipart/form-data") {
        parse_multipart(content_type, body)
    } else if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let upstream = proxy
        .client
        .request(method.clone(), format!("{}{path}", proxy.upstream))
        .header("content-type", &content_type)
        .body(body.clone())
        .send()
        .await;
    let (status, text) = match upstream {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (599, format!("upstream failed: {e}")),
    };
    let mut fields = request_fields(&content_type, &body);
    scrub_fields(&mut fields);
    let mut response_body =
        serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.clone()));
    scrub_json(&mut response_body);
    proxy
        .exchanges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(json!({
            "request": {
                "method": method.as_str(),
                "path": scrub_path(&path),
                "content_type": content_type.split(';').next().unwrap_or_default(),
                "fields": fields,
            },
            "response": { "status": status, "body": response_body },
        }));
    Response::builder()
        .status(status.min(599))
        .header("content-type", "application/json")
        .body(Body::from(text))
        .unwrap_or_default()
}

pub async fn record(root: &Path) -> Result<(), String> {
    let real = std::env::var("PAYBRIDGE_RECORD_BASE_URL").ok();
    let sandbox = Sandbox::start(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| e.to_string())?;
    let upstream = real.clone().unwrap_or_else(|| sandbox.base_url());
    let exchanges: Arc<Mutex<Vec<Value>>> = Arc::default();
    let proxy = Proxy {
        upstream,
        client: reqwest::Client::new(),
        exchanges: exchanges.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let proxy_url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let only = std::env::var("PAYBRIDGE_RECORD_PROVIDER").ok();
    let config = match &real {
        // A real provider: credentials from PAYBRIDGE_<PROVIDER>_* variables.
        Some(_) => {
            let provider = only
                .clone()
                .ok_or("PAYBRIDGE_RECORD_PROVIDER is required with PAYBRIDGE_RECORD_BASE_URL")?;
            let mut env: Vec<(String, String)> = std::env::vars().collect();
            env.push((
                format!("PAYBRIDGE_{}_BASE_URL", provider.to_uppercase()),
                proxy_url.clone(),
            ));
            Config::from_toml_with_env("", "the environment", env).map_err(|e| e.to_string())?
        }
        None => demo_config(&proxy_url, None).map_err(|e| e.to_string())?,
    };
    let dir = root.join("fixtures/sandbox");
    let mut payment_token = String::new();
    let mut written = 0;
    for scenario in scenarios() {
        if only.as_deref().is_some_and(|p| p != scenario.provider) {
            continue;
        }
        let gateway = Gateway::for_provider(
            &config,
            Provider::parse(scenario.provider).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        exchanges.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let outcome = (scenario.call)(&gateway, &payment_token).await;
        let mut outcome = match outcome {
            Ok(value) => json!({ "ok": value }),
            Err(err) => json!({ "error": err.to_string() }),
        };
        if scenario.provider == "onepunch" && scenario.name == "create_deposit" {
            payment_token = outcome["ok"]["provider_ref"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        scrub_json(&mut outcome);
        let recorded = json!({
            "provider": scenario.provider,
            "operation": scenario.name,
            "exchanges": exchanges.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            "outcome": outcome,
        });
        let path = dir
            .join(scenario.provider)
            .join(format!("{}.json", scenario.name));
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
        let text = serde_json::to_string_pretty(&recorded).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    println!("recorded {written} exchanges into {}", dir.display());
    Ok(())
}
