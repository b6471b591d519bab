//! Each notification trigger, through a real SMTP listener: exactly who is told, that nobody
//! else is, that preferences are honoured, and that no email betrays a name, a date of birth or
//! a restricted involvement.

use chrono::{Duration, NaiveDate, Utc};
use patchwork::mail::daily::{run_daily, DailyReport};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::*;

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id version child { id } } }";
const JOIN: &str =
    "mutation($i: JoinTeamInput!) { joinTeam(input: $i) { id version sensitivity } }";
const RAISE: &str = "mutation($c: ID!, $m: String!) { raiseAttention(childId: $c, message: $m) }";
const UPDATE_INVOLVEMENT: &str =
    "mutation($i: UpdateInvolvementInput!) { updateInvolvement(input: $i) { id version isLead } }";
const END: &str = "mutation($id: ID!, $v: Int!) { endInvolvement(id: $id, expectedVersion: $v) { id version endedOn } }";
const CONTACT: &str =
    "mutation($i: RecordContactInput!) { recordContact(input: $i) { id outcome } }";
const CREATE_TASK: &str =
    "mutation($i: CreateTaskInput!) { createTask(input: $i) { id version status assignee { id } } }";
const UPDATE_TASK: &str =
    "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id version status assignee { id } } }";
const AGREEMENT: &str =
    "mutation($i: CreateSharingAgreementInput!) { createSharingAgreement(input: $i) { id } }";
const PREFERENCES: &str = "{ notificationPreferences { kind delivery adjustable } }";
const UPDATE_PREFERENCES: &str = "mutation($i: [NotificationPreferenceInput!]!) { updateNotificationPreferences(input: $i) { kind delivery adjustable } }";

const ALL_KINDS: [&str; 8] = [
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
struct Town {
    admin: User,
    social_care: String,
    da: String,
    teacher: User,
    /// The teacher's own involvement with the child: (id, version).
    teacher_inv: (String, i64),
    social_worker: User,
    social_worker_inv: (String, i64),
    child: String,
}

async fn town(app: &TestApp) -> Town {
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

fn id_version(v: &Value) -> (String, i64) {
    (
        v["id"].as_str().expect("an id").to_owned(),
        v["version"].as_i64().expect("a version"),
    )
}

async fn join(app: &TestApp, who: &User, child: &str, role: &str) -> Value {
    app.gql_ok(
        Some(&who.token),
        JOIN,
        json!({ "i": { "childId": child, "role": role, "reason": "Allocated at strategy meeting" } }),
    )
    .await["joinTeam"]
        .clone()
}

/// A practitioner with a name and job title of our choosing, signed in.
async fn person(
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

async fn raise(app: &TestApp, who: &User, child: &str, message: &str) -> i64 {
    app.gql_ok(Some(&who.token), RAISE, json!({ "c": child, "m": message }))
        .await["raiseAttention"]
        .as_i64()
        .unwrap()
}

async fn set_lead(app: &TestApp, who: &User, inv: &(String, i64)) -> (String, i64) {
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

async fn end(app: &TestApp, who: &User, inv: &(String, i64)) {
    let data = app
        .gql_ok(Some(&who.token), END, json!({ "id": inv.0, "v": inv.1 }))
        .await;
    assert!(data["endInvolvement"]["endedOn"].is_string(), "{data:#}");
}

async fn contact(app: &TestApp, who: &User, involvement: &str, outcome: &str, at: &str) {
    app.gql_ok(
        Some(&who.token),
        CONTACT,
        json!({ "i": { "involvementId": involvement, "kind": "HOME_VISIT", "outcome": outcome, "at": at } }),
    )
    .await;
}

async fn create_task(
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

async fn update_task(
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

async fn set_preferences(app: &TestApp, who: &User, prefs: &[(&str, &str)]) -> Value {
    let input: Vec<Value> = prefs
        .iter()
        .map(|(k, d)| json!({ "kind": k, "delivery": d }))
        .collect();
    app.gql_ok(Some(&who.token), UPDATE_PREFERENCES, json!({ "i": input }))
        .await["updateNotificationPreferences"]
        .clone()
}

/// The server's today (the date its policy and daily jobs use).
fn today(app: &TestApp) -> NaiveDate {
    Utc::now()
        .with_timezone(&app.state.config.timezone)
        .date_naive()
}

async fn daily(app: &TestApp, day: NaiveDate) -> DailyReport {
    run_daily(&app.state, day).await.expect("the daily run")
}

fn an_hour_ago() -> String {
    (Utc::now() - Duration::hours(1)).to_rfc3339()
}

/// Waits until nothing is pending, and returns what arrived since the last call.
async fn new_mail(app: &TestApp, smtp: &SmtpServer, seen: &mut usize) -> Vec<Received> {
    app.outbox_settled().await;
    let all = smtp.received();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Each message's single recipient, sorted.
fn recipients(mails: &[Received]) -> Vec<String> {
    for m in mails {
        assert_eq!(m.to.len(), 1, "one recipient per message: {:?}", m.to);
    }
    sorted(mails.iter().map(Received::recipient).collect())
}

fn emails(users: &[&User]) -> Vec<String> {
    sorted(users.iter().map(|u| u.email.clone()).collect())
}

/// Subject, plain text and HTML of a message.
fn everything(m: &Received) -> String {
    format!(
        "{}\n{}\n{}",
        m.subject(),
        m.text(),
        m.body("text/html").unwrap_or_default()
    )
}

fn assert_mentions_none(mails: &[Received], forbidden: &[&str]) {
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

#[tokio::test]
async fn leaving_tells_the_remaining_team_who_may_see_it_but_not_the_leaver() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    let idva = app
        .given_practitioner(&t.admin, &t.da, "PRACTITIONER")
        .await;
    let colleague = app
        .given_practitioner(&t.admin, &t.da, "PRACTITIONER")
        .await;
    let officer_inv = id_version(&join(&app, &officer, &t.child, "Housing officer").await);
    let idva_joined = join(&app, &idva, &t.child, "IDVA").await;
    assert_eq!(idva_joined["sensitivity"], "RESTRICTED");
    let idva_inv = id_version(&idva_joined);
    join(&app, &colleague, &t.child, "Outreach worker").await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // A standard involvement ends: everyone left on the team may see it, and is told.
    end(&app, &officer, &officer_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.teacher, &t.social_worker, &idva, &colleague]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(m.subject().contains("left the team"), "{}", m.subject());
        assert!(m.subject().contains("L.M."), "{}", m.subject());
    }
    assert!(smtp.to(&officer.email).is_empty(), "the leaver is not told");

    // A restricted involvement ends: only its own agency's member on the team is told.
    end(&app, &idva, &idva_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(recipients(&mails), emails(&[&colleague]), "{mails:#?}");
    assert!(!mails[0].text().contains("IDVA"), "{}", mails[0].text());
    let _ = (&t.social_care, &t.teacher_inv, &t.social_worker_inv);
}

// 2. The lead professional.

#[tokio::test]
async fn lead_changes_tell_the_team_except_the_actor() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    join(&app, &officer, &t.child, "Housing officer").await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // The social worker takes the lead: the rest of the team is told.
    set_lead(&app, &t.social_worker, &t.social_worker_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.teacher, &officer]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(
            m.subject().contains("is now the lead professional"),
            "{}",
            m.subject()
        );
        assert!(m.text().contains(&t.social_worker.email), "{}", m.text());
    }

    // The teacher takes the lead from the social worker: told again, to all but the teacher.
    let teacher_inv = set_lead(&app, &t.teacher, &t.teacher_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &officer]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(
            m.subject().contains("is now the lead professional"),
            "{}",
            m.subject()
        );
        assert!(m.text().contains(&t.teacher.email), "{}", m.text());
    }

    // The lead leaves: the team hears that the lead left and that there is no lead now.
    end(&app, &t.teacher, &teacher_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &t.social_worker, &officer, &officer]),
        "{mails:#?}"
    );
    for who in [&t.social_worker, &officer] {
        let subjects = sorted(
            mails
                .iter()
                .filter(|m| m.recipient() == who.email)
                .map(Received::subject)
                .collect(),
        );
        assert!(
            subjects.iter().any(|s| s.contains("left the team")),
            "{subjects:?}"
        );
        assert!(
            subjects
                .iter()
                .any(|s| s.contains("the team has no lead professional")),
            "{subjects:?}"
        );
    }
}

// 3. Tasks.

#[tokio::test]
async fn tasks_tell_the_assignee_the_previous_assignee_and_the_creator() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    join(&app, &officer, &t.child, "Housing officer").await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // Assigned to someone else: only the assignee hears.
    let due = today(&app) + Duration::days(7);
    let task = create_task(
        &app,
        &t.teacher,
        &t.child,
        "Arrange a home visit",
        Some(&t.social_worker),
        Some(due),
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker]),
        "{mails:#?}"
    );
    assert!(
        mails[0].subject().contains("a task was assigned to you"),
        "{}",
        mails[0].subject()
    );
    assert!(
        mails[0].text().contains(&t.teacher.email),
        "{}",
        mails[0].text()
    );

    // Assigned to oneself: nobody hears.
    create_task(
        &app,
        &t.teacher,
        &t.child,
        "Check attendance",
        Some(&t.teacher),
        None,
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "{mails:#?}");

    // Reassigned: the new assignee, and the previous one.
    let task = update_task(&app, &t.teacher, &task, json!({ "assigneeId": officer.id })).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &officer]),
        "{mails:#?}"
    );
    let to_officer = mails
        .iter()
        .find(|m| m.recipient() == officer.email)
        .unwrap();
    assert!(
        to_officer.subject().contains("a task was assigned to you"),
        "{}",
        to_officer.subject()
    );
    let to_previous = mails
        .iter()
        .find(|m| m.recipient() == t.social_worker.email)
        .unwrap();
    assert!(
        to_previous.subject().contains("no longer assigned to you"),
        "{}",
        to_previous.subject()
    );

    // Completed by the assignee: only the creator hears.
    let done = update_task(&app, &officer, &task, json!({ "status": "DONE" })).await;
    let _ = done;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(recipients(&mails), emails(&[&t.teacher]), "{mails:#?}");
    assert!(
        mails[0]
            .subject()
            .contains("a task you created was completed"),
        "{}",
        mails[0].subject()
    );
    assert!(
        mails[0].text().contains("Completed by"),
        "{}",
        mails[0].text()
    );
}

// 4. Contacts that did not happen.

#[tokio::test]
async fn missed_contacts_tell_the_lead_and_the_team_but_not_the_recorder() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    let officer_inv = id_version(&join(&app, &officer, &t.child, "Housing officer").await);
    set_lead(&app, &t.social_worker, &t.social_worker_inv).await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    contact(
        &app,
        &officer,
        &officer_inv.0,
        "WAS_NOT_BROUGHT",
        &an_hour_ago(),
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.teacher, &t.social_worker]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(m.subject().contains("was not brought"), "{}", m.subject());
    }

    contact(
        &app,
        &t.teacher,
        &t.teacher_inv.0,
        "NO_ACCESS",
        &an_hour_ago(),
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &officer]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(m.subject().contains("no access"), "{}", m.subject());
    }

    // The lead records one too: the rest of the team is told, not the lead.
    contact(
        &app,
        &t.social_worker,
        &t.social_worker_inv.0,
        "NO_ACCESS",
        &an_hour_ago(),
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.teacher, &officer]),
        "{mails:#?}"
    );

    // Contacts that happened or are planned tell nobody.
    contact(&app, &officer, &officer_inv.0, "HAPPENED", &an_hour_ago()).await;
    let tomorrow = (Utc::now() + Duration::days(2)).to_rfc3339();
    contact(&app, &t.teacher, &t.teacher_inv.0, "PLANNED", &tomorrow).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "{mails:#?}");
}

// 5. Overdue tasks.

#[tokio::test]
async fn an_overdue_task_is_told_to_its_assignee_once_a_day() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let day = today(&app);
    // Overdue and open: noticed.
    create_task(
        &app,
        &t.teacher,
        &t.child,
        "Send the referral",
        Some(&t.social_worker),
        Some(day - Duration::days(3)),
    )
    .await;
    // Due today: not yet overdue.
    create_task(
        &app,
        &t.teacher,
        &t.child,
        "Call the GP",
        Some(&t.social_worker),
        Some(day),
    )
    .await;
    // Overdue but done: not noticed.
    let done = create_task(
        &app,
        &t.social_worker,
        &t.child,
        "Book a room",
        Some(&t.teacher),
        Some(day - Duration::days(2)),
    )
    .await;
    update_task(&app, &t.teacher, &done, json!({ "status": "DONE" })).await;
    // Overdue but unassigned: nobody to tell.
    create_task(
        &app,
        &t.teacher,
        &t.child,
        "Find an interpreter",
        None,
        Some(day - Duration::days(5)),
    )
    .await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    let report = daily(&app, day).await;
    assert_eq!(
        report,
        DailyReport {
            ran: true,
            overdue_notices: 1,
            digests: 0
        }
    );
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker]),
        "{mails:#?}"
    );
    assert!(
        mails[0].subject().contains("overdue"),
        "{}",
        mails[0].subject()
    );
    assert!(
        mails[0].text().contains(&format!("/children/{}", t.child)),
        "{}",
        mails[0].text()
    );

    // The same day again: nothing more.
    let again = daily(&app, day).await;
    assert_eq!(again, DailyReport::default());
    assert!(!again.ran);
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "{mails:#?}");
}

// 6. Preferences.

#[tokio::test]
async fn preferences_turn_mail_off_or_into_a_digest_but_never_stop_raised_attention() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    let youth = app
        .given_agency(&t.admin, "Harbour Youth Club", "YOUTH", false)
        .await;
    let youth_worker = app
        .given_practitioner(&t.admin, &youth, "PRACTITIONER")
        .await;
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // Every kind, immediate by default; raise-attention and invitations not adjustable.
    let prefs = app
        .gql_ok(Some(&t.teacher.token), PREFERENCES, json!({}))
        .await["notificationPreferences"]
        .clone();
    let prefs = prefs.as_array().unwrap();
    assert_eq!(prefs.len(), 8, "{prefs:#?}");
    let kinds = sorted(
        prefs
            .iter()
            .map(|p| p["kind"].as_str().unwrap().to_owned())
            .collect(),
    );
    assert_eq!(
        kinds,
        sorted(ALL_KINDS.iter().map(|k| k.to_string()).collect())
    );
    for p in prefs {
        assert_eq!(p["delivery"], "IMMEDIATE", "{p}");
        let fixed = p["kind"] == "ATTENTION_RAISED" || p["kind"] == "INVITATION";
        assert_eq!(p["adjustable"], !fixed, "{p}");
    }

    // Off: the teacher hears of no joins. Digest: the social worker hears later, in one mail.
    let answer = set_preferences(&app, &t.teacher, &[("TEAM_CHANGED", "OFF")]).await;
    assert_eq!(answer.as_array().unwrap().len(), 8, "answers every kind");
    assert!(answer
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "TEAM_CHANGED" && p["delivery"] == "OFF"));
    set_preferences(
        &app,
        &t.social_worker,
        &[
            ("TEAM_CHANGED", "DAILY_DIGEST"),
            ("CONTACT_MISSED", "DAILY_DIGEST"),
        ],
    )
    .await;
    join(&app, &officer, &t.child, "Housing officer").await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "off and digest: no mail now: {mails:#?}");

    contact(
        &app,
        &t.teacher,
        &t.teacher_inv.0,
        "NO_ACCESS",
        &an_hour_ago(),
    )
    .await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(recipients(&mails), emails(&[&officer]), "{mails:#?}");

    let report = daily(&app, today(&app)).await;
    assert_eq!(
        report,
        DailyReport {
            ran: true,
            overdue_notices: 0,
            digests: 1
        }
    );
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker]),
        "one digest: {mails:#?}"
    );
    let digest = &mails[0];
    assert!(digest.subject().contains('2'), "{}", digest.subject());
    let text = digest.text();
    assert!(text.contains("joined the team"), "{text}");
    assert!(text.contains("no access"), "{text}");
    assert!(text.contains(&format!("/children/{}", t.child)), "{text}");
    assert!(
        digest
            .body("text/html")
            .unwrap_or_default()
            .contains("joined the team"),
        "{}",
        digest.raw
    );

    // Raise-attention can be neither delayed nor silenced; the refusal names the entry and
    // changes nothing.
    let bad = app
        .gql(
            Some(&officer.token),
            UPDATE_PREFERENCES,
            json!({ "i": [{ "kind": "ATTENTION_RAISED", "delivery": "DAILY_DIGEST" }] }),
        )
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
    assert_eq!(
        error_fields(&bad),
        vec!["input.0.delivery".to_owned()],
        "{bad}"
    );
    let bad = app
        .gql(
            Some(&officer.token),
            UPDATE_PREFERENCES,
            json!({ "i": [
                { "kind": "TEAM_CHANGED", "delivery": "OFF" },
                { "kind": "ATTENTION_RAISED", "delivery": "OFF" }
            ] }),
        )
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
    assert_eq!(
        error_fields(&bad),
        vec!["input.1.delivery".to_owned()],
        "{bad}"
    );
    let prefs = app
        .gql_ok(Some(&officer.token), PREFERENCES, json!({}))
        .await["notificationPreferences"]
        .clone();
    for p in prefs.as_array().unwrap() {
        assert_eq!(p["delivery"], "IMMEDIATE", "nothing changed: {p}");
    }

    // The officer turns everything off: raised attention still arrives at once.
    let offs: Vec<(&str, &str)> = ALL_KINDS[..6].iter().map(|k| (*k, "OFF")).collect();
    let answer = set_preferences(&app, &officer, &offs).await;
    for p in answer.as_array().unwrap() {
        let fixed = p["kind"] == "ATTENTION_RAISED" || p["kind"] == "INVITATION";
        assert_eq!(
            p["delivery"],
            if fixed { "IMMEDIATE" } else { "OFF" },
            "{p}"
        );
    }
    join(&app, &youth_worker, &t.child, "Youth worker").await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "{mails:#?}");
    let counted = raise(&app, &t.teacher, &t.child, "Please ring me before Friday").await;
    assert_eq!(counted, 3);
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &officer, &youth_worker]),
        "{mails:#?}"
    );
    for m in &mails {
        assert!(m.subject().contains("raised attention"), "{}", m.subject());
        assert!(m.text().contains("Please ring me before Friday"));
    }
}

// 7. Content.

#[tokio::test]
async fn no_mail_names_the_child_or_betrays_a_restricted_involvement() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let day = today(&app);
    let da_admin = app
        .given_practitioner(&t.admin, &t.da, "AGENCY_ADMIN")
        .await;
    let idva = person(
        &app,
        &t.admin,
        &t.da,
        "PRACTITIONER",
        "Dana Quillfeather",
        "Independent Domestic Violence Advisor",
    )
    .await;
    let colleague = person(
        &app,
        &t.admin,
        &t.da,
        "PRACTITIONER",
        "Robin Ashgrove",
        "Refuge Outreach Worker",
    )
    .await;
    let restricted_words: Vec<String> = vec![
        "Dana".into(),
        "Quillfeather".into(),
        "Robin".into(),
        "Ashgrove".into(),
        "Independent Domestic Violence Advisor".into(),
        "Refuge Outreach Worker".into(),
        "IDVA".into(),
        "Refuge outreach".into(),
        "Safe Harbour".into(),
        "domestic".into(),
        idva.email.clone(),
        colleague.email.clone(),
    ];
    let restricted_words: Vec<&str> = restricted_words.iter().map(String::as_str).collect();
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // Before any agreement: the DA colleague joins and nobody outside the DA service hears.
    let colleague_joined = join(&app, &colleague, &t.child, "Refuge outreach").await;
    assert_eq!(colleague_joined["sensitivity"], "RESTRICTED");
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(mails.is_empty(), "{mails:#?}");

    // Safe Harbour shares with social care from today.
    app.gql_ok(
        Some(&da_admin.token),
        AGREEMENT,
        json!({ "i": { "toAgencyId": t.social_care, "purpose": "Joint safety planning", "startsOn": day.to_string() } }),
    )
    .await;

    // The IDVA joins: her colleague and the social worker (by agreement) hear; the teacher not.
    let idva_joined = join(&app, &idva, &t.child, "IDVA").await;
    assert_eq!(idva_joined["sensitivity"], "RESTRICTED");
    let idva_inv = id_version(&idva_joined);
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &colleague]),
        "{mails:#?}"
    );
    assert_mentions_none(&mails, &restricted_words);
    for m in &mails {
        assert!(m.subject().contains("L.M."), "{}", m.subject());
    }

    // Her missed contact and her raised attention: the same two, and nothing that names her.
    contact(&app, &idva, &idva_inv.0, "WAS_NOT_BROUGHT", &an_hour_ago()).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &colleague]),
        "{mails:#?}"
    );
    assert_mentions_none(&mails, &restricted_words);
    let counted = raise(&app, &idva, &t.child, "Please call me").await;
    // The answer counts the recipients she may see: both of them.
    assert_eq!(counted, 2);
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert_eq!(
        recipients(&mails),
        emails(&[&t.social_worker, &colleague]),
        "only those who may see her involvement: {mails:#?}"
    );
    assert_mentions_none(&mails, &restricted_words);

    // Everything else the team does, for the name check below.
    set_lead(&app, &t.social_worker, &t.social_worker_inv).await;
    contact(
        &app,
        &t.teacher,
        &t.teacher_inv.0,
        "NO_ACCESS",
        &an_hour_ago(),
    )
    .await;
    raise(
        &app,
        &t.social_worker,
        &t.child,
        "Strategy meeting on Monday",
    )
    .await;
    let task = create_task(
        &app,
        &t.teacher,
        &t.child,
        "Share the attendance record",
        Some(&t.social_worker),
        Some(day - Duration::days(1)),
    )
    .await;
    set_preferences(&app, &t.teacher, &[("TASK_COMPLETED", "DAILY_DIGEST")]).await;
    let other = create_task(
        &app,
        &t.teacher,
        &t.child,
        "Refer to the school nurse",
        Some(&t.social_worker),
        None,
    )
    .await;
    update_task(&app, &t.social_worker, &other, json!({ "status": "DONE" })).await;
    let report = daily(&app, day).await;
    assert!(
        report.ran && report.overdue_notices == 1 && report.digests == 1,
        "{report:?}"
    );
    let _ = task;
    end(&app, &t.teacher, &t.teacher_inv).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    assert!(!mails.is_empty());
    // Mail to anyone outside Safe Harbour names nothing of it.
    let outside: Vec<Received> = smtp
        .received()
        .into_iter()
        .filter(|m| m.recipient() != idva.email && m.recipient() != colleague.email)
        .collect();
    assert_mentions_none(&outside, &restricted_words);
    assert!(smtp
        .to(&t.teacher.email)
        .iter()
        .all(|m| !m.subject().contains("the team has changed")));

    // No message ever carries the child's names or date of birth.
    let all = smtp.received();
    assert!(all.len() >= 15, "{}", all.len());
    assert_mentions_none(
        &all,
        &[
            "Leo",
            "Marsh",
            "2017-05-14",
            "14 May 2017",
            "14/05/2017",
            "14.05.2017",
            "May 14",
        ],
    );
    let _ = &t.admin;
}

// 8. The leak test.

/// The people around both children: the same outsiders, and a domestic-abuse service that only
/// the second child's team includes.
struct Cast {
    teacher: User,
    social_worker: User,
    officer: User,
    idva: User,
    colleague: User,
}

/// One child's story. With `restricted`, a domestic-abuse practitioner (no sharing agreement)
/// joins, records a missed contact, raises attention and is given a task by a colleague; the
/// visible story around it is the same. Returns the child and the answers to the outsiders'
/// raiseAttention.
async fn story(
    app: &TestApp,
    c: &Cast,
    given: &str,
    family: &str,
    dob: &str,
    restricted: bool,
) -> (String, Vec<i64>) {
    let at = an_hour_ago();
    let past = today(app) - Duration::days(3);
    let data = app
        .gql_ok(
            Some(&c.teacher.token),
            REGISTER,
            json!({ "i": { "givenName": given, "familyName": family, "dateOfBirth": dob, "role": "Class teacher" } }),
        )
        .await;
    let child = data["registerChild"]["child"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let teacher_inv = id_version(&data["registerChild"]);
    let sw_inv = id_version(&join(app, &c.social_worker, &child, "Allocated social worker").await);
    join(app, &c.officer, &child, "Housing officer").await;
    set_lead(app, &c.social_worker, &sw_inv).await;
    let mut answers = Vec::new();

    let mut idva_inv = None;
    let mut colleague_left = None;
    if restricted {
        let joined = join(app, &c.idva, &child, "IDVA").await;
        assert_eq!(joined["sensitivity"], "RESTRICTED");
        idva_inv = Some(id_version(&joined));
        let colleague_inv = id_version(&join(app, &c.colleague, &child, "Refuge outreach").await);
        colleague_left = Some(colleague_inv);
        contact(
            app,
            &c.idva,
            &idva_inv.as_ref().unwrap().0,
            "WAS_NOT_BROUGHT",
            &at,
        )
        .await;
        assert_eq!(raise(app, &c.idva, &child, "Please call me").await, 1);
    }

    // The visible story.
    contact(app, &c.teacher, &teacher_inv.0, "NO_ACCESS", &at).await;
    answers.push(raise(app, &c.social_worker, &child, "Strategy meeting on Monday").await);
    let task = create_task(
        app,
        &c.teacher,
        &child,
        "Check the tenancy",
        Some(&c.officer),
        None,
    )
    .await;
    update_task(app, &c.officer, &task, json!({ "status": "DONE" })).await;

    if restricted {
        let task = create_task(
            app,
            &c.colleague,
            &child,
            "Safety plan review",
            Some(&c.idva),
            Some(past),
        )
        .await;
        let _ = task;
        contact(
            app,
            &c.idva,
            &idva_inv.as_ref().unwrap().0,
            "NO_ACCESS",
            &at,
        )
        .await;
        // The colleague leaves the team again.
        end(app, &c.colleague, colleague_left.as_ref().unwrap()).await;
    }

    create_task(
        app,
        &c.teacher,
        &child,
        "Send the housing report",
        Some(&c.officer),
        Some(past),
    )
    .await;
    answers.push(raise(app, &c.teacher, &child, "Please read the latest").await);
    (child, answers)
}

#[tokio::test]
async fn outsiders_get_the_same_mail_with_or_without_a_restricted_involvement() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let social_care = app
        .given_agency(&admin, "Children's Social Care", "SOCIAL_CARE", false)
        .await;
    let housing = app
        .given_agency(&admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let da = app
        .given_agency(&admin, "Safe Harbour", "DOMESTIC_ABUSE", true)
        .await;
    let cast = Cast {
        teacher: app
            .given_practitioner(&admin, &school, "PRACTITIONER")
            .await,
        social_worker: app
            .given_practitioner(&admin, &social_care, "PRACTITIONER")
            .await,
        officer: app
            .given_practitioner(&admin, &housing, "PRACTITIONER")
            .await,
        idva: app.given_practitioner(&admin, &da, "PRACTITIONER").await,
        colleague: app.given_practitioner(&admin, &da, "PRACTITIONER").await,
    };

    let (plain, plain_answers) = story(&app, &cast, "Leo", "Marsh", "2017-05-14", false).await;
    app.outbox_settled().await;
    let (hidden, hidden_answers) = story(&app, &cast, "Lily", "Moss", "2016-02-03", true).await;
    assert_eq!(plain_answers, hidden_answers, "raiseAttention answers");
    let report = daily(&app, today(&app)).await;
    assert_eq!(report.overdue_notices, 3, "{report:?}");
    app.outbox_settled().await;

    // The DA service did hear about its own (the test is not vacuous).
    assert!(!smtp.to(&cast.colleague.email).is_empty());
    assert!(!smtp.to(&cast.idva.email).is_empty());

    let all = smtp.received();
    for who in [&cast.teacher, &cast.social_worker, &cast.officer] {
        let mine: Vec<&Received> = all.iter().filter(|m| m.recipient() == who.email).collect();
        let normalised = |child: &str| -> Vec<(String, String, String)> {
            let mut out: Vec<(String, String, String)> = mine
                .iter()
                .filter(|m| everything(m).contains(child))
                .map(|m| {
                    let n = |s: String| s.replace(child, "{CHILD}");
                    (
                        n(m.subject()),
                        n(m.text()),
                        n(m.body("text/html").unwrap_or_default()),
                    )
                })
                .collect();
            out.sort();
            out
        };
        for m in &mine {
            let about_plain = everything(m).contains(&plain);
            let about_hidden = everything(m).contains(&hidden);
            assert!(
                about_plain != about_hidden,
                "each mail is about exactly one child: {}",
                everything(m)
            );
        }
        let a = normalised(&plain);
        let b = normalised(&hidden);
        assert!(!a.is_empty());
        assert_eq!(
            a.len(),
            b.len(),
            "{} got {} mails about the plain child and {} about the other:\n{a:#?}\n{b:#?}",
            who.email,
            a.len(),
            b.len()
        );
        assert_eq!(a, b, "mail to {} differs", who.email);
        let theirs: Vec<Received> = mine.iter().map(|m| (*m).clone()).collect();
        assert_mentions_none(
            &theirs,
            &[
                "IDVA",
                "Refuge outreach",
                "Safe Harbour",
                "Lily",
                "Moss",
                "Leo",
                "Marsh",
                &cast.idva.email,
                &cast.colleague.email,
            ],
        );
    }
}

// Tasks name only people everyone on them may see (rule 6).

/// The error of an answer, without the request's own id.
fn refusal(body: &Value) -> Value {
    let mut errors = body["errors"].clone();
    for e in errors.as_array_mut().expect("errors") {
        if let Some(ext) = e["extensions"].as_object_mut() {
            ext.remove("requestId");
        }
    }
    errors
}

#[tokio::test]
async fn a_task_never_names_to_anyone_a_practitioner_they_may_not_see() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let youth = app
        .given_agency(&t.admin, "Pier Road Youth Club", "YOUTH", false)
        .await;
    let stranger = person(
        &app,
        &t.admin,
        &youth,
        "PRACTITIONER",
        "Yusuf Obi",
        "Youth worker",
    )
    .await;
    let da_admin = person(
        &app,
        &t.admin,
        &t.da,
        "AGENCY_ADMIN",
        "Ada Mensah",
        "Manager",
    )
    .await;
    let idva = person(
        &app,
        &t.admin,
        &t.da,
        "PRACTITIONER",
        "Megan Harris",
        "IDVA",
    )
    .await;
    patchwork_tests::world::agreement(
        &app,
        &da_admin,
        &t.social_care,
        (today(&app) - Duration::days(1)).to_string(),
        None,
    )
    .await;
    let joined = join(&app, &idva, &t.child, "IDVA").await;
    assert_eq!(joined["sensitivity"], "RESTRICTED");
    let mut seen = 0;
    new_mail(&app, &smtp, &mut seen).await;

    // The social worker (who may see the IDVA) gives her a task; she may not hand it to the
    // teacher (who may not see her), and the refusal is the one for a stranger.
    let task = create_task(
        &app,
        &t.social_worker,
        &t.child,
        "Safety plan",
        Some(&idva),
        None,
    )
    .await;
    let handover = |to: &User| json!({ "i": { "id": task.0, "expectedVersion": task.1, "assigneeId": to.id } });
    let to_teacher = app
        .gql(Some(&idva.token), UPDATE_TASK, handover(&t.teacher))
        .await;
    assert_eq!(
        error_code(&to_teacher),
        Some("BAD_USER_INPUT"),
        "{to_teacher}"
    );
    let to_stranger = app
        .gql(Some(&idva.token), UPDATE_TASK, handover(&stranger))
        .await;
    assert_eq!(refusal(&to_teacher), refusal(&to_stranger));

    // The teacher's own task, given to the social worker, may not be handed to the IDVA: the
    // teacher could not see the task any more, and nor is it allowed to vanish.
    let mine = create_task(
        &app,
        &t.teacher,
        &t.child,
        "Attendance plan",
        Some(&t.social_worker),
        None,
    )
    .await;
    let body = app
        .gql(
            Some(&t.social_worker.token),
            UPDATE_TASK,
            json!({ "i": { "id": mine.0, "expectedVersion": mine.1, "assigneeId": idva.id } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let to_stranger = app
        .gql(
            Some(&t.social_worker.token),
            UPDATE_TASK,
            json!({ "i": { "id": mine.0, "expectedVersion": mine.1, "assigneeId": stranger.id } }),
        )
        .await;
    assert_eq!(refusal(&body), refusal(&to_stranger));
    let tasks = app
        .gql_ok(
            Some(&t.teacher.token),
            "query($id: ID!) { child(id: $id) { tasks { id version assignee { id } } } }",
            json!({ "id": t.child }),
        )
        .await;
    assert_eq!(
        tasks["child"]["tasks"],
        json!([{ "id": mine.0, "version": mine.1, "assignee": { "id": t.social_worker.id } }])
    );

    // The IDVA completes her task: the social worker, who may see her, is told by whom.
    update_task(&app, &idva, &task, json!({ "status": "DONE" })).await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    let to_sw: Vec<Received> = mails
        .iter()
        .filter(|m| m.recipient() == t.social_worker.email)
        .cloned()
        .collect();
    assert!(
        to_sw
            .iter()
            .any(|m| everything(m).contains("Completed by Megan Harris")),
        "{mails:#?}"
    );
    // Nobody who may not see the IDVA heard of her.
    let outside: Vec<Received> = smtp
        .received()
        .into_iter()
        .filter(|m| m.recipient() != t.social_worker.email && m.recipient() != idva.email)
        .collect();
    assert_mentions_none(&outside, &["Megan", "Harris", "Safe Harbour", &idva.email]);
}
