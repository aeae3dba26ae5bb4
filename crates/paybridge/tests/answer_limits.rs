//! Answers are capped and operations have deadlines: a 10 MiB answer is refused
//! as undecodable while the client's memory stays flat; a payout whose answer
//! never comes is ambiguous once the operation's deadline passes; a merchant's
//! own `reqwest::Client` still gets paybridge's per-request timeout.

use std::time::Duration;

use axum::routing::post;
use axum::Router;
use paybridge::adapters::{FormApiGateway, Vpay88};
use paybridge::transport::TransportConfig;
use paybridge::{Error, Money, PaymentGateway, WithdrawalRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TEN_MIB: usize = 10 << 20;

/// Resident memory of this process, in KiB (Linux).
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A server that answers every request with a JSON body of `size` bytes, sent in
/// 64 KiB chunks from one reused buffer, declaring its length or not.
async fn big_answer_server(size: usize, declare_length: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let chunk = chunk.clone();
            tokio::spawn(async move {
                // Read the request (headers and a small body) before answering.
                let mut request = vec![0u8; 64 * 1024];
                let _ = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut request))
                    .await;
                let head = if declare_length {
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
                };
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut sent = 0;
                while sent < size {
                    let n = chunk.len().min(size - sent);
                    let written = if declare_length {
                        socket.write_all(&chunk[..n]).await
                    } else {
                        let mut framed = format!("{n:x}\r\n").into_bytes();
                        framed.extend_from_slice(&chunk[..n]);
                        framed.extend_from_slice(b"\r\n");
                        socket.write_all(&framed).await
                    };
                    if written.is_err() {
                        return; // the client stopped reading: as it should
                    }
                    sent += n;
                }
                if !declare_length {
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    format!("http://{addr}")
}

fn vpay88(base: &str, transport: TransportConfig) -> FormApiGateway {
    Vpay88::builder(base, "m", "k")
        .transport(transport)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_mib_answer_is_refused_with_a_decode_error_in_bounded_memory() {
    for declare_length in [false, true] {
        let base = big_answer_server(TEN_MIB, declare_length).await;
        let gateway = vpay88(&base, TransportConfig::default());
        // Warm up: the client, pools and runtime allocate on first use.
        let small = vpay88(
            &big_answer_server(16, true).await,
            TransportConfig::default(),
        );
        let _ = small.currencies().await;
        let _ = gateway.currencies().await;
        let before = resident_kib();
        let err = gateway.currencies().await.unwrap_err();
        let after = resident_kib();
        assert_eq!(err.kind(), "decode", "{err}");
        assert!(err.to_string().contains("1048576-byte limit"), "{err}");
        match (before, after) {
            (Some(before), Some(after)) => {
                let grown = after.saturating_sub(before);
                println!("10 MiB answer (length declared: {declare_length}): resident memory grew {grown} KiB");
                assert!(
                    grown < 4 * 1024,
                    "resident memory grew {grown} KiB reading a refused answer"
                );
            }
            _ => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "*** SKIPPED the memory measurement: /proc/self/status is not readable here ***"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_payout_whose_answer_never_comes_is_ambiguous_at_the_operation_deadline() {
    async fn auth() -> &'static str {
        r#"{"status":true,"auth":"T"}"#
    }
    async fn hang() -> &'static str {
        tokio::time::sleep(Duration::from_secs(30)).await;
        r#"{"status":true,"message":"Success"}"#
    }
    async fn found() -> &'static str {
        r#"{"status":true,"order_status":"completed","amount":"10.0000","currency":"MYR"}"#
    }
    let app = Router::new()
        .route("/merchant/auth", post(auth))
        .route("/merchant/withdraw_orders", post(hang))
        .route("/merchant/check_withdraw_status", post(found));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The per-attempt timeout alone would wait 20 s and then find the payout by
    // status; the operation's deadline ends it first, ambiguous.
    let transport = TransportConfig::default()
        .request_timeout(Duration::from_secs(20))
        .operation_deadline(Duration::from_millis(300));
    let request = WithdrawalRequest::builder(
        "W-DEADLINE",
        Money::parse("10", "MYR").unwrap(),
        "101",
        "J",
        "1",
    )
    .build()
    .unwrap();
    match vpay88(&base, transport).create_withdrawal(&request).await {
        Err(Error::Ambiguous {
            order_id, reason, ..
        }) => {
            assert_eq!(order_id.as_str(), "W-DEADLINE");
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("expected ambiguous at the deadline, got {other:?}"),
    }
}

#[tokio::test]
async fn a_merchants_own_client_still_gets_the_per_request_timeout() {
    async fn hang() -> &'static str {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "{}"
    }
    let app = Router::new().route("/merchant/currency", post(hang));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let transport = TransportConfig::default()
        .request_timeout(Duration::from_millis(200))
        .retry(paybridge::transport::RetryPolicy::none());
    // A client with no timeout of its own.
    let gateway = Vpay88::builder(&base, "m", "k")
        .transport(transport)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = gateway.currencies().await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
}
