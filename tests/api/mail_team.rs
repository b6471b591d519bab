//! Team changes told by mail, through a real SMTP listener: someone leaving, the lead changing,
//! a missed contact; exactly who is told, and that the actor and the leaver are not.

use chrono::{Duration, Utc};
use patchwork_tests::mail_town::*;
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::*;

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
