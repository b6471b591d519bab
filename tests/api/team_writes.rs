//! The write rules: consent and sensitivity (rule 4), the one lead professional (rule 6), whose
//! involvements, contacts and tasks a practitioner or an agency admin may change, and versions
//! that refuse a stale or concurrent update.

use chrono::Duration;
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::*;
use patchwork_tests::*;

// ---------------------------------------------------------------------------------------------
// Consent, sensitivity and the lead professional.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_restricted_involvement_becomes_standard_only_once_consent_is_given() {
    let w = World::build().await;
    let inv = involvement_as(&w.app, &w.idva, &w.child, &w.idva_inv).await;
    let v = inv["version"].as_i64().unwrap();
    assert_eq!(inv["consent"], "NOT_RECORDED");

    for extra in [
        json!({}),
        json!({ "consent": "REFUSED" }),
        json!({ "consent": "NOT_REQUIRED" }),
    ] {
        let before = fingerprint(&w.app);
        let mut input =
            json!({ "id": w.idva_inv, "expectedVersion": v, "sensitivity": "STANDARD" });
        for (k, val) in extra.as_object().unwrap() {
            input[k] = val.clone();
        }
        let body = update(&w.app, &w.idva, input).await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{extra}: {body:#}"
        );
        assert!(
            error_fields(&body).contains(&"input.sensitivity".to_owned()),
            "{body:#}"
        );
        assert_eq!(fingerprint(&w.app), before, "{extra}: nothing written");
    }
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": v, "sensitivity": "STANDARD" }),
    )
    .await;
    assert_bad(&body, &["input.sensitivity"]);
    let inv = involvement_as(&w.app, &w.idva, &w.child, &w.idva_inv).await;
    assert_eq!(inv["sensitivity"], "RESTRICTED");
    assert_eq!(inv["version"], v);

    // Consent given in the same update.
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": v, "sensitivity": "STANDARD", "consent": "GIVEN",
                "lawfulBasis": "CONSENT" }),
    )
    .await;
    let u = &body["data"]["updateInvolvement"];
    assert_eq!(u["sensitivity"], "STANDARD", "{body:#}");
    assert_eq!(u["consent"], "GIVEN");
    assert_eq!(u["lawfulBasis"], "CONSENT");
    assert_eq!(u["version"], v + 1);
    assert_eq!(
        w.app.count(
            "involvements",
            &format!(
                "id = '{}' AND consent = 'GIVEN' AND consent_recorded_by = '{}' AND consent_recorded_at IS NOT NULL",
                w.idva_inv, w.idva.id
            )
        ),
        1,
        "who recorded the consent and when are kept"
    );
    let team = ids(
        &child_as(&w.app, &w.teacher, &w.child).await["team"],
        Some("practitioner"),
    );
    assert!(team.contains(&w.idva.id), "now the whole team sees her");

    // Consent recorded before, then the change.
    let inv = involvement_as(&w.app, &w.sm_worker, &w.child, &w.sm_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.sm_worker,
        json!({ "id": w.sm_inv, "expectedVersion": v, "consent": "GIVEN" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["consent"], "GIVEN",
        "{body:#}"
    );
    assert_eq!(
        body["data"]["updateInvolvement"]["sensitivity"],
        "RESTRICTED"
    );
    let body = update(
        &w.app,
        &w.sm_worker,
        json!({ "id": w.sm_inv, "expectedVersion": v + 1, "sensitivity": "STANDARD" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["sensitivity"], "STANDARD",
        "{body:#}"
    );

    // Other agencies mark their own either way, without consent.
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": v, "sensitivity": "RESTRICTED" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["sensitivity"], "RESTRICTED",
        "{body:#}"
    );
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": v + 1, "sensitivity": "STANDARD" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["sensitivity"], "STANDARD",
        "{body:#}"
    );
    assert_eq!(body["data"]["updateInvolvement"]["consent"], "NOT_RECORDED");
}

#[tokio::test]
async fn consent_withdrawn_makes_a_sensitive_services_involvement_restricted_again() {
    let w = World::build().await;
    let inv = involvement_as(&w.app, &w.idva, &w.child, &w.idva_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": v, "sensitivity": "STANDARD", "consent": "GIVEN",
                "isLead": true }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["isLead"], true,
        "{body:#}"
    );
    let lead = &child_as(&w.app, &w.teacher, &w.child).await["leadProfessional"];
    assert_eq!(s(&lead["id"]), w.idva_inv);

    // Refused consent cannot keep it standard when the update asks for both.
    let before = fingerprint(&w.app);
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": v + 1, "consent": "REFUSED", "sensitivity": "STANDARD" }),
    )
    .await;
    assert_bad(&body, &["input.sensitivity"]);
    assert_eq!(fingerprint(&w.app), before, "nothing written");

    // Consent withdrawn: restricted again, and no longer the lead, in the same update.
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": v + 1, "consent": "REFUSED" }),
    )
    .await;
    let u = &body["data"]["updateInvolvement"];
    assert_eq!(u["sensitivity"], "RESTRICTED", "{body:#}");
    assert_eq!(u["consent"], "REFUSED");
    assert_eq!(u["isLead"], false);
    let child = child_as(&w.app, &w.teacher, &w.child).await;
    assert!(!ids(&child["team"], Some("practitioner")).contains(&w.idva.id));
    assert_eq!(child["leadProfessional"], Value::Null);

    // Another agency's standard involvement stays as it is when consent is refused.
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": v, "consent": "REFUSED" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["sensitivity"], "STANDARD",
        "{body:#}"
    );
}

#[tokio::test]
async fn a_sensitive_agencys_practitioner_cannot_join_or_register_as_standard() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    let body = join_raw(
        &w.app,
        &w.da_colleague,
        json!({ "childId": w.child, "role": "Outreach worker", "reason": "Referred", "sensitivity": "STANDARD" }),
    )
    .await;
    assert_bad(&body, &["input.sensitivity"]);
    let body = w
        .app
        .gql(
            Some(&w.da_colleague.token),
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
            json!({ "i": { "givenName": "Kit", "familyName": "Abara", "dateOfBirth": "2017-02-02",
                           "role": "Outreach worker", "sensitivity": "STANDARD" } }),
        )
        .await;
    assert_bad(&body, &["input.sensitivity"]);
    assert_eq!(fingerprint(&w.app), before, "nothing written");

    // Restricted is allowed, and is what they get.
    let body = join_raw(
        &w.app,
        &w.da_colleague,
        json!({ "childId": w.child, "role": "Outreach worker", "reason": "Referred", "sensitivity": "RESTRICTED" }),
    )
    .await;
    assert_eq!(
        body["data"]["joinTeam"]["sensitivity"], "RESTRICTED",
        "{body:#}"
    );
    // A non-sensitive agency may join restricted if it chooses.
    let body = join_raw(
        &w.app,
        &w.outsider,
        json!({ "childId": w.child, "role": "Youth worker", "reason": "Attends the club", "sensitivity": "RESTRICTED",
                "lawfulBasis": "LEGITIMATE_INTERESTS" }),
    )
    .await;
    assert_eq!(
        body["data"]["joinTeam"]["sensitivity"], "RESTRICTED",
        "{body:#}"
    );
    assert_eq!(
        body["data"]["joinTeam"]["lawfulBasis"],
        "LEGITIMATE_INTERESTS"
    );
    // The reason for joining is kept in the audit log.
    assert!(
        w.app.count(
            "audit_events",
            &format!(
                "actor_id = '{}' AND child_id = '{}' AND reason = 'Attends the club'",
                w.outsider.id, w.child
            )
        ) >= 1
    );
}

#[tokio::test]
async fn there_is_at_most_one_lead_and_a_new_lead_moves_the_flag() {
    let w = World::build().await;
    let leads = |app: &TestApp, child: &str| {
        app.count(
            "involvements",
            &format!("child_id = '{child}' AND is_lead AND ended_on IS NULL"),
        )
    };
    assert_eq!(leads(&w.app, &w.child), 1);

    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": inv["version"], "isLead": true }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["isLead"], true,
        "{body:#}"
    );
    assert_eq!(leads(&w.app, &w.child), 1, "the flag moved");
    let child = child_as(&w.app, &w.housing_officer, &w.child).await;
    assert_eq!(child["leadProfessional"]["id"], w.teacher_inv.as_str());
    assert_eq!(child["team"][0]["id"], w.teacher_inv.as_str(), "lead first");
    let sw = child["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == w.sw_inv.as_str())
        .unwrap();
    assert_eq!(sw["isLead"], false);
    assert_eq!(
        child["team"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["isLead"] == true)
            .count(),
        1
    );

    // Stepping down leaves the child leaderless.
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": inv["version"], "isLead": false }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["isLead"], false,
        "{body:#}"
    );
    assert_eq!(leads(&w.app, &w.child), 0);
    let child = child_as(&w.app, &w.idva, &w.child).await;
    assert!(child["leadProfessional"].is_null(), "{child:#}");
}

#[tokio::test]
async fn a_restricted_involvement_can_never_be_lead() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    let inv = involvement_as(&w.app, &w.idva, &w.child, &w.idva_inv).await;
    let body = update(
        &w.app,
        &w.idva,
        json!({ "id": w.idva_inv, "expectedVersion": inv["version"], "isLead": true }),
    )
    .await;
    assert_bad(&body, &["input.isLead"]);
    assert_eq!(fingerprint(&w.app), before, "nothing written");
    let child = child_as(&w.app, &w.idva, &w.child).await;
    assert_eq!(child["leadProfessional"]["id"], w.sw_inv.as_str());

    // The lead making themselves restricted is refused, or stops being lead: never a hidden
    // lead.
    let inv = involvement_as(&w.app, &w.social_worker, &w.child, &w.sw_inv).await;
    let body = update(
        &w.app,
        &w.social_worker,
        json!({ "id": w.sw_inv, "expectedVersion": inv["version"], "sensitivity": "RESTRICTED" }),
    )
    .await;
    match error_code(&body) {
        Some("BAD_USER_INPUT") => {}
        None => assert_eq!(
            body["data"]["updateInvolvement"]["isLead"], false,
            "{body:#}"
        ),
        other => panic!("unexpected {other:?}: {body:#}"),
    }
    assert_eq!(
        w.app
            .count("involvements", "is_lead AND sensitivity = 'RESTRICTED'"),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Writes by the wrong person, hand-over, versions.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn practitioners_change_and_end_only_their_own_involvements() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    // Another agency's involvement the reader may see: FORBIDDEN.
    for (user, inv, label) in [
        (&w.teacher, &w.sw_inv, "the teacher, on the social worker's"),
        (
            &w.officer,
            &w.idva_inv,
            "police (holding an agreement), on the IDVA's",
        ),
        (
            &w.housing_admin,
            &w.sw_inv,
            "the housing admin, on another agency's",
        ),
    ] {
        let body = update(
            &w.app,
            user,
            json!({ "id": inv, "expectedVersion": 1, "role": "Taken over" }),
        )
        .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{label}: {body:#}");
        let body = w
            .app
            .gql(Some(&user.token), END, json!({ "id": inv, "v": 1 }))
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{label}: {body:#}");
    }
    // One the reader may not see: NOT_FOUND, as if it did not exist.
    for (user, inv, label) in [
        (&w.teacher, &w.idva_inv, "the teacher, on the IDVA's"),
        (
            &w.housing_officer,
            &w.sm_inv,
            "the housing officer, on the recovery worker's",
        ),
        (&w.outsider, &w.sw_inv, "a practitioner not on the team"),
    ] {
        let body = update(
            &w.app,
            user,
            json!({ "id": inv, "expectedVersion": 1, "role": "Taken over" }),
        )
        .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{label}: {body:#}");
        let body = w
            .app
            .gql(Some(&user.token), END, json!({ "id": inv, "v": 1 }))
            .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{label}: {body:#}");
    }
    // A colleague who is no agency admin may not touch a colleague's involvement.
    for (user, inv) in [
        (&w.housing_colleague, &w.housing_inv),
        (&w.da_colleague, &w.idva_inv),
    ] {
        let body = update(
            &w.app,
            user,
            json!({ "id": inv, "expectedVersion": 1, "role": "Taken over" }),
        )
        .await;
        assert!(
            matches!(error_code(&body), Some("FORBIDDEN") | Some("NOT_FOUND")),
            "{body:#}"
        );
    }
    assert_eq!(fingerprint(&w.app), before, "nothing written");
}

#[tokio::test]
async fn contacts_are_recorded_only_on_ones_own_involvement() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    let at = ts(Duration::hours(-1));
    for (user, inv, code, label) in [
        (
            &w.teacher,
            &w.sw_inv,
            "FORBIDDEN",
            "the teacher, on the social worker's",
        ),
        (
            &w.officer,
            &w.idva_inv,
            "FORBIDDEN",
            "police, on the IDVA's (visible to them)",
        ),
        (
            &w.da_admin,
            &w.idva_inv,
            "FORBIDDEN",
            "the IDVA's agency admin",
        ),
        (
            &w.teacher,
            &w.idva_inv,
            "NOT_FOUND",
            "the teacher, on the IDVA's (invisible)",
        ),
        (
            &w.outsider,
            &w.sw_inv,
            "NOT_FOUND",
            "a practitioner not on the team",
        ),
    ] {
        let body = contact(&w.app, user, inv, "HOME_VISIT", "HAPPENED", &at).await;
        assert_eq!(error_code(&body), Some(code), "{label}: {body:#}");
    }
    assert_eq!(fingerprint(&w.app), before, "nothing written");
    let body = contact(
        &w.app,
        &w.social_worker,
        &w.sw_inv,
        "HOME_VISIT",
        "HAPPENED",
        &at,
    )
    .await;
    assert_eq!(
        body["data"]["recordContact"]["outcome"], "HAPPENED",
        "{body:#}"
    );
}

#[tokio::test]
async fn only_the_creator_and_the_assignee_complete_or_cancel_a_task() {
    let w = World::build().await;
    let before = fingerprint(&w.app);
    // The social worker is on the team but neither created nor was given these tasks.
    for t in [&w.task_housing, &w.task_unassigned] {
        for status in ["DONE", "CANCELLED"] {
            let body = w
                .app
                .gql(
                    Some(&w.social_worker.token),
                    UPDATE_TASK,
                    json!({ "i": { "id": t, "expectedVersion": 1, "status": status } }),
                )
                .await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body:#}");
        }
    }
    // Tasks the reader may not see do not exist for them.
    for (user, t) in [
        (&w.teacher, &w.task_idva_self),
        (&w.outsider, &w.task_housing),
    ] {
        let body = w
            .app
            .gql(
                Some(&user.token),
                UPDATE_TASK,
                json!({ "i": { "id": t, "expectedVersion": 1, "status": "DONE" } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body:#}");
    }
    // Someone not on the team may not create tasks on the child.
    let body = w
        .app
        .gql(
            Some(&w.outsider.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Sneak in" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body:#}");
    // Assigning to a practitioner the creator may not see answers as for a non-member.
    let hidden = w
        .app
        .gql(
            Some(&w.teacher.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Call her", "assigneeId": w.idva.id } }),
        )
        .await;
    let stranger = w
        .app
        .gql(
            Some(&w.teacher.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Call her", "assigneeId": w.outsider.id } }),
        )
        .await;
    assert!(error_code(&hidden).is_some(), "{hidden:#}");
    assert_eq!(
        error_code(&hidden),
        error_code(&stranger),
        "{hidden:#} {stranger:#}"
    );
    assert_eq!(error_fields(&hidden), error_fields(&stranger));
    assert_eq!(fingerprint(&w.app), before, "nothing written");

    // Police may see the IDVA, so may assign to her.
    let body = w
        .app
        .gql(
            Some(&w.officer.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Share the incident log", "assigneeId": w.idva.id } }),
        )
        .await;
    assert_eq!(
        body["data"]["createTask"]["assignee"]["id"],
        w.idva.id.as_str(),
        "{body:#}"
    );

    // The IDVA assigning a task to the teacher, who may not see her: the task would name a
    // practitioner its own assignee may not see. Either it is refused naming the assignee, or
    // it exists and stays invisible to the teacher.
    let body = w
        .app
        .gql(
            Some(&w.idva.token),
            CREATE_TASK,
            json!({ "i": { "childId": w.child, "title": "Tell me if Leo is absent", "assigneeId": w.teacher.id } }),
        )
        .await;
    match error_code(&body) {
        Some(_) => assert_bad(&body, &["input.assigneeId"]),
        None => {
            let id = s(&body["data"]["createTask"]["id"]);
            let child = child_as(&w.app, &w.teacher, &w.child).await;
            assert!(!ids(&child["tasks"], None).contains(&id), "{child:#}");
            let data = w
                .app
                .gql_ok(Some(&w.teacher.token), MY_TASKS, json!({}))
                .await;
            assert!(!data.to_string().contains(&id), "{data:#}");
        }
    }

    // The assignee completes; the creator cancels.
    let body = w
        .app
        .gql(
            Some(&w.housing_officer.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_housing, "expectedVersion": 1, "status": "DONE" } }),
        )
        .await;
    assert_eq!(body["data"]["updateTask"]["status"], "DONE", "{body:#}");
    assert_eq!(body["data"]["updateTask"]["version"], 2);
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_unassigned, "expectedVersion": 1, "status": "CANCELLED" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateTask"]["status"], "CANCELLED",
        "{body:#}"
    );
}

#[tokio::test]
async fn agency_admins_hand_over_or_end_their_agencys_involvements() {
    let w = World::build().await;
    let inv = involvement_as(&w.app, &w.housing_admin, &w.child, &w.housing_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.housing_admin,
        json!({ "id": w.housing_inv, "expectedVersion": v, "role": "Housing officer (covering)" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["role"], "Housing officer (covering)",
        "{body:#}"
    );
    let body = w
        .app
        .gql(
            Some(&w.housing_admin.token),
            END,
            json!({ "id": w.housing_inv, "v": v + 1, "r": "Left the service" }),
        )
        .await;
    assert!(
        !body["data"]["endInvolvement"]["endedOn"].is_null(),
        "{body:#}"
    );
    let child = child_as(&w.app, &w.teacher, &w.child).await;
    assert!(!ids(&child["team"], Some("practitioner")).contains(&w.housing_officer.id));
    let ended = involvement_as(&w.app, &w.teacher, &w.child, &w.housing_inv).await;
    assert!(
        !ended["endedOn"].is_null(),
        "listed with includeEnded: {ended:#}"
    );
    // No longer on the team: the former housing officer no longer reads the record.
    assert!(child_as(&w.app, &w.housing_officer, &w.child)
        .await
        .is_null());
    let data = w
        .app
        .gql_ok(Some(&w.housing_officer.token), MY_CHILDREN, json!({}))
        .await;
    assert_eq!(data["myChildren"]["edges"], json!([]));

    // The domestic-abuse service's admin hands over and ends the IDVA's.
    let inv = involvement_as(&w.app, &w.da_admin, &w.child, &w.idva_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.da_admin,
        json!({ "id": w.idva_inv, "expectedVersion": v, "role": "IDVA (covering)" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["role"], "IDVA (covering)",
        "{body:#}"
    );
    let body = w
        .app
        .gql(
            Some(&w.da_admin.token),
            END,
            json!({ "id": w.idva_inv, "v": v + 1 }),
        )
        .await;
    assert!(
        !body["data"]["endInvolvement"]["endedOn"].is_null(),
        "{body:#}"
    );
    assert_eq!(
        w.app.count(
            "involvements",
            &format!("id = '{}' AND ended_on IS NOT NULL", w.idva_inv)
        ),
        1
    );
}

#[tokio::test]
async fn a_stale_expected_version_conflicts_and_changes_nothing() {
    let w = World::build().await;
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    let v = inv["version"].as_i64().unwrap();
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": v, "role": "Head of year" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateInvolvement"]["version"],
        v + 1,
        "{body:#}"
    );

    let before = fingerprint(&w.app);
    let body = update(
        &w.app,
        &w.teacher,
        json!({ "id": w.teacher_inv, "expectedVersion": v, "role": "Deputy head" }),
    )
    .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], v + 1);
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            END,
            json!({ "id": w.teacher_inv, "v": v }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], v + 1);
    assert_eq!(fingerprint(&w.app), before, "nothing written");

    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_unassigned, "expectedVersion": 1, "title": "Book it" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let before = fingerprint(&w.app);
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_unassigned, "expectedVersion": 1, "title": "Book it twice" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(fingerprint(&w.app), before, "nothing written");
    let inv = involvement_as(&w.app, &w.teacher, &w.child, &w.teacher_inv).await;
    assert_eq!(inv["role"], "Head of year");
    assert!(inv["endedOn"].is_null());
    assert_eq!(inv["version"], v + 1);
    assert_eq!(
        w.app.count(
            "tasks",
            &format!(
                "id = '{}' AND title = 'Book it' AND version = 2",
                w.task_unassigned
            )
        ),
        1
    );
}

#[tokio::test]
async fn concurrent_updates_with_the_same_version_let_exactly_one_win() {
    let w = World::build().await;
    for round in 0..3 {
        let inv = involvement_as(&w.app, &w.social_worker, &w.child, &w.sw_inv).await;
        let v = inv["version"].as_i64().unwrap();
        let left = format!("Left {round}");
        let right = format!("Right {round}");
        let (a, b) = tokio::join!(
            update(
                &w.app,
                &w.social_worker,
                json!({ "id": w.sw_inv, "expectedVersion": v, "role": left })
            ),
            update(
                &w.app,
                &w.social_worker,
                json!({ "id": w.sw_inv, "expectedVersion": v, "role": right })
            ),
        );
        let (winner, loser, role) = match (error_code(&a), error_code(&b)) {
            (None, Some(_)) => (&a, &b, &left),
            (Some(_), None) => (&b, &a, &right),
            _ => panic!("exactly one wins: {a:#} {b:#}"),
        };
        assert_eq!(error_code(loser), Some("CONFLICT"), "{loser:#}");
        assert_eq!(loser["errors"][0]["extensions"]["currentVersion"], v + 1);
        assert_eq!(winner["data"]["updateInvolvement"]["version"], v + 1);
        let inv = involvement_as(&w.app, &w.social_worker, &w.child, &w.sw_inv).await;
        assert_eq!(&inv["role"], role.as_str());
        assert_eq!(inv["version"], v + 1);
    }

    // Tasks too.
    let (a, b) = tokio::join!(
        w.app.gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_housing, "expectedVersion": 1, "title": "Left" } })
        ),
        w.app.gql(
            Some(&w.teacher.token),
            UPDATE_TASK,
            json!({ "i": { "id": w.task_housing, "expectedVersion": 1, "title": "Right" } })
        ),
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(
        codes.contains(&None) && codes.contains(&Some("CONFLICT")),
        "{a:#} {b:#}"
    );
    let winner = if error_code(&a).is_none() {
        "Left"
    } else {
        "Right"
    };
    assert_eq!(
        w.app.count(
            "tasks",
            &format!(
                "id = '{}' AND version = 2 AND title = '{winner}'",
                w.task_housing
            )
        ),
        1
    );
}
