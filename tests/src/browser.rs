//! A real browser for tests: Debian's headless Chromium driven over WebDriver (chromedriver,
//! through `fantoccini`), with axe-core for accessibility checks.
//!
//! `scripts/browser.sh` installs what this needs (`/usr/bin/chromium`, `/usr/bin/chromedriver`,
//! `target/browser/axe.min.js`); `make test` runs it. A browser test never skips itself: when
//! any of these is missing, [`Browser::start`] (or [`Browser::axe`]) fails saying so.
//!
//! ```ignore
//! let browser = Browser::start(1280, 800).await?;
//! browser.goto(&format!("{}/graphql", app.address)).await?;
//! browser.wait_for(".graphiql-container").await?;
//! let results = browser.axe().await?;
//! assert!(serious_violations(&results).is_empty());
//! browser.close().await?;
//! ```

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`), of the same version as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long [`Browser::wait_for`] polls for an element.
pub const WAIT: Duration = Duration::from_secs(10);

/// The axe-core rule tags [`Browser::axe`] runs.
pub const AXE_TAGS: [&str; 6] = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// The workspace's root (the folder of the top Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `target/browser` under the workspace root: axe-core's script, and where screenshots go
/// (`screenshots/`).
pub fn browser_dir() -> PathBuf {
    workspace_root().join("target").join("browser")
}

/// Where `scripts/browser.sh` puts axe-core.
pub fn axe_script_path() -> PathBuf {
    browser_dir().join("axe.min.js")
}

/// `target/browser/screenshots/NAME` under the workspace root.
pub fn screenshot_path(name: &str) -> PathBuf {
    browser_dir().join("screenshots").join(name)
}

const INSTALL_HINT: &str = "run `bash scripts/browser.sh` (`make test` does) to install Chromium, \
chromedriver and axe-core";

/// A headless Chromium session, with the chromedriver serving it. Dropping it kills both; call
/// [`Browser::close`] to end the session cleanly first.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session whose
    /// viewport (what the page lays out in, and what a screenshot shows) is `width`×`height`,
    /// in British English.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(tool).exists() {
                bail!("{tool} is missing: {INSTALL_HINT}");
            }
        }
        // A port taken between our probe and chromedriver's bind is rare; try again then.
        let mut last = None;
        for _ in 0..3 {
            match Self::start_once(width, height).await {
                Ok(browser) => return Ok(browser),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    async fn start_once(width: u32, height: u32) -> Result<Browser> {
        let port = free_port()?;
        let profile = std::env::temp_dir().join(format!(
            "patchwork-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&profile)
            .with_context(|| format!("creating the profile folder {}", profile.display()))?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop takes the browsers it started with it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        // From here on, Drop cleans up whatever fails.
        let mut browser = Browser {
            client: None,
            driver,
            profile,
        };
        let base = format!("http://127.0.0.1:{port}");
        browser.wait_for_driver(&base).await?;

        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--lang=en-GB",
                    format!("--user-data-dir={}", browser.profile.display()),
                    format!("--window-size={width},{height}"),
                ],
                "prefs": { "intl.accept_languages": "en-GB" },
            }),
        );
        // The page's console, for `console_log`.
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&base)
            .await
            .map_err(|e| {
                anyhow!("opening a Chromium session through chromedriver at {base}: {e}")
            })?;
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                Some(Duration::ZERO),
            ))
            .await
            .context("setting the session's timeouts")?;
        browser.client = Some(client);
        browser.fit_viewport(width, height).await?;
        Ok(browser)
    }

    /// Grows the window by what its frame takes, so that pages get `width`×`height` to lay out
    /// in (headless Chromium's `--window-size` counts a simulated frame), as a screenshot shows.
    async fn fit_viewport(&self, width: u32, height: u32) -> Result<()> {
        let client = self.client();
        let inner = client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .context("measuring the viewport")?;
        let (Some(w), Some(h)) = (inner[0].as_u64(), inner[1].as_u64()) else {
            bail!("measuring the viewport: {inner}");
        };
        let (outer_w, outer_h) = client
            .get_window_size()
            .await
            .context("measuring the window")?;
        let want_w = (outer_w + u64::from(width)).saturating_sub(w);
        let want_h = (outer_h + u64::from(height)).saturating_sub(h);
        if (want_w, want_h) != (outer_w, outer_h) {
            client
                .set_window_size(want_w as u32, want_h as u32)
                .await
                .context("sizing the window")?;
        }
        Ok(())
    }

    /// Polls chromedriver's `/status` until it says it is ready (at most 10 s).
    async fn wait_for_driver(&mut self, base: &str) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.driver.try_wait()? {
                bail!("{CHROMEDRIVER} exited ({status}) before answering on {base}");
            }
            if let Ok(res) = http.get(format!("{base}/status")).send().await {
                if let Ok(body) = res.json::<Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                bail!("waited {WAIT:?} for {CHROMEDRIVER} to answer on {base}/status");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a started browser has a session")
    }

    /// The page's URL now, for error messages (never fails).
    pub async fn url(&self) -> String {
        match self.client().current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(URL unknown: {e})"),
        }
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client()
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// The first element matching `css`, polled for up to [`WAIT`].
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        match self
            .client()
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => Ok(element),
            Err(e) => Err(anyhow!(
                "waited {WAIT:?} for an element matching `{css}` on {}: {e}",
                self.url().await
            )),
        }
    }

    /// Types `text` into the field matching `css` (waited for), after clearing it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let field = self.wait_for(css).await?;
        let typed = async {
            field.clear().await?;
            field.send_keys(text).await
        }
        .await;
        match typed {
            Ok(()) => Ok(()),
            Err(e) => Err(anyhow!("typing into `{css}` on {}: {e}", self.url().await)),
        }
    }

    /// Clicks the element matching `css` (waited for).
    pub async fn click(&self, css: &str) -> Result<()> {
        let element = self.wait_for(css).await?;
        match element.click().await {
            Ok(()) => Ok(()),
            Err(e) => Err(anyhow!("clicking `{css}` on {}: {e}", self.url().await)),
        }
    }

    /// The rendered text of the element matching `css` (waited for).
    pub async fn text(&self, css: &str) -> Result<String> {
        let element = self.wait_for(css).await?;
        match element.text().await {
            Ok(text) => Ok(text),
            Err(e) => Err(anyhow!(
                "reading the text of `{css}` on {}: {e}",
                self.url().await
            )),
        }
    }

    /// The `attr` attribute of every element matching `css` now (none waited for), skipping
    /// those that lack it.
    pub async fn attr_all(&self, css: &str, attr: &str) -> Result<Vec<String>> {
        let found = async {
            let mut values = Vec::new();
            for element in self.client().find_all(Locator::Css(css)).await? {
                if let Some(value) = element.attr(attr).await? {
                    values.push(value);
                }
            }
            Ok::<_, fantoccini::error::CmdError>(values)
        }
        .await;
        match found {
            Ok(values) => Ok(values),
            Err(e) => Err(anyhow!(
                "reading `{attr}` of `{css}` on {}: {e}",
                self.url().await
            )),
        }
    }

    /// The page's HTML as the browser has it now.
    pub async fn page_source(&self) -> Result<String> {
        match self.client().source().await {
            Ok(source) => Ok(source),
            Err(e) => Err(anyhow!("reading the source of {}: {e}", self.url().await)),
        }
    }

    /// Saves a PNG of the viewport at `path`, creating its folders.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let png = match self.client().screenshot().await {
            Ok(png) => png,
            Err(e) => bail!("taking a screenshot of {}: {e}", self.url().await),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// The browser console's entries since the last call (each `{level, message, source,
    /// timestamp}`; `level` is e.g. `SEVERE` for errors, including Content-Security-Policy
    /// refusals).
    pub async fn console_log(&self) -> Result<Vec<Value>> {
        match self.client().issue_cmd(BrowserLog).await {
            Ok(Value::Array(entries)) => Ok(entries),
            Ok(other) => bail!(
                "chromedriver's log of {} is not a list: {other}",
                self.url().await
            ),
            Err(e) => bail!("reading the console log of {}: {e}", self.url().await),
        }
    }

    /// Runs axe-core on the page (injecting it first) with [`AXE_TAGS`] and returns its
    /// results: an object with `violations`, `passes`, `incomplete`, `inapplicable`.
    pub async fn axe(&self) -> Result<Value> {
        let path = axe_script_path();
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("reading axe-core at {}: {INSTALL_HINT}", path.display()))?;
        let client = self.client();
        let present = client
            .execute("return typeof window.axe === 'object';", vec![])
            .await;
        if present.as_ref().ok() != Some(&json!(true)) {
            // Run as a function body: axe-core's UMD wrapper sets `window.axe`.
            let injected = client
                .execute(&format!("{source}\n;return typeof window.axe;"), vec![])
                .await;
            match injected {
                Ok(kind) if kind == json!("object") => {}
                Ok(kind) => bail!(
                    "injecting axe-core into {}: window.axe is {kind}",
                    self.url().await
                ),
                Err(e) => bail!("injecting axe-core into {}: {e}", self.url().await),
            }
        }
        // Results as a JSON string: what axe returns need not survive WebDriver's own
        // serialisation as it is.
        let run = r#"
            const done = arguments[arguments.length - 1];
            window.axe
              .run(document, { runOnly: arguments[0] })
              .then((results) => done({ ok: JSON.stringify(results) }))
              .catch((e) => done({ error: String(e && e.stack || e) }));
        "#;
        let answer = match client.execute_async(run, vec![json!(AXE_TAGS)]).await {
            Ok(answer) => answer,
            Err(e) => bail!("running axe-core on {}: {e}", self.url().await),
        };
        match (answer["ok"].as_str(), answer["error"].as_str()) {
            (Some(results), _) => match serde_json::from_str(results) {
                Ok(results) => Ok(results),
                Err(e) => bail!(
                    "axe-core's results for {} are not JSON: {e}",
                    self.url().await
                ),
            },
            (None, Some(error)) => bail!("axe-core failed on {}: {error}", self.url().await),
            _ => bail!(
                "axe-core answered neither results nor an error on {}: {answer}",
                self.url().await
            ),
        }
    }

    /// Ends the WebDriver session (closing Chromium); chromedriver stops on Drop.
    pub async fn close(mut self) -> Result<()> {
        if let Some(client) = self.client.take() {
            client
                .close()
                .await
                .context("ending the WebDriver session")?;
        }
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium it left running.
        let group = format!("-{}", self.driver.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.driver.kill();
        }
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `id: help [targets]` for each violation in axe-core `results` whose impact is serious or
/// critical.
pub fn serious_violations(results: &Value) -> Vec<String> {
    let Some(violations) = results["violations"].as_array() else {
        return vec![format!(
            "axe-core results have no violations list: {results}"
        )];
    };
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let targets: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|node| match &node["target"] {
                    Value::Array(parts) => parts
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" >>> "),
                    other => other.to_string(),
                })
                .collect();
            format!(
                "{}: {} [{}]",
                v["id"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("?"),
                targets.join(", ")
            )
        })
        .collect()
}

/// A free port on loopback, as the system hands one out.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// chromedriver's own command for the browser's console log (`POST /session/{id}/se/log`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}
