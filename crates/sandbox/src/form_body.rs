//! Form bodies, read as the providers' PHP servers read them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::{journal, recording};

/// Reads a form body sent as `multipart/form-data` or urlencoded, as PHP does.
/// Repeated keys keep the last value, as PHP does.
pub(crate) async fn read_form(request: Request) -> Result<HashMap<String, String>, String> {
    const MULTIPART: &str = "multipart/form-data";
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().get(..MULTIPART.len()))
        .is_some_and(|start| start.eq_ignore_ascii_case(MULTIPART.as_bytes()));
    if multipart {
        // Boxed: a multipart reader's state would otherwise weigh on every
        // form request's future.
        Box::pin(read_multipart(request)).await
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| e.body_text())?;
        // A map keeps the last of a repeated key.
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())?;
        // A copy, so the journal does not pin the connection's read buffer.
        recording::received(
            || journal::Received::Urlencoded(Bytes::copy_from_slice(&body)),
            &fields,
        );
        Ok(fields)
    }
}

async fn read_multipart(request: Request) -> Result<HashMap<String, String>, String> {
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| e.body_text())?;
    let mut fields = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(|e| e.body_text())?;
        fields.insert(name, value);
    }
    recording::received_fields(&fields);
    Ok(fields)
}

/// The `outcome` field of a settle form (payment page button or control
/// endpoint); empty when absent, which `settle_order` or `settle_payment` then
/// refuses by name.
pub(crate) async fn read_outcome(request: Request) -> String {
    read_form(request)
        .await
        .ok()
        .and_then(|mut f| f.remove("outcome"))
        .unwrap_or_default()
}
