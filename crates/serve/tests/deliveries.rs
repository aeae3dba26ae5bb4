//! The service's webhook delivery against receivers that answer what no
//! document shows.

mod common;

use common::{call, start};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A receiver that reads one request whole, then answers `head` and `body_len` bytes of `x`.
async fn receiver(head: &'static str, body_len: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut read = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&read).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if read.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let answer = format!("{head}\r\ncontent-length: {body_len}\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = body_len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if socket.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_answered_200_with_a_two_mib_body_is_delivered_once_and_its_first_bytes_kept() {
    let running = start(&paybridge_testkit::postgres::sqlite_url(), None).await;
    let payout = json!({
        "order_id": "BIG-ANSWER-1", "amount": "80.00", "currency": "MYR",
        "bank_id": "101", "holder_name": "Aminah", "account_no": "1234567890",
    });
    let (status, created, _) = call(
        Method::POST,
        &format!("{}/v1/payouts", running.api),
        Some(&payout),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let url = receiver("HTTP/1.1 200 OK", 2 << 20).await;
    let config = common::config(
        &running.sandbox_url,
        "sqlite::memory:",
        &format!(
            "[serve.webhooks]\nurl = \"{url}\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n"
        ),
    );
    let outbox = paybridge_serve::webhook_outbox(&config, running.ledger.clone())
        .unwrap()
        .unwrap();
    outbox.deliver_due().await.unwrap();
    let (_, listed, _) = call(
        Method::GET,
        &format!("{}/v1/webhooks", running.api),
        None,
        &[],
    )
    .await;
    let id = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["order_id"] == "BIG-ANSWER-1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, detail, _) = call(
        Method::GET,
        &format!("{}/v1/webhooks/{id}", running.api),
        None,
        &[],
    )
    .await;
    assert_eq!(
        detail["event"]["state"], "delivered",
        "a 2xx is success, however long its body: {detail}"
    );
    let attempt = &detail["attempts"][0];
    assert_eq!(attempt["status"], 200, "{detail}");
    let kept = attempt["answer"].as_str().unwrap_or_default();
    assert!(
        !kept.is_empty() && kept.len() <= 256 && kept.bytes().all(|b| b == b'x'),
        "{detail}"
    );
    running.stop().await;
}
