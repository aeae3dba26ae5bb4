//! The scripted server an adapter is checked against, and the faults it plays.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted server does with a request no canned answer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this HTTP status with a small HTML page.
    Status(u16),
    /// Closes the connection without answering.
    Close,
    /// Answers only after the adapter's request timeout.
    Stall,
    /// Answers HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answers HTTP 200 with an empty body.
    Empty,
    /// Answers HTTP 200 with JSON cut off midway.
    Truncated,
}

impl Fault {
    /// Every fault a write is checked under.
    pub const ALL: [Fault; 8] = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Close,
        Fault::Stall,
        Fault::Garbage,
        Fault::Empty,
        Fault::Truncated,
    ];

    pub(super) fn describe(self) -> String {
        match self {
            Fault::Status(status) => format!("answers HTTP {status}"),
            Fault::Close => "closes without answering".into(),
            Fault::Stall => "answers after the timeout".into(),
            Fault::Garbage => "answers a body that is not JSON".into(),
            Fault::Empty => "answers an empty body".into(),
            Fault::Truncated => "answers JSON cut off midway".into(),
        }
    }
}

/// A scripted HTTP/1.1 server on loopback: canned answers by path, the fault
/// for everything else; it records every request's path.
#[derive(Debug)]
pub(super) struct Server {
    pub(super) base_url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(super) async fn start(canned: Vec<(String, String)>, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("a local address"));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = seen.clone();
        let canned = Arc::new(canned);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, canned) = (recorded.clone(), canned.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &seen, &canned, fault).await;
                });
            }
        });
        Self {
            base_url,
            seen,
            task,
        }
    }

    pub(super) fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: &Mutex<Vec<String>>,
    canned: &[(String, String)],
    fault: Fault,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..read]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while request.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..read]);
    }
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    seen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(path.clone());
    let (status, body): (u16, &str) = match canned.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => (200, body),
        None => match fault {
            Fault::Status(status) => (status, "<html><body>scripted fault</body></html>"),
            Fault::Close => return Ok(()),
            Fault::Stall => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                (200, "{}")
            }
            Fault::Garbage => (200, "<html>not json</html>"),
            Fault::Empty => (200, ""),
            Fault::Truncated => (200, "{\"status\": true, \"p_u"),
        },
    };
    let mut answer = Vec::new();
    let _ = write!(
        answer,
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(&answer).await?;
    stream.shutdown().await
}
