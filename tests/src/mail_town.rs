//! The mail tests' town: agencies, a child's team with a restricted involvement, the
//! operations that trigger mail, and a mailbox read through the SMTP listener.

use chrono::{Duration, NaiveDate, Utc};
use patchwork::mail::daily::{run_daily, DailyReport};
use serde_json::{json, Value};

use crate::smtp::{Received, SmtpServer};
use crate::*;

pub const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id version child { id } } }";
pub const JOIN: &str =
    "mutation($i: JoinTeamInput!) { joinTeam(input: $i) { id version sensitivity } }";
pub const RAISE: &str =
    "mutation($c: ID!, $m: String!) { raiseAttention(childId: $c, message: $m) }";
pub const UPDATE_INVOLVEMENT: &str =
    "mutation($i: UpdateInvolvementInput!) { updateInvolvement(input: $i) { id version isLead } }";
pub const END: &str = "mutation($id: ID!, $v: Int!) { endInvolvement(id: $id, expectedVersion: $v) { id version endedOn } }";
pub const CONTACT: &str =
    "mutation($i: RecordContactInput!) { recordContact(input: $i) { id outcome } }";
pub const CREATE_TASK: &str =
    "mutation($i: CreateTaskInput!) { createTask(input: $i) { id version status assignee { id } } }";
pub const UPDATE_TASK: &str =
    "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id version status assignee { id } } }";
pub const AGREEMENT: &str =
    "mutation($i: CreateSharingAgreementInput!) { createSharingAgreement(input: $i) { id } }";
pub const PREFERENCES: &str = "{ notificationPreferences { kind delivery adjustable } }";
pub const UPDATE_PREFERENCES: &str = "mutation($i: [NotificationPreferenceInput!]!) { updateNotificationPreferences(input: $i) { kind delivery adjustable } }";

pub const ALL_KINDS: [&str; 8] = [
    "TEAM_CHANGED",
    "LEAD_CHANGED",
    "TASK_ASSIGNED",
    "TASK_COMPLETED",
    "TASK_OVERDUE",
    "CONTACT_MISSED",
    "ATTENTION_RAISED",
    "INVITATION",
];

/// A school, social care, and a sensitive domestic-abuse service; a teacher who registers
/// Leo Marsh and a social worker who joins.
pub struct Town {
    pub admin: User,
    pub social_care: String,
    pub da: String,
    pub teacher: User,
    /// The teacher's own involvement with the child: (id, version).
    pub teacher_inv: (String, i64),
    pub social_worker: User,
    pub social_worker_inv: (String, i64),
    pub child: String,
}

pub async fn town(app: &TestApp) -> Town {
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let social_care = app
        .given_agency(&admin, "Children's Social Care", "SOCIAL_CARE", false)
        .await;
    let da = app
        .given_agency(&admin, "Safe Harbour", "DOMESTIC_ABUSE", true)
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
    let teacher_inv = id_version(&data["registerChild"]);
    let sw = join(app, &social_worker, &child, "Allocated social worker").await;
    Town {
        admin,
        social_care,
        da,
        teacher,
        teacher_inv,
        social_worker,
        social_worker_inv: id_version(&sw),
        child,
    }
}

pub fn id_version(v: &Value) -> (String, i64) {
    (
        v["id"].as_str().expect("an id").to_owned(),
        v["version"].as_i64().expect("a version"),
    )
}

pub async fn join(app: &TestApp, who: &User, child: &str, role: &str) -> Value {
    app.gql_ok(
        Some(&who.token),
        JOIN,
        json!({ "i": { "childId": child, "role": role, "reason": "Allocated at strategy meeting" } }),
    )
    .await["joinTeam"]
        .clone()
}

/// A practitioner with a name and job title of our choosing, signed in.
pub async fn person(
    app: &TestApp,
    by: &User,
    agency: &str,
    role: &str,
    name: &str,
    title: &str,
) -> User {
    let email = format!("p-{}@agency.example", short());
    app.gql_ok(
        Some(&by.token),
        "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id } }",
        json!({ "i": {
            "agencyId": agency, "displayName": name, "email": email,
            "jobTitle": title, "role": role, "password": PASSWORD
        } }),
    )
    .await;
    let body = app.login(&email, PASSWORD).await;
    let l = &body["data"]["login"];
    assert!(l.is_object(), "login failed: {body:#}");
    User {
        id: l["practitioner"]["id"].as_str().unwrap().to_owned(),
        email,
        agency_id: l["practitioner"]["agency"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        token: l["accessToken"].as_str().unwrap().to_owned(),
        refresh_token: l["refreshToken"].as_str().unwrap().to_owned(),
    }
}

pub async fn raise(app: &TestApp, who: &User, child: &str, message: &str) -> i64 {
    app.gql_ok(Some(&who.token), RAISE, json!({ "c": child, "m": message }))
        .await["raiseAttention"]
        .as_i64()
        .unwrap()
}

pub async fn set_lead(app: &TestApp, who: &User, inv: &(String, i64)) -> (String, i64) {
    let data = app
        .gql_ok(
            Some(&who.token),
            UPDATE_INVOLVEMENT,
            json!({ "i": { "id": inv.0, "expectedVersion": inv.1, "isLead": true } }),
        )
        .await;
    assert_eq!(data["updateInvolvement"]["isLead"], true);
    id_version(&data["updateInvolvement"])
}

pub async fn end(app: &TestApp, who: &User, inv: &(String, i64)) {
    let data = app
        .gql_ok(Some(&who.token), END, json!({ "id": inv.0, "v": inv.1 }))
        .await;
    assert!(data["endInvolvement"]["endedOn"].is_string(), "{data:#}");
}

pub async fn contact(app: &TestApp, who: &User, involvement: &str, outcome: &str, at: &str) {
    app.gql_ok(
        Some(&who.token),
        CONTACT,
        json!({ "i": { "involvementId": involvement, "kind": "HOME_VISIT", "outcome": outcome, "at": at } }),
    )
    .await;
}

pub async fn create_task(
    app: &TestApp,
    who: &User,
    child: &str,
    title: &str,
    assignee: Option<&User>,
    due: Option<NaiveDate>,
) -> (String, i64) {
    let mut input = json!({ "childId": child, "title": title });
    if let Some(a) = assignee {
        input["assigneeId"] = json!(a.id);
    }
    if let Some(d) = due {
        input["dueOn"] = json!(d.to_string());
    }
    let data = app
        .gql_ok(Some(&who.token), CREATE_TASK, json!({ "i": input }))
        .await;
    id_version(&data["createTask"])
}

pub async fn update_task(
    app: &TestApp,
    who: &User,
    task: &(String, i64),
    changes: Value,
) -> (String, i64) {
    let mut input = changes;
    input["id"] = json!(task.0);
    input["expectedVersion"] = json!(task.1);
    let data = app
        .gql_ok(Some(&who.token), UPDATE_TASK, json!({ "i": input }))
        .await;
    id_version(&data["updateTask"])
}

pub async fn set_preferences(app: &TestApp, who: &User, prefs: &[(&str, &str)]) -> Value {
    let input: Vec<Value> = prefs
        .iter()
        .map(|(k, d)| json!({ "kind": k, "delivery": d }))
        .collect();
    app.gql_ok(Some(&who.token), UPDATE_PREFERENCES, json!({ "i": input }))
        .await["updateNotificationPreferences"]
        .clone()
}

/// The server's today (the date its policy and daily jobs use).
pub fn today(app: &TestApp) -> NaiveDate {
    Utc::now()
        .with_timezone(&app.state.config.timezone)
        .date_naive()
}

pub async fn daily(app: &TestApp, day: NaiveDate) -> DailyReport {
    run_daily(&app.state, day).await.expect("the daily run")
}

pub fn an_hour_ago() -> String {
    (Utc::now() - Duration::hours(1)).to_rfc3339()
}

/// Waits until nothing is pending, and returns what arrived since the last call.
pub async fn new_mail(app: &TestApp, smtp: &SmtpServer, seen: &mut usize) -> Vec<Received> {
    app.outbox_settled().await;
    let all = smtp.received();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Each message's single recipient, sorted.
pub fn recipients(mails: &[Received]) -> Vec<String> {
    for m in mails {
        assert_eq!(m.to.len(), 1, "one recipient per message: {:?}", m.to);
    }
    sorted(mails.iter().map(Received::recipient).collect())
}

pub fn emails(users: &[&User]) -> Vec<String> {
    sorted(users.iter().map(|u| u.email.clone()).collect())
}

/// Subject, plain text and HTML of a message.
pub fn everything(m: &Received) -> String {
    format!(
        "{}\n{}\n{}",
        m.subject(),
        m.text(),
        m.body("text/html").unwrap_or_default()
    )
}

pub fn assert_mentions_none(mails: &[Received], forbidden: &[&str]) {
    for m in mails {
        let all = everything(m).to_lowercase();
        for f in forbidden {
            assert!(
                !all.contains(&f.to_lowercase()),
                "a message to {} contains {f:?}:\n{}",
                m.recipient(),
                everything(m)
            );
        }
    }
}

// 1. Leaving the team.
