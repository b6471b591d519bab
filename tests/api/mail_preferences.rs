//! Preferences: mail turned off or folded into a daily digest, never for raised attention.

use patchwork::mail::daily::DailyReport;
use patchwork_tests::mail_town::*;
use patchwork_tests::serde_json::json;
use patchwork_tests::smtp::SmtpServer;
use patchwork_tests::*;

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
