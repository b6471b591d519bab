//! Rules 1 to 3 and 5 as each kind of reader meets them: who reads the child, what `team`,
//! `leadProfessional`, `tasks`, `timeline`, `myChildren` and `searchChildren` show of a STANDARD
//! and a RESTRICTED involvement, registering a child a hidden service already knows, and sharing
//! agreements taking effect.

use std::collections::BTreeSet;

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::*;
use patchwork_tests::*;

// ---------------------------------------------------------------------------------------------
// The access matrix.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn only_team_members_and_their_agency_admins_read_the_child() {
    let w = World::build().await;
    for seat in w.seats() {
        let body = w
            .app
            .gql(Some(&seat.user.token), CHILD, json!({ "id": w.child }))
            .await;
        assert!(
            body.get("errors").is_none(),
            "{}: no error, ever: {body:#}",
            seat.label
        );
        let child = &body["data"]["child"];
        if seat.reads {
            assert_eq!(child["id"], w.child.as_str(), "{}: {body:#}", seat.label);
            assert_eq!(child["givenName"], "Leo");
            assert_eq!(child["familyName"], "Marsh");
            assert_eq!(child["dateOfBirth"], CHILD_DOB);
        } else {
            assert!(
                child.is_null(),
                "{} may not read the child: {body:#}",
                seat.label
            );
        }
    }

    // The child known only to the domestic-abuse service: its practitioner and their agency
    // admin read it; a colleague and an agency holding an agreement do not, until they join.
    for (user, reads, label) in [
        (&w.idva, true, "the IDVA"),
        (&w.da_admin, true, "the IDVA's agency admin"),
        (&w.da_colleague, false, "a colleague of the IDVA"),
        (
            &w.officer,
            false,
            "police, holding an agreement, not on the team",
        ),
        (&w.teacher, false, "a teacher"),
        (&w.admin, false, "a system admin"),
    ] {
        let child = child_as(&w.app, user, &w.hidden_child).await;
        assert_eq!(!child.is_null(), reads, "{label}: {child:#}");
        if reads {
            assert_eq!(ids(&child["team"], None), vec![w.hidden_idva_inv.clone()]);
        }
    }

    // A child that does not exist answers the same: null, no error.
    let body = w
        .app
        .gql(
            Some(&w.teacher.token),
            CHILD,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(body["data"]["child"].is_null());
}

#[tokio::test]
async fn restricted_involvement_is_invisible_to_agencies_without_an_agreement() {
    let w = World::build().await;
    let standard = w.standard_members();
    for seat in w.seats().into_iter().filter(|s| s.reads) {
        let child = child_as(&w.app, seat.user, &w.child).await;
        let team = child["team"].as_array().unwrap();
        let mut expected = standard.clone();
        if seat.sees_da {
            expected.insert(w.idva.id.clone());
        }
        if seat.user.id == w.sm_worker.id {
            // Their own restricted involvement; nobody else holds an agreement from them.
            expected.insert(w.sm_worker.id.clone());
        }
        let got: BTreeSet<String> = ids(&child["team"], Some("practitioner"))
            .into_iter()
            .collect();
        assert_eq!(got, expected, "{}: {child:#}", seat.label);
        assert_eq!(team.len(), expected.len(), "{}: no duplicates", seat.label);
        for inv in team {
            if inv["id"] == w.idva_inv.as_str() {
                assert_eq!(inv["sensitivity"], "RESTRICTED");
                assert_eq!(inv["agency"]["id"], w.da.as_str());
                assert_eq!(inv["agency"]["name"], DA_NAME);
            }
            if inv["id"] == w.housing_inv.as_str() {
                assert_eq!(inv["sensitivity"], "STANDARD");
                assert_eq!(inv["agency"]["id"], w.housing.as_str());
            }
            if inv["id"] == w.sm_inv.as_str() {
                assert_eq!(inv["sensitivity"], "RESTRICTED");
                assert_eq!(inv["agency"]["id"], w.sm.as_str());
            }
        }
        // The standard involvement is always there; so is nothing of the hidden services'
        // beyond what the reader may see.
        assert!(got.contains(&w.housing_officer.id), "{}", seat.label);
        let text = child.to_string();
        if !seat.sees_da {
            for needle in [
                IDVA_NAME,
                DA_NAME,
                w.idva_inv.as_str(),
                w.idva.id.as_str(),
                w.da.as_str(),
            ] {
                assert!(
                    !text.contains(needle),
                    "{} must not learn of {needle}: {child:#}",
                    seat.label
                );
            }
        }
    }
}

#[tokio::test]
async fn lead_professional_is_the_same_standard_involvement_for_every_reader() {
    let w = World::build().await;
    for seat in w.seats().into_iter().filter(|s| s.reads) {
        let child = child_as(&w.app, seat.user, &w.child).await;
        let lead = &child["leadProfessional"];
        assert_eq!(lead["id"], w.sw_inv.as_str(), "{}: {child:#}", seat.label);
        assert_eq!(lead["isLead"], true);
        assert_eq!(lead["sensitivity"], "STANDARD");
        assert_eq!(lead["practitioner"]["id"], w.social_worker.id.as_str());
        let team = child["team"].as_array().unwrap();
        assert_eq!(
            team.iter().filter(|i| i["isLead"] == true).count(),
            1,
            "{}: one lead",
            seat.label
        );
        assert_eq!(
            team[0]["id"],
            w.sw_inv.as_str(),
            "{}: the lead comes first",
            seat.label
        );
    }
}

#[tokio::test]
async fn tasks_naming_a_practitioner_the_reader_may_not_see_are_invisible() {
    let w = World::build().await;
    // tasks: dueOn (none last), then creation.
    let all = vec![
        w.task_housing.clone(),         // due in 2 days
        w.task_idva_self.clone(),       // due in 5 days
        w.task_idva_to_officer.clone(), // due in 10 days
        w.task_unassigned.clone(),      // no due date
    ];
    let visible = vec![w.task_housing.clone(), w.task_unassigned.clone()];
    for seat in w.seats().into_iter().filter(|s| s.reads) {
        let child = child_as(&w.app, seat.user, &w.child).await;
        let got = ids(&child["tasks"], None);
        let expected = if seat.sees_da { &all } else { &visible };
        assert_eq!(&got, expected, "{}: {child:#}", seat.label);
        for t in child["tasks"].as_array().unwrap() {
            if t["id"] == w.task_idva_self.as_str() {
                assert_eq!(t["assignee"]["id"], w.idva.id.as_str());
                assert_eq!(t["createdBy"]["id"], w.idva.id.as_str());
            }
            if t["id"] == w.task_idva_to_officer.as_str() {
                assert_eq!(t["assignee"]["id"], w.officer.id.as_str());
                assert_eq!(t["createdBy"]["id"], w.idva.id.as_str());
            }
            if t["id"] == w.task_housing.as_str() {
                assert_eq!(t["assignee"]["id"], w.housing_officer.id.as_str());
                assert_eq!(t["createdBy"]["id"], w.teacher.id.as_str());
            }
            if t["id"] == w.task_unassigned.as_str() {
                assert!(t["assignee"].is_null());
            }
        }
    }

    // myTasks: tasks assigned to the caller, under the same rule.
    for seat in w.seats() {
        let data = w
            .app
            .gql_ok(Some(&seat.user.token), MY_TASKS, json!({}))
            .await;
        let got: Vec<String> = data["myTasks"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| s(&e["node"]["id"]))
            .collect();
        let expected: Vec<String> = if seat.user.id == w.idva.id {
            vec![w.task_idva_self.clone()]
        } else if seat.user.id == w.housing_officer.id {
            vec![w.task_housing.clone()]
        } else if seat.user.id == w.officer.id {
            vec![w.task_idva_to_officer.clone()]
        } else {
            vec![]
        };
        assert_eq!(got, expected, "{}: {data:#}", seat.label);
        assert_eq!(data["myTasks"]["pageInfo"]["hasNextPage"], false);
    }
}

/// Rule 6 through the assignee alone: a task made by a practitioner every reader may see,
/// assigned to the IDVA, is seen only by those who may see the IDVA's involvement.
#[tokio::test]
async fn a_task_assigned_to_a_hidden_practitioner_is_invisible_to_those_who_may_not_see_them() {
    let w = World::build().await;
    let task = task(
        &w.app,
        &w.officer,
        &w.child,
        "Call the IDVA back",
        Some(&w.idva.id),
        None,
    )
    .await;
    for seat in w.seats().into_iter().filter(|s| s.reads) {
        let child = child_as(&w.app, seat.user, &w.child).await;
        let got = ids(&child["tasks"], None);
        assert_eq!(
            got.contains(&task),
            seat.sees_da,
            "{}: {child:#}",
            seat.label
        );
    }
}

#[tokio::test]
async fn the_timeline_shows_no_event_of_an_involvement_the_reader_may_not_see() {
    let w = World::build().await;
    let key = |e: &Value| json!([e["at"], e["kind"], e["involvement"]["id"], e["task"]["id"]]);

    let police = timeline(&w.app, &w.officer, &w.child).await;
    for pair in police.windows(2) {
        assert!(
            instant(&pair[0]["at"]) >= instant(&pair[1]["at"]),
            "newest first: {pair:#?}"
        );
    }
    // The team sees who joined: every visible member's start is there, the IDVA's included
    // for a reader holding an agreement, and her contact too.
    for inv in [
        &w.teacher_inv,
        &w.sw_inv,
        &w.housing_inv,
        &w.idva_inv,
        &w.officer_inv,
        &w.health_inv,
        &w.probation_inv,
    ] {
        assert!(
            police
                .iter()
                .any(|e| e["kind"] == "INVOLVEMENT_STARTED"
                    && e["involvement"]["id"] == inv.as_str()),
            "the start of {inv} in {police:#?}"
        );
    }
    assert!(
        police
            .iter()
            .any(|e| e["kind"] == "CONTACT_RECORDED"
                && e["involvement"]["id"] == w.idva_inv.as_str()),
        "the IDVA's contact, for a reader who may see her: {police:#?}"
    );
    assert!(
        !police
            .iter()
            .any(|e| e["involvement"]["id"] == w.sm_inv.as_str()),
        "nobody holds an agreement from the substance-misuse service: {police:#?}"
    );
    let police_keys: Vec<Value> = police.iter().map(key).collect();
    let without_idva: Vec<Value> = police
        .iter()
        .filter(|e| !w.names_idva(e))
        .map(key)
        .collect();
    assert!(without_idva.len() < police_keys.len());

    for seat in w.seats().into_iter().filter(|s| s.reads) {
        let events = timeline(&w.app, seat.user, &w.child).await;
        let mut keys: Vec<Value> = events.iter().map(key).collect();
        if seat.user.id == w.sm_worker.id {
            assert!(
                events
                    .iter()
                    .any(|e| e["involvement"]["id"] == w.sm_inv.as_str()),
                "her own start is on her timeline"
            );
            keys = events
                .iter()
                .filter(|e| e["involvement"]["id"] != w.sm_inv.as_str())
                .map(key)
                .collect();
        }
        if seat.sees_da {
            assert_eq!(keys, police_keys, "{}", seat.label);
        } else {
            assert_eq!(keys, without_idva, "{}: {events:#?}", seat.label);
            let text = Value::Array(events).to_string();
            for needle in [
                IDVA_NAME,
                DA_NAME,
                w.idva_inv.as_str(),
                w.idva.id.as_str(),
                w.task_idva_self.as_str(),
                w.task_idva_to_officer.as_str(),
                "safety plan",
            ] {
                assert!(
                    !text.contains(needle),
                    "{}: the timeline mentions {needle}: {text}",
                    seat.label
                );
            }
        }
    }
}

#[tokio::test]
async fn my_children_lists_only_the_callers_own_active_involvements() {
    let w = World::build().await;
    for seat in w.seats() {
        let data = w
            .app
            .gql_ok(Some(&seat.user.token), MY_CHILDREN, json!({}))
            .await;
        let got: Vec<String> = data["myChildren"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| s(&e["node"]["id"]))
            .collect();
        let mut expected = Vec::new();
        if seat.member {
            expected.push(w.child.clone());
        }
        if seat.user.id == w.idva.id {
            // Marsh before Thorne.
            expected.push(w.hidden_child.clone());
        }
        assert_eq!(got, expected, "{}: {data:#}", seat.label);
        assert_eq!(data["myChildren"]["pageInfo"]["hasNextPage"], false);
    }
}

#[tokio::test]
async fn search_shows_identity_only_and_never_a_child_known_only_to_a_hidden_service() {
    let w = World::build().await;
    let fields: BTreeSet<&str> = [
        "id",
        "givenName",
        "familyName",
        "dateOfBirth",
        "postcodeDistrict",
        "score",
    ]
    .into_iter()
    .collect();
    for seat in w.seats().into_iter().filter(|s| s.searches) {
        let data = w
            .app
            .gql_ok(
                Some(&seat.user.token),
                SEARCH,
                json!({ "f": "Marsh", "d": CHILD_DOB }),
            )
            .await;
        let matches = data["searchChildren"].as_array().unwrap();
        assert_eq!(matches.len(), 1, "{}: {data:#}", seat.label);
        let m = &matches[0];
        assert_eq!(m["id"], w.child.as_str(), "{}", seat.label);
        assert_eq!(m["givenName"], "Leo");
        assert_eq!(m["familyName"], "Marsh");
        assert_eq!(m["dateOfBirth"], CHILD_DOB);
        assert_eq!(m["postcodeDistrict"], "LS6", "only the outward code");
        let score = m["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 1.0, "{score}");
        let keys: BTreeSet<&str> = m.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, fields);

        // The child whose only involvement is the IDVA's restricted one: found only by those
        // who may see that involvement.
        let data = w
            .app
            .gql_ok(
                Some(&seat.user.token),
                SEARCH,
                json!({ "f": "Thorne", "d": HIDDEN_DOB }),
            )
            .await;
        let found = ids(&data["searchChildren"], None);
        if seat.sees_da {
            assert_eq!(found, vec![w.hidden_child.clone()], "{}", seat.label);
        } else {
            assert!(
                found.is_empty(),
                "{} must not find Mia: {data:#}",
                seat.label
            );
        }
    }

    // A match has no team to show.
    let body = w
        .app
        .gql(
            Some(&w.outsider.token),
            "query($d: Date!) { searchChildren(familyName: \"Marsh\", dateOfBirth: $d) { id team { id } } }",
            json!({ "d": CHILD_DOB }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{body:#}"
    );
}

#[tokio::test]
async fn registering_a_child_known_only_to_a_hidden_service_attaches_and_looks_new() {
    let w = World::build().await;
    let q = "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id version role sensitivity consent isLead \
             startedOn endedOn lastContactAt nextContactAt practitioner { id } agency { id } \
             child { id givenName familyName dateOfBirth gender postcode version \
               team { id role sensitivity practitioner { id } } leadProfessional { id } tasks { id } \
               timeline { edges { node { kind summary involvement { id } task { id } } } pageInfo { hasNextPage } } } } }";
    let existing = w
        .app
        .gql_ok(
            Some(&w.outsider.token),
            q,
            json!({ "i": { "givenName": "Mia", "familyName": "Thorne", "dateOfBirth": HIDDEN_DOB,
                           "postcode": "LS6 3CD", "role": "Youth worker" } }),
        )
        .await["registerChild"]
        .clone();
    let fresh = w
        .app
        .gql_ok(
            Some(&w.outsider.token),
            q,
            json!({ "i": { "givenName": "Mae", "familyName": "Thorpe", "dateOfBirth": "2016-10-30",
                           "postcode": "LS6 3CD", "role": "Youth worker" } }),
        )
        .await["registerChild"]
        .clone();

    // One record: the existing one.
    assert_eq!(
        existing["child"]["id"],
        w.hidden_child.as_str(),
        "{existing:#}"
    );
    assert_eq!(
        w.app.count(
            "children c",
            "EXISTS (SELECT 1 FROM child_identities i WHERE i.child_id = c.id \
                 AND i.family_name = 'Thorne' AND i.given_name = 'Mia')"
        ),
        1
    );
    // The answer shows the outsider alone, as for a new record.
    assert_eq!(
        ids(&existing["child"]["team"], Some("practitioner")),
        vec![w.outsider.id.clone()]
    );
    let a = crate::team_leaks::normalise(&existing, &[("Mia", "<given>"), ("Thorne", "<family>")]);
    let b = crate::team_leaks::normalise(&fresh, &[("Mae", "<given>"), ("Thorpe", "<family>")]);
    assert_eq!(
        a, b,
        "attaching must look like a new record:\n{existing:#}\n{fresh:#}"
    );

    // The IDVA sees one child with both involvements.
    let child = child_as(&w.app, &w.idva, &w.hidden_child).await;
    let team: BTreeSet<String> = ids(&child["team"], Some("practitioner"))
        .into_iter()
        .collect();
    assert_eq!(
        team,
        [w.idva.id.clone(), w.outsider.id.clone()]
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    let data = w
        .app
        .gql_ok(Some(&w.idva.token), MY_CHILDREN, json!({}))
        .await;
    assert_eq!(
        data["myChildren"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["familyName"] == "Thorne")
            .count(),
        1
    );
    // The outsider still does not see the IDVA.
    let child = child_as(&w.app, &w.outsider, &w.hidden_child).await;
    assert_eq!(
        ids(&child["team"], Some("practitioner")),
        vec![w.outsider.id.clone()]
    );
}

#[tokio::test]
async fn revoking_an_agreement_takes_effect_on_the_next_request() {
    let w = World::build().await;
    let before = child_as(&w.app, &w.officer, &w.child).await;
    assert!(ids(&before["team"], Some("practitioner")).contains(&w.idva.id));
    assert!(ids(&before["tasks"], None).contains(&w.task_idva_self));
    let data = w
        .app
        .gql_ok(Some(&w.officer.token), MY_TASKS, json!({}))
        .await;
    assert_eq!(
        data["myTasks"]["edges"][0]["node"]["id"],
        w.task_idva_to_officer.as_str()
    );

    let body = revoke(&w.app, &w.da_admin, &w.police_agreement).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(!body["data"]["revokeSharingAgreement"]["revokedAt"].is_null());

    let after = child_as(&w.app, &w.officer, &w.child).await;
    let team = ids(&after["team"], Some("practitioner"));
    assert!(!team.contains(&w.idva.id), "{after:#}");
    assert_eq!(team.len(), w.standard_members().len());
    let tasks = ids(&after["tasks"], None);
    assert_eq!(
        tasks,
        vec![w.task_housing.clone(), w.task_unassigned.clone()]
    );
    let events = timeline(&w.app, &w.officer, &w.child).await;
    assert!(!events.iter().any(|e| w.names_idva(e)), "{events:#?}");
    // The task the IDVA gave the officer names her: it goes too.
    let data = w
        .app
        .gql_ok(Some(&w.officer.token), MY_TASKS, json!({}))
        .await;
    assert_eq!(data["myTasks"]["edges"], json!([]), "{data:#}");
    let data = w
        .app
        .gql_ok(
            Some(&w.officer.token),
            SEARCH,
            json!({ "f": "Thorne", "d": HIDDEN_DOB }),
        )
        .await;
    assert_eq!(data["searchChildren"], json!([]));
}

#[tokio::test]
async fn sharing_agreements_are_granted_by_agency_admins_and_shown_to_both_sides() {
    let w = World::build().await;
    let q = format!("{{ sharingAgreements {{ {AGREEMENT_FIELDS} }} }}");
    let create = format!(
        "mutation($i: CreateSharingAgreementInput!) {{ createSharingAgreement(input: $i) {{ {AGREEMENT_FIELDS} }} }}"
    );
    let before = fingerprint(&w.app);
    for (user, label) in [
        (&w.admin, "a system admin grants none"),
        (&w.idva, "a practitioner is no agency admin"),
        (&w.housing_colleague, "a practitioner of another agency"),
    ] {
        let body = w
            .app
            .gql(
                Some(&user.token),
                &create,
                json!({ "i": { "toAgencyId": w.school, "purpose": "Sharing", "startsOn": day(0) } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{label}: {body:#}");
    }
    // A police officer may not revoke the agreement granted to police.
    let body = revoke(&w.app, &w.officer, &w.police_agreement).await;
    assert!(
        matches!(error_code(&body), Some("FORBIDDEN") | Some("NOT_FOUND")),
        "{body:#}"
    );
    assert_eq!(fingerprint(&w.app), before, "nothing written");

    // The granting agency sees all four; each receiving agency its own; others none.
    let data = w.app.gql_ok(Some(&w.da_admin.token), &q, json!({})).await;
    let list = data["sharingAgreements"].as_array().unwrap();
    assert_eq!(list.len(), 4, "{data:#}");
    assert!(list.iter().all(|a| a["fromAgency"]["id"] == w.da.as_str()));
    let data = w.app.gql_ok(Some(&w.officer.token), &q, json!({})).await;
    let list = data["sharingAgreements"].as_array().unwrap();
    assert_eq!(
        ids(&data["sharingAgreements"], None),
        vec![w.police_agreement.clone()]
    );
    assert_eq!(list[0]["toAgency"]["id"], w.police.as_str());
    assert_eq!(list[0]["startsOn"], day(-1));
    assert!(list[0]["endsOn"].is_null());
    assert!(list[0]["revokedAt"].is_null());
    let data = w.app.gql_ok(Some(&w.sm_worker.token), &q, json!({})).await;
    assert_eq!(
        ids(&data["sharingAgreements"], None),
        vec![w.sm_agreement.clone()]
    );
    assert!(!data["sharingAgreements"][0]["revokedAt"].is_null());
    let data = w.app.gql_ok(Some(&w.teacher.token), &q, json!({})).await;
    assert_eq!(data["sharingAgreements"], json!([]));
}
