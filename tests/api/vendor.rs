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

/// What a vendor of the school is told, and what its calls cost, in one story.
struct SchoolVendorView {
    /// The team, normalised.
    team: String,
    /// The answer for a child only the hidden service knows.
    none: String,
    /// SQL statements each call sent: the team, the child only the hidden service knows, a
    /// child that does not exist. The same work whatever is hidden leaves timing nothing
    /// to tell.
    statements: [u64; 3],
}

/// The team a vendor of the school reads, normalised: the same story with and without a
/// domestic-abuse service's restricted involvement must look byte-identical.
async fn school_vendor_view(hidden: bool) -> SchoolVendorView {
    let app = spawn_quiet_app().await;
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
    // A first call settles what is done once per client (e.g. its rate window).
    get(&app, &token, &format!("/children/{child}/team")).await;
    let counted = |path: String| {
        let app = &app;
        let token = &token;
        async move {
            let before = app.state.statements.get();
            let answer = get(app, token, &path).await;
            (answer, app.state.statements.get() - before)
        }
    };
    let ((status, _, team), team_cost) = counted(format!("/children/{child}/team")).await;
    assert_eq!(status, 200);
    let ((status, _, none), none_cost) = counted(format!("/children/{only_hidden}/team")).await;
    assert_eq!(status, 404);
    let ((_, _, nobody), nobody_cost) = counted(format!("/children/{}/team", Uuid::new_v4())).await;
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
    SchoolVendorView {
        team: normalised(&team),
        none,
        statements: [team_cost, none_cost, nobody_cost],
    }
}

#[tokio::test]
async fn a_vendor_outside_a_hidden_service_sees_the_same_team_with_or_without_it() {
    let without = school_vendor_view(false).await;
    let with = school_vendor_view(true).await;
    assert_eq!(without.team, with.team);
    assert_eq!(without.none, with.none);
    // Nor by the work done: the same statements for the team whatever is hidden in it, and for
    // a child only the hidden service knows as for no child at all.
    assert_eq!(without.statements, with.statements);
    assert_eq!(
        with.statements[1], with.statements[2],
        "{:?}",
        with.statements
    );
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

/// `PUT` under the vendor API with a JSON body: status and body.
async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .put(format!("{}/api/v1{path}", app.address))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const ALL_SCOPES: [&str; 5] = [
    "CHILDREN_READ",
    "CHILDREN_WRITE",
    "INVOLVEMENTS_WRITE",
    "CONTACTS_WRITE",
    "TEAMS_READ",
];

fn maisie() -> Value {
    json!({ "givenName": "Maisie", "familyName": "Thorne", "dateOfBirth": "2016-05-04",
            "nhsNumber": "943 476 5919", "postcode": "kb1 4ax" })
}

#[tokio::test]
async fn a_vendor_upserts_a_child_allocates_a_worker_records_a_visit_and_ends_it_by_its_own_references(
) {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;

    // The child, by the vendor's reference: not on Patchwork until someone is allocated.
    let (status, child) = put(&app, &token, "/children/MOSAIC-1001", maisie()).await;
    assert_eq!(status, 201, "{child:#}");
    assert_eq!(child["ref"], "MOSAIC-1001");
    assert_eq!(child["id"], Value::Null);
    assert_eq!(child["nhsNumber"], "9434765919");
    assert_eq!(child["postcode"], "KB1 4AX");
    let (status, again) = put(&app, &token, "/children/MOSAIC-1001", maisie()).await;
    assert_eq!((status, &again), (200, &child));
    let (status, _, read) = get(&app, &token, "/children/MOSAIC-1001").await;
    assert_eq!((status, json_of(&read)), (200, child.clone()));

    // Allocating the social worker puts Maisie on Patchwork: the teacher's record, matched
    // by names and date of birth, not a duplicate.
    let allocation = json!({ "childRef": "MOSAIC-1001", "role": "Allocated social worker",
                             "practitioner": { "email": t.worker.email.to_uppercase() } });
    let (status, first) = put(&app, &token, "/involvements/ALLOC-77", allocation.clone()).await;
    // The worker joined through the app already: the reference now names that involvement.
    assert_eq!(status, 201, "{first:#}");
    assert_eq!(first["childId"], json!(t.child));
    assert_eq!(first["practitioner"]["id"], json!(t.worker.id));
    let (status, second) = put(&app, &token, "/involvements/ALLOC-77", allocation.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(app.count("children", "true"), 1);

    // A newcomer without an account is created in the agency and invited.
    let newcomer = format!("new-{}@care.example", short());
    let (status, invited) = put(
        &app,
        &token,
        "/involvements/ALLOC-78",
        json!({ "childRef": "MOSAIC-1001", "role": "Family support worker",
                "practitioner": { "email": newcomer, "displayName": "Nia Okafor", "staffRef": "S-204" } }),
    )
    .await;
    assert_eq!(status, 201, "{invited:#}");
    assert_eq!(invited["practitioner"]["displayName"], "Nia Okafor");
    assert_eq!(
        app.count(
            "practitioners",
            &format!(
                "email = '{newcomer}' AND agency_id = '{}' AND staff_ref = 'S-204'",
                t.care
            )
        ),
        1
    );
    assert_eq!(
        app.count(
            "notifications",
            &format!(
                "kind = 'INVITATION' AND recipient_id = '{}'",
                invited["practitioner"]["id"].as_str().unwrap()
            )
        ),
        1
    );
    // Named by staff reference from now on.
    let (status, same) = put(
        &app,
        &token,
        "/involvements/ALLOC-78",
        json!({ "childRef": "MOSAIC-1001", "role": "Family support worker",
                "practitioner": { "staffRef": "S-204" } }),
    )
    .await;
    assert_eq!((status, &same["id"]), (200, &invited["id"]));

    // A visit, by reference: once.
    let visit = json!({ "involvementRef": "ALLOC-78", "kind": "HOME_VISIT", "outcome": "HAPPENED",
                        "at": "2026-12-01T10:30:00Z" });
    let (status, contact) = put(&app, &token, "/contacts/VISIT-1", visit.clone()).await;
    assert_eq!(status, 201, "{contact:#}");
    let (status, again) = put(&app, &token, "/contacts/VISIT-1", visit.clone()).await;
    assert_eq!((status, &again), (200, &contact));
    let mut changed = visit.clone();
    changed["outcome"] = json!("NO_ACCESS");
    let (status, conflict) = put(&app, &token, "/contacts/VISIT-1", changed).await;
    assert_eq!((status, conflict["code"].as_str()), (409, Some("CONFLICT")));
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap()
            .contains("does not change"),
        "{conflict:#}"
    );
    assert_eq!(app.count("contacts", "true"), 1);

    // The team shows the allocation; ending it takes it off.
    let team_roles = |text: String| -> Vec<String> {
        let mut roles: Vec<String> = json_of(&text)["team"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap().to_owned())
            .collect();
        roles.sort();
        roles
    };
    let (_, _, team) = get(&app, &token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(
        team_roles(team),
        [
            "Allocated social worker",
            "Class teacher",
            "Family support worker"
        ]
    );
    let mut ending = json!({ "childRef": "MOSAIC-1001", "role": "Family support worker",
                             "practitioner": { "staffRef": "S-204" } });
    ending["endedOn"] = json!(chrono::Utc::now().date_naive().to_string());
    let (status, ended) = put(&app, &token, "/involvements/ALLOC-78", ending.clone()).await;
    assert_eq!(status, 200, "{ended:#}");
    assert!(ended["endedOn"].is_string());
    let (status, _) = put(&app, &token, "/involvements/ALLOC-78", ending).await;
    assert_eq!(status, 200);
    let (_, _, team) = get(&app, &token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(
        team_roles(team),
        ["Allocated social worker", "Class teacher"]
    );

    // Every write audited with the client as actor.
    for action in [
        "AGENCY_CHILD_RECORDED",
        "INVOLVEMENT_ALLOCATED",
        "CONTACT_RECORDED",
        "INVOLVEMENT_ENDED",
        "PRACTITIONER_CREATED",
    ] {
        assert!(
            app.count(
                "audit_events",
                &format!("actor_id = '{id}' AND action = '{action}'")
            ) >= 1,
            "{action}"
        );
    }
}

#[tokio::test]
async fn vendor_writes_name_every_field_at_fault_and_change_nothing() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    let fields = |body: &Value| -> Vec<String> {
        body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, bad) = put(&app, &token, "/children/X1", json!({ "givenName": 7 })).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("BAD_USER_INPUT"))
    );
    assert_eq!(fields(&bad), ["givenName", "familyName", "dateOfBirth"]);
    let (status, bad) = put(
        &app,
        &token,
        "/children/X1",
        json!({ "givenName": "A", "familyName": "B", "dateOfBirth": "2999-01-01",
                "nhsNumber": "1234567890", "schoolUpn": "bad", "postcode": "nowhere" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        fields(&bad),
        ["dateOfBirth", "postcode", "nhsNumber", "schoolUpn"]
    );
    let (status, bad) = put(
        &app,
        &token,
        "/involvements/A1",
        json!({ "childRef": "nobody", "role": "Worker", "practitioner": { "email": t.worker.email } }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&bad), ["childRef"]);
    let (status, bad) = put(&app, &token, "/involvements/A1", json!({ "role": " " })).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&bad), ["childRef", "practitioner", "role"]);
    let (status, bad) = put(
        &app,
        &token,
        "/contacts/C1",
        json!({ "involvementRef": "A1", "kind": "SEANCE", "outcome": "HAPPENED", "at": "yesterday" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&bad), ["kind", "at"]);
    let res = app
        .client
        .put(format!("{}/api/v1/children/X1", app.address))
        .bearer_auth(&token)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(app.count("agency_children", "true"), 0);
    assert_eq!(app.count("agency_involvements", "true"), 0);
    // Each write needs its own scope.
    let (narrow, narrow_secret) = client(&app, &t.care_admin, &["TEAMS_READ"]).await;
    let narrow_token = access_token(&app, &narrow, &narrow_secret).await;
    let (status, _) = put(&app, &narrow_token, "/children/X1", maisie()).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn concurrent_retries_of_one_allocation_make_one_child_and_one_involvement() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    let newcomer = json!({ "childRef": "R-9", "role": "Social worker",
                           "practitioner": { "email": t.worker.email } });
    let child = json!({ "givenName": "Eden", "familyName": "Lowry", "dateOfBirth": "2019-02-11" });
    let children: Vec<_> = (0..6)
        .map(|_| put(&app, &token, "/children/R-9", child.clone()))
        .collect();
    let statuses: Vec<u16> = futures_util::future::join_all(children)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    let allocations: Vec<_> = (0..6)
        .map(|_| put(&app, &token, "/involvements/A-9", newcomer.clone()))
        .collect();
    let answers = futures_util::future::join_all(allocations).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(answers
        .iter()
        .all(|(s, b)| (*s == 200 || *s == 201) && b["id"] == answers[0].1["id"]));
    assert_eq!(
        app.count("children", "true"),
        2,
        "the teacher's child and Eden"
    );
    assert_eq!(
        app.count(
            "involvements",
            &format!("practitioner_id = '{}'", t.worker.id)
        ),
        2,
        "Maisie and Eden, once each"
    );
}

/// What a school's system is told when it allocates its teacher to a child that, in the
/// hidden story, a domestic-abuse service alone already knows.
async fn school_allocates(hidden: bool) -> Vec<String> {
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
    if hidden {
        let data = app
            .gql_ok(
                Some(&advocate.token),
                "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
                json!({ "i": { "givenName": "Tobias", "familyName": "Wren",
                               "dateOfBirth": "2015-08-30", "postcode": "KB3 9QT",
                               "role": "IDVA" } }),
            )
            .await;
        assert!(data["registerChild"]["id"].is_string());
    }
    let (id, secret) = client(&app, &school_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    let mut seen = Vec::new();
    let (status, child) = put(
        &app,
        &token,
        "/children/PUPIL-1",
        json!({ "givenName": "Tobias", "familyName": "Wren", "dateOfBirth": "2015-08-30" }),
    )
    .await;
    seen.push(format!("{status} {child}"));
    let (status, mut allocation) = put(
        &app,
        &token,
        "/involvements/CLASS-1",
        json!({ "childRef": "PUPIL-1", "role": "Class teacher",
                "practitioner": { "email": teacher.email } }),
    )
    .await;
    let child_id = allocation["childId"].as_str().unwrap().to_owned();
    for key in ["id", "childId", "startedOn"] {
        allocation[key] = json!("<x>");
    }
    allocation["practitioner"]["id"] = json!("<x>");
    allocation["practitioner"]["email"] = json!("<x>");
    seen.push(format!("{status} {allocation}"));
    let (status, _, team) = get(&app, &token, &format!("/children/{child_id}/team")).await;
    let mut team = json_of(&team);
    team["child"]["id"] = json!("<x>");
    for m in team["team"].as_array_mut().unwrap() {
        for key in ["involvementId", "startedOn"] {
            m[key] = json!("<x>");
        }
        for key in ["id", "email"] {
            m["practitioner"][key] = json!("<x>");
        }
        for key in ["id", "name"] {
            m["agency"][key] = json!("<x>");
        }
    }
    seen.push(format!("{status} {team}"));
    let (status, _, child) = get(&app, &token, "/children/PUPIL-1").await;
    let mut child = json_of(&child);
    child["id"] = json!("<x>");
    seen.push(format!("{status} {child}"));
    seen
}

#[tokio::test]
async fn a_vendor_allocating_to_a_child_only_a_hidden_service_knows_is_told_nothing_of_it() {
    let without = school_allocates(false).await;
    let with = school_allocates(true).await;
    assert_eq!(without, with);
}

#[tokio::test]
async fn a_deeply_nested_body_is_refused_and_the_server_goes_on() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    for body in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            "{{\"givenName\": {}1{}}}",
            "{\"a\":".repeat(50_000),
            "}".repeat(50_000)
        ),
    ] {
        let res = app
            .client
            .put(format!("{}/api/v1/children/DEEP-1", app.address))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "BAD_USER_INPUT");
    }
    let (status, _, _) = get(&app, &token, &format!("/children/{}/team", t.child)).await;
    assert_eq!(status, 200, "the same process still answers");
}

#[tokio::test]
async fn the_agencys_allocations_page_by_cursor_with_a_link_to_the_next() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    put(&app, &token, "/children/MOSAIC-1001", maisie()).await;
    for n in 1..=5 {
        let email = format!("worker{n}-{}@care.example", short());
        let (status, _) = put(
            &app,
            &token,
            &format!("/involvements/A-{n}"),
            json!({ "childRef": "MOSAIC-1001", "role": "Support worker",
                    "practitioner": { "email": email, "displayName": format!("Worker {n}") } }),
        )
        .await;
        assert_eq!(status, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/involvements?first=2".to_owned();
    loop {
        let (status, headers, text) = get(&app, &token, &path).await;
        assert_eq!(status, 200, "{text}");
        let page = json_of(&text);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["ref"].as_str().unwrap().to_owned()),
        );
        match headers.get("link") {
            Some(link) => {
                let link = link.to_str().unwrap();
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                let next = link
                    .trim_start_matches("</api/v1")
                    .split('>')
                    .next()
                    .unwrap();
                assert!(next.contains(page["nextCursor"].as_str().unwrap()));
                path = next.to_owned();
            }
            None => {
                assert!(page["nextCursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(seen, ["A-1", "A-2", "A-3", "A-4", "A-5"]);
    let (status, _, bad) = get(&app, &token, "/involvements?after=%21%21").await;
    assert_eq!(
        (status, json_of(&bad)["fields"][0]["field"].clone()),
        (422, json!("after"))
    );
}

/// `POST` under the vendor API with a JSON body and, when given, an `Idempotency-Key`: the
/// status and the body as sent.
async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> (u16, String) {
    let mut req = app
        .client
        .post(format!("{}/api/v1{path}", app.address))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn a_contact_posted_with_an_idempotency_key_is_recorded_once_however_often_it_is_retried() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let (id, secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let token = access_token(&app, &id, &secret).await;
    let (status, _) = put(&app, &token, "/children/MOSAIC-1", maisie()).await;
    assert_eq!(status, 201);
    let allocation = json!({ "childRef": "MOSAIC-1", "role": "Allocated social worker",
                             "practitioner": { "email": t.worker.email } });
    let (status, _) = put(&app, &token, "/involvements/ALLOC-1", allocation).await;
    assert_eq!(status, 201);
    let visit =
        json!({ "kind": "HOME_VISIT", "outcome": "HAPPENED", "at": "2026-12-01T10:30:00Z" });
    let path = "/involvements/ALLOC-1/contacts";

    // Without a key the call is refused, and nothing is recorded.
    let (status, refused) = post(&app, &token, path, None, &visit).await;
    assert_eq!(status, 400, "{refused}");
    let refused = json_of(&refused);
    assert_eq!(refused["code"], "BAD_USER_INPUT");
    assert_eq!(refused["fields"][0]["field"], "Idempotency-Key");
    assert_eq!(app.count("contacts", "true"), 0);

    // Eight retries racing with one key: one contact, and every caller the same answer, byte
    // for byte.
    let key = Uuid::new_v4().to_string();
    let racing: Vec<_> = (0..8)
        .map(|_| post(&app, &token, path, Some(&key), &visit))
        .collect();
    let answers = futures_util::future::join_all(racing).await;
    let (status, first_text) = answers[0].clone();
    assert_eq!(status, 201, "{first_text}");
    assert!(
        answers.iter().all(|a| *a == (201, first_text.clone())),
        "{answers:#?}"
    );
    let first = json_of(&first_text);
    assert_eq!(first["involvementRef"], "ALLOC-1");
    assert_eq!(first["kind"], "HOME_VISIT");
    assert!(first.get("ref").is_none(), "{first:#}");
    assert_eq!(app.count("contacts", "true"), 1);

    // A retry later is answered the same; the same key with another body is refused.
    assert_eq!(
        post(&app, &token, path, Some(&key), &visit).await,
        (201, first_text.clone())
    );
    let mut other = visit.clone();
    other["outcome"] = json!("NO_ACCESS");
    let (status, reused) = post(&app, &token, path, Some(&key), &other).await;
    assert_eq!(status, 422, "{reused}");
    let reused = json_of(&reused);
    assert_eq!(reused["fields"][0]["field"], "Idempotency-Key");
    assert_eq!(app.count("contacts", "true"), 1);

    // A new key is a new contact; a failed call keeps nothing, so its key can be used again.
    let (status, second) = post(&app, &token, path, Some("visit-2"), &visit).await;
    assert_eq!(status, 201);
    assert_ne!(json_of(&second)["id"], first["id"]);
    let (status, _) = post(
        &app,
        &token,
        "/involvements/NO-SUCH/contacts",
        Some("visit-3"),
        &visit,
    )
    .await;
    assert_eq!(status, 404);
    let (status, third) = post(&app, &token, path, Some("visit-3"), &visit).await;
    assert_eq!(status, 201, "{third}");

    // Keys are the client's own: another client's same key is another request.
    let (other_id, other_secret) = client(&app, &t.care_admin, &ALL_SCOPES).await;
    let other_token = access_token(&app, &other_id, &other_secret).await;
    let (status, fourth) = post(&app, &other_token, path, Some(&key), &visit).await;
    assert_eq!(status, 201);
    assert_ne!(json_of(&fourth)["id"], first["id"]);
    assert_eq!(app.count("contacts", "true"), 4);
    assert_eq!(
        app.count(
            "audit_events",
            &format!("actor_id = '{id}' AND action = 'CONTACT_RECORDED'")
        ),
        3,
        "one audit event per contact recorded, none for a replay"
    );
    assert_eq!(app.count("idempotency_keys", "status = 0"), 0);
}
