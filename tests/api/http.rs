//! The HTTP surface: health, readiness, request ids, body limits, GET rules, GraphiQL,
//! batches and errors that never show the database's words.

use diesel::connection::SimpleConnection;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let res = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_unreachable() {
    // Nothing listens on port 1: the database is down from the server's point of view.
    let app = spawn_app_with(|v| {
        v.insert(
            "DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:1/patchwork".into(),
        );
    })
    .await;
    let res = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the process itself is up");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for path in ["/healthz", "/graphql", "/no-such-page"] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(seen.insert(id), "ids differ");
    }
    // A sane id from the caller is kept, so logs can be joined across systems.
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "vendor-trace-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "vendor-trace-0001");
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let app = spawn_app().await;
    let padding = " ".repeat(1024 * 1024);
    let body = format!(r#"{{"query":"{{ __typename }}{padding}"}}"#);
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));

    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{ this is not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], admin.email.as_str());

    let mutation = format!(
        r#"mutation {{ logout(refreshToken: "{}") }}"#,
        admin.refresh_token
    );
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", mutation.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));
    // The session is untouched.
    let refreshed = app
        .gql(
            None,
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": admin.refresh_token }),
        )
        .await;
    assert!(refreshed["data"]["refresh"].is_object(), "{refreshed}");
}

#[tokio::test]
async fn graphiql_only_in_development() {
    let prod = spawn_app().await;
    let res = prod
        .client
        .get(format!("{}/graphql", prod.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let dev = spawn_app_with(|v| {
        v.insert("PATCHWORK_ENV".into(), "development".into());
    })
    .await;
    let res = dev
        .client
        .get(format!("{}/graphql", dev.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("graphiql"));
}

#[tokio::test]
async fn documents_refused_before_they_run() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    for doc in [
        "{ me { nope } }",
        "{ me { email ",
        "query { me { email } } query { me { id } }",
    ] {
        let body = app.gql(Some(&admin.token), doc, json!({})).await;
        assert_eq!(
            error_code(&body),
            Some("GRAPHQL_VALIDATION_FAILED"),
            "{doc}: {body}"
        );
    }
    // Too deep: the team screen nests six levels; this asks for fourteen.
    let deep = format!(
        "{{ child(id: \"{}\") {{ {}id{} }} }}",
        uuid_like(),
        "team { child { ".repeat(6),
        " } }".repeat(6)
    );
    let body = app.gql(Some(&admin.token), &deep, json!({})).await;
    assert_eq!(
        error_code(&body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );

    // Too many aliases, even of a cheap field.
    let aliased: String = (0..16).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let body = app
        .gql(Some(&admin.token), &format!("{{ {aliased} }}"), json!({}))
        .await;
    assert_eq!(
        error_code(&body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("aliases"));
    let fifteen: String = (0..15).map(|i| format!("a{i}: me {{ id }} ")).collect();
    app.gql_ok(Some(&admin.token), &format!("{{ {fifteen} }}"), json!({}))
        .await;

    // Batches are capped.
    let one = json!({ "query": "{ me { id } }" });
    let batch: Vec<Value> = std::iter::repeat_n(one.clone(), 11).collect();
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin.token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let batch: Vec<Value> = std::iter::repeat_n(one, 2).collect();
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin.token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["data"]["me"]["id"], admin.id.as_str());
}

fn uuid_like() -> &'static str {
    "6f1c2a57-0b7e-4d8a-9a51-3c0f5e2b9d11"
}

#[tokio::test]
async fn introspection_and_suggestions_only_in_development() {
    let introspect = [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"Child\") { name } }",
        "query { ...Q } fragment Q on Query { __schema { types { name } } }",
    ];
    let production = spawn_app().await;
    let admin = production.system_admin().await;
    for doc in introspect {
        for token in [None, Some(admin.token.as_str())] {
            let body = production.gql(token, doc, json!({})).await;
            assert_eq!(
                error_code(&body),
                Some("GRAPHQL_VALIDATION_FAILED"),
                "{doc}: {body}"
            );
            assert!(body["data"].is_null(), "{body}");
        }
    }
    // `__typename` is not introspection: clients need it for caching.
    let body = production
        .gql_ok(Some(&admin.token), "{ me { __typename id } }", json!({}))
        .await;
    assert_eq!(body["me"]["__typename"], "Practitioner");
    // No "did you mean" hints at field names.
    let body = production
        .gql(Some(&admin.token), "{ me { displayNam } }", json!({}))
        .await;
    assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(!body.to_string().contains("Did you mean"), "{body}");

    let development = spawn_app_with(|v| {
        v.insert("PATCHWORK_ENV".into(), "development".into());
    })
    .await;
    let body = development.gql_ok(None, introspect[0], json!({})).await;
    assert_eq!(body["__schema"]["queryType"]["name"], "Query");
    let body = development
        .gql(None, "{ me { displayNam } }", json!({}))
        .await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
}

#[tokio::test]
async fn database_failures_show_only_internal_and_a_request_id() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    // Break the schema under the running server.
    app.db()
        .batch_execute("ALTER TABLE agencies RENAME COLUMN name TO agency_name")
        .unwrap();
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin.token)
        .json(&json!({ "query": "{ agencies { name } }" }))
        .send()
        .await
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("INTERNAL"));
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        request_id.as_str()
    );
    assert_eq!(body["errors"][0]["message"], "internal error");
    let text = body.to_string();
    assert!(
        !text.contains("does not exist") && !text.contains("agency_name"),
        "{text}"
    );
}

#[tokio::test]
async fn text_with_nul_characters_is_bad_input_not_a_server_error() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let before = app.count("audit_events", "TRUE");
    // As a literal escape in the document, and inside a variable.
    let body = app
        .gql(
            Some(&admin.token),
            r#"{ searchChildren(familyName: "Ma\u0000rsh", dateOfBirth: "2015-04-12") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), vec!["familyName"]);
    let body = app
        .gql(
            Some(&admin.token),
            "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
            json!({ "i": { "name": "Nul\u{0} Agency", "kind": "HEALTH", "sensitive": false } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), vec!["input.name"]);
    assert_eq!(app.count("agencies", "name LIKE 'Nul%'"), 0);
    assert_eq!(app.count("audit_events", "TRUE"), before, "nothing ran");
}

#[tokio::test]
async fn browsers_on_the_configured_origins_may_call_the_api_and_no_others() {
    let app = spawn_app_with(|v| {
        v.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "https://app.kestrelbay.example".into(),
        );
    })
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", "https://app.kestrelbay.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.kestrelbay.example"
    );
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://app.kestrelbay.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.kestrelbay.example"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"));

    // Another origin is not allowed: no browser reads the answer.
    let other = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://elsewhere.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Unconfigured, a server sends no CORS headers at all.
    let plain = spawn_app().await;
    let res = plain
        .client
        .post(format!("{}/graphql", plain.address))
        .header("origin", "https://app.kestrelbay.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
