//! The people and places most tests start from: a town's agencies and practitioners, a child
//! whose team includes a domestic-abuse service's restricted involvement, and one typed helper
//! per operation (register, join, update, contact, task, agreement, reads as a given reader).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::*;

// ---------------------------------------------------------------------------------------------
// Scenario helpers (shared with team_leaks.rs).
// ---------------------------------------------------------------------------------------------

pub const DA_NAME: &str = "Safe Harbour Domestic Abuse Service";
pub const IDVA_NAME: &str = "Indigo Vance";

pub const INVOLVEMENT_FIELDS: &str = "id version role sensitivity consent lawfulBasis isLead \
     startedOn endedOn lastContactAt nextContactAt child { id } practitioner { id } agency { id }";

pub const UPDATE: &str = "mutation($i: UpdateInvolvementInput!) { updateInvolvement(input: $i) { \
     id version role sensitivity consent lawfulBasis isLead endedOn nextContactAt } }";
pub const END: &str = "mutation($id: ID!, $v: Int!, $r: String) { endInvolvement(id: $id, expectedVersion: $v, reason: $r) { \
     id version isLead endedOn } }";
pub const CONTACT: &str = "mutation($i: RecordContactInput!) { recordContact(input: $i) { \
     id kind outcome at involvement { id lastContactAt nextContactAt } } }";
pub const CREATE_TASK: &str = "mutation($i: CreateTaskInput!) { createTask(input: $i) { \
     id version title description status dueOn assignee { id } createdBy { id } child { id } } }";
pub const UPDATE_TASK: &str = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { \
     id version title status dueOn assignee { id } createdBy { id } } }";
pub const AGREEMENT_FIELDS: &str =
    "id purpose startsOn endsOn revokedAt fromAgency { id } toAgency { id }";
pub const CHILD: &str =
    "query($id: ID!) { child(id: $id) { id givenName familyName dateOfBirth postcode version \
     team { id role sensitivity consent isLead startedOn version lastContactAt nextContactAt \
            practitioner { id displayName } agency { id name } } \
     leadProfessional { id isLead sensitivity practitioner { id } } \
     tasks { id title dueOn status version assignee { id } createdBy { id } } } }";
pub const TIMELINE: &str = "query($id: ID!, $first: Int, $after: String) { child(id: $id) { \
     timeline(first: $first, after: $after) { edges { cursor node { at kind summary involvement { id } task { id } } } \
     pageInfo { hasNextPage endCursor } } } }";
pub const MY_CHILDREN: &str = "query($first: Int, $after: String) { myChildren(first: $first, after: $after) { \
     edges { cursor node { id givenName familyName dateOfBirth } } pageInfo { hasNextPage endCursor } } }";
pub const MY_TASKS: &str =
    "query($first: Int, $after: String) { myTasks(first: $first, after: $after) { \
     edges { cursor node { id title dueOn status child { id } assignee { id } createdBy { id } } } \
     pageInfo { hasNextPage endCursor } } }";
pub const SEARCH: &str = "query($f: String!, $d: Date!, $g: String, $p: String) { \
     searchChildren(familyName: $f, dateOfBirth: $d, givenName: $g, postcode: $p) { \
     id givenName familyName dateOfBirth postcodeDistrict score } }";

/// "Today" as the tests see it.
pub fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

/// Today plus `offset` days, as a contract `Date`.
pub fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

/// Now plus `offset`, as a contract `DateTime` (whole seconds).
pub fn ts(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A string value, or a clear failure.
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

/// A `DateTime` value as an instant.
pub fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        v.as_str()
            .unwrap_or_else(|| panic!("expected a timestamp, got {v}")),
    )
    .unwrap_or_else(|e| panic!("{v} is not RFC 3339: {e}"))
    .with_timezone(&Utc)
}

/// The `id`s of a list of objects, or of the object at `inner` within each.
pub fn ids(list: &Value, inner: Option<&str>) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|x| match inner {
            Some(k) => s(&x[k]["id"]),
            None => s(&x["id"]),
        })
        .collect()
}

/// Fails unless `body` is BAD_USER_INPUT naming exactly `fields` (in any order).
#[track_caller]
pub fn assert_bad(body: &Value, fields: &[&str]) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{body:#}");
    let mut got = error_fields(body);
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "fields named: {body:#}");
}

/// A fingerprint of every table a team operation may write: equal fingerprints mean nothing
/// was written.
pub fn fingerprint(app: &TestApp) -> Vec<(&'static str, String)> {
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = diesel::sql_types::Text)]
        h: String,
    }
    let mut db = app.db();
    [
        "children",
        "child_identities",
        "involvements",
        "contacts",
        "tasks",
        "sharing_agreements",
        "activity",
    ]
    .into_iter()
    .map(|t| {
        let h = diesel::sql_query(format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS h FROM {t} x"
        ))
        .get_result::<H>(&mut db)
        .expect("fingerprint")
        .h;
        (t, h)
    })
    .collect()
}

/// The people of the differential tests: a teacher, a social worker, an IDVA of the sensitive
/// domestic-abuse service, and a youth worker outside every team.
pub struct People {
    pub teacher: User,
    pub social_worker: User,
    pub idva: User,
    pub outsider: User,
}

/// Four agencies (a school, social care, the domestic-abuse service, a youth club) and one
/// practitioner in each.
pub async fn people(app: &TestApp) -> People {
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let social_care = app
        .given_agency(
            &admin,
            "Kestrel Bay Children's Services",
            "SOCIAL_CARE",
            false,
        )
        .await;
    let da = app
        .given_agency(&admin, DA_NAME, "DOMESTIC_ABUSE", true)
        .await;
    let youth = app
        .given_agency(&admin, "Pier Road Youth Club", "YOUTH", false)
        .await;
    People {
        teacher: person(app, &admin, &school, "PRACTITIONER", "Grace Lin").await,
        social_worker: person(app, &admin, &social_care, "PRACTITIONER", "Sol Weller").await,
        idva: person(app, &admin, &da, "PRACTITIONER", IDVA_NAME).await,
        outsider: person(app, &admin, &youth, "PRACTITIONER", "Yusuf Obi").await,
    }
}

/// Creates a practitioner with a chosen display name (as `by`) and signs them in.
pub async fn person(app: &TestApp, by: &User, agency: &str, role: &str, name: &str) -> User {
    let first = name.split_whitespace().next().unwrap().to_lowercase();
    let email = format!("{first}-{}@agency.example", short());
    app.gql_ok(
        Some(&by.token),
        "mutation($i: CreatePractitionerInput!) { createPractitioner(input: $i) { id } }",
        json!({ "i": {
            "agencyId": agency, "displayName": name, "email": email, "jobTitle": "Worker",
            "role": role, "password": PASSWORD
        } }),
    )
    .await;
    let body = app.login(&email, PASSWORD).await;
    let l = &body["data"]["login"];
    assert!(l.is_object(), "login failed: {body:#}");
    User {
        id: s(&l["practitioner"]["id"]),
        email,
        agency_id: agency.to_owned(),
        token: s(&l["accessToken"]),
        refresh_token: s(&l["refreshToken"]),
    }
}

/// registerChild as `by`, returning the new involvement.
pub async fn register(
    app: &TestApp,
    by: &User,
    given: &str,
    family: &str,
    dob: &str,
    postcode: Option<&str>,
    role: &str,
) -> Value {
    let q = format!(
        "mutation($i: RegisterChildInput!) {{ registerChild(input: $i) {{ {INVOLVEMENT_FIELDS} }} }}"
    );
    let mut input =
        json!({ "givenName": given, "familyName": family, "dateOfBirth": dob, "role": role });
    if let Some(p) = postcode {
        input["postcode"] = json!(p);
    }
    app.gql_ok(Some(&by.token), &q, json!({ "i": input })).await["registerChild"].clone()
}

/// joinTeam as `by` with a role and a reason, returning the new involvement.
pub async fn join(app: &TestApp, by: &User, child: &str, role: &str) -> Value {
    let q = format!(
        "mutation($i: JoinTeamInput!) {{ joinTeam(input: $i) {{ {INVOLVEMENT_FIELDS} }} }}"
    );
    app.gql_ok(
        Some(&by.token),
        &q,
        json!({ "i": { "childId": child, "role": role, "reason": format!("Joining as {role}") } }),
    )
    .await["joinTeam"]
        .clone()
}

/// joinTeam with a whole input, returning the whole response.
pub async fn join_raw(app: &TestApp, by: &User, input: Value) -> Value {
    let q = format!(
        "mutation($i: JoinTeamInput!) {{ joinTeam(input: $i) {{ {INVOLVEMENT_FIELDS} }} }}"
    );
    app.gql(Some(&by.token), &q, json!({ "i": input })).await
}

/// updateInvolvement, returning the whole response.
pub async fn update(app: &TestApp, by: &User, input: Value) -> Value {
    app.gql(Some(&by.token), UPDATE, json!({ "i": input }))
        .await
}

/// recordContact, returning the whole response.
pub async fn contact(
    app: &TestApp,
    by: &User,
    involvement: &str,
    kind: &str,
    outcome: &str,
    at: &str,
) -> Value {
    app.gql(
        Some(&by.token),
        CONTACT,
        json!({ "i": { "involvementId": involvement, "kind": kind, "outcome": outcome, "at": at } }),
    )
    .await
}

/// createTask as `by`, returning the task's id.
pub async fn task(
    app: &TestApp,
    by: &User,
    child: &str,
    title: &str,
    assignee: Option<&str>,
    due: Option<String>,
) -> String {
    let mut input = json!({ "childId": child, "title": title });
    if let Some(a) = assignee {
        input["assigneeId"] = json!(a);
    }
    if let Some(d) = due {
        input["dueOn"] = json!(d);
    }
    let data = app
        .gql_ok(Some(&by.token), CREATE_TASK, json!({ "i": input }))
        .await;
    s(&data["createTask"]["id"])
}

/// createSharingAgreement as `by` (an agency admin), returning the agreement.
pub async fn agreement(
    app: &TestApp,
    by: &User,
    to: &str,
    starts: String,
    ends: Option<String>,
) -> Value {
    let mut input = json!({ "toAgencyId": to, "purpose": "Safeguarding the children we share", "startsOn": starts });
    if let Some(e) = ends {
        input["endsOn"] = json!(e);
    }
    let q = format!(
        "mutation($i: CreateSharingAgreementInput!) {{ createSharingAgreement(input: $i) {{ {AGREEMENT_FIELDS} }} }}"
    );
    app.gql_ok(Some(&by.token), &q, json!({ "i": input })).await["createSharingAgreement"].clone()
}

/// revokeSharingAgreement as `by`, returning the whole response.
pub async fn revoke(app: &TestApp, by: &User, id: &str) -> Value {
    let q = format!(
        "mutation($id: ID!) {{ revokeSharingAgreement(id: $id) {{ {AGREEMENT_FIELDS} }} }}"
    );
    app.gql(Some(&by.token), &q, json!({ "id": id })).await
}

/// `child(id)` as `reader`: the child, or null.
pub async fn child_as(app: &TestApp, reader: &User, child: &str) -> Value {
    app.gql_ok(Some(&reader.token), CHILD, json!({ "id": child }))
        .await["child"]
        .clone()
}

/// One involvement as `reader` finds it in the child's team (ended ones included), or null.
pub async fn involvement_as(app: &TestApp, reader: &User, child: &str, involvement: &str) -> Value {
    let data = app
        .gql_ok(
            Some(&reader.token),
            "query($id: ID!) { child(id: $id) { team(includeEnded: true) { id role sensitivity consent lawfulBasis isLead \
             version endedOn lastContactAt nextContactAt contacts { id kind outcome at } } } }",
            json!({ "id": child }),
        )
        .await;
    data["child"]["team"]
        .as_array()
        .and_then(|t| t.iter().find(|i| i["id"] == involvement).cloned())
        .unwrap_or(Value::Null)
}

/// A whole timeline as `reader` (one page of up to 50, which must be the last).
pub async fn timeline(app: &TestApp, reader: &User, child: &str) -> Vec<Value> {
    let data = app
        .gql_ok(Some(&reader.token), TIMELINE, json!({ "id": child }))
        .await;
    let conn = &data["child"]["timeline"];
    assert_eq!(conn["pageInfo"]["hasNextPage"], false, "{conn:#}");
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Walks a connection with `first` per page. `pointer` leads from `data` to the connection.
/// Returns every edge and the `hasNextPage` of each page.
pub async fn pages(
    app: &TestApp,
    reader: &User,
    query: &str,
    pointer: &str,
    vars: Value,
    first: i64,
) -> (Vec<Value>, Vec<bool>) {
    let mut edges = Vec::new();
    let mut more = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..50 {
        let mut v = vars.clone();
        v["first"] = json!(first);
        if let Some(a) = &after {
            v["after"] = json!(a);
        }
        let data = app.gql_ok(Some(&reader.token), query, v).await;
        let conn = data
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} in {data:#}"))
            .clone();
        let page = conn["edges"].as_array().unwrap().clone();
        assert!(page.len() as i64 <= first, "a page holds at most `first`");
        let next = conn["pageInfo"]["hasNextPage"].as_bool().unwrap();
        more.push(next);
        edges.extend(page);
        if !next {
            return (edges, more);
        }
        after = Some(s(&conn["pageInfo"]["endCursor"]));
    }
    panic!("pagination never ended");
}

/// The whole scenario of the access matrix.
pub struct World {
    pub app: TestApp,
    pub admin: User,
    pub school: String,
    pub police: String,
    pub da: String,
    pub sm: String,
    pub housing: String,
    pub teacher: User,
    pub social_worker: User,
    pub idva: User,
    pub da_colleague: User,
    pub da_admin: User,
    pub officer: User,
    pub sm_worker: User,
    pub health_worker: User,
    pub probation_officer: User,
    pub housing_officer: User,
    pub housing_colleague: User,
    pub housing_admin: User,
    pub outsider: User,
    /// Leo Marsh: the team of every kind of member.
    pub child: String,
    pub teacher_inv: String,
    pub sw_inv: String,
    pub housing_inv: String,
    pub idva_inv: String,
    pub officer_inv: String,
    pub sm_inv: String,
    pub health_inv: String,
    pub probation_inv: String,
    pub police_agreement: String,
    pub sm_agreement: String,
    /// Created by the IDVA, assigned to the IDVA, due in 5 days.
    pub task_idva_self: String,
    /// Created by the teacher, assigned to the housing officer, due in 2 days.
    pub task_housing: String,
    /// Created by the teacher, unassigned, no due date.
    pub task_unassigned: String,
    /// Created by the IDVA, assigned to the police officer (who may see her), due in 10 days.
    pub task_idva_to_officer: String,
    /// Mia Thorne: known only to the domestic-abuse service (registered by the IDVA).
    pub hidden_child: String,
    pub hidden_idva_inv: String,
}

pub const CHILD_DOB: &str = "2015-04-12";
pub const HIDDEN_DOB: &str = "2016-09-30";

impl World {
    pub async fn build() -> World {
        let app = spawn_app().await;
        let admin = app.system_admin().await;
        let school = app
            .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
            .await;
        let social_care = app
            .given_agency(
                &admin,
                "Kestrel Bay Children's Services",
                "SOCIAL_CARE",
                false,
            )
            .await;
        let police = app
            .given_agency(&admin, "Kestrel Bay Police", "POLICE", false)
            .await;
        let da = app
            .given_agency(&admin, DA_NAME, "DOMESTIC_ABUSE", true)
            .await;
        let sm = app
            .given_agency(&admin, "Harbour Lights Recovery", "SUBSTANCE_MISUSE", true)
            .await;
        let health = app
            .given_agency(&admin, "Kestrel Bay School Nursing", "HEALTH", false)
            .await;
        let probation = app
            .given_agency(&admin, "Kestrel Bay Probation", "PROBATION", false)
            .await;
        let housing = app
            .given_agency(&admin, "Kestrel Homes", "HOUSING", false)
            .await;
        let youth = app
            .given_agency(&admin, "Pier Road Youth Club", "YOUTH", false)
            .await;

        let teacher = person(&app, &admin, &school, "PRACTITIONER", "Grace Lin").await;
        let social_worker = person(&app, &admin, &social_care, "PRACTITIONER", "Sol Weller").await;
        let idva = person(&app, &admin, &da, "PRACTITIONER", IDVA_NAME).await;
        let da_colleague = person(&app, &admin, &da, "PRACTITIONER", "Dana Cole").await;
        let da_admin = person(&app, &admin, &da, "AGENCY_ADMIN", "Ada Mensah").await;
        let officer = person(&app, &admin, &police, "PRACTITIONER", "Owen Parry").await;
        let sm_worker = person(&app, &admin, &sm, "PRACTITIONER", "Suki Moss").await;
        let health_worker = person(&app, &admin, &health, "PRACTITIONER", "Hana Oduya").await;
        let probation_officer =
            person(&app, &admin, &probation, "PRACTITIONER", "Piet Rourke").await;
        let housing_officer = person(&app, &admin, &housing, "PRACTITIONER", "Hal Ibsen").await;
        let housing_colleague = person(&app, &admin, &housing, "PRACTITIONER", "Cora Hughes").await;
        let housing_admin = person(&app, &admin, &housing, "AGENCY_ADMIN", "Alma Hurst").await;
        let outsider = person(&app, &admin, &youth, "PRACTITIONER", "Yusuf Obi").await;

        // Sharing agreements from the domestic-abuse service: active to the police; revoked to
        // substance misuse; ended to health; not yet started to probation.
        let police_agreement = s(&agreement(&app, &da_admin, &police, day(-1), None).await["id"]);
        let sm_agreement = s(&agreement(&app, &da_admin, &sm, day(-30), None).await["id"]);
        let body = revoke(&app, &da_admin, &sm_agreement).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        agreement(&app, &da_admin, &health, day(-30), Some(day(-3))).await;
        agreement(&app, &da_admin, &probation, day(3), None).await;

        let inv = register(
            &app,
            &teacher,
            "Leo",
            "Marsh",
            CHILD_DOB,
            Some("LS6 2AB"),
            "Class teacher",
        )
        .await;
        assert_eq!(inv["sensitivity"], "STANDARD", "{inv:#}");
        let child = s(&inv["child"]["id"]);
        let teacher_inv = s(&inv["id"]);

        let sw = join(&app, &social_worker, &child, "Allocated social worker").await;
        assert_eq!(sw["sensitivity"], "STANDARD");
        let sw_inv = s(&sw["id"]);
        let housing_inv = s(&join(&app, &housing_officer, &child, "Housing officer").await["id"]);
        let i = join(&app, &idva, &child, "IDVA").await;
        assert_eq!(
            i["sensitivity"], "RESTRICTED",
            "a sensitive agency's involvement is restricted by default"
        );
        let idva_inv = s(&i["id"]);
        let officer_inv = s(&join(&app, &officer, &child, "Safeguarding officer").await["id"]);
        let m = join(&app, &sm_worker, &child, "Recovery worker").await;
        assert_eq!(m["sensitivity"], "RESTRICTED");
        let sm_inv = s(&m["id"]);
        let health_inv = s(&join(&app, &health_worker, &child, "School nurse").await["id"]);
        let probation_inv =
            s(&join(&app, &probation_officer, &child, "Probation officer").await["id"]);

        // The social worker becomes lead professional.
        let body = update(
            &app,
            &social_worker,
            json!({ "id": sw_inv, "expectedVersion": sw["version"], "isLead": true }),
        )
        .await;
        assert_eq!(
            body["data"]["updateInvolvement"]["isLead"], true,
            "{body:#}"
        );

        let body = contact(
            &app,
            &idva,
            &idva_inv,
            "PHONE",
            "HAPPENED",
            &ts(Duration::hours(-2)),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        let body = contact(
            &app,
            &housing_officer,
            &housing_inv,
            "HOME_VISIT",
            "HAPPENED",
            &ts(Duration::hours(-1)),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body:#}");

        let task_idva_self = task(
            &app,
            &idva,
            &child,
            "Review the safety plan",
            Some(&idva.id),
            Some(day(5)),
        )
        .await;
        let task_housing = task(
            &app,
            &teacher,
            &child,
            "Check the heating repair",
            Some(&housing_officer.id),
            Some(day(2)),
        )
        .await;
        let task_unassigned = task(&app, &teacher, &child, "Book a team meeting", None, None).await;
        let task_idva_to_officer = task(
            &app,
            &idva,
            &child,
            "Share the incident log with me",
            Some(&officer.id),
            Some(day(10)),
        )
        .await;

        let h = register(
            &app,
            &idva,
            "Mia",
            "Thorne",
            HIDDEN_DOB,
            Some("LS6 3CD"),
            "IDVA",
        )
        .await;
        assert_eq!(h["sensitivity"], "RESTRICTED");

        World {
            app,
            admin,
            school,
            police,
            da,
            sm,
            housing,
            teacher,
            social_worker,
            idva,
            da_colleague,
            da_admin,
            officer,
            sm_worker,
            health_worker,
            probation_officer,
            housing_officer,
            housing_colleague,
            housing_admin,
            outsider,
            child,
            teacher_inv,
            sw_inv,
            housing_inv,
            idva_inv,
            officer_inv,
            sm_inv,
            health_inv,
            probation_inv,
            police_agreement,
            sm_agreement,
            task_idva_self,
            task_housing,
            task_unassigned,
            task_idva_to_officer,
            hidden_child: s(&h["child"]["id"]),
            hidden_idva_inv: s(&h["id"]),
        }
    }

    /// Every kind of reader, and what the rules let each see.
    pub fn seats(&self) -> Vec<Seat<'_>> {
        let seat = |label, user, reads, sees_da, member, searches| Seat {
            label,
            user,
            reads,
            sees_da,
            member,
            searches,
        };
        vec![
            seat(
                "the IDVA (the restricted involvement's own practitioner)",
                &self.idva,
                true,
                true,
                true,
                true,
            ),
            seat(
                "a colleague of the IDVA, not on the team",
                &self.da_colleague,
                false,
                true,
                false,
                true,
            ),
            seat(
                "the domestic-abuse service's agency admin",
                &self.da_admin,
                true,
                true,
                false,
                true,
            ),
            seat(
                "a police team member whose agency holds an active agreement",
                &self.officer,
                true,
                true,
                true,
                true,
            ),
            seat(
                "a substance-misuse team member whose agency's agreement was revoked",
                &self.sm_worker,
                true,
                false,
                true,
                true,
            ),
            seat(
                "a school nurse on the team whose agency's agreement has ended",
                &self.health_worker,
                true,
                false,
                true,
                true,
            ),
            seat(
                "a probation officer on the team whose agency's agreement has not begun",
                &self.probation_officer,
                true,
                false,
                true,
                true,
            ),
            seat(
                "the housing officer (the standard involvement's own practitioner), no agreement",
                &self.housing_officer,
                true,
                false,
                true,
                true,
            ),
            seat(
                "the class teacher who registered the child, no agreement",
                &self.teacher,
                true,
                false,
                true,
                true,
            ),
            seat(
                "the social worker (lead professional), no agreement",
                &self.social_worker,
                true,
                false,
                true,
                true,
            ),
            seat(
                "a colleague of the housing officer, not on the team",
                &self.housing_colleague,
                false,
                false,
                false,
                true,
            ),
            seat(
                "the housing agency's admin",
                &self.housing_admin,
                true,
                false,
                false,
                true,
            ),
            seat(
                "a practitioner not on the team",
                &self.outsider,
                false,
                false,
                false,
                true,
            ),
            seat(
                "a system admin not on the team",
                &self.admin,
                false,
                false,
                false,
                false,
            ),
        ]
    }

    /// The practitioners of the child's STANDARD involvements.
    pub fn standard_members(&self) -> BTreeSet<String> {
        [
            &self.teacher,
            &self.social_worker,
            &self.housing_officer,
            &self.officer,
            &self.health_worker,
            &self.probation_officer,
        ]
        .into_iter()
        .map(|u| u.id.clone())
        .collect()
    }

    /// Whether an event concerns the IDVA's involvement or a task naming the IDVA.
    pub fn names_idva(&self, e: &Value) -> bool {
        e["involvement"]["id"] == self.idva_inv.as_str()
            || e["task"]["id"] == self.task_idva_self.as_str()
            || e["task"]["id"] == self.task_idva_to_officer.as_str()
    }
}

/// A reader of the access matrix.
pub struct Seat<'a> {
    pub label: &'static str,
    pub user: &'a User,
    /// May read the child's record (rule 1).
    pub reads: bool,
    /// May see the domestic-abuse service's restricted involvements (rule 3).
    pub sees_da: bool,
    /// Has an active involvement with the child.
    pub member: bool,
    /// Is a practitioner who searches (system admins are left out of search).
    pub searches: bool,
}

/// A small town for the tests of Patchwork's doors (vendor API, webhooks, feed, FHIR, live
/// screens): a school, a social-care service and a domestic-abuse service (sensitive); an
/// admin of each of the first two; a teacher, a social worker and an advocate; the teacher has
/// registered one child, Maisie Thorne.
pub struct SmallTown {
    pub sys: User,
    pub school: String,
    pub care: String,
    pub refuge: String,
    pub school_admin: User,
    pub care_admin: User,
    pub teacher: User,
    pub worker: User,
    pub advocate: User,
    /// The teacher's involvement, as `registerChild` answered it.
    pub teacher_inv: Value,
    pub child: String,
}

pub async fn small_town(app: &TestApp) -> SmallTown {
    let sys = app.system_admin().await;
    let school = app
        .given_agency(&sys, &format!("School {}", short()), "EDUCATION", false)
        .await;
    let care = app
        .given_agency(&sys, &format!("Care {}", short()), "SOCIAL_CARE", false)
        .await;
    let refuge = app
        .given_agency(&sys, &format!("Refuge {}", short()), "DOMESTIC_ABUSE", true)
        .await;
    let school_admin = person(app, &sys, &school, "AGENCY_ADMIN", "Sam Head").await;
    let care_admin = person(app, &sys, &care, "AGENCY_ADMIN", "Grace Admin").await;
    let teacher = person(app, &sys, &school, "PRACTITIONER", "Amira Teacher").await;
    let worker = person(app, &sys, &care, "PRACTITIONER", "Tom Worker").await;
    let advocate = person(app, &sys, &refuge, "PRACTITIONER", "Indigo Vance").await;
    let teacher_inv = register(
        app,
        &teacher,
        "Maisie",
        "Thorne",
        "2016-05-04",
        None,
        "Class teacher",
    )
    .await;
    let child = s(&teacher_inv["child"]["id"]);
    SmallTown {
        sys,
        school,
        care,
        refuge,
        school_admin,
        care_admin,
        teacher,
        worker,
        advocate,
        teacher_inv,
        child,
    }
}

impl SmallTown {
    /// The advocate joins the child's team, RESTRICTED; returns the involvement.
    pub async fn advocate_joins(&self, app: &TestApp) -> Value {
        let joined = join_raw(
            app,
            &self.advocate,
            json!({ "childId": self.child, "role": "IDVA", "reason": "Referral", "sensitivity": "RESTRICTED" }),
        )
        .await;
        assert!(joined["data"]["joinTeam"].is_object(), "{joined:#}");
        joined["data"]["joinTeam"].clone()
    }
}
