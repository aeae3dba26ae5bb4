//! Replays the exchanges `cargo xtask fixtures` recorded against the sandbox:
//! each adapter must send the recorded requests, field by field and in order,
//! and turn the recorded answers into the recorded outcome.

use httpmock::prelude::*;
use httpmock::HttpMockResponse;
use paybridge::{Config, Gateway, Provider};
use paybridge_cli::harness::demo_config;
use paybridge_cli::recorded::{scenarios, scrub_fields, scrub_json, scrub_path, PAYMENT_TOKEN};
use paybridge_testkit::{capture, fixtures_dir, Captures};
use serde_json::{json, Value};

fn config(base: &str) -> Config {
    demo_config(base, None).unwrap()
}

#[tokio::test]
async fn every_recorded_exchange_replays_to_its_recorded_outcome() {
    for scenario in scenarios() {
        let path = fixtures_dir()
            .join("sandbox")
            .join(scenario.provider)
            .join(format!("{}.json", scenario.name));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask fixtures`", path.display()));
        let recorded: Value = serde_json::from_str(&text).unwrap();
        let server = MockServer::start_async().await;
        let captures: Captures = Default::default();
        let exchanges = recorded["exchanges"].as_array().unwrap();
        for exchange in exchanges {
            let request = &exchange["request"];
            let recorded_path = request["path"].as_str().unwrap();
            let prefix = recorded_path.split('{').next().unwrap().to_owned();
            let body = exchange["response"]["body"].to_string();
            let status = exchange["response"]["status"].as_u64().unwrap() as u16;
            let sink = captures.clone();
            server.mock(|when, then| {
                when.method(request["method"].as_str().unwrap())
                    .path_prefix(prefix);
                then.respond_with(move |req| {
                    sink.lock().unwrap().push(capture(req));
                    HttpMockResponse::builder()
                        .status(status)
                        .body(body.clone())
                        .build()
                });
            });
        }
        let gateway = Gateway::for_provider(
            &config(&server.base_url()),
            Provider::parse(scenario.provider).unwrap(),
        )
        .unwrap();
        let mut outcome = match (scenario.call)(&gateway, PAYMENT_TOKEN).await {
            Ok(value) => json!({ "ok": value }),
            Err(err) => json!({ "error": err.to_string() }),
        };
        scrub_json(&mut outcome);
        let label = format!("{}/{}", scenario.provider, scenario.name);
        assert_eq!(
            outcome, recorded["outcome"],
            "{label}: outcome differs from the recording"
        );
        let sent = captures.lock().unwrap().clone();
        assert_eq!(sent.len(), exchanges.len(), "{label}: number of requests");
        for (sent, exchange) in sent.into_iter().zip(exchanges) {
            let mut fields = sent.fields.clone();
            scrub_fields(&mut fields);
            let request = &exchange["request"];
            assert_eq!(scrub_path(&sent.path), request["path"], "{label}: path");
            assert_eq!(
                json!(fields),
                request["fields"],
                "{label}: fields of {}",
                sent.path
            );
        }
        insta::assert_json_snapshot!(label.replace('/', "__"), outcome);
    }
    // No recording is left that no scenario replays (a renamed scenario, say).
    let mut recorded: Vec<String> = ["vpay88", "one1pay", "onepunch"]
        .iter()
        .flat_map(|provider| {
            std::fs::read_dir(fixtures_dir().join("sandbox").join(provider))
                .unwrap()
                .map(move |entry| {
                    format!(
                        "{provider}/{}",
                        entry.unwrap().file_name().to_string_lossy()
                    )
                })
        })
        .collect();
    let mut replayed: Vec<String> = scenarios()
        .iter()
        .map(|s| format!("{}/{}.json", s.provider, s.name))
        .collect();
    recorded.sort();
    replayed.sort();
    assert_eq!(recorded, replayed);
}
