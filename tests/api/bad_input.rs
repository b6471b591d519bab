//! Bad input names every field at fault and writes nothing: registering, joining, involvements,
//! contacts, tasks, agreements, connections and search.

use chrono::Duration;
use patchwork_tests::serde_json::json;
use patchwork_tests::world::*;
use patchwork_tests::*;

// ---------------------------------------------------------------------------------------------
// Bad input: BAD_USER_INPUT naming the fields, and nothing written.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn register_child_bad_input_names_the_fields_and_writes_nothing() {
    let w = World::build().await;
    let q = "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }";
    let before = fingerprint(&w.app);
    let long = "x".repeat(101);
    let cases = [
        (
            json!({ "givenName": " ", "familyName": "  ", "dateOfBirth": day(2), "role": " " }),
            vec![
                "input.dateOfBirth",
                "input.familyName",
                "input.givenName",
                "input.role",
            ],
        ),
        (
            json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": "2015-01-01", "role": "" }),
            vec!["input.role"],
        ),
        (
            json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": "2015-01-01", "role": long }),
            vec!["input.role"],
        ),
        (
            json!({ "givenName": "Ada", "familyName": long, "dateOfBirth": "2015-01-01", "role": "Teacher" }),
            vec!["input.familyName"],
        ),
        (
            json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": day(30), "role": "Teacher" }),
            vec!["input.dateOfBirth"],
        ),
    ];
    for (input, fields) in cases {
        let body = w
            .app
            .gql(Some(&w.teacher.token), q, json!({ "i": input }))
            .await;
        assert_bad(&body, &fields);
        // The message names each field apart from what is wrong with it.
        let message = s(&body["errors"][0]["message"]);
        for f in &fields {
            assert!(message.contains(&format!("{f}: ")), "{message}");
        }
    }
    // Values the schema itself refuses.
    for input in [
        json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": "2015-01-01", "role": "Teacher", "sensitivity": "SECRET" }),
        json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": "2015-02-30", "role": "Teacher" }),
        json!({ "givenName": "Ada", "familyName": "Marsh", "dateOfBirth": "2015-01-01", "role": "Teacher", "lawfulBasis": "HUNCH" }),
    ] {
        let body = w
            .app
            .gql(Some(&w.teacher.token), q, json!({ "i": input }))
            .await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{input}: {body:#}"
        );
    }
    assert_eq!(fingerprint(&w.app), before, "nothing written");
}

#[tokio::test]
async fn involvement_bad_input_names_the_fields_and_writes_nothing() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    // joinTeam
    for (input, fields) in [
        (
            json!({ "childId": w.child, "role": " ", "reason": " " }),
            vec!["input.reason", "input.role"],
        ),
        (
            json!({ "childId": "not-an-id", "role": "Youth worker", "reason": "Attends" }),
            vec!["input.childId"],
        ),
        (
            json!({ "childId": w.child, "role": "x".repeat(101), "reason": "Attends" }),
            vec!["input.role"],
        ),
        (
            json!({ "childId": w.child, "role": "Youth worker", "reason": "x".repeat(1001) }),
            vec!["input.reason"],
        ),
    ] {
        let body = join_raw(&w.app, &w.outsider, input).await;
        assert_bad(&body, &fields);
    }
    let body = join_raw(
        &w.app,
        &w.outsider,
        json!({ "childId": w.child, "role": "Youth worker", "reason": "Attends", "sensitivity": "SECRET" }),
    )
    .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");
    let body = join_raw(
        &w.app,
        &w.outsider,
        json!({ "childId": uuid::Uuid::new_v4().to_string(), "role": "Youth worker", "reason": "Attends" }),
    )
    .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body:#}");

    // updateInvolvement
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let v = inv["version"].as_i64().unwrap();
    for (input, fields) in [
        (
            json!({ "id": w.teacher_inv, "expectedVersion": v, "role": "  " }),
            vec!["input.role"],
        ),
        (
            json!({ "id": w.teacher_inv, "expectedVersion": v, "role": "x".repeat(101) }),
            vec!["input.role"],
        ),
        (
            json!({ "id": "nope", "expectedVersion": 1, "role": "Teacher" }),
            vec!["input.id"],
        ),
    ] {
        let body = update(&w.app, &w.teacher, input).await;
        assert_bad(&body, &fields);
    }
    for input in [
        json!({ "id": w.teacher_inv, "expectedVersion": v, "consent": "MAYBE" }),
        json!({ "id": w.teacher_inv, "expectedVersion": v, "nextContactAt": "next tuesday" }),
    ] {
        let body = update(&w.app, &w.teacher, input.clone()).await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{input}: {body:#}"
        );
    }

    // endInvolvement
    let body = w
        .app
        .gql(Some(&w.teacher.token), END, json!({ "id": "nope", "v": 1 }))
        .await;
    assert_bad(&body, &["id"]);
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            END,
            json!({ "id": w.teacher_inv, "v": v, "r": "x".repeat(1001) }),
        )
        .await;
    assert_bad(&body, &["reason"]);
    assert_eq!(fingerprint(&w.app), before, "nothing written");
}

#[tokio::test]
async fn contact_task_and_agreement_bad_input_names_the_fields_and_writes_nothing() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    // recordContact
    let body = contact(
        &w.app,
        &w.social_worker,
        &w.sw_inv,
        "HOME_VISIT",
        "HAPPENED",
        &ts(Duration::days(1)),
    )
    .await;
    assert_bad(&body, &["input.at"]);
    let body = contact(
        &w.app,
        &w.social_worker,
        "nope",
        "HOME_VISIT",
        "HAPPENED",
        &ts(Duration::hours(-1)),
    )
    .await;
    assert_bad(&body, &["input.involvementId"]);
    for (kind, outcome, at) in [
        ("CARRIER_PIGEON", "HAPPENED", ts(Duration::hours(-1))),
        ("PHONE", "MAYBE", ts(Duration::hours(-1))),
        ("PHONE", "HAPPENED", "yesterday".to_owned()),
    ] {
        let body = contact(&w.app, &w.social_worker, &w.sw_inv, kind, outcome, &at).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");
    }

    // createTask
    for (input, fields) in [
        (
            json!({ "childId": w.child, "title": "   " }),
            vec!["input.title"],
        ),
        (
            json!({ "childId": w.child, "title": "x".repeat(201) }),
            vec!["input.title"],
        ),
        (
            json!({ "childId": w.child, "title": "Call", "description": "x".repeat(2001) }),
            vec!["input.description"],
        ),
        (
            json!({ "childId": "nope", "title": "Call" }),
            vec!["input.childId"],
        ),
        (
            json!({ "childId": w.child, "title": "Call", "assigneeId": "nope" }),
            vec!["input.assigneeId"],
        ),
    ] {
        let body = w
            .app
            .gql(Some(&w.teacher.token), CREATE_TASK, json!({ "i": input }))
            .await;
        assert_bad(&body, &fields);
    }
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Call", "dueOn": "2025-13-01" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");

    // updateTask
    for (input, fields) in [
        (
            json!({ "id": w.task_unassigned, "expectedVersion": 1, "title": " " }),
            vec!["input.title"],
        ),
        (
            json!({ "id": w.task_unassigned, "expectedVersion": 1, "title": "x".repeat(201) }),
            vec!["input.title"],
        ),
        (
            json!({ "id": "nope", "expectedVersion": 1, "status": "DONE" }),
            vec!["input.id"],
        ),
    ] {
        let body = w
            .app
            .gql(Some(&w.teacher.token), UPDATE_TASK, json!({ "i": input }))
            .await;
        assert_bad(&body, &fields);
    }
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_unassigned, "expectedVersion": 1, "status": "FINISHED" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");

    // createSharingAgreement and revokeSharingAgreement
    let create =
        "mutation($i: CreateSharingAgreementInput!) { createSharingAgreement(input: $i) { id } }";
    for (input, fields) in [
        (
            json!({ "toAgencyId": w.school, "purpose": "  ", "startsOn": day(0) }),
            vec!["input.purpose"],
        ),
        (
            json!({ "toAgencyId": w.school, "purpose": "x".repeat(1001), "startsOn": day(0) }),
            vec!["input.purpose"],
        ),
        (
            json!({ "toAgencyId": w.school, "purpose": "Safeguarding", "startsOn": day(0), "endsOn": day(-1) }),
            vec!["input.endsOn"],
        ),
        (
            json!({ "toAgencyId": "nope", "purpose": "Safeguarding", "startsOn": day(0) }),
            vec!["input.toAgencyId"],
        ),
        (
            json!({ "toAgencyId": w.da, "purpose": "Safeguarding", "startsOn": day(0) }),
            vec!["input.toAgencyId"],
        ),
    ] {
        let body = w
            .app
            .gql(Some(&w.da_admin.token), create, json!({ "i": input }))
            .await;
        assert_bad(&body, &fields);
    }
    let body = revoke(&w.app, &w.da_admin, "nope").await;
    assert_bad(&body, &["id"]);
    assert_eq!(fingerprint(&w.app), before, "nothing written");
}

#[tokio::test]
async fn connections_and_search_refuse_bad_arguments() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    for first in [0, -1, 1000] {
        let body = w
            .app
            .gql(
                Some(&w.teacher.token),
                MY_CHILDREN,
                json!({ "first": first }),
            )
            .await;
        assert_bad(&body, &["first"]);
        let body = w
            .app
            .gql(Some(&w.teacher.token), MY_TASKS, json!({ "first": first }))
            .await;
        assert_bad(&body, &["first"]);
        let body = w
            .app
            .gql(
                Some(&w.teacher.token),
                TIMELINE,
                json!({ "id": w.child, "first": first }),
            )
            .await;
        assert_bad(&body, &["first"]);
    }
    for (query, vars) in [
        (MY_CHILDREN, json!({ "after": "not a cursor" })),
        (MY_TASKS, json!({ "after": "not a cursor" })),
        (TIMELINE, json!({ "id": w.child, "after": "not a cursor" })),
    ] {
        let body = w.app.gql(Some(&w.teacher.token), query, vars).await;
        assert_bad(&body, &["after"]);
    }
    for f in ["", "   "] {
        let body = w
            .app
            .gql(
                Some(&w.teacher.token),
                SEARCH,
                json!({ "f": f, "d": CHILD_DOB }),
            )
            .await;
        assert_bad(&body, &["familyName"]);
    }
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            SEARCH,
            json!({ "f": "Marsh", "d": "12/04/2015" }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");
    assert_eq!(fingerprint(&w.app), before, "nothing written");
}
