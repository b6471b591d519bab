//! Administration: agencies and accounts, with the role rules of the contract.

use patchwork_tests::serde_json::json;
use patchwork_tests::*;

const CREATE_AGENCY: &str =
    "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id name kind sensitive email phone } }";
const CREATE_PRACTITIONER: &str = "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id displayName email role active jobTitle phone mobile agency { id } } }";
const DEACTIVATE: &str = "mutation($id: ID!) { deactivatePractitioner(id: $id) { id active } }";

fn person(agency: &str, email: &str, role: &str) -> patchwork_tests::serde_json::Value {
    json!({ "agencyId": agency, "displayName": "Robin Example", "email": email, "role": role, "password": PASSWORD })
}

#[tokio::test]
async fn system_admins_create_agencies_and_others_may_not() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let data = app
        .gql_ok(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": "  Harbour Lights Recovery ", "kind": "SUBSTANCE_MISUSE", "sensitive": true,
                           "email": "office@harbourlights.example", "phone": "0113 496 0123" } }),
        )
        .await;
    let agency = &data["createAgency"];
    assert_eq!(agency["name"], "Harbour Lights Recovery", "trimmed");
    assert_eq!(agency["kind"], "SUBSTANCE_MISUSE");
    assert_eq!(agency["sensitive"], true);

    // `sensitive` defaults to false.
    let data = app
        .gql_ok(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": "Gull Street School", "kind": "EDUCATION" } }),
        )
        .await;
    assert_eq!(data["createAgency"]["sensitive"], false);
    let school = data["createAgency"]["id"].as_str().unwrap().to_owned();

    let agency_admin = app
        .given_practitioner(&admin, &school, "AGENCY_ADMIN")
        .await;
    let worker = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    for user in [&agency_admin, &worker] {
        let body = app
            .gql(
                Some(&user.token),
                CREATE_AGENCY,
                json!({ "i": { "name": "Rogue Agency", "kind": "OTHER" } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    let body = app
        .gql(
            None,
            CREATE_AGENCY,
            json!({ "i": { "name": "Anon Agency", "kind": "OTHER" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    assert_eq!(app.count("agencies", "name LIKE '%Agency'"), 0);

    // Names are unique without regard to case.
    let body = app
        .gql(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": "gull street school", "kind": "EDUCATION" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(error_fields(&body), vec!["input.name"]);

    // Everyone signed in sees the directory, by name.
    let data = app
        .gql_ok(Some(&worker.token), "{ agencies { name } }", json!({}))
        .await;
    let names: Vec<&str> = data["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"Harbour Lights Recovery"));
}

#[tokio::test]
async fn agency_input_errors_name_every_field_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let before = app.count("agencies", "true");
    let body = app
        .gql(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": "   ", "kind": "HEALTH", "email": "not-an-email", "phone": "call me" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        error_fields(&body),
        vec!["input.email", "input.name", "input.phone"]
    );
    let long = "x".repeat(201);
    let body = app
        .gql(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": long, "kind": "HEALTH" } }),
        )
        .await;
    assert_eq!(error_fields(&body), vec!["input.name"]);
    assert_eq!(app.count("agencies", "true"), before);

    // A value outside the enum is refused before anything runs.
    let body = app
        .gql(
            Some(&admin.token),
            CREATE_AGENCY,
            json!({ "i": { "name": "Somewhere", "kind": "CIRCUS" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(app.count("agencies", "true"), before);
}

#[tokio::test]
async fn account_rules_follow_the_contract() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let police = app
        .given_agency(&admin, "Kestrel Bay Police", "POLICE", false)
        .await;
    let school_admin = app
        .given_practitioner(&admin, &school, "AGENCY_ADMIN")
        .await;
    let teacher = app
        .given_practitioner(&school_admin, &school, "PRACTITIONER")
        .await;

    // A system admin: any agency, any role.
    let data = app
        .gql_ok(
            Some(&admin.token),
            CREATE_PRACTITIONER,
            json!({ "i": person(&police, "sys2@council.example", "SYSTEM_ADMIN") }),
        )
        .await;
    assert_eq!(data["createPractitioner"]["role"], "SYSTEM_ADMIN");

    // An agency admin: their own agency, up to agency admin.
    let data = app
        .gql_ok(
            Some(&school_admin.token),
            CREATE_PRACTITIONER,
            json!({ "i": person(&school, "deputy@gull.example", "AGENCY_ADMIN") }),
        )
        .await;
    assert_eq!(data["createPractitioner"]["agency"]["id"], school.as_str());
    // Role defaults to PRACTITIONER.
    let mut input = person(&school, "ta@gull.example", "PRACTITIONER");
    input.as_object_mut().unwrap().remove("role");
    let data = app
        .gql_ok(
            Some(&school_admin.token),
            CREATE_PRACTITIONER,
            json!({ "i": input }),
        )
        .await;
    assert_eq!(data["createPractitioner"]["role"], "PRACTITIONER");

    let refused = [
        (
            &school_admin,
            person(&police, "x1@police.example", "PRACTITIONER"),
        ),
        (
            &school_admin,
            person(&school, "x2@gull.example", "SYSTEM_ADMIN"),
        ),
        (&teacher, person(&school, "x3@gull.example", "PRACTITIONER")),
    ];
    for (who, input) in refused {
        let body = app
            .gql(Some(&who.token), CREATE_PRACTITIONER, json!({ "i": input }))
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    assert_eq!(app.count("practitioners", "email LIKE 'x%'"), 0);
}

#[tokio::test]
async fn account_input_is_validated() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let before = app.count("practitioners", "true");

    let body = app
        .gql(
            Some(&admin.token),
            CREATE_PRACTITIONER,
            json!({ "i": { "agencyId": "not-a-uuid", "displayName": "", "email": "nope", "phone": "12",
                           "mobile": "0770O 900000", "password": "short" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        error_fields(&body),
        vec![
            "input.agencyId",
            "input.displayName",
            "input.email",
            "input.mobile",
            "input.password",
            "input.phone"
        ]
    );

    // Without a password the account waits for its invitation (the mail tests follow it).
    let mut input = person(&school, "nopass@gull.example", "PRACTITIONER");
    input.as_object_mut().unwrap().remove("password");
    app.gql_ok(
        Some(&admin.token),
        CREATE_PRACTITIONER,
        json!({ "i": input }),
    )
    .await;
    assert_eq!(app.count("invitations", "used_at IS NULL"), 1);
    assert_eq!(app.count("notifications", "kind = 'INVITATION'"), 1);
    let before = before + 1;

    // An agency that does not exist.
    let body = app
        .gql(Some(&admin.token), CREATE_PRACTITIONER, json!({ "i": person(&uuid::Uuid::new_v4().to_string(), "ghost@x.example", "PRACTITIONER") }))
        .await;
    assert_eq!(error_fields(&body), vec!["input.agencyId"]);
    assert_eq!(app.count("practitioners", "true"), before);

    // Email is unique without regard to case.
    app.gql_ok(
        Some(&admin.token),
        CREATE_PRACTITIONER,
        json!({ "i": person(&school, "Jo.Bloggs@gull.example", "PRACTITIONER") }),
    )
    .await;
    let body = app
        .gql(
            Some(&admin.token),
            CREATE_PRACTITIONER,
            json!({ "i": person(&school, "jo.bloggs@GULL.example", "PRACTITIONER") }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(error_fields(&body), vec!["input.email"]);
    assert_eq!(app.count("practitioners", "true"), before + 1);
}

#[tokio::test]
async fn deactivation_rules() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let police = app
        .given_agency(&admin, "Kestrel Bay Police", "POLICE", false)
        .await;
    let school_admin = app
        .given_practitioner(&admin, &school, "AGENCY_ADMIN")
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let officer = app
        .given_practitioner(&admin, &police, "PRACTITIONER")
        .await;

    for (who, target, code) in [
        (&teacher, &officer, "FORBIDDEN"),
        (&school_admin, &officer, "FORBIDDEN"),
        (&school_admin, &admin, "FORBIDDEN"),
        (&school_admin, &school_admin, "FORBIDDEN"),
    ] {
        let body = app
            .gql(Some(&who.token), DEACTIVATE, json!({ "id": target.id }))
            .await;
        assert_eq!(error_code(&body), Some(code), "{body}");
    }
    let body = app
        .gql(
            Some(&admin.token),
            DEACTIVATE,
            json!({ "id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"));
    assert_eq!(app.count("practitioners", "NOT active"), 0);

    let data = app
        .gql_ok(
            Some(&school_admin.token),
            DEACTIVATE,
            json!({ "id": teacher.id }),
        )
        .await;
    assert_eq!(data["deactivatePractitioner"]["active"], false);
    let data = app
        .gql_ok(Some(&admin.token), DEACTIVATE, json!({ "id": officer.id }))
        .await;
    assert_eq!(data["deactivatePractitioner"]["active"], false);
    assert_eq!(
        app.count("audit_events", "action = 'PRACTITIONER_DEACTIVATED'"),
        2
    );
}

#[tokio::test]
async fn profiles_are_visible_to_everyone_signed_in() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let police = app
        .given_agency(&admin, "Kestrel Bay Police", "POLICE", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let officer = app
        .given_practitioner(&admin, &police, "PRACTITIONER")
        .await;
    let q = "query($id: ID!) { practitioner(id: $id) { id displayName email jobTitle role agency { name kind } } }";
    let data = app
        .gql_ok(Some(&teacher.token), q, json!({ "id": officer.id }))
        .await;
    assert_eq!(data["practitioner"]["agency"]["name"], "Kestrel Bay Police");
    assert_eq!(data["practitioner"]["email"], officer.email.as_str());

    let data = app
        .gql_ok(
            Some(&teacher.token),
            q,
            json!({ "id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert!(data["practitioner"].is_null());
    let body = app
        .gql(Some(&teacher.token), q, json!({ "id": "42" }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    let body = app.gql(None, q, json!({ "id": officer.id })).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
}
