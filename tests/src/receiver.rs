//! A real HTTP/1.1 receiver on loopback, for what Patchwork sends out (webhooks, traces): it
//! records every request and answers 200, or 500 while told to fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

/// One request as it arrived, and the status it was answered with.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Receiver {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    requests: Mutex<mpsc::UnboundedReceiver<Received>>,
    failing: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        let failing = Arc::new(AtomicUsize::new(0));
        let fail = failing.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, tx.clone(), fail.clone()));
            }
        });
        Receiver {
            address,
            requests: Mutex::new(rx),
            failing,
        }
    }

    /// Answers the next `n` requests with 500.
    pub fn fail_next(&self, n: usize) {
        self.failing.store(n, Ordering::SeqCst);
    }

    /// The next request, if one comes within `within`.
    pub async fn next(&self, within: Duration) -> Option<Received> {
        let mut rx = self.requests.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    /// Requests until `done` says enough (panics after `within`).
    pub async fn until(
        &self,
        within: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(r) => got.push(r),
                None => panic!(
                    "the receiver waited {within:?}; it got {:#?}",
                    got.iter()
                        .map(|r| (
                            r.answered,
                            r.header("webhook-id").map(str::to_owned),
                            r.text()
                        ))
                        .collect::<Vec<_>>()
                ),
            }
        }
        got
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    tx: mpsc::UnboundedSender<Received>,
    failing: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                Some((n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[end + 4..end + 4 + length].to_vec();
        buf.drain(..end + 4 + length);
        let fail = failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let answered = if fail { 500 } else { 200 };
        let mut parts = request_line.split_whitespace();
        let _ = tx.send(Received {
            method: parts.next().unwrap_or_default().to_owned(),
            path: parts.next().unwrap_or_default().to_owned(),
            headers,
            body,
            answered,
        });
        let answer = format!(
            "HTTP/1.1 {answered} {}\r\ncontent-length: 0\r\n\r\n",
            if fail { "Internal Server Error" } else { "OK" }
        );
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
