//! The head of a request as a provider's server reads it: one `Host` header,
//! the provider's authority (host and port) exactly as HTTP/1 clients write
//! it, beside paybridge's `User-Agent` and `Accept`.

use std::sync::{Arc, Mutex};

use paybridge::adapters::Vpay88;
use paybridge::{OrderId, PaymentGateway, StatusQuery};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server that keeps the head of each request and answers a Vpay88 status.
async fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Up to the end of the head; the small body comes with it or after.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
                kept.lock().unwrap().push(head);
                let body =
                    r#"{"status":true,"order_status":"pending","amount":"10.00","currency":"MYR"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

/// The values of header `name` in `head`, in order.
fn header_values<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
        .collect()
}

#[tokio::test]
async fn a_status_query_carries_one_host_header_naming_the_providers_host_and_port() {
    let (base, heads) = recording_server().await;
    let gateway = Vpay88::builder(&base, "merchant", "api-key")
        .build()
        .unwrap();
    let query = StatusQuery::new(OrderId::new("HEAD-1").unwrap());
    gateway.deposit_status(&query).await.unwrap();

    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1, "one request: {heads:?}");
    let head = &heads[0];
    let authority = base.trim_start_matches("http://");
    assert!(
        head.starts_with("POST /merchant/check_status HTTP/1.1"),
        "{head}"
    );
    assert_eq!(header_values(head, "host"), [authority], "{head}");
    assert_eq!(header_values(head, "accept"), ["*/*"], "{head}");
    let agents = header_values(head, "user-agent");
    assert_eq!(agents.len(), 1, "{head}");
    assert!(agents[0].starts_with("paybridge/"), "{head}");
    assert_eq!(header_values(head, "content-type").len(), 1, "{head}");
}
