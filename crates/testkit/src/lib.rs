//! Test support shared by paybridge's crates (not published): fixture loading,
//! capture of what an adapter really sent, and multipart parsing.
#![deny(missing_docs)]

pub mod conformance;
pub mod faulty_ledger;
pub mod logs;
pub mod postgres;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse, Mock};
use paybridge_core::Error;
use serde::Serialize;
use serde_json::{json, Value};

/// Checks that the generated section `name` of the document at `doc` (between
/// its `<!-- name:start (generated; … rewrites it) -->` and `<!-- name:end -->`
/// markers) is `generated`; with `PAYBRIDGE_BLESS` set, rewrites it instead.
/// `rewrite` is the command named in the start marker.
pub fn generated_section_is(doc: &str, name: &str, rewrite: &str, generated: &str) {
    let start =
        format!("<!-- {name}:start (generated; PAYBRIDGE_BLESS=1 {rewrite} rewrites it) -->\n");
    let end = format!("<!-- {name}:end -->");
    let text = std::fs::read_to_string(doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let (before, rest) = text
        .split_once(&start)
        .unwrap_or_else(|| panic!("{doc} has no {name} start marker"));
    let (documented, after) = rest
        .split_once(&end)
        .unwrap_or_else(|| panic!("{doc} has no {name} end marker"));
    if documented != generated && std::env::var_os("PAYBRIDGE_BLESS").is_some() {
        std::fs::write(doc, format!("{before}{start}{generated}{end}{after}"))
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        return;
    }
    assert_eq!(
        documented, generated,
        "{doc}'s {name} differs from the code; rerun with PAYBRIDGE_BLESS=1"
    );
}

/// The repository's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A fixture file's text.
pub fn fixture(relative: &str) -> String {
    let path = fixtures_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The response cases of one operation: `(case name, body)`, sorted by name.
pub fn response_cases(provider: &str, operation: &str) -> Vec<(String, String)> {
    let dir = fixtures_dir().join(provider).join(operation);
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json").then(|| {
                let name = path.file_stem()?.to_string_lossy().into_owned();
                Some((name, std::fs::read_to_string(&path).ok()?))
            })?
        })
        .collect();
    cases.sort();
    cases
}

/// A request as an adapter sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapturedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, query included.
    pub path: String,
    /// Content type, boundary removed.
    pub content_type: Option<String>,
    /// Form fields in order (multipart or urlencoded), or JSON body fields.
    pub fields: Vec<(String, String)>,
}

impl CapturedRequest {
    /// The same request with credential values replaced, for snapshots.
    pub fn redacted(&self, secret_fields: &[&str]) -> Self {
        let mut copy = self.clone();
        for (name, value) in &mut copy.fields {
            if secret_fields.contains(&name.as_str()) {
                *value = "[REDACTED]".into();
            }
        }
        copy
    }

    /// Field `name`, if sent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A `request.txt` fixture: `METHOD PATH` then `field=value` lines.
pub fn request_fixture(provider: &str, operation: &str) -> CapturedRequest {
    let text = fixture(&format!("{provider}/{operation}/request.txt"));
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let (method, path) = first.split_once(' ').unwrap_or((first, ""));
    let fields = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    CapturedRequest {
        method: method.into(),
        path: path.into(),
        content_type: Some("multipart/form-data".into()),
        fields,
    }
}

/// Asserts that `form` serializes to the fields of `{provider}/{operation}/request.txt`, in
/// order. The fixture's leading `auth` token, sent by the transport ahead of every form, is
/// taken as given.
pub fn assert_form_is_fixture<F: serde::Serialize>(provider: &str, operation: &str, form: &F) {
    let expected = request_fixture(provider, operation).fields;
    let mut sent = paybridge_wire::form_pairs(form)
        .unwrap_or_else(|e| panic!("{provider} {operation}: the form does not serialize: {e}"));
    if let Some(auth) = expected.first().filter(|(name, _)| name == "auth") {
        sent.insert(0, auth.clone());
    }
    assert_eq!(
        sent, expected,
        "{provider} {operation}: the form differs from request.txt"
    );
}

/// Parses a `multipart/form-data` body of text fields, in order.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    paybridge_wire::multipart_fields(body, Some(content_type)).unwrap_or_default()
}

/// Turns a captured httpmock request into a [`CapturedRequest`].
pub fn capture(req: &HttpMockRequest) -> CapturedRequest {
    let content_type = req
        .headers_vec()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    let body = req.body_ref();
    let fields = match content_type.as_deref() {
        Some(ct) if ct.starts_with("multipart/form-data") => parse_multipart(ct, body),
        Some(ct) if ct.starts_with("application/json") => {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => {
                    map.into_iter().map(|(k, v)| (k, v.to_string())).collect()
                }
                _ => vec![("<body>".into(), String::from_utf8_lossy(body).into_owned())],
            }
        }
        _ => Vec::new(),
    };
    CapturedRequest {
        method: req.method_str().to_owned(),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        content_type: content_type.map(|ct| ct.split(';').next().unwrap_or_default().to_owned()),
        fields,
    }
}

/// What a mock has received so far.
pub type Captures = Arc<Mutex<Vec<CapturedRequest>>>;

/// Mocks `method path` to answer `status` with `body`, capturing every request.
pub fn mock_capture<'a>(
    server: &'a MockServer,
    method: Method,
    path: &str,
    status: u16,
    body: &str,
) -> (Mock<'a>, Captures) {
    let captures: Captures = Arc::default();
    let sink = captures.clone();
    let body = body.to_owned();
    let mock = server.mock(|when, then| {
        when.method(method).path(path);
        then.respond_with(move |req: &HttpMockRequest| {
            sink.lock().expect("capture lock").push(capture(req));
            HttpMockResponse::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body.clone())
                .build()
        });
    });
    (mock, captures)
}

/// The single request a mock received.
pub fn only(captures: &Captures) -> CapturedRequest {
    let captured = captures.lock().expect("capture lock");
    assert_eq!(
        captured.len(),
        1,
        "expected exactly one request, got {captured:#?}"
    );
    captured[0].clone()
}

/// A result as JSON for snapshots: the value, or the error's kind and text.
pub fn outcome<T: Serialize>(result: &Result<T, Error>) -> Value {
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(err) => json!({ "error": error_kind(err), "message": err.to_string() }),
    }
}

/// [`Error::kind`], with the refusal kind where there is one.
pub fn error_kind(err: &Error) -> String {
    match err {
        Error::Provider { kind, .. } => format!("provider/{kind:?}"),
        other => other.kind().into(),
    }
}

/// A boxed future, for operation closures.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What replaying one operation's fixtures produced.
#[derive(Debug)]
pub struct Replay {
    /// The request sent (identical for every case; asserted against `request.txt`).
    pub request: CapturedRequest,
    /// Each response case's normalized outcome, by case name.
    pub outcomes: serde_json::Map<String, Value>,
}

/// Replays every documented response of a merchant-form-API operation against a
/// mock server. For each case it asserts that the adapter sent exactly the
/// request in `request.txt` (method, path, multipart, every field in order; the
/// auth token being the one the mocked `/merchant/auth` issued), and records the
/// normalized outcome.
pub async fn replay_form_operation<T, F>(provider: &str, operation: &str, call: F) -> Replay
where
    T: Serialize,
    F: Fn(String) -> BoxFuture<Result<T, Error>>,
{
    let expected = request_fixture(provider, operation);
    let needs_auth = expected.field("auth").is_some();
    let auth_expected = request_fixture(provider, "auth");
    let mut outcomes = serde_json::Map::new();
    for (case, body) in response_cases(provider, operation) {
        let server = MockServer::start_async().await;
        let auth = needs_auth.then(|| {
            mock_capture(
                &server,
                POST,
                "/merchant/auth",
                200,
                &fixture(&format!("{provider}/auth/ok.json")),
            )
        });
        let (_mock, captures) = mock_capture(&server, POST, &expected.path, 200, &body);
        let result = call(server.base_url()).await;
        outcomes.insert(case.clone(), outcome(&result));
        let sent = only(&captures);
        assert_eq!(
            sent, expected,
            "{provider} {operation} ({case}): wire request differs from request.txt"
        );
        if let Some((_, auth_captures)) = auth {
            let auth_sent = only(&auth_captures);
            assert_eq!(
                auth_sent.fields, auth_expected.fields,
                "{provider} auth request"
            );
            assert_eq!(auth_sent.path, auth_expected.path);
        }
    }
    assert!(
        !outcomes.is_empty(),
        "no response fixtures for {provider} {operation}"
    );
    Replay {
        request: expected.redacted(&["api_key", "auth"]),
        outcomes,
    }
}

/// A deposit of `amount` the ledger holds as sent (`sending`) for `provider`,
/// and, when `reference` is given, as answered `pending` under it with a
/// payment page: its key.
pub async fn deposit_held(
    ledger: &dyn paybridge_ledger::Ledger,
    provider: paybridge_core::Provider,
    order_id: &str,
    amount: &paybridge_core::Money,
    reference: Option<&str>,
) -> paybridge_ledger::OrderKey {
    use paybridge_ledger::{LedgerState, Observation, OrderKey, Source};
    let id = paybridge_core::OrderId::new(order_id).expect("an order id");
    let key = OrderKey::new(provider, None, paybridge_core::OrderKind::Deposit, &id);
    ledger.begin(&key, amount).await.expect("the ledger begins");
    if let Some(reference) = reference {
        let created = Observation::new(Source::Create, LedgerState::Pending)
            .provider_ref(Some(reference.to_owned()))
            .payment_url(format!("https://pay.example/{reference}"));
        ledger
            .observe(&key, &created)
            .await
            .expect("the ledger records the create answer");
    }
    key
}

/// A fresh, empty directory under the system's temporary directory, unique to
/// this process and call: `<prefix>-<pid>-<n>`.
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A white-label brand of the form API, FPay, as a merchant would configure
/// it in `paybridge.toml` (its currencies and what each takes, over the
/// family's shared rows): the brand the tests define in configuration alone.
pub const FPAY_BRAND: &str = r#"
[brands.fpay]
protocol = "form_api"
currencies = ["MYR", "THB"]
balance = false

[brands.fpay.statuses.deposit]
paid = "completed"

[brands.fpay.deposit.fields]
redirect_url = { use = "sent", why = "optional: where the payer returns" }
callback_url = { use = "refused", why = "FPay calls back the URL set on the account page only" }
payment_method = { use = "refused", why = "the payer picks a method on FPay's page" }
bank_id = { use = "not_sent", why = "only THB deposits name the payer's bank" }
mode = { use = "refused", why = "FPay has no prepaid-card mode" }
extra = { use = "sent", values = ["bank_code"], why = "FPay's live servers take bank_code" }

[brands.fpay.deposit.currencies.THB]
bank_id = { use = "required", why = "THB deposits name the payer's bank, from the bank list" }

[brands.fpay.withdrawal.fields]
callback_url = { use = "refused", why = "FPay calls back the URL set on the account page only" }
"#;
