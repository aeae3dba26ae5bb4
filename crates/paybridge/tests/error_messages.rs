//! Errors say their cause in words, with no Rust `Debug` text: a refused
//! connection, a name that does not resolve, a TLS handshake that fails, a
//! misconfigured base URL.

use paybridge::{Config, Error, Gateway};

fn vpay88(base_url: &str) -> Result<Gateway, Error> {
    let config = Config::from_toml(
        &format!(
            "[vpay88]\nbase_url = \"{base_url}\"\nusername = \"m\"\napi_key = \"k\"\nsecret_key = \"s\"\n\
             [http]\nread_attempts = 1\nconnect_timeout_ms = 2000\n"
        ),
        "error messages",
    )?;
    Gateway::for_provider(&config, paybridge::providers::VPAY88)
}

/// No struct, option or URL internals in what a person reads.
fn reads_as_words(message: &str) {
    for debug in ["Some(", "None", "Url {", "BaseUrl {", " { ", "kind: "] {
        assert!(!message.contains(debug), "{debug:?} in {message}");
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_refused_connection_says_connection_refused() {
    let gateway = vpay88(&format!("http://127.0.0.1:{}", closed_port())).unwrap();
    let err = gateway.currencies().await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(
        message.to_ascii_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(!message.contains("error sending request"), "{message}");
    reads_as_words(&message);
}

#[tokio::test]
async fn a_name_that_does_not_resolve_says_so() {
    let gateway = vpay88("http://paybridge-no-such-host.invalid").unwrap();
    let message = gateway.currencies().await.unwrap_err().to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(!message.contains("error sending request"), "{message}");
    reads_as_words(&message);
}

#[tokio::test]
async fn a_failed_tls_handshake_says_so() {
    // A plain HTTP listener answering a TLS client.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let gateway = vpay88(&format!("https://{addr}")).unwrap();
    let message = gateway.currencies().await.unwrap_err().to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(!message.contains("error sending request"), "{message}");
    reads_as_words(&message);
}

#[test]
fn a_base_url_ending_in_merchant_names_the_url_not_its_parts() {
    let err = vpay88("https://api.example/merchant").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`https://api.example/merchant`"),
        "{message}"
    );
    reads_as_words(&message);
}
