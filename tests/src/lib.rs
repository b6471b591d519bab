//! A harness that drives Patchwork as a client would: each test gets its own database, cloned
//! from a template migrated once, and the real HTTP server on a free port.

use std::collections::HashMap;
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use patchwork::config::Config;
use patchwork::startup::Application;

pub use serde_json;

pub mod browser;
pub mod mail_town;
pub mod proxy;
pub mod receiver;
pub mod served;
pub mod smtp;
pub mod world;
pub mod ws;

/// The JWT secret every test server signs with.
pub const TEST_JWT_SECRET: &str = "test-only-secret-of-at-least-32-bytes-long";
/// The issuer every test server names in its tokens.
pub const TEST_ISSUER: &str = "http://patchwork.test";
/// The password every account made by the helpers has.
pub const PASSWORD: &str = "correct horse battery staple";

/// The server that tests may create and drop databases on.
///
/// On loopback, TLS is turned off unless the URL asks for it: it protects nothing there, and
/// libpq's OpenSSL clean-up at process exit can crash a test binary whose server threads still
/// hold connections.
pub fn admin_url() -> String {
    let url = std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let loopback = [
        "@127.0.0.1",
        "@localhost",
        "@[::1]",
        "://127.0.0.1",
        "://localhost",
    ]
    .iter()
    .any(|h| url.contains(h));
    if loopback && !url.contains("sslmode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}sslmode=disable")
    } else {
        url
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&f).expect("read migration"));
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read migrations") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The migrated template database's name: built once, by one process at a time.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("patchwork_tpl_{}", migrations_hash());
        let admin = admin_url();
        let mut conn = PgConnection::establish(&admin).expect("connect to the test server");
        // One builder across processes; the others wait and then find it built.
        conn.batch_execute("SELECT pg_advisory_lock(727272)")
            .expect("lock");
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
        )))
        .get_result(&mut conn)
        .expect("look for the template");
        if !exists {
            let building = format!("{name}_building");
            conn.batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .expect("drop a half-built template");
            conn.batch_execute(&format!("CREATE DATABASE {building}"))
                .expect("create the template");
            patchwork::db::migrate(&with_database(&admin, &building))
                .expect("migrate the template");
            conn.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                .expect("publish the template");
        }
        conn.batch_execute("SELECT pg_advisory_unlock(727272)")
            .expect("unlock");
        name
    })
}

/// A running server with its own database.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub database_url: String,
    pub database: String,
    pub client: reqwest::Client,
    /// The server's own state, for what only it can tell (e.g. SQL statements sent).
    pub state: patchwork::state::AppState,
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with no background workers (mail, webhooks): only the test's own requests
/// reach the database, so the SQL statements they cost can be counted.
pub async fn spawn_quiet_app() -> TestApp {
    spawn_app_with(|v| {
        v.insert("MAIL_WORKER".into(), "off".into());
    })
    .await
}

/// Starts a server; `adjust` may change any configuration variable first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let admin = admin_url();
    let database = format!("patchwork_test_{}", Uuid::new_v4().simple());
    let template = template();
    {
        let admin = admin.clone();
        let database = database.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&admin).expect("connect to the test server");
            conn.batch_execute(&format!("CREATE DATABASE {database} TEMPLATE {template}"))
                .expect("clone the template");
        })
        .await
        .expect("clone task");
    }
    let database_url = with_database(&admin, &database);
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.clone()),
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("PUBLIC_URL".into(), TEST_ISSUER.into()),
        ("DATABASE_POOL_SIZE".into(), "4".into()),
        ("HTTP_WORKERS".into(), "1".into()),
        // Development servers write mail as files: never into the source tree.
        (
            "MAIL_DIR".into(),
            std::env::temp_dir()
                .join(format!("{database}-mail"))
                .display()
                .to_string(),
        ),
    ]);
    adjust(&mut vars);
    let config = Config::from_source(&vars).expect("test configuration");
    let app = Application::build(config).expect("build the server");
    let port = app.port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        database_url,
        database,
        state,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let admin = admin_url();
        let database = self.database.clone();
        // A plain thread: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(mut conn) = PgConnection::establish(&admin) {
                let _ =
                    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
            }
        })
        .join();
    }
}

/// A signed-in account made by the helpers.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub agency_id: String,
    pub token: String,
    pub refresh_token: String,
}

impl TestApp {
    /// Sends one GraphQL operation and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status(), 200, "GraphQL answers 200");
        res.json().await.expect("JSON body")
    }

    /// Like [`TestApp::gql`], but fails the test on any error and returns `data`.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// A direct connection to this test's database, for set-up and for checking what was
    /// written.
    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.database_url).expect("connect to the test database")
    }

    /// Counts rows matching an SQL condition.
    pub fn count(&self, table: &str, condition: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE {condition}"
        ))
        .get_result::<N>(&mut self.db())
        .expect("count")
        .n
    }

    /// Signs in and returns the tokens.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken expiresAt practitioner { id email role agency { id } } } }",
            json!({ "e": email, "p": password }),
        )
        .await
    }

    async fn signed_in(&self, email: &str) -> User {
        let body = self.login(email, PASSWORD).await;
        let l = &body["data"]["login"];
        assert!(l.is_object(), "login failed: {body:#}");
        User {
            id: l["practitioner"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            agency_id: l["practitioner"]["agency"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            token: l["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: l["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// A system admin (created the way a fresh install makes its first one), signed in.
    pub async fn system_admin(&self) -> User {
        let email = format!("admin-{}@council.example", short());
        let hash = patchwork::auth::password::hash(PASSWORD).unwrap();
        let url = self.database_url.clone();
        let e = email.clone();
        tokio::task::spawn_blocking(move || {
            patchwork::cli::create_admin(&url, &e, &hash, "Sam Admin", "Council Digital Services")
        })
        .await
        .unwrap()
        .expect("create admin");
        self.signed_in(&email).await
    }

    /// Creates an agency as `admin` and returns its id.
    pub async fn given_agency(
        &self,
        admin: &User,
        name: &str,
        kind: &str,
        sensitive: bool,
    ) -> String {
        let data = self
            .gql_ok(
                Some(&admin.token),
                "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
                json!({ "i": { "name": name, "kind": kind, "sensitive": sensitive } }),
            )
            .await;
        data["createAgency"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates an account in `agency` with `role` (as `by`) and signs it in.
    pub async fn given_practitioner(&self, by: &User, agency: &str, role: &str) -> User {
        let email = format!("p-{}@agency.example", short());
        self.gql_ok(
            Some(&by.token),
            "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id } }",
            json!({ "i": {
                "agencyId": agency, "displayName": "Pat Example", "email": email,
                "jobTitle": "Worker", "role": role, "password": PASSWORD
            } }),
        )
        .await;
        self.signed_in(&email).await
    }
}

/// A short random tag for unique names.
pub fn short() -> String {
    Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The `field`s named by the first error's `extensions.fields`.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// An access token for a new API client of `admin`'s agency with `scopes` (GraphQL
    /// `ApiScope` names), as a vendor gets one: registered, then client credentials.
    pub async fn client_token(&self, admin: &User, scopes: &[&str]) -> String {
        let data = self
            .gql_ok(
                Some(&admin.token),
                "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { clientSecret client { id } } }",
                json!({ "i": { "name": "Case system", "scopes": scopes } }),
            )
            .await;
        let id = data["createApiClient"]["client"]["id"].as_str().unwrap();
        let secret = data["createApiClient"]["clientSecret"].as_str().unwrap();
        let res = self
            .client
            .post(format!("{}/oauth/token", self.address))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// `GET` under the vendor API with a bearer token: status, headers, JSON body.
    pub async fn api_get(
        &self,
        token: &str,
        path: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let res = self
            .client
            .get(format!("{}/api/v1{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.json().await.unwrap_or(Value::Null))
    }

    /// Waits until the outbox holds nothing left to send (at most 20 s).
    pub async fn outbox_settled(&self) {
        for _ in 0..400 {
            if self.count("notifications", "status = 'PENDING'") == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the outbox did not drain");
    }
}

/// Configuration for a server that delivers mail to `smtp` quickly.
pub fn with_mail(smtp: &smtp::SmtpServer) -> impl FnOnce(&mut HashMap<String, String>) {
    let url = smtp.url();
    move |v| {
        v.insert("SMTP_URL".into(), url);
        v.insert("MAIL_POLL_INTERVAL".into(), "50ms".into());
        v.insert("MAIL_RETRY_BASE".into(), "200ms".into());
        v.insert("MAIL_LEASE".into(), "3s".into());
        v.insert("SMTP_TIMEOUT".into(), "5s".into());
        v.insert("DAILY_JOBS_HOUR".into(), "24".into());
    }
}

/// The `patchwork` binary `make test` builds beside the test binaries.
pub fn patchwork_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("patchwork");
    assert!(
        bin.exists(),
        "{} is missing: `make test` builds it (cargo build --bin patchwork)",
        bin.display()
    );
    bin
}

/// `url` with its user (and password) replaced.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}://{user}:{password}@{host}")
}

/// `patchwork register-queries` over `app`'s database, one file per document, as an operator
/// registers an app's operations for `PERSISTED_QUERIES=only`; returns their hashes.
pub fn register_queries(app: &TestApp, documents: &[&str]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("{}-queries-{}", app.database, short()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let file = dir.join(format!("{i}.graphql"));
            std::fs::write(&file, document).unwrap();
            file.display().to_string()
        })
        .collect();
    let out = std::process::Command::new(patchwork_binary())
        .arg("register-queries")
        .args(&files)
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .collect()
}
