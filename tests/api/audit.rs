//! The audit trail: written with every change, and append-only in the database itself.

use diesel::connection::SimpleConnection;
use patchwork_tests::serde_json::json;
use patchwork_tests::*;

#[tokio::test]
async fn the_database_refuses_to_change_or_remove_audit_events() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    app.given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let events = app.count("audit_events", "true");
    assert!(events >= 2, "login and agency creation are audited");

    let mut db = app.db();
    for sql in [
        "UPDATE audit_events SET action = 'NOTHING_HAPPENED'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = db.batch_execute(sql).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.count("audit_events", "true"), events);
}

#[tokio::test]
async fn writes_record_who_what_and_the_request() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin.token)
        .header("x-request-id", "audit-trace-0001")
        .json(&json!({
            "query": "mutation { createAgency(input: { name: \"Pier Road Nursery\", kind: EARLY_YEARS }) { id } }"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.count(
            "audit_events",
            &format!(
                "action = 'AGENCY_CREATED' AND actor_id = '{}' AND request_id = 'audit-trace-0001' AND subject_type = 'agency'",
                admin.id
            )
        ),
        1
    );
    assert_eq!(
        app.count(
            "audit_events",
            &format!("action = 'LOGIN_SUCCEEDED' AND actor_id = '{}'", admin.id)
        ),
        1
    );
}
