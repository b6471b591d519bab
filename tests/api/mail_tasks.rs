//! Tasks told by mail: assigned, reassigned, completed, overdue once a day; and no mail names
//! a practitioner its recipient may not see.

use chrono::Duration;
use patchwork::mail::daily::DailyReport;
use patchwork_tests::mail_town::*;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::*;

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
