//! Defence in depth at the database: the server's own role owns nothing and cannot rewrite the
//! audit trail; an exhausted pool answers quickly instead of hanging.

use std::process::Command;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use patchwork_tests::serde_json::json;
use patchwork_tests::*;

use patchwork_tests::world::{register, s, SEARCH};

/// A role name no other test uses.
fn role_name() -> String {
    format!("patchwork_app_{}", short().to_lowercase())
}

/// Drops the role when the test ends, pass or fail; declared before the apps, it is dropped
/// after them, once the databases it had rights in are gone.
struct RoleGuard(String);

impl Drop for RoleGuard {
    fn drop(&mut self) {
        let role = self.0.clone();
        // A plain thread: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
                let _ = conn.batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
            }
        })
        .join();
    }
}

#[tokio::test]
async fn the_server_runs_as_a_role_that_cannot_alter_the_schema_or_the_audit_trail() {
    let role = role_name();
    let _guard = RoleGuard(role.clone());
    // A database as `patchwork migrate` leaves it, owned by the migration role.
    let owner = spawn_app().await;
    let runtime_url = with_user(&owner.database_url, &role, "app-password-for-tests");

    let migrate = Command::new(patchwork_binary())
        .arg("migrate")
        .env_clear()
        .env("MIGRATION_DATABASE_URL", &owner.database_url)
        .env("DATABASE_URL", &runtime_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run patchwork migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stdout).contains(&role));
    // Running it again changes nothing and still succeeds.
    let again = Command::new(patchwork_binary())
        .arg("migrate")
        .env_clear()
        .env("MIGRATION_DATABASE_URL", &owner.database_url)
        .env("DATABASE_URL", &runtime_url)
        .output()
        .unwrap();
    assert!(again.status.success());

    // The service works as that role: sign in, register a child, search (reads, writes, audit).
    let app = spawn_app_with(|v| {
        v.insert("DATABASE_URL".into(), runtime_url.clone());
    })
    .await;
    let admin = owner.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let child = s(&register(
        &app,
        &teacher,
        "Leo",
        "Marsh",
        "2015-04-12",
        None,
        "Class teacher",
    )
    .await["child"]["id"]);
    let found = app
        .gql_ok(
            Some(&teacher.token),
            SEARCH,
            json!({ "f": "Marhs", "d": "2015-04-12" }),
        )
        .await;
    assert_eq!(found["searchChildren"][0]["id"], child.as_str());
    // The child's kept team was written by the triggers, which run as the schema's owner.
    let screen = app
        .gql_ok(
            Some(&teacher.token),
            "query($id: ID!) { child(id: $id) { team { practitioner { id } } } }",
            json!({ "id": child }),
        )
        .await;
    assert_eq!(
        screen["child"]["team"][0]["practitioner"]["id"],
        teacher.id.as_str()
    );

    // (`app` has a database of its own too, unused: the server was pointed at the owner's.)
    assert_eq!(owner.count("audit_events", "action = 'CHILD_SEARCHED'"), 1);

    // What the role may not do, tried over a real connection as that role.
    let mut conn = PgConnection::establish(&runtime_url).expect("connect as the server's role");
    for (what, sql) in [
        (
            "update the audit trail",
            "UPDATE audit_events SET reason = 'x'",
        ),
        ("delete the audit trail", "DELETE FROM audit_events"),
        (
            "rewrite a kept team",
            "UPDATE child_teams SET members = '{}'",
        ),
        ("delete a kept team", "DELETE FROM child_teams"),
        ("truncate the audit trail", "TRUNCATE audit_events"),
        ("truncate data", "TRUNCATE children CASCADE"),
        ("drop a table", "DROP TABLE tasks"),
        ("alter a table", "ALTER TABLE children ADD COLUMN x int"),
        ("create a table", "CREATE TABLE sneaky (id int)"),
        (
            "rewrite migrations",
            "DELETE FROM __diesel_schema_migrations",
        ),
        (
            "drop the audit trigger",
            "DROP TRIGGER audit_events_no_update_delete ON audit_events",
        ),
    ] {
        let err = conn
            .batch_execute(sql)
            .expect_err(&format!("the server's role could {what}"));
        let message = err.to_string();
        // Refused by the role's rights, before the append-only trigger is even consulted.
        assert!(
            (message.contains("permission denied") && !message.contains("append-only"))
                || message.contains("must be owner"),
            "{what}: {message}"
        );
    }
    assert_eq!(
        owner.count("audit_events", "action = 'CHILD_SEARCHED'"),
        1,
        "the audit trail is intact"
    );
}

#[tokio::test]
async fn an_exhausted_pool_answers_quickly_with_a_clear_error() {
    let app = spawn_app_with(|v| {
        v.insert("DATABASE_POOL_SIZE".into(), "1".into());
        v.insert("DATABASE_POOL_TIMEOUT".into(), "300ms".into());
    })
    .await;
    let admin = app.system_admin().await;

    // Another client holds a lock the server's next query needs, so the pool's only
    // connection stays busy.
    let mut blocker = app.db();
    blocker
        .batch_execute("BEGIN; LOCK TABLE practitioners IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let held = {
        let app_address = app.address.clone();
        let client = app.client.clone();
        let token = admin.token.clone();
        tokio::spawn(async move {
            client
                .post(format!("{app_address}/graphql"))
                .bearer_auth(token)
                .json(&json!({ "query": "{ me { id } }" }))
                .send()
                .await
                .unwrap()
                .json::<patchwork_tests::serde_json::Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The next request cannot get a connection: it is refused, not queued for ever.
    let body = tokio::time::timeout(
        Duration::from_secs(20),
        app.gql(Some(&admin.token), "{ me { id } }", json!({})),
    )
    .await
    .expect("a refusal, not a hang");
    assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));

    // Once the lock goes, the held request finishes and the server serves again.
    blocker.batch_execute("COMMIT").unwrap();
    let first = held.await.unwrap();
    assert_eq!(first["data"]["me"]["id"], admin.id.as_str(), "{first}");
    let me = app
        .gql_ok(Some(&admin.token), "{ me { id } }", json!({}))
        .await;
    assert_eq!(me["me"]["id"], admin.id.as_str());
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split(['/', '?']).next().unwrap();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

#[tokio::test]
async fn the_service_recovers_by_itself_when_the_database_connections_are_cut() {
    let direct = spawn_app().await;
    let proxy = patchwork_tests::proxy::Proxy::start(host_port(&direct.database_url)).await;
    let (_, tail) = direct.database_url.split_once('@').unwrap();
    let path = &tail[tail.find('/').unwrap()..];
    let (scheme_user, _) = direct.database_url.split_once('@').unwrap();
    let via_proxy = format!("{scheme_user}@127.0.0.1:{}{path}", proxy.port);
    let app = spawn_app_with(|v| {
        v.insert("DATABASE_URL".into(), via_proxy.clone());
        v.insert("DATABASE_POOL_TIMEOUT".into(), "1s".into());
    })
    .await;
    let admin = direct.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;

    // Registrations in a steady stream, before, during and after the cut.
    const REGISTER: &str =
        "mutation($i: RegisterChildInput!) { registerChild(input: $i) { child { id } } }";
    let register = |n: usize| {
        let app = &app;
        let token = teacher.token.clone();
        async move {
            app.gql(
                Some(&token),
                REGISTER,
                json!({ "i": { "givenName": format!("Child{n}"), "familyName": format!("Stream{n}"),
                               "dateOfBirth": "2016-01-01", "role": "Class teacher" } }),
            )
            .await
        }
    };
    let mut outcomes: Vec<(usize, patchwork_tests::serde_json::Value)> = Vec::new();
    let mut n = 0;
    for phase in ["before", "cut", "after"] {
        match phase {
            "cut" => proxy.cut(),
            "after" => proxy.restore(),
            _ => {}
        }
        for _ in 0..8 {
            // Two at a time, so the pool has several connections to lose.
            let (a, b) = tokio::join!(register(n), register(n + 1));
            outcomes.push((n, a));
            outcomes.push((n + 1, b));
            n += 2;
        }
    }
    let per_phase = 16;
    let ok = |b: &patchwork_tests::serde_json::Value| b.get("errors").is_none();
    assert!(
        outcomes[..per_phase].iter().all(|(_, b)| ok(b)),
        "before: {outcomes:?}"
    );
    for (_, b) in &outcomes[per_phase..2 * per_phase] {
        assert!(!ok(b), "nothing commits while the database is cut off: {b}");
        assert_eq!(error_code(b), Some("INTERNAL"), "{b}");
    }
    // Recovered by itself: once connections are back, every request succeeds again.
    let after = &outcomes[2 * per_phase..];
    let recovered = after.iter().filter(|(_, b)| ok(b)).count();
    assert!(
        after[after.len() - 4..].iter().all(|(_, b)| ok(b)),
        "the service recovered: {after:?}"
    );
    assert!(recovered >= after.len() - 4);

    // No partial writes: every child has exactly its one involvement and its audit event, and
    // exactly the registrations that answered OK exist.
    let succeeded = outcomes.iter().filter(|(_, b)| ok(b)).count() as i64;
    assert_eq!(
        direct.count("child_identities", "family_name LIKE 'Stream%'"),
        succeeded
    );
    assert_eq!(
        direct.count(
            "child_identities c",
            "c.family_name LIKE 'Stream%' AND (SELECT count(*) FROM involvements i WHERE i.child_id = c.child_id) <> 1"
        ),
        0
    );
    assert_eq!(
        direct.count("audit_events", "action = 'CHILD_REGISTERED'"),
        succeeded
    );
    for (i, b) in &outcomes {
        if ok(b) {
            let id = s(&b["data"]["registerChild"]["child"]["id"]);
            assert_eq!(
                direct.count(
                    "child_identities",
                    &format!("child_id = '{id}' AND given_name = 'Child{i}'")
                ),
                1
            );
        }
    }
}

#[test]
fn processes_starting_at_once_migrate_one_at_a_time() {
    let admin = admin_url();
    let name = format!("patchwork_migrate_{}", short());
    let mut conn = PgConnection::establish(&admin).expect("connect");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create");
    let url = with_database(&admin, &name);
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || patchwork::db::migrate(&url))
        })
        .collect();
    let applied: Vec<Vec<String>> = runs
        .into_iter()
        .map(|r| r.join().unwrap().expect("every start succeeds"))
        .collect();
    // Exactly one start applied the migrations; the others found nothing pending.
    let total = applied.iter().filter(|a| !a.is_empty()).count();
    assert_eq!(total, 1, "{applied:?}");
    drop(conn);
    let mut conn = PgConnection::establish(&admin).expect("connect");
    conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .expect("drop");
}

/// `patchwork serve` in production against `url`, with the least configuration.
fn production_serve(url: &str, port: u16, extra: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new(patchwork_binary());
    cmd.arg("serve")
        .env_clear()
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("PUBLIC_URL", TEST_ISSUER)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("MAIL_WORKER", "off")
        .env("DAILY_JOBS_HOUR", "24")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start patchwork serve")
}

async fn answers_health(port: u16) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn production_serve_refuses_a_schema_older_than_itself_until_migrated() {
    let admin = admin_url();
    let name = format!("patchwork_deploy_{}", short().to_lowercase());
    let mut conn = PgConnection::establish(&admin).expect("connect");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create");
    let url = with_database(&admin, &name);

    // An empty database: every migration pending. Refused, saying what to do.
    let refused = production_serve(&url, free_port(), &[])
        .wait_with_output()
        .expect("serve exits");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("migration(s) pending") && said.contains("run `patchwork migrate` first"),
        "{said}"
    );
    assert!(patchwork::db::pending_migrations(&url).unwrap().len() > 1);

    // Told to migrate, it migrates and serves.
    let port = free_port();
    let mut told = production_serve(&url, port, &[("MIGRATE_ON_START", "true")]);
    assert!(answers_health(port).await, "serves once migrated");
    let _ = told.kill();
    let _ = told.wait();
    assert!(patchwork::db::pending_migrations(&url).unwrap().is_empty());

    // Once migrated, it serves as it is.
    let port = free_port();
    let mut deployed = production_serve(&url, port, &[]);
    assert!(answers_health(port).await, "serves a current schema");
    let _ = deployed.kill();
    let _ = deployed.wait();

    drop(conn);
    let mut conn = PgConnection::establish(&admin).expect("connect");
    conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .expect("drop");
}

const TEAM_SCREEN: &str = "query($id: ID!) { child(id: $id) { givenName familyName dateOfBirth \
     team { role sensitivity isLead practitioner { displayName email agency { name } } } \
     tasks { title status } } }";

fn tool(name: &str, args: &[&str]) {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("{name} is needed (PostgreSQL's client tools): {e}");
    });
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The backup and restore of `docs/deploy.md`, as written there: `pg_dump -Fc`, a fresh
/// database, `pg_restore --no-owner`; the restored copy serves the same team screen, and its
/// sealed audit log still verifies.
#[tokio::test]
async fn a_dump_restored_into_a_fresh_database_serves_the_same_team_screens() {
    let app = spawn_app().await;
    let sys = app.system_admin().await;
    let school = app
        .given_agency(&sys, &format!("School {}", short()), "EDUCATION", false)
        .await;
    let teacher = app.given_practitioner(&sys, &school, "PRACTITIONER").await;
    let child = register(
        &app,
        &teacher,
        "Poppy",
        "Lark",
        "2015-03-02",
        None,
        "Class teacher",
    )
    .await;
    let child_id = s(&child["child"]["id"]);
    let before = app
        .gql_ok(Some(&teacher.token), TEAM_SCREEN, json!({ "id": child_id }))
        .await;
    let seal = Command::new(patchwork_binary())
        .args(["audit", "seal"])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(seal.status.success());

    let dump = std::env::temp_dir().join(format!("patchwork-{}.dump", short()));
    let dump_path = dump.to_str().unwrap().to_owned();
    let restored_name = format!("patchwork_restore_{}", short().to_lowercase());
    let admin = admin_url();
    let restored_url = with_database(&admin, &restored_name);
    let (source, dump_to, admin_c, restored_c, name_c) = (
        app.database_url.clone(),
        dump_path.clone(),
        admin.clone(),
        restored_url.clone(),
        restored_name.clone(),
    );
    tokio::task::spawn_blocking(move || {
        tool("pg_dump", &["-Fc", "-f", &dump_to, &source]);
        PgConnection::establish(&admin_c)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name_c}"))
            .unwrap();
        tool("pg_restore", &["--no-owner", "-d", &restored_c, &dump_to]);
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&dump);

    let copy = spawn_app_with(|v| {
        v.insert("DATABASE_URL".into(), restored_url.clone());
    })
    .await;
    let body = copy.login(&teacher.email, PASSWORD).await;
    let token = s(&body["data"]["login"]["accessToken"]);
    let after = copy
        .gql_ok(Some(&token), TEAM_SCREEN, json!({ "id": child_id }))
        .await;
    assert_eq!(before, after);
    let verify = Command::new(patchwork_binary())
        .args(["audit", "verify"])
        .env_clear()
        .env("DATABASE_URL", &restored_url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && said.contains("intact"), "{said}");

    drop(copy);
    let mut conn = PgConnection::establish(&admin).expect("connect");
    conn.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {restored_name} WITH (FORCE)"
    ))
    .expect("drop");
}
