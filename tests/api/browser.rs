//! The web client in a real browser (headless Chromium driven over WebDriver), through the real
//! server and a real mailbox: an invitation from a mail leads to a password and a signed-in
//! team screen; a mail's link opens its screen after sign-in; the team screen and the picture
//! show what the reader may see and look the same with or without a hidden service; the
//! unsubscribe link from a mail's header works; axe-core finds no serious accessibility
//! violation on any screen. Screenshots of the main screens, at phone and desktop widths, go
//! to `target/browser/screenshots/` (`make screenshots` refreshes those the README links, in
//! `docs/screenshots/`).

use std::path::PathBuf;
use std::time::Duration;

use patchwork_tests::browser::{serious_violations, Browser};
use patchwork_tests::mail_town::{self, raise, PREFERENCES};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::world::{join, person, register, s, IDVA_NAME};
use patchwork_tests::*;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

/// Where a screen's picture goes: `target/browser/screenshots/`, or the folder
/// `PATCHWORK_SCREENSHOTS` names (`make screenshots` refreshes `docs/screenshots/` so).
fn screenshot(name: &str, (width, _): (u32, u32)) -> PathBuf {
    let file = format!("{name}-{width}.png");
    match std::env::var_os("PATCHWORK_SCREENSHOTS") {
        Some(dir) => PathBuf::from(dir).join(file),
        None => patchwork_tests::browser::screenshot_path(&file),
    }
}

async fn open(size: (u32, u32)) -> Browser {
    Browser::start(size.0, size.1)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// A `PUBLIC_URL` link from a mail's text, made to reach the test's server.
fn link_in(app: &TestApp, mail: &Received, path: &str) -> String {
    let start = format!("{TEST_ISSUER}{path}");
    let url = mail
        .text()
        .split_whitespace()
        .find(|w| w.starts_with(&start))
        .unwrap_or_else(|| panic!("no {start} link in {}", mail.text()))
        .trim_end_matches(['.', ',', ')'])
        .to_owned();
    url.replacen(TEST_ISSUER, &app.address, 1)
}

/// Waits until the page's text contains `text`.
async fn wait_for_text(b: &Browser, css: &str, text: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(t) = b.text(css).await {
            if t.contains(text) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "waited for {text:?} in {css} at {}; it shows: {last}",
        b.url().await
    )
}

async fn sign_in(b: &Browser, email: &str) {
    b.wait_for("#sign-in").await.unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in button[type=submit]").await.unwrap();
    b.wait_for("#sign-out").await.unwrap();
}

/// Fails on any serious or critical accessibility violation on the current screen.
async fn assert_accessible(b: &Browser, screen: &str) {
    let results = b.axe().await.unwrap_or_else(|e| panic!("{e:#}"));
    let serious = serious_violations(&results);
    assert!(
        serious.is_empty(),
        "axe-core on {screen} ({}): {serious:#?}",
        b.url().await
    );
}

#[tokio::test]
async fn an_invitation_mail_leads_to_a_password_and_a_signed_in_team_screen() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = mail_town::town(&app).await;
    let mut seen = smtp.wait_for(1).await.len();

    app.gql_ok(
        Some(&t.admin.token),
        "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id } }",
        json!({ "i": { "agencyId": t.social_care, "displayName": "Nia Newcomer", "email": "nia@care.example" } }),
    )
    .await;
    let invitation = mail_town::new_mail(&app, &smtp, &mut seen).await.remove(0);
    assert_eq!(invitation.recipient(), "nia@care.example");

    let b = open(PHONE).await;
    b.goto(&link_in(&app, &invitation, "/set-password?token="))
        .await
        .unwrap();
    b.wait_for("#set-password").await.unwrap();
    b.screenshot(screenshot("set-password", PHONE))
        .await
        .unwrap();
    assert_accessible(&b, "set password").await;
    b.fill("#new-password", PASSWORD).await.unwrap();
    if b.wait_for("#confirm-password").await.is_ok() {
        b.fill("#confirm-password", PASSWORD).await.unwrap();
    }
    b.click("#set-password button[type=submit]").await.unwrap();
    b.wait_for("#sign-out").await.unwrap();
    assert!(app.login("nia@care.example", PASSWORD).await["data"]["login"].is_object());

    // Nia joins Leo's team; the teacher raises attention, and Nia's mail links to the team.
    let nia = app.login("nia@care.example", PASSWORD).await["data"]["login"].clone();
    let nia_token = s(&nia["accessToken"]);
    let nia_id = s(&nia["practitioner"]["id"]);
    app.gql_ok(
        Some(&nia_token),
        mail_town::JOIN,
        json!({ "i": { "childId": t.child, "role": "Family support worker", "reason": "Allocated today" } }),
    )
    .await;
    raise(&app, &t.teacher, &t.child, "Please call me about Leo").await;
    let mails = mail_town::new_mail(&app, &smtp, &mut seen).await;
    let to_nia = mails
        .iter()
        .find(|m| m.recipient() == "nia@care.example")
        .unwrap_or_else(|| panic!("no mail to Nia: {mails:#?}"));
    let child_link = link_in(&app, to_nia, &format!("/children/{}", t.child));

    b.goto(&child_link).await.unwrap();
    b.wait_for("#team li[data-practitioner-id]").await.unwrap();
    let members = b
        .attr_all("#team li[data-practitioner-id]", "data-practitioner-id")
        .await
        .unwrap();
    for who in [&t.teacher.id, &t.social_worker.id, &nia_id] {
        assert!(members.contains(who), "{who} in {members:?}");
    }
    let page = b.page_source().await.unwrap();
    assert!(
        page.contains(&format!("mailto:{}", t.teacher.email)),
        "tap-to-mail link"
    );
    b.close().await.unwrap();

    // Signed out, the same link asks for sign-in first, then opens the team screen.
    let b = open(DESKTOP).await;
    b.goto(&child_link).await.unwrap();
    sign_in(&b, "nia@care.example").await;
    b.wait_for("#team li[data-practitioner-id]").await.unwrap();
    assert!(b.url().await.ends_with(&format!("/children/{}", t.child)));
    b.close().await.unwrap();
}

/// One family: two siblings on the teacher's and the social worker's teams, a grandmother, and
/// with `hidden`, the domestic-abuse service on both, whose IDVA records a parent.
struct Story {
    child: String,
    words: [(&'static str, &'static str); 3],
}

async fn story(
    app: &TestApp,
    people: &[&User; 3],
    given: [&'static str; 2],
    family: &'static str,
    hidden: bool,
) -> Story {
    let [teacher, social_worker, idva] = *people;
    let mut children = Vec::new();
    for (g, dob) in given.iter().zip(["2013-02-03", "2015-06-07"]) {
        let inv = register(
            app,
            teacher,
            g,
            family,
            dob,
            Some("LS6 2AB"),
            "Class teacher",
        )
        .await;
        let child = s(&inv["child"]["id"]);
        join(app, social_worker, &child, "Allocated social worker").await;
        if hidden {
            join(app, idva, &child, "IDVA").await;
        }
        children.push(child);
    }
    if hidden {
        app.gql_ok(
            Some(&idva.token),
            "mutation($i: AddCarerInput!) { addCarer(input: $i) { id } }",
            json!({ "i": { "childId": children[0], "relation": "PARENT", "name": "Hidden Parent" } }),
        )
        .await;
    }
    app.gql_ok(
        Some(&teacher.token),
        "mutation($i: LinkSiblingsInput!) { linkSiblings(input: $i) { id } }",
        json!({ "i": { "childId": children[0], "siblingId": children[1] } }),
    )
    .await;
    app.gql_ok(
        Some(&social_worker.token),
        "mutation($i: AddCarerInput!) { addCarer(input: $i) { id } }",
        json!({ "i": { "childId": children[0], "relation": "CARER", "name": "Iris Moor", "description": "grandmother" } }),
    )
    .await;
    Story {
        child: children.remove(0),
        words: [
            (given[0], "<given-a>"),
            (given[1], "<given-b>"),
            (family, "<family>"),
        ],
    }
}

/// What the team screen shows, with the family's names put to placeholders and every number
/// (dates, times, counts of days) to `#`.
async fn rendered(b: &Browser, app: &TestApp, st: &Story, other: &Story) -> (String, Vec<String>) {
    b.goto(&format!("{}/children/{}", app.address, st.child))
        .await
        .unwrap();
    b.wait_for("#team li[data-practitioner-id]").await.unwrap();
    b.wait_for("#network [data-node-id]").await.unwrap();
    wait_for_text(b, "#family", "Iris Moor").await;
    let mut text = b.text("#main").await.unwrap();
    for (word, placeholder) in st.words {
        text = text.replace(word, placeholder);
    }
    // The reader is on the other family's teams too, which the form linking a sibling offers.
    for (word, placeholder) in other.words {
        text = text.replace(word, &placeholder.replace('<', "<other-"));
    }
    let text: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    let kinds = b
        .attr_all("#network [data-node-id]", "data-kind")
        .await
        .unwrap();
    (text, kinds)
}

#[tokio::test]
async fn the_team_screen_and_its_picture_look_the_same_with_or_without_a_hidden_service() {
    let app = spawn_app().await;
    let patchwork_tests::world::People {
        teacher,
        social_worker,
        idva,
        ..
    } = patchwork_tests::world::people(&app).await;
    let people = [&teacher, &social_worker, &idva];
    let plain = story(&app, &people, ["Ruby", "Ollie"], "Hale", false).await;
    let hidden = story(&app, &people, ["Rosa", "Owen"], "Hart", true).await;

    for (who, size) in [(&teacher, DESKTOP), (&social_worker, PHONE)] {
        let b = open(size).await;
        b.goto(&format!("{}/sign-in", app.address)).await.unwrap();
        sign_in(&b, &who.email).await;
        let (a, a_kinds) = rendered(&b, &app, &plain, &hidden).await;
        b.screenshot(screenshot("team", size)).await.unwrap();
        b.client()
            .execute(
                "document.getElementById('network').scrollIntoView({block: 'start'});",
                vec![],
            )
            .await
            .unwrap();
        b.screenshot(screenshot("network", size)).await.unwrap();
        let (h, h_kinds) = rendered(&b, &app, &hidden, &plain).await;
        assert_eq!(a, h, "{} sees the two families differently", who.email);
        assert_eq!(a_kinds, h_kinds);
        assert!(a_kinds.contains(&"SIBLING".to_owned()), "{a_kinds:?}");
        let page = b.page_source().await.unwrap();
        for secret in [
            IDVA_NAME,
            "Hidden Parent",
            patchwork_tests::world::DA_NAME,
            &idva.id,
        ] {
            assert!(!page.contains(secret), "{secret} on {}'s page", who.email);
        }
        b.close().await.unwrap();
    }

    // The IDVA sees their own part of the picture.
    let b = open(DESKTOP).await;
    b.goto(&format!("{}/children/{}", app.address, hidden.child))
        .await
        .unwrap();
    sign_in(&b, &idva.email).await;
    b.wait_for("#network [data-node-id]").await.unwrap();
    wait_for_text(&b, "#main", IDVA_NAME).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_unsubscribe_link_in_a_mails_header_works_in_the_browser() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = mail_town::town(&app).await;
    let mail = smtp.wait_for(1).await.remove(0);
    let header = mail.header("List-Unsubscribe").unwrap();
    let url = header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .replacen(TEST_ISSUER, &app.address, 1);

    let b = open(PHONE).await;
    b.goto(&url).await.unwrap();
    b.wait_for("#unsubscribe").await.unwrap();
    assert_accessible(&b, "unsubscribe").await;
    let before: Value = app
        .gql_ok(Some(&t.teacher.token), PREFERENCES, json!({}))
        .await;
    assert!(before.to_string().contains("IMMEDIATE"));
    assert!(
        !before.to_string().contains("OFF"),
        "opening the page changes nothing"
    );
    b.click("#unsubscribe").await.unwrap();
    wait_for_text(&b, "#main", "no longer").await;
    b.screenshot(screenshot("unsubscribed", PHONE))
        .await
        .unwrap();
    let after = app
        .gql_ok(Some(&t.teacher.token), PREFERENCES, json!({}))
        .await;
    for p in after["notificationPreferences"].as_array().unwrap() {
        let always = !p["adjustable"].as_bool().unwrap();
        assert_eq!(
            p["delivery"],
            if always { "IMMEDIATE" } else { "OFF" },
            "{p}"
        );
    }
    b.close().await.unwrap();
}

#[tokio::test]
async fn every_screen_passes_axe_core_at_phone_and_desktop_widths() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let teacher = person(&app, &admin, &school, "PRACTITIONER", "Grace Lin").await;
    let inv = register(
        &app,
        &teacher,
        "Ruby",
        "Hale",
        "2014-03-09",
        Some("LS6 2AB"),
        "Class teacher",
    )
    .await;
    let child = s(&inv["child"]["id"]);
    // A brother, so that the family and the team around it have something to show.
    let ollie = register(
        &app,
        &teacher,
        "Ollie",
        "Hale",
        "2016-05-01",
        Some("LS6 2AB"),
        "Class teacher",
    )
    .await;
    app.gql_ok(
        Some(&teacher.token),
        "mutation($i: LinkSiblingsInput!) { linkSiblings(input: $i) { id } }",
        json!({ "i": { "childId": child, "siblingId": s(&ollie["child"]["id"]), "description": "brother" } }),
    )
    .await;
    patchwork_tests::world::task(
        &app,
        &teacher,
        &child,
        "Book a team meeting",
        Some(&teacher.id),
        Some(patchwork_tests::world::day(3)),
    )
    .await;

    for size in [PHONE, DESKTOP] {
        let b = open(size).await;
        b.goto(&format!("{}/sign-in", app.address)).await.unwrap();
        assert_accessible(&b, "sign in").await;
        b.screenshot(screenshot("sign-in", size)).await.unwrap();
        sign_in(&b, &teacher.email).await;
        for (path, name, ready) in [
            ("/".to_owned(), "my-children", "Ruby"),
            ("/tasks".to_owned(), "my-tasks", "Book a team meeting"),
            ("/search".to_owned(), "search", ""),
            (format!("/children/{child}"), "team-screen", "Grace Lin"),
            (format!("/children/{child}/timeline"), "timeline", ""),
            (
                format!("/children/{child}/family"),
                "family-team",
                "Grace Lin",
            ),
            ("/preferences".to_owned(), "preferences", ""),
        ] {
            b.goto(&format!("{}{path}", app.address)).await.unwrap();
            b.wait_for("#main h1").await.unwrap();
            if !ready.is_empty() {
                wait_for_text(&b, "#main", ready).await;
            } else {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            assert_accessible(&b, name).await;
            b.screenshot(screenshot(name, size)).await.unwrap();
        }
        b.close().await.unwrap();
    }
}
