//! FHIR R4 CareTeam as a health system reads it: the child's team with the caller's rules, by
//! id or NHS number, with a practitioner's or a machine client's token; the same answer with
//! and without a hidden service; OperationOutcome for what it cannot answer.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::{self, s};
use patchwork_tests::*;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

async fn fhir_get(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Value) {
    let mut req = app.client.get(format!("{}/fhir{path}", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ctype, res.json().await.unwrap())
}

#[tokio::test]
async fn a_child_s_team_is_a_care_team_by_id_or_nhs_number_as_the_caller_may_see_it() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let (sys, school, care_admin, worker, child) =
        (&t.sys, &t.school, &t.care_admin, &t.worker, t.child.clone());
    // Social care's case system records the child with her NHS number and allocates Tom.
    let token = app
        .client_token(
            care_admin,
            &["CHILDREN_WRITE", "INVOLVEMENTS_WRITE", "TEAMS_READ"],
        )
        .await;
    for (path, body) in [
        (
            "/api/v1/children/M-1",
            json!({ "givenName": "Maisie", "familyName": "Thorne",
            "dateOfBirth": "2016-05-04", "nhsNumber": "9434765919" }),
        ),
        (
            "/api/v1/involvements/A-1",
            json!({ "childRef": "M-1", "role": "Allocated social worker",
            "practitioner": { "email": worker.email } }),
        ),
    ] {
        let res = app
            .client
            .put(format!("{}{path}", app.address))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{path}");
    }

    // Capabilities, with no token.
    let (status, ctype, meta) = fhir_get(&app, None, "/metadata").await;
    assert_eq!((status, ctype.as_str()), (200, "application/fhir+json"));
    assert_eq!(meta["resourceType"], "CapabilityStatement");
    assert_eq!(meta["fhirVersion"], "4.0.1");

    // Tom reads the team by id.
    let (status, ctype, team) =
        fhir_get(&app, Some(&worker.token), &format!("/CareTeam/{child}")).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/fhir+json"),
        "{team:#}"
    );
    assert_eq!(team["resourceType"], "CareTeam");
    assert_eq!(team["id"], json!(child));
    assert_eq!(team["subject"]["reference"], format!("Patient/{child}"));
    assert_eq!(
        team["subject"]["identifier"],
        json!({ "system": NHS, "value": "9434765919" })
    );
    let roles: Vec<&str> = team["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(roles.len(), 2, "{team:#}");
    assert!(roles.contains(&"Class teacher") && roles.contains(&"Allocated social worker"));
    // Each member is a contained Practitioner the participant points at, with a way to reach
    // them, on behalf of a contained Organization.
    let contained = team["contained"].as_array().unwrap();
    for p in team["participant"].as_array().unwrap() {
        let member = p["member"]["reference"]
            .as_str()
            .unwrap()
            .trim_start_matches('#');
        let who = contained
            .iter()
            .find(|c| c["id"] == member)
            .expect("contained member");
        assert_eq!(who["resourceType"], "Practitioner");
        assert!(who["telecom"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["system"] == "email"));
        let org = p["onBehalfOf"]["reference"]
            .as_str()
            .unwrap()
            .trim_start_matches('#');
        assert!(contained
            .iter()
            .any(|c| c["id"] == org && c["resourceType"] == "Organization"));
        assert!(p["period"]["start"].is_string());
    }

    // The case system searches by NHS number, and by the child's id.
    for query in [
        format!("subject={NHS}|9434765919"),
        format!("subject:identifier={NHS}|943%20476%205919"),
        format!("subject=Patient/{child}"),
    ] {
        let (status, _, bundle) = fhir_get(&app, Some(&token), &format!("/CareTeam?{query}")).await;
        assert_eq!(status, 200, "{bundle:#}");
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        assert_eq!(bundle["total"], 1, "{query}: {bundle:#}");
        assert_eq!(bundle["entry"][0]["resource"]["id"], json!(child));
    }

    // Nothing the caller may not read: no entry, as for no child at all; a read is not found.
    let stranger = world::person(&app, sys, school, "PRACTITIONER", "Sam Stranger").await;
    let (status, _, none) = fhir_get(
        &app,
        Some(&stranger.token),
        &format!("/CareTeam?subject={child}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(none["total"], 0);
    assert!(none.get("entry").is_none(), "FHIR JSON has no empty arrays");
    let (status, _, missing) =
        fhir_get(&app, Some(&stranger.token), &format!("/CareTeam/{child}")).await;
    let (_, _, nothing) = fhir_get(
        &app,
        Some(&stranger.token),
        &format!("/CareTeam/{}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing, nothing);
    assert_eq!(missing["resourceType"], "OperationOutcome");

    // Bad input and no token: OperationOutcome too.
    let (status, _, bad) = fhir_get(&app, Some(&token), "/CareTeam?subject=nonsense").await;
    assert_eq!(
        (status, bad["issue"][0]["code"].as_str()),
        (400, Some("invalid"))
    );
    let (status, _, anonymous) = fhir_get(&app, None, &format!("/CareTeam/{child}")).await;
    assert_eq!(
        (status, anonymous["issue"][0]["code"].as_str()),
        (401, Some("login"))
    );
}

/// A school teacher's CareTeam of a child, normalised, in a story with or without a
/// domestic-abuse service's restricted involvement.
async fn teacher_reads(hidden: bool) -> String {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let (teacher, school, child) = (&t.teacher, &t.school, t.child.clone());
    if hidden {
        t.advocate_joins(&app).await;
    }
    let (status, _, team) =
        fhir_get(&app, Some(&teacher.token), &format!("/CareTeam/{child}")).await;
    assert_eq!(status, 200);
    team.to_string()
        .replace(&child, "<child>")
        .replace(&s(&t.teacher_inv["id"]), "<involvement>")
        .replace(&teacher.email, "<email>")
        .replace(school, "<school>")
        .replace(
            team["contained"][1]["name"].as_str().unwrap(),
            "<school name>",
        )
}

#[tokio::test]
async fn a_care_team_outside_a_hidden_service_is_the_same_with_or_without_it() {
    let without = teacher_reads(false).await;
    let with = teacher_reads(true).await;
    assert_eq!(without, with);
    assert!(!with.contains("IDVA") && !with.contains("Indigo"));
}
