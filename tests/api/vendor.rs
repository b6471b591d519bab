//! The vendor API as a case-management system would use it: an agency admin registers an API
//! client, the client gets tokens from `/oauth/token` (a shared secret or a signed assertion)
//! and reads teams under `/api/v1` as its agency (rule 10): refused without the scope, at once
//! when revoked, over its rate limit, and never told of a hidden service.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;
use uuid::Uuid;

const CREATE_CLIENT: &str = "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) \
     { clientSecret client { id name scopes authentication revokedAt agency { id } } } }";
const ES256_PRIVATE: &str = include_str!("../keys/vendor-client-es256.pem");
const ES256_PUBLIC: &str = include_str!("../keys/vendor-client-es256.pub.pem");

/// A town with a school and a social-care service: a teacher registered a child, a social
/// worker joined the team; an admin of each agency.
struct Town {
    care: String,
    care_admin: User,
    school_admin: User,
    worker: User,
    child: String,
}

async fn town(app: &TestApp) -> Town {
    let sys = app.system_admin().await;
    let care = app
        .given_agency(&sys, &format!("Care {}", short()), "SOCIAL_CARE", false)
        .await;
    let school = app
        .given_agency(&sys, &format!("School {}", short()), "EDUCATION", false)
        .await;
    let care_admin = app.given_practitioner(&sys, &care, "AGENCY_ADMIN").await;
    let school_admin = app.given_practitioner(&sys, &school, "AGENCY_ADMIN").await;
    let worker = app.given_practitioner(&sys, &care, "PRACTITIONER").await;
    let teacher = app.given_practitioner(&sys, &school, "PRACTITIONER").await;
    let child = register(app, &teacher, "Maisie", "Thorne").await;
    join(app, &worker, &child, "Allocated social worker", None).await;
    Town {
        care,
        care_admin,
        school_admin,
        worker,
        child,
    }
}

async fn register(app: &TestApp, by: &User, given: &str, family: &str) -> String {
    let data = app
        .gql_ok(
            Some(&by.token),
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { child { id } } }",
            json!({ "i": { "givenName": given, "familyName": family,
                           "dateOfBirth": "2016-05-04", "role": "Class teacher" } }),
        )
        .await;
    data["registerChild"]["child"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn join(app: &TestApp, by: &User, child: &str, role: &str, sensitivity: Option<&str>) {
    let mut input = json!({ "childId": child, "role": role, "reason": "Allocated" });
    if let Some(s) = sensitivity {
        input["sensitivity"] = json!(s);
    }
    app.gql_ok(
        Some(&by.token),
        "mutation($i: JoinTeamInput!) { joinTeam(input: $i) { id } }",
        json!({ "i": input }),
    )
    .await;
}

/// Registers a client as `admin`; returns (client id, secret).
async fn client(app: &TestApp, admin: &User, scopes: &[&str]) -> (String, String) {
    let data = app
        .gql_ok(
            Some(&admin.token),
            CREATE_CLIENT,
            json!({ "i": { "name": "Mosaic case system", "scopes": scopes } }),
        )
        .await;
    let created = &data["createApiClient"];
    (
        created["client"]["id"].as_str().unwrap().to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// `POST /oauth/token` with a Basic header; returns the status and body.
async fn token_request(app: &TestApp, id: &str, secret: &str, form: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn access_token(app: &TestApp, id: &str, secret: &str) -> String {
    let (status, body) = token_request(app, id, secret, "grant_type=client_credentials").await;
    assert_eq!(status, 200, "{body:#}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `GET` under the vendor API with a bearer token: status, headers, body text.
async fn get(app: &TestApp, token: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = app
        .client
        .get(format!("{}/api/v1{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    patchwork_tests::serde_json::from_str(text).expect("a JSON body")
}

#[tokio::test]
async fn a_vendor_gets_a_token_and_reads_the_team_of_a_child_its_agency_works_with() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;

    // Shown once, stored as a digest only.
    assert_eq!(
        app.count(
            "api_clients",
            &format!("id = '{id}' AND secret_hash = sha256(convert_to('{secret}', 'UTF8'))")
        ),
        1
    );
    let listed = app
        .gql_ok(
            Some(&t.care_admin.token),
            "{ apiClients { id name scopes authentication agency { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["apiClients"],
        json!([{ "id": id, "name": "Mosaic case system", "scopes": ["TEAMS_READ"],
                 "authentication": "client_secret_basic", "agency": { "id": t.care } }])
    );

    let (status, body) = token_request(&app, &id, &secret, "grant_type=client_credentials").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "teams:read");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let token = body["access_token"].as_str().unwrap();

    let (status, headers, text) = get(&app, token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(status, 200, "{text}");
    let team = json_of(&text);
    assert_eq!(team["child"]["id"], json!(t.child));
    assert_eq!(team["child"]["givenName"], "Maisie");
    let mut members: Vec<&str> = team["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, ["Allocated social worker", "Class teacher"]);
    let worker = team["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "Allocated social worker")
        .map(|m| &m["practitioner"])
        .unwrap();
    assert_eq!(worker["id"], json!(t.worker.id));
    assert_eq!(worker["email"], json!(t.worker.email));
    assert_eq!(
        headers["ratelimit-policy"].to_str().unwrap(),
        "\"default\";q=600;w=60"
    );
    assert!(headers["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"default\";r=598;t="));

    // Audited with the client as actor: the token, and the read against the child.
    assert_eq!(
        app.count(
            "audit_events",
            &format!("actor_id = '{id}' AND action = 'API_TOKEN_ISSUED'")
        ),
        1
    );
    assert_eq!(
        app.count(
            "audit_events",
            &format!(
                "actor_id = '{id}' AND action = 'CHILD_VIEWED' AND child_id = '{}'",
                t.child
            )
        ),
        1
    );
}

#[tokio::test]
async fn a_vendor_reads_only_children_its_agency_works_with_and_cannot_tell_them_from_none() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let sys = app.system_admin().await;
    let elsewhere = app
        .given_agency(&sys, &format!("Clinic {}", short()), "HEALTH", false)
        .await;
    let nurse = app
        .given_practitioner(&sys, &elsewhere, "PRACTITIONER")
        .await;
    let other_child = register(&app, &nurse, "Jonah", "Pike").await;

    let (id, secret) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;
    let token = access_token(&app, &id, &secret).await;
    let (status, headers, theirs) =
        get(&app, &token, &format!("/children/{other_child}/team")).await;
    let (_, _, nobodys) = get(&app, &token, &format!("/children/{}/team", Uuid::new_v4())).await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(
        theirs, nobodys,
        "a child out of reach answers like no child"
    );
    let problem = json_of(&theirs);
    assert_eq!(problem["code"], "NOT_FOUND");
    assert_eq!(problem["status"], 404);

    let (status, _, bad) = get(&app, &token, "/children/not-an-id/team").await;
    assert_eq!(status, 422);
    let bad = json_of(&bad);
    assert_eq!(bad["code"], "BAD_USER_INPUT");
    assert_eq!(bad["fields"][0]["field"], "id");
}

#[tokio::test]
async fn only_agency_admins_register_clients_and_bad_input_names_the_field() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let refused = app
        .gql(
            Some(&t.worker.token),
            CREATE_CLIENT,
            json!({ "i": { "name": "Mine", "scopes": ["TEAMS_READ"] } }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let sys = app.system_admin().await;
    let refused = app
        .gql(
            Some(&sys.token),
            CREATE_CLIENT,
            json!({ "i": { "name": "Install-wide", "scopes": ["TEAMS_READ"] } }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let bad = app
        .gql(
            Some(&t.care_admin.token),
            CREATE_CLIENT,
            json!({ "i": { "name": " ", "scopes": [], "publicKeyPem": "not a key" } }),
        )
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
    assert_eq!(error_fields(&bad), ["name", "scopes", "publicKeyPem"]);
    assert_eq!(app.count("api_clients", "true"), 0);
    // Another agency's client cannot be revoked, and looks like none.
    let (id, _) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;
    let revoke = "mutation($id: ID!) { revokeApiClient(id: $id) { id } }";
    let theirs = app
        .gql(Some(&t.school_admin.token), revoke, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&theirs), Some("NOT_FOUND"));
    assert_eq!(app.count("api_clients", "revoked_at IS NULL"), 1);
}

#[tokio::test]
async fn tokens_are_refused_for_a_wrong_secret_a_revoked_client_a_missing_scope_and_the_other_api()
{
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;

    let (status, wrong) =
        token_request(&app, &id, "not-the-secret", "grant_type=client_credentials").await;
    let (_, unknown) = token_request(
        &app,
        &Uuid::new_v4().to_string(),
        &secret,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(wrong["error"], "invalid_client");
    assert_eq!(
        wrong, unknown,
        "an unknown client and a wrong secret answer alike"
    );
    let (status, body) = token_request(&app, &id, &secret, "grant_type=password").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token_request(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=children%3Awrite",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    assert_eq!(
        app.count("audit_events", "action = 'API_CLIENT_REFUSED'"),
        2
    );

    // The two APIs do not take each other's tokens.
    let token = access_token(&app, &id, &secret).await;
    let graphql = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&graphql), Some("UNAUTHENTICATED"));
    let (status, headers, _) = get(
        &app,
        &t.worker.token,
        &format!("/children/{}/team", t.child),
    )
    .await;
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    // A scope not granted is 403, and says which.
    let (narrow, narrow_secret) = client(&app, &t.care_admin, &["CHILDREN_READ"]).await;
    let narrow_token = access_token(&app, &narrow, &narrow_secret).await;
    let (status, headers, body) =
        get(&app, &narrow_token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(json_of(&body)["code"], "FORBIDDEN");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"insufficient_scope\", scope=\"teams:read\""));

    // Revoked: the token already issued stops working at once, and no new one is given.
    let revoked = app
        .gql_ok(
            Some(&t.care_admin.token),
            "mutation($id: ID!) { revokeApiClient(id: $id) { id revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(revoked["revokeApiClient"]["revokedAt"].is_string());
    let (status, _, _) = get(&app, &token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(status, 401);
    let (status, _) = token_request(&app, &id, &secret, "grant_type=client_credentials").await;
    assert_eq!(status, 401);
}

/// A `private_key_jwt` assertion for `client`, signed with the test key.
fn assertion(app: &TestApp, client: &str, jti: &str, audience: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": client, "sub": client, "jti": jti, "iat": now, "exp": now + 60,
        "aud": audience.map_or_else(
            || format!("{}/oauth/token", app.state.config.public_url.trim_end_matches('/')),
            str::to_owned,
        ),
    });
    let key = jsonwebtoken::EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )
    .unwrap()
}

async fn assert_with(app: &TestApp, assertion: &str) -> (u16, Value) {
    let form = format!(
        "grant_type=client_credentials&client_assertion_type=\
         urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    let res = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_client_with_a_registered_key_signs_single_use_assertions() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let data = app
        .gql_ok(
            Some(&t.care_admin.token),
            CREATE_CLIENT,
            json!({ "i": { "name": "Health records", "scopes": ["TEAMS_READ"],
                           "publicKeyPem": ES256_PUBLIC } }),
        )
        .await;
    let created = &data["createApiClient"];
    assert!(created["clientSecret"].is_null());
    assert_eq!(created["client"]["authentication"], "private_key_jwt");
    let id = created["client"]["id"].as_str().unwrap();

    let signed = assertion(&app, id, "first", None);
    let (status, body) = assert_with(&app, &signed).await;
    assert_eq!(status, 200, "{body:#}");
    let token = body["access_token"].as_str().unwrap();
    let (status, _, _) = get(&app, token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(status, 200);

    // Replayed, or meant for another server: refused.
    let (status, body) = assert_with(&app, &signed).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let elsewhere = assertion(
        &app,
        id,
        "second",
        Some("https://elsewhere.example/oauth/token"),
    );
    let (status, _) = assert_with(&app, &elsewhere).await;
    assert_eq!(status, 401);
    // A shared secret is no proof for a client that signs.
    let (status, _) = token_request(&app, id, "anything", "grant_type=client_credentials").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_client_over_its_limit_is_told_when_to_retry() {
    let app = spawn_app_with(|env| {
        env.insert("API_RATE_LIMIT".into(), "3".into());
    })
    .await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;
    let token = access_token(&app, &id, &secret).await; // the first of three
    let path = format!("/children/{}/team", t.child);
    assert_eq!(get(&app, &token, &path).await.0, 200);
    let (status, headers, _) = get(&app, &token, &path).await;
    assert_eq!(status, 200);
    assert!(headers["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"default\";r=0;"));
    let (status, headers, body) = get(&app, &token, &path).await;
    assert_eq!(status, 429);
    assert_eq!(json_of(&body)["code"], "RATE_LIMITED");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
}

/// The team a vendor of the school reads, normalised: the same story with and without a
/// domestic-abuse service's restricted involvement must look byte-identical.
async fn school_vendor_view(hidden: bool) -> (String, String) {
    let app = spawn_app().await;
    let sys = app.system_admin().await;
    let school = app
        .given_agency(&sys, &format!("School {}", short()), "EDUCATION", false)
        .await;
    let refuge = app
        .given_agency(&sys, &format!("Refuge {}", short()), "DOMESTIC_ABUSE", true)
        .await;
    let school_admin = app.given_practitioner(&sys, &school, "AGENCY_ADMIN").await;
    let teacher = app.given_practitioner(&sys, &school, "PRACTITIONER").await;
    let advocate = app.given_practitioner(&sys, &refuge, "PRACTITIONER").await;
    let child = register(&app, &teacher, "Ruby", "Ashdown").await;
    if hidden {
        join(&app, &advocate, &child, "IDVA", Some("RESTRICTED")).await;
    }
    // A child known only to the hidden service.
    let only_hidden = register(&app, &advocate, "Tobias", "Wren").await;
    let (id, secret) = client(&app, &school_admin, &["TEAMS_READ"]).await;
    let token = access_token(&app, &id, &secret).await;
    let (status, _, team) = get(&app, &token, &format!("/children/{child}/team")).await;
    assert_eq!(status, 200);
    let (status, _, none) = get(&app, &token, &format!("/children/{only_hidden}/team")).await;
    assert_eq!(status, 404);
    let (_, _, nobody) = get(&app, &token, &format!("/children/{}/team", Uuid::new_v4())).await;
    assert_eq!(
        none, nobody,
        "a child only the hidden service knows is no child"
    );
    // Ids, emails and generated names differ between any two stories; the rest must not.
    let normalised = |text: &str| {
        let mut v = json_of(text);
        v["child"]["id"] = json!("<id>");
        let mut members: Vec<String> = Vec::new();
        for m in v["team"].as_array_mut().into_iter().flatten() {
            m["involvementId"] = json!("<id>");
            m["practitioner"]["id"] = json!("<id>");
            m["practitioner"]["email"] = json!("<email>");
            m["agency"]["id"] = json!("<id>");
            m["agency"]["name"] = json!("<agency>");
            members.push(m.to_string());
        }
        members.sort();
        format!("{} {}", v["child"], members.join(","))
    };
    (normalised(&team), none)
}

#[tokio::test]
async fn a_vendor_outside_a_hidden_service_sees_the_same_team_with_or_without_it() {
    let (without, none_without) = school_vendor_view(false).await;
    let (with, none_with) = school_vendor_view(true).await;
    assert_eq!(without, with);
    assert_eq!(none_without, none_with);
}

#[tokio::test]
async fn the_openapi_document_is_served_as_committed_and_other_methods_are_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/openapi.yaml", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served = res.text().await.unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/patchwork.yaml"
    ))
    .unwrap();
    assert_eq!(served, committed);

    let res = app
        .client
        .delete(format!(
            "{}/api/v1/children/{}/team",
            app.address,
            Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET");
    let res = app
        .client
        .get(format!("{}/oauth/token", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
}
