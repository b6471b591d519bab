//! Each process keeps who its callers are between requests; a deactivation or a revoked
//! agreement made through any process still takes effect at the next request in every other.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::served::serve_with;
use patchwork_tests::world::*;
use patchwork_tests::*;

/// A GraphQL request to the server at `address`.
async fn gql_at(app: &TestApp, address: &str, token: &str, query: &str, variables: Value) -> Value {
    app.client
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const TEAM: &str = "query($id: ID!) { child(id: $id) { team { practitioner { id } } } }";

fn members(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["data"]["child"]["team"]
        .as_array()
        .unwrap_or_else(|| panic!("{body:#}"))
        .iter()
        .map(|m| s(&m["practitioner"]["id"]))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_deactivation_or_a_revoked_agreement_through_one_process_holds_at_once_in_another() {
    let app = spawn_app().await;
    let t = small_town(&app).await;
    let refuge_admin = person(&app, &t.sys, &t.refuge, "AGENCY_ADMIN", "Rae Admin").await;
    t.advocate_joins(&app).await;
    join(&app, &t.worker, &t.child, "Allocated social worker").await;
    let shared = agreement(&app, &refuge_admin, &t.care, day(0), None).await;
    // The other process: the same database, its own memory.
    let other = serve_with(&app, &[]).await;
    let vars = json!({ "id": t.child });

    // Through the agreement the social worker sees the advocate, and the other process now
    // keeps who the worker is.
    gql_at(&app, &other.address, &t.worker.token, TEAM, vars.clone()).await;
    let before = gql_at(&app, &other.address, &t.worker.token, TEAM, vars.clone()).await;
    assert!(members(&before).contains(&t.advocate.id), "{before:#}");
    let revoked = revoke(&app, &refuge_admin, &s(&shared["id"])).await;
    assert!(revoked["errors"].is_null(), "{revoked:#}");
    let after = gql_at(&app, &other.address, &t.worker.token, TEAM, vars.clone()).await;
    assert!(!members(&after).contains(&t.advocate.id), "{after:#}");
    assert_eq!(members(&after).len(), members(&before).len() - 1);

    // The teacher, kept by the other process, is deactivated through this one.
    let me = gql_at(
        &app,
        &other.address,
        &t.teacher.token,
        "{ me { id } }",
        json!({}),
    )
    .await;
    assert_eq!(me["data"]["me"]["id"], t.teacher.id.as_str());
    app.gql_ok(
        Some(&t.school_admin.token),
        "mutation($id: ID!) { deactivatePractitioner(id: $id) { id } }",
        json!({ "id": t.teacher.id }),
    )
    .await;
    let refused = gql_at(&app, &other.address, &t.teacher.token, TEAM, vars).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused:#}");
}
