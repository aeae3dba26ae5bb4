//! `cargo xtask fixtures`: records every operation of every adapter into
//! `fixtures/sandbox/`, through a recording proxy, against the sandbox (or a
//! real provider: `PAYBRIDGE_RECORD_BASE_URL`, `PAYBRIDGE_RECORD_PROVIDER` and
//! the provider's `PAYBRIDGE_<PROVIDER>_*` credentials in the environment).
//!
//! `--check` records again without writing and reports, per operation, the
//! answer fields added or missing and the status words and messages never seen
//! in the committed recordings; any of them is drift, and the run fails.

use std::collections::BTreeSet;
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

pub async fn record(root: &Path, check: bool) -> Result<(), String> {
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
    let mut drifts: Vec<String> = Vec::new();
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
        if check {
            let label = format!("{}/{}", scenario.provider, scenario.name);
            let committed = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            match committed {
                Some(committed) => drifts.extend(
                    drift(&committed, &recorded)
                        .into_iter()
                        .map(|line| format!("{label}: {line}")),
                ),
                None => drifts.push(format!("{label}: no committed recording")),
            }
            written += 1;
            continue;
        }
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
        let text = serde_json::to_string_pretty(&recorded).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    if !check {
        println!("recorded {written} exchanges into {}", dir.display());
        return Ok(());
    }
    if drifts.is_empty() {
        println!(
            "{written} operations recorded again: no drift from {}",
            dir.display()
        );
        return Ok(());
    }
    for line in &drifts {
        println!("drift: {line}");
    }
    Err(format!(
        "{} differences from the committed recordings; if the provider changed, run `cargo xtask fixtures` and review the diff",
        drifts.len()
    ))
}

/// The fields of every answer in a recording, as `exchange N: a.b.c` paths,
/// and the values of its status words and messages.
fn contract(recording: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut fields = BTreeSet::new();
    let mut words = BTreeSet::new();
    let exchanges = recording["exchanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (index, exchange) in exchanges.iter().enumerate() {
        let response = &exchange["response"];
        let mut stack = vec![(format!("exchange {} answer", index + 1), &response["body"])];
        while let Some((path, value)) = stack.pop() {
            match value {
                Value::Object(map) => {
                    for (key, field) in map {
                        let here = format!("{path}.{key}");
                        if matches!(key.as_str(), "order_status" | "message" | "status") {
                            words.insert(format!("{here} = {field}"));
                        }
                        fields.insert(here.clone());
                        stack.push((here, field));
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        stack.push((format!("{path}[]"), item));
                    }
                }
                _ => {}
            }
        }
        words.insert(format!(
            "exchange {} HTTP status = {}",
            index + 1,
            response["status"]
        ));
    }
    (fields, words)
}

/// What differs between a committed recording and a fresh one, a line each.
fn drift(committed: &Value, fresh: &Value) -> Vec<String> {
    let (old_fields, old_words) = contract(committed);
    let (new_fields, new_words) = contract(fresh);
    let mut lines = Vec::new();
    for field in new_fields.difference(&old_fields) {
        lines.push(format!("field added: {field}"));
    }
    for field in old_fields.difference(&new_fields) {
        lines.push(format!("field missing: {field}"));
    }
    for word in new_words.difference(&old_words) {
        lines.push(format!("never seen before: {word}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(body: Value) -> Value {
        json!({ "exchanges": [{ "response": { "status": 200, "body": body } }] })
    }

    #[test]
    fn the_same_contract_is_no_drift() {
        let body = json!({ "status": true, "order_status": "pending", "amount": 1 });
        assert!(drift(&recording(body.clone()), &recording(body)).is_empty());
    }

    #[test]
    fn added_and_missing_fields_and_new_words_are_each_named() {
        let committed =
            recording(json!({ "status": true, "order_status": "pending", "amount": 1 }));
        let fresh =
            recording(json!({ "status": true, "order_status": "proccess", "payment_id": "1" }));
        assert_eq!(
            drift(&committed, &fresh),
            [
                "field added: exchange 1 answer.payment_id",
                "field missing: exchange 1 answer.amount",
                "never seen before: exchange 1 answer.order_status = \"proccess\"",
            ]
        );
    }
}
