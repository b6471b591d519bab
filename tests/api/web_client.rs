//! Every link a mail carries opens the web client served by the binary; one-click unsubscribe
//! (RFC 8058) from a mail's header; the web client's cookie sessions; and `APP_LINK_TEMPLATE`
//! sending the links to a council's own app instead.

use patchwork_tests::mail_town::*;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::smtp::{Received, SmtpServer};
use patchwork_tests::*;

/// The first `PUBLIC_URL` link in a mail's text that starts with `path`.
fn link(mail: &Received, path: &str) -> String {
    let start = format!("{TEST_ISSUER}{path}");
    mail.text()
        .split_whitespace()
        .find(|w| w.starts_with(&start))
        .unwrap_or_else(|| panic!("no {start} link in {}", mail.text()))
        .trim_end_matches(['.', ',', ')'])
        .to_owned()
}

/// A `PUBLIC_URL` link made to reach the test's server.
fn here(app: &TestApp, url: &str) -> String {
    url.replacen(TEST_ISSUER, &app.address, 1)
}

/// The web client's page at `url`: 200, HTML, the strict policy, never cached.
async fn assert_opens_the_client(app: &TestApp, url: &str) {
    let res = app.client.get(here(app, url)).send().await.expect("GET");
    assert_eq!(res.status(), 200, "{url}");
    let headers = res.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["cache-control"], "no-store");
    let body = res.text().await.unwrap();
    assert!(body.contains("/web/app.js"), "{body}");
}

async fn preferences(app: &TestApp, who: &User) -> Vec<(String, String)> {
    app.gql_ok(Some(&who.token), PREFERENCES, json!({})).await["notificationPreferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["delivery"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn unsubscribe(app: &TestApp, url: &str) -> reqwest::Response {
    app.client
        .post(here(app, url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn a_team_mail_links_to_the_team_screen_and_unsubscribes_in_one_click() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.recipient(), t.teacher.email);

    assert_opens_the_client(&app, &link(&mail, &format!("/children/{}", t.child))).await;
    assert_opens_the_client(&app, &link(&mail, "/preferences")).await;

    // The header names a one-click link (RFC 8058), which a GET does not use.
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let header = mail.header("List-Unsubscribe").unwrap();
    let url = header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        url.starts_with(&format!("{TEST_ISSUER}/unsubscribe?token=")),
        "{url}"
    );
    let before = preferences(&app, &t.teacher).await;
    assert_opens_the_client(&app, &url).await;
    assert_eq!(
        preferences(&app, &t.teacher).await,
        before,
        "a GET changes nothing"
    );

    // A tampered token is refused and changes nothing.
    let mut forged = url.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let res = unsubscribe(&app, &forged).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "BAD_USER_INPUT");
    assert_eq!(body["fields"][0]["field"], "token");
    assert_eq!(preferences(&app, &t.teacher).await, before);

    // The mail client's POST: every optional kind off, those that always arrive untouched.
    let res = unsubscribe(&app, &url).await;
    assert_eq!(res.status(), 200);
    for (kind, delivery) in preferences(&app, &t.teacher).await {
        let always = kind == "ATTENTION_RAISED" || kind == "INVITATION";
        assert_eq!(delivery, if always { "IMMEDIATE" } else { "OFF" }, "{kind}");
    }
    assert_eq!(
        app.count(
            "audit_events",
            &format!(
                "action = 'NOTIFICATION_PREFERENCES_UPDATED' AND actor_id = '{}'",
                t.teacher.id
            )
        ),
        1
    );
    // Twice is fine (mail clients retry).
    assert_eq!(unsubscribe(&app, &url).await.status(), 200);

    // The teacher hears no more of team changes, but raised attention still arrives.
    let mut seen = smtp.received().len();
    let housing = app
        .given_agency(&t.admin, "Kestrel Homes", "HOUSING", false)
        .await;
    let officer = app
        .given_practitioner(&t.admin, &housing, "PRACTITIONER")
        .await;
    join(&app, &officer, &t.child, "Housing officer").await;
    raise(&app, &t.social_worker, &t.child, "Please call me today").await;
    let mails = new_mail(&app, &smtp, &mut seen).await;
    let to_teacher: Vec<&Received> = mails
        .iter()
        .filter(|m| m.recipient() == t.teacher.email)
        .collect();
    assert_eq!(to_teacher.len(), 1, "{mails:#?}");
    let raised = to_teacher[0];
    // A mail that always arrives has no one-click link: its header leads to the preferences.
    assert_eq!(raised.header("List-Unsubscribe-Post"), None);
    assert!(raised
        .header("List-Unsubscribe")
        .unwrap()
        .contains("/preferences"));
}

#[tokio::test]
async fn an_invitation_link_opens_the_set_password_screen() {
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
    assert_opens_the_client(&app, &link(&mail, "/set-password?token=")).await;
    assert_eq!(mail.header("List-Unsubscribe-Post"), None);
}

#[tokio::test]
async fn a_councils_app_gets_the_links_when_configured() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(|v| {
        with_mail(&smtp)(v);
        v.insert(
            "APP_LINK_TEMPLATE".into(),
            "https://app.council.example/open{path}".into(),
        );
    })
    .await;
    let t = town(&app).await;
    let mail = smtp.wait_for(1).await.remove(0);
    let text = mail.text();
    assert!(
        text.contains(&format!(
            "https://app.council.example/open/children/{}",
            t.child
        )),
        "{text}"
    );
    assert!(!text.contains(TEST_ISSUER), "{text}");
    // Unsubscribing stays with this server, which takes the POST.
    assert!(mail
        .header("List-Unsubscribe")
        .unwrap()
        .starts_with(&format!("<{TEST_ISSUER}/unsubscribe?token=")));
}

/// The refresh cookie a response sets, with its attributes.
fn set_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("patchwork_refresh="))
        .expect("a refresh cookie")
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("patchwork_refresh=")
        .to_owned()
}

#[tokio::test]
async fn the_web_client_keeps_its_refresh_token_in_an_http_only_cookie() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let url = |p: &str| format!("{}/web/session{p}", app.address);

    // JSON only: a form posted from another site is refused before anything is checked.
    let res = app
        .client
        .post(url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}&password={PASSWORD}", admin.email))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    let res = app
        .client
        .post(url(""))
        .json(&json!({ "email": admin.email, "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHENTICATED");

    let res = app
        .client
        .post(url(""))
        .json(&json!({ "email": admin.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = set_cookie(&res);
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/web/session",
        "Max-Age=",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let body: Value = res.json().await.unwrap();
    assert!(
        !body.to_string().contains(&cookie_value(&cookie)),
        "the token is not in the body"
    );
    let access = body["accessToken"].as_str().unwrap().to_owned();
    assert!(body["expiresAt"].is_string());
    let me = app
        .gql_ok(Some(&access), "{ me { email } }", json!({}))
        .await;
    assert_eq!(me["me"]["email"], json!(admin.email));

    // Refresh with the cookie: a new access token and a new cookie; the old one is spent.
    let refresh = |value: String| {
        app.client
            .post(url("/refresh"))
            .header("content-type", "application/json")
            .header("cookie", format!("patchwork_refresh={value}"))
            .send()
    };
    let res = refresh(cookie_value(&cookie)).await.unwrap();
    assert_eq!(res.status(), 200);
    let next = set_cookie(&res);
    assert_ne!(cookie_value(&next), cookie_value(&cookie));
    let body: Value = res.json().await.unwrap();
    let me = app
        .gql_ok(body["accessToken"].as_str(), "{ me { email } }", json!({}))
        .await;
    assert_eq!(me["me"]["email"], json!(admin.email));

    // No cookie: 401, and the answer clears any cookie.
    let res = app
        .client
        .post(url("/refresh"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Sign out: the session ends and the cookie is cleared.
    let res = app
        .client
        .post(url("/logout"))
        .header("content-type", "application/json")
        .header(
            "cookie",
            format!("patchwork_refresh={}", cookie_value(&next)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let cleared = set_cookie(&res);
    assert!(cookie_value(&cleared).is_empty(), "{cleared}");
    let res = refresh(cookie_value(&next)).await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_client_files_are_served_from_the_binary() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/web/app.js", "text/javascript"),
        ("/web/app.css", "text/css"),
        ("/web/manifest.webmanifest", "application/manifest+json"),
        ("/web/icon.svg", "image/svg+xml"),
        ("/sw.js", "text/javascript"),
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(kind));
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        assert!(!res.bytes().await.unwrap().is_empty(), "{path} is empty");
        let again = app
            .client
            .get(format!("{}{path}", app.address))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    for path in ["/web/nothing.js", "/web/sw.js", "/web/index.html"] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}
