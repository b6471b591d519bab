//! Delivery: nothing is lost when the mail server or a worker fails, and nothing is sent twice
//! beyond the one message in flight.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use patchwork_tests::serde_json::json;
use patchwork_tests::smtp::{Behaviour, Received, SmtpServer};
use patchwork_tests::*;

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { child { id } } }";
const JOIN: &str = "mutation($i: JoinTeamInput!) { joinTeam(input: $i) { id } }";
const RAISE: &str = "mutation($c: ID!, $m: String!) { raiseAttention(childId: $c, message: $m) }";
const FAILED: &str =
    "{ failedNotifications { id kind status attempts lastError recipient { email } } }";
const RETRY: &str = "mutation($id: ID!) { retryNotification(id: $id) { id status attempts } }";

/// A teacher and a social worker on one child's team.
async fn pair(app: &TestApp) -> (User, User, User, String) {
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let social_care = app
        .given_agency(&admin, "Children's Social Care", "SOCIAL_CARE", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let social_worker = app
        .given_practitioner(&admin, &social_care, "PRACTITIONER")
        .await;
    let data = app
        .gql_ok(
            Some(&teacher.token),
            REGISTER,
            json!({ "i": { "givenName": "Leo", "familyName": "Marsh", "dateOfBirth": "2017-05-14", "role": "Class teacher" } }),
        )
        .await;
    let child = data["registerChild"]["child"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql_ok(
        Some(&social_worker.token),
        JOIN,
        json!({ "i": { "childId": child, "role": "Social worker", "reason": "Allocated" } }),
    )
    .await;
    (admin, teacher, social_worker, child)
}

/// `n` messages for the social worker, raised by the teacher.
async fn raise(app: &TestApp, teacher: &User, child: &str, n: usize) {
    for i in 0..n {
        let data = app
            .gql_ok(
                Some(&teacher.token),
                RAISE,
                json!({ "c": child, "m": format!("Message {i}") }),
            )
            .await;
        assert_eq!(data["raiseAttention"], 1);
    }
}

fn message_ids(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|m| m.header("Message-ID").unwrap_or_default())
        .collect()
}

fn unique(ids: &[String]) -> usize {
    ids.iter().collect::<HashSet<_>>().len()
}

/// Waits for a worker process to exit while the runtime keeps serving SMTP.
async fn exited(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("poll the worker") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker did not exit within 30 s of SIGTERM");
}

/// Waits until `n` distinct messages arrived.
async fn wait_distinct(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    for _ in 0..600 {
        let got = smtp.received();
        if unique(&message_ids(&got)) >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} distinct messages, got {}",
        unique(&message_ids(&smtp.received()))
    );
}

#[tokio::test]
async fn mail_waits_while_the_mail_server_is_down_and_arrives_once_when_it_returns() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let (_, teacher, _, child) = pair(&app).await;
    smtp.wait_for(1).await;
    app.outbox_settled().await;

    smtp.stop();
    raise(&app, &teacher, &child, 4).await;
    // The changes committed; the mail waits, retried, with the reason kept.
    for _ in 0..200 {
        if app.count(
            "notifications",
            "status = 'PENDING' AND attempts > 0 AND last_error IS NOT NULL",
        ) == 4
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count(
            "notifications",
            "status = 'PENDING' AND attempts > 0 AND last_error IS NOT NULL"
        ),
        4
    );
    assert_eq!(app.count("activity", "kind = 'ATTENTION_RAISED'"), 4);

    smtp.resume().await;
    let got = wait_distinct(&smtp, 5).await;
    app.outbox_settled().await;
    let all = smtp.received();
    assert_eq!(
        all.len(),
        5,
        "each message exactly once: {:?}",
        message_ids(&all)
    );
    assert_eq!(unique(&message_ids(&got)), 5);
    assert_eq!(app.count("notifications", "status = 'SENT'"), 5);
}

#[tokio::test]
async fn a_deferring_mail_server_is_retried_and_a_refusing_one_fails_at_once() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let (admin, teacher, social_worker, child) = pair(&app).await;
    smtp.wait_for(1).await;
    app.outbox_settled().await;

    // 451: try again later.
    smtp.set(Behaviour::Defer);
    raise(&app, &teacher, &child, 1).await;
    for _ in 0..200 {
        if app.count("notifications", "status = 'PENDING' AND attempts >= 2") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count("notifications", "status = 'PENDING' AND attempts >= 2"),
        1,
        "retried"
    );
    smtp.set(Behaviour::Accept);
    smtp.wait_for(2).await;
    app.outbox_settled().await;

    // 550: no such mailbox. Failed after one attempt, no retry loop; system admins see it.
    smtp.set(Behaviour::Reject);
    raise(&app, &teacher, &child, 1).await;
    app.outbox_settled().await;
    assert_eq!(
        app.count("notifications", "status = 'FAILED' AND attempts = 1"),
        1
    );
    let data = app.gql_ok(Some(&admin.token), FAILED, json!({})).await;
    let failed = data["failedNotifications"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["kind"], "ATTENTION_RAISED");
    assert_eq!(
        failed[0]["recipient"]["email"],
        social_worker.email.as_str()
    );
    assert!(failed[0]["lastError"].as_str().unwrap().contains("550"));
    let body = app.gql(Some(&teacher.token), FAILED, json!({})).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));

    // Put back by an admin once the mailbox exists: delivered.
    smtp.set(Behaviour::Accept);
    let id = failed[0]["id"].as_str().unwrap().to_owned();
    let body = app
        .gql(Some(&teacher.token), RETRY, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    let data = app
        .gql_ok(Some(&admin.token), RETRY, json!({ "id": id }))
        .await;
    assert_eq!(data["retryNotification"]["status"], "PENDING");
    smtp.wait_for(3).await;
    app.outbox_settled().await;
    assert_eq!(app.count("notifications", "status = 'FAILED'"), 0);
    let body = app
        .gql(Some(&admin.token), RETRY, json!({ "id": id }))
        .await;
    assert_eq!(
        error_code(&body),
        Some("NOT_FOUND"),
        "only failed messages are put back"
    );
}

#[tokio::test]
async fn two_workers_send_each_message_once() {
    let smtp = SmtpServer::start().await;
    let first = spawn_app_with(with_mail(&smtp)).await;
    let url = first.database_url.clone();
    let mail = with_mail(&smtp);
    let second = spawn_app_with(move |v| {
        mail(v);
        v.insert("DATABASE_URL".into(), url);
    })
    .await;
    let (_, teacher, _, child) = pair(&first).await;
    raise(&second, &teacher, &child, 20).await;
    let got = wait_distinct(&smtp, 21).await;
    first.outbox_settled().await;
    let all = smtp.received();
    assert_eq!(all.len(), 21, "no message twice");
    assert_eq!(unique(&message_ids(&got)), 21);
}

#[tokio::test]
async fn an_invitation_sets_a_first_password_once() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    app.gql_ok(
        Some(&admin.token),
        "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id } }",
        json!({ "i": { "agencyId": school, "displayName": "Nia Newcomer", "email": "nia@gull.example" } }),
    )
    .await;
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.recipient(), "nia@gull.example");
    let text = mail.text();
    let token = text
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token")
        .to_owned();
    // Not signed in until the password is set.
    assert_eq!(
        error_code(&app.login("nia@gull.example", PASSWORD).await),
        Some("UNAUTHENTICATED")
    );

    const SET: &str = "mutation($t: String!, $p: String!) { setPassword(token: $t, password: $p) { accessToken practitioner { email } } }";
    let body = app
        .gql(None, SET, json!({ "t": token, "p": "short" }))
        .await;
    assert_eq!(error_fields(&body), vec!["password"]);
    let data = app
        .gql_ok(None, SET, json!({ "t": token, "p": PASSWORD }))
        .await;
    assert_eq!(
        data["setPassword"]["practitioner"]["email"],
        "nia@gull.example"
    );
    let me = app
        .gql_ok(
            Some(data["setPassword"]["accessToken"].as_str().unwrap()),
            "{ me { email } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["email"], "nia@gull.example");
    assert!(app.login("nia@gull.example", PASSWORD).await["data"]["login"].is_object());

    // Once only; and made-up tokens are refused alike.
    for t in [token.as_str(), "made-up"] {
        let body = app
            .gql(None, SET, json!({ "t": t, "p": "another long password" }))
            .await;
        assert_eq!(error_fields(&body), vec!["token"], "{body}");
    }
}

/// `patchwork worker` as its own process, against the test's database and mail server.
fn worker_process(app: &TestApp, smtp: &SmtpServer) -> Child {
    Command::new(patchwork_binary())
        .arg("worker")
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("PUBLIC_URL", TEST_ISSUER)
        .env("SMTP_URL", smtp.url())
        .env("MAIL_POLL_INTERVAL", "50ms")
        .env("MAIL_RETRY_BASE", "200ms")
        .env("MAIL_LEASE", "2s")
        .env("DAILY_JOBS_HOUR", "24")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start patchwork worker")
}

/// A server that only queues mail: delivery is left to separate worker processes.
async fn queue_only(smtp: &SmtpServer) -> TestApp {
    let mail = with_mail(smtp);
    spawn_app_with(move |v| {
        mail(v);
        v.insert("MAIL_WORKER".into(), "off".into());
    })
    .await
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let smtp = SmtpServer::start().await;
    let app = queue_only(&smtp).await;
    let (_, teacher, _, child) = pair(&app).await;
    raise(&app, &teacher, &child, 11).await;
    let total = app.count("notifications", "true") as usize;
    assert_eq!(total, 12);

    smtp.set(Behaviour::Slow(Duration::from_millis(300)));
    let mut worker = worker_process(&app, &smtp);
    smtp.wait_for(3).await;
    worker.kill().expect("SIGKILL the worker");
    worker.wait().unwrap();
    let at_kill = smtp.received().len();
    assert!(at_kill < total, "killed mid-batch");

    smtp.set(Behaviour::Accept);
    let mut again = worker_process(&app, &smtp);
    let got = wait_distinct(&smtp, total).await;
    app.outbox_settled().await;
    again.kill().unwrap();
    again.wait().unwrap();
    let ids = message_ids(&smtp.received());
    assert_eq!(unique(&ids), total, "every message arrived");
    assert!(
        ids.len() <= total + 1,
        "at most the one in flight twice: {} for {total}",
        ids.len()
    );
    assert_eq!(unique(&message_ids(&got)), total);
}

#[tokio::test]
async fn sigterm_finishes_the_message_in_flight_and_gives_back_the_rest() {
    let smtp = SmtpServer::start().await;
    let app = queue_only(&smtp).await;
    let (_, teacher, _, child) = pair(&app).await;
    raise(&app, &teacher, &child, 9).await;

    smtp.set(Behaviour::Slow(Duration::from_millis(300)));
    let mut worker = worker_process(&app, &smtp);
    smtp.wait_for(2).await;
    let status = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    // The SMTP listener runs on this test's runtime, so wait without blocking it.
    let exit = exited(&mut worker).await;
    assert!(exit.success(), "a clean exit: {exit:?}");
    // Nothing stays reserved by the stopped worker, nothing was marked sent unsent.
    assert_eq!(
        app.count(
            "notifications",
            "status = 'PENDING' AND locked_until IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        app.count("notifications", "status = 'SENT'") as usize,
        smtp.received().len()
    );

    smtp.set(Behaviour::Accept);
    let mut again = worker_process(&app, &smtp);
    wait_distinct(&smtp, 10).await;
    app.outbox_settled().await;
    again.kill().unwrap();
    again.wait().unwrap();
    let ids = message_ids(&smtp.received());
    assert_eq!(ids.len(), 10, "each exactly once");
    assert_eq!(unique(&ids), 10);
}

#[tokio::test]
async fn a_hung_mail_server_meets_our_own_timeout_and_the_message_is_retried() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(|v| {
        with_mail(&smtp)(v);
        v.insert("SMTP_TIMEOUT".into(), "500ms".into());
    })
    .await;
    let (_, teacher, _, child) = pair(&app).await;
    smtp.wait_for(1).await;
    app.outbox_settled().await;

    // The server accepts the connection and the message, then never answers.
    smtp.set(Behaviour::Slow(Duration::from_secs(3600)));
    raise(&app, &teacher, &child, 1).await;
    let timed_out = "status = 'PENDING' AND attempts > 0 AND last_error ILIKE '%time%'";
    for _ in 0..200 {
        if app.count("notifications", timed_out) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count("notifications", timed_out),
        1,
        "the worker gave up on the hung server and kept the message for a retry: {:?}",
        dump(&app)
    );

    // The server recovers: the retry delivers it.
    smtp.set(Behaviour::Accept);
    for _ in 0..200 {
        if app.count("notifications", "status = 'SENT'") == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("notifications", "status = 'SENT'"), 2);
    assert_eq!(app.count("notifications", "status <> 'SENT'"), 0);
}

fn dump(app: &TestApp) -> Vec<(String, i32, Option<String>)> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT status, attempts, last_error FROM notifications")
        .load::<R>(&mut app.db())
        .unwrap()
        .into_iter()
        .map(|r| (r.status, r.attempts, r.last_error))
        .collect()
}
