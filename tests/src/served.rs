//! `patchwork serve` as its own process over a test's database: a second server of a
//! scaled-out deployment, or the binary under test itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{patchwork_binary, TestApp, TEST_ISSUER, TEST_JWT_SECRET};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Served {
    pub child: std::process::Child,
    pub address: String,
    pub port: u16,
    /// The server's log lines (JSON), as they are written.
    pub lines: mpsc::Receiver<String>,
}

/// Starts `patchwork serve` in production mode against `app`'s database; its log lines (JSON)
/// arrive on a channel.
pub async fn serve(app: &TestApp) -> Served {
    serve_with(app, &[]).await
}

/// `serve`, with more environment.
pub async fn serve_with(app: &TestApp, extra: &[(&str, &str)]) -> Served {
    let port = free_port();
    let mut child = Command::new(patchwork_binary())
        .arg("serve")
        .env_clear()
        .envs(extra.iter().copied())
        .env("DATABASE_URL", &app.database_url)
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("PUBLIC_URL", TEST_ISSUER)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("HTTP_WORKERS", "2")
        .env("MAIL_WORKER", "off")
        .env("DAILY_JOBS_HOUR", "24")
        // Each sign-in holds a place under the account's limit while its password is checked:
        // room for the load tests' concurrent sign-ins.
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "50")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start patchwork serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let address = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if app
            .client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return Served {
                child,
                address,
                port,
                lines,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("patchwork serve did not start");
}

impl Drop for Served {
    fn drop(&mut self) {
        // A test that did not stop it leaves no server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
