//! No mail betrays a child's name, date of birth or a restricted involvement: outsiders get the
//! same mail with or without a hidden service in the story.

use chrono::Duration;
use patchwork_tests::mail_town::*;
use patchwork_tests::serde_json::json;
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::*;

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
