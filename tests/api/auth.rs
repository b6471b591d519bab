//! Sign-in: login, tokens, refresh rotation, logout, deactivation, rate limits.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use patchwork::auth::tokens::key_id;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::s;
use patchwork_tests::*;

const ME: &str = "{ me { id email role active agency { id name } } }";

fn claims(sub: &str, agency: &str, iss: &str, aud: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + exp_offset,
        "jti": uuid::Uuid::new_v4(), "role": "SYSTEM_ADMIN", "agency": agency,
    })
}

/// Signs as a server holding `secret` would: its key id in the header.
fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    sign_with_kid(alg, secret, Some(key_id(secret)), claims)
}

fn sign_with_kid(alg: Algorithm, secret: &str, kid: Option<String>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid;
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn login_then_me() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let data = app.gql_ok(Some(&admin.token), ME, json!({})).await;
    assert_eq!(data["me"]["email"], admin.email.as_str());
    assert_eq!(data["me"]["role"], "SYSTEM_ADMIN");
    assert_eq!(data["me"]["active"], true);

    // Email is matched without regard to case or surrounding space.
    let body = app
        .login(&format!("  {}  ", admin.email.to_uppercase()), PASSWORD)
        .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let wrong_password = app.login(&admin.email, "not the right password").await;
    let unknown_email = app
        .login("nobody@nowhere.example", "not the right password")
        .await;
    assert_eq!(error_code(&wrong_password), Some("UNAUTHENTICATED"));
    assert_eq!(wrong_password, unknown_email);
    assert!(wrong_password["data"].is_null());
    // Said as it is, unlike a missing or expired token.
    assert_eq!(
        wrong_password["errors"][0]["message"],
        "email or password is wrong"
    );
    let no_token = app.gql(None, ME, json!({})).await;
    assert_eq!(error_code(&no_token), Some("UNAUTHENTICATED"));
    assert_ne!(
        no_token["errors"][0]["message"],
        "email or password is wrong"
    );
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let (sub, agency) = (admin.id.as_str(), admin.agency_id.as_str());
    let aud = "patchwork-api";

    let good = sign(
        Algorithm::HS256,
        TEST_JWT_SECRET,
        &claims(sub, agency, TEST_ISSUER, aud, 600),
    );
    assert_eq!(
        app.gql_ok(Some(&good), ME, json!({})).await["me"]["id"],
        sub
    );

    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(sub, agency, TEST_ISSUER, aud, 600).to_string());
    let alg_none = format!("{header_none}.{payload}.");

    let cases = [
        (
            "another secret",
            sign(
                Algorithm::HS256,
                "another-secret-that-is-long-enough-too",
                &claims(sub, agency, TEST_ISSUER, aud, 600),
            ),
        ),
        ("alg none", alg_none),
        (
            "no kid",
            sign_with_kid(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                None,
                &claims(sub, agency, TEST_ISSUER, aud, 600),
            ),
        ),
        (
            "a kid we do not hold",
            sign_with_kid(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                Some("0123456789abcdef".into()),
                &claims(sub, agency, TEST_ISSUER, aud, 600),
            ),
        ),
        (
            "our kid, another secret",
            sign_with_kid(
                Algorithm::HS256,
                "another-secret-that-is-long-enough-too",
                Some(key_id(TEST_JWT_SECRET)),
                &claims(sub, agency, TEST_ISSUER, aud, 600),
            ),
        ),
        (
            "HS512 with our secret",
            sign(
                Algorithm::HS512,
                TEST_JWT_SECRET,
                &claims(sub, agency, TEST_ISSUER, aud, 600),
            ),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                &claims(sub, agency, TEST_ISSUER, aud, -3600),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                &claims(sub, agency, TEST_ISSUER, "someone-else", 600),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                &claims(sub, agency, "https://evil.example", aud, 600),
            ),
        ),
        (
            "unknown subject",
            sign(
                Algorithm::HS256,
                TEST_JWT_SECRET,
                &claims(
                    &uuid::Uuid::new_v4().to_string(),
                    agency,
                    TEST_ISSUER,
                    aud,
                    600,
                ),
            ),
        ),
        ("a refresh token", admin.refresh_token.clone()),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (name, token) in cases {
        let body = app.gql(Some(&token), ME, json!({})).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{name}: {body}");
        assert!(body["data"].is_null(), "{name}");
    }

    // No token at all.
    let body = app.gql(None, ME, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn signing_keys_rotate_without_rejecting_valid_tokens() {
    const NEW_SECRET: &str = "the-next-signing-key-of-at-least-32-bytes";
    let before = spawn_app().await;
    let admin = before.system_admin().await;
    let old_token = admin.token.clone();
    let same_database = |v: &mut std::collections::HashMap<String, String>| {
        v.insert("DATABASE_URL".into(), before.database_url.clone());
    };

    // Step 1: every process accepts the new key; the old one still signs.
    let accepting = spawn_app_with(|v| {
        same_database(v);
        v.insert("JWT_ACCEPTED_SECRETS".into(), NEW_SECRET.into());
    })
    .await;
    // Step 2: the new key signs; the old one is only accepted.
    let rotated = spawn_app_with(|v| {
        same_database(v);
        v.insert("JWT_SECRET".into(), NEW_SECRET.into());
        v.insert("JWT_ACCEPTED_SECRETS".into(), TEST_JWT_SECRET.into());
    })
    .await;
    let new_token = rotated.login(&admin.email, PASSWORD).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        Some(key_id(NEW_SECRET))
    );
    // Mid-rotation, a token from either key works on every process that may see it.
    for (app, token) in [
        (&accepting, &old_token),
        (&accepting, &new_token),
        (&rotated, &old_token),
        (&rotated, &new_token),
    ] {
        let me = app.gql_ok(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["id"], admin.id.as_str());
    }

    // Step 3: the old key is retired; its tokens are refused, the new ones are not.
    let retired = spawn_app_with(|v| {
        same_database(v);
        v.insert("JWT_SECRET".into(), NEW_SECRET.into());
    })
    .await;
    let body = retired.gql(Some(&old_token), ME, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    retired.gql_ok(Some(&new_token), ME, json!({})).await;
}

const REFRESH: &str = "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken practitioner { id } } }";
const LOGOUT: &str = "mutation($t: String!) { logout(refreshToken: $t) }";

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_chain() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;

    let first = app
        .gql_ok(None, REFRESH, json!({ "t": admin.refresh_token }))
        .await;
    let second_refresh = first["refresh"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second_refresh, admin.refresh_token, "rotated");
    let new_access = first["refresh"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        app.gql_ok(Some(&new_access), ME, json!({})).await["me"]["id"],
        admin.id.as_str()
    );

    // Its successor is used...
    let third = app
        .gql_ok(None, REFRESH, json!({ "t": second_refresh }))
        .await;
    let third_refresh = s(&third["refresh"]["refreshToken"]);
    // ...and then the rotated-out token comes back: refused, and the newest one dies with it.
    let reuse = app
        .gql(None, REFRESH, json!({ "t": admin.refresh_token }))
        .await;
    assert_eq!(error_code(&reuse), Some("UNAUTHENTICATED"));
    let after = app.gql(None, REFRESH, json!({ "t": third_refresh })).await;
    assert_eq!(
        error_code(&after),
        Some("UNAUTHENTICATED"),
        "chain revoked: {after}"
    );
    assert_eq!(
        app.count("audit_events", "action = 'REFRESH_TOKEN_REUSED'"),
        1
    );

    // A fresh login starts a new, working chain.
    let again = app.login(&admin.email, PASSWORD).await;
    let t = again["data"]["login"]["refreshToken"].as_str().unwrap();
    app.gql_ok(None, REFRESH, json!({ "t": t })).await;

    // Unknown refresh tokens are refused.
    let body = app.gql(None, REFRESH, json!({ "t": "made-up" })).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
}

/// Refreshes with `token`, returning the new (access, refresh) pair or the error code.
async fn refreshed(app: &TestApp, token: &str) -> Result<(String, String), String> {
    let body = app.gql(None, REFRESH, json!({ "t": token })).await;
    match error_code(&body) {
        Some(code) => Err(code.to_owned()),
        None => Ok((
            s(&body["data"]["refresh"]["accessToken"]),
            s(&body["data"]["refresh"]["refreshToken"]),
        )),
    }
}

#[tokio::test]
async fn a_refresh_retried_after_a_lost_answer_gets_the_same_successor() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let (_, next) = refreshed(&app, &admin.refresh_token).await.unwrap();
    // The answer was lost; the client sends the same token again, twice.
    for _ in 0..2 {
        let (access, again) = refreshed(&app, &admin.refresh_token).await.unwrap();
        assert_eq!(again, next, "the same successor, not a new chain");
        let me = app.gql_ok(Some(&access), ME, json!({})).await;
        assert_eq!(
            me["me"]["id"],
            admin.id.as_str(),
            "with a working access token"
        );
    }
    assert_eq!(
        app.count("audit_events", "action = 'REFRESH_TOKEN_REUSED'"),
        0
    );
    // Once the successor is used, the old token is a copy in someone else's hands.
    let (_, newest) = refreshed(&app, &next).await.unwrap();
    assert_eq!(
        refreshed(&app, &admin.refresh_token).await.unwrap_err(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        refreshed(&app, &newest).await.unwrap_err(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.count("audit_events", "action = 'REFRESH_TOKEN_REUSED'"),
        1
    );
}

#[tokio::test]
async fn without_a_grace_window_or_after_it_any_reuse_revokes_the_chain() {
    for grace in ["0", "1"] {
        let app = spawn_app_with(|env| {
            env.insert("REFRESH_REUSE_GRACE".into(), grace.into());
        })
        .await;
        let admin = app.system_admin().await;
        let (_, next) = refreshed(&app, &admin.refresh_token).await.unwrap();
        if grace == "1" {
            // Past the one-second window.
            tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        }
        assert_eq!(
            refreshed(&app, &admin.refresh_token).await.unwrap_err(),
            "UNAUTHENTICATED",
            "grace {grace}"
        );
        assert_eq!(
            refreshed(&app, &next).await.unwrap_err(),
            "UNAUTHENTICATED",
            "grace {grace}: the chain is revoked"
        );
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_always_answers_true() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let out = app
        .gql_ok(None, LOGOUT, json!({ "t": admin.refresh_token }))
        .await;
    assert_eq!(out["logout"], true);
    let body = app
        .gql(None, REFRESH, json!({ "t": admin.refresh_token }))
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    let unknown = app
        .gql_ok(None, LOGOUT, json!({ "t": "never-issued" }))
        .await;
    assert_eq!(unknown["logout"], true);
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    use diesel::connection::SimpleConnection;
    app.db()
        .batch_execute("UPDATE refresh_tokens SET issued_at = now() - interval '2 days', expires_at = now() - interval '1 day'")
        .unwrap();
    let body = app
        .gql(None, REFRESH, json!({ "t": admin.refresh_token }))
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn deactivation_takes_effect_at_once() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let agency = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let worker = app
        .given_practitioner(&admin, &agency, "PRACTITIONER")
        .await;
    app.gql_ok(Some(&worker.token), ME, json!({})).await;

    let data = app
        .gql_ok(
            Some(&admin.token),
            "mutation($id: ID!) { deactivatePractitioner(id: $id) { id active } }",
            json!({ "id": worker.id }),
        )
        .await;
    assert_eq!(data["deactivatePractitioner"]["active"], false);

    // The unexpired access token, the refresh token and the password all stop working.
    let body = app.gql(Some(&worker.token), ME, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    let body = app
        .gql(None, REFRESH, json!({ "t": worker.refresh_token }))
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    let body = app.login(&worker.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));

    // Profiles still show them, marked inactive.
    let data = app
        .gql_ok(
            Some(&admin.token),
            "query($id: ID!) { practitioner(id: $id) { active } }",
            json!({ "id": worker.id }),
        )
        .await;
    assert_eq!(data["practitioner"]["active"], false);
}

#[tokio::test]
async fn failed_logins_are_limited_per_account() {
    let app = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ACCOUNT".into(), "3".into());
    })
    .await;
    let admin = app.system_admin().await;
    // Successes are not counted.
    for _ in 0..4 {
        assert!(app.login(&admin.email, PASSWORD).await["data"]["login"].is_object());
    }
    for _ in 0..3 {
        let body = app.login(&admin.email, "wrong wrong wrong").await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
    // Now even the right password is refused for this account…
    let body = app.login(&admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    // …and told when to try again: within the window.
    let retry = body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{body}");
    // …while another account from the same address still signs in.
    let other = app
        .given_agency(&admin, "Pier Road Nursery", "EARLY_YEARS", false)
        .await;
    let other_user = app.given_practitioner(&admin, &other, "PRACTITIONER").await;
    assert!(app.login(&other_user.email, PASSWORD).await["data"]["login"].is_object());
    assert!(app.count("audit_events", "action = 'LOGIN_RATE_LIMITED'") >= 1);
    assert_eq!(app.count("audit_events", "action = 'LOGIN_FAILED'"), 3);
}

#[tokio::test]
async fn a_concurrent_burst_evaluates_at_most_the_limit() {
    let app = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ACCOUNT".into(), "5".into());
    })
    .await;
    let admin = app.system_admin().await;
    // 30 wrong passwords at once.
    let attempts: Vec<_> = (0..30)
        .map(|_| app.login(&admin.email, "wrong wrong wrong"))
        .collect();
    let answers = futures_util::future::join_all(attempts).await;
    let limited = answers
        .iter()
        .filter(|b| error_code(b) == Some("RATE_LIMITED"))
        .count();
    let evaluated = answers.len() - limited;
    assert!(evaluated <= 5, "{evaluated} attempts were evaluated");
    assert_eq!(
        app.count("audit_events", "action = 'LOGIN_FAILED'") as usize,
        evaluated
    );
    assert_eq!(
        app.count("audit_events", "action = 'LOGIN_RATE_LIMITED'") as usize,
        limited
    );
    // The limit now holds for the right password too.
    let body = app.login(&admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
}

#[tokio::test]
async fn a_very_long_email_is_a_wrong_sign_in_not_an_error() {
    let app = spawn_app().await;
    let email = format!("{}@example.org", "a".repeat(4000));
    for _ in 0..3 {
        let body = app.login(&email, "whatever it is").await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    let unknown = app.login("nobody@example.org", "whatever it is").await;
    assert_eq!(
        app.login(&email, "whatever it is").await["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let app = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ADDRESS".into(), "4".into());
    })
    .await;
    let admin = app.system_admin().await;
    for i in 0..4 {
        let body = app
            .login(&format!("guess{i}@nowhere.example"), "wrong wrong wrong")
            .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
    let body = app.login(&admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
}

#[tokio::test]
async fn limits_are_shared_between_server_processes() {
    // Two servers over one database: failures counted by one are seen by the other.
    let a = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ACCOUNT".into(), "2".into());
    })
    .await;
    let admin = a.system_admin().await;
    let url = a.database_url.clone();
    let b = spawn_app_with(move |v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ACCOUNT".into(), "2".into());
        v.insert("DATABASE_URL".into(), url);
    })
    .await;
    a.login(&admin.email, "wrong wrong wrong").await;
    b.login(&admin.email, "wrong wrong wrong").await;
    let body = a.login(&admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"));
    let body = b.login(&admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"));
}

/// A failed sign-in sent with an `X-Forwarded-For` header.
async fn login_via(app: &TestApp, forwarded_for: &str, email: &str) -> Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            "variables": { "e": email, "p": "wrong wrong wrong" },
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_count_the_forwarded_client() {
    let app = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ADDRESS".into(), "2".into());
        v.insert("TRUSTED_PROXIES".into(), "127.0.0.0/8, ::1".into());
    })
    .await;
    for i in 0..2 {
        let body = login_via(&app, "203.0.113.5", &format!("a{i}@nowhere.example")).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    let body = login_via(&app, "203.0.113.5", "a9@nowhere.example").await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    // Another client behind the same proxy is counted apart.
    let body = login_via(&app, "198.51.100.7", "b@nowhere.example").await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert_eq!(
        app.count(
            "audit_events",
            "action = 'LOGIN_FAILED' AND client_addr = '203.0.113.5'"
        ),
        2
    );
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_address() {
    let app = spawn_app_with(|v| {
        v.insert("LOGIN_MAX_FAILURES_PER_ADDRESS".into(), "2".into());
    })
    .await;
    for i in 0..2 {
        let body = login_via(
            &app,
            &format!("203.0.113.{i}"),
            &format!("a{i}@nowhere.example"),
        )
        .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    let body = login_via(&app, "203.0.113.77", "c@nowhere.example").await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    assert_eq!(
        app.count("audit_events", "client_addr LIKE '203.0.113.%'"),
        0
    );
}
