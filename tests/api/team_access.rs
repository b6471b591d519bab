//! The team around the child and PRODUCT.md "Who may see what": for every kind of reader, what
//! `child`, `team`, `leadProfessional`, `tasks`, `timeline`, `myChildren`, `myTasks` and
//! `searchChildren` show for a STANDARD and a RESTRICTED involvement; then the write rules
//! (consent, lead professional, whose involvement, versions), bad input, orders, pagination
//! and search.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use diesel::{QueryableByName, RunQueryDsl};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;

// ---------------------------------------------------------------------------------------------
// Scenario helpers (shared with team_leaks.rs).
// ---------------------------------------------------------------------------------------------

pub(crate) const DA_NAME: &str = "Safe Harbour Domestic Abuse Service";
pub(crate) const IDVA_NAME: &str = "Indigo Vance";

pub(crate) const INVOLVEMENT_FIELDS: &str =
    "id version role sensitivity consent lawfulBasis isLead \
     startedOn endedOn lastContactAt nextContactAt child { id } practitioner { id } agency { id }";

pub(crate) const UPDATE: &str =
    "mutation($i: UpdateInvolvementInput!) { updateInvolvement(input: $i) { \
     id version role sensitivity consent lawfulBasis isLead endedOn nextContactAt } }";
pub(crate) const END: &str = "mutation($id: ID!, $v: Int!, $r: String) { endInvolvement(id: $id, expectedVersion: $v, reason: $r) { \
     id version isLead endedOn } }";
pub(crate) const CONTACT: &str = "mutation($i: RecordContactInput!) { recordContact(input: $i) { \
     id kind outcome at involvement { id lastContactAt nextContactAt } } }";
pub(crate) const CREATE_TASK: &str = "mutation($i: CreateTaskInput!) { createTask(input: $i) { \
     id version title description status dueOn assignee { id } createdBy { id } child { id } } }";
pub(crate) const UPDATE_TASK: &str = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { \
     id version title status dueOn assignee { id } createdBy { id } } }";
pub(crate) const AGREEMENT_FIELDS: &str =
    "id purpose startsOn endsOn revokedAt fromAgency { id } toAgency { id }";
pub(crate) const CHILD: &str =
    "query($id: ID!) { child(id: $id) { id givenName familyName dateOfBirth postcode version \
     team { id role sensitivity consent isLead startedOn version lastContactAt nextContactAt \
            practitioner { id displayName } agency { id name } } \
     leadProfessional { id isLead sensitivity practitioner { id } } \
     tasks { id title dueOn status version assignee { id } createdBy { id } } } }";
pub(crate) const TIMELINE: &str = "query($id: ID!, $first: Int, $after: String) { child(id: $id) { \
     timeline(first: $first, after: $after) { edges { cursor node { at kind summary involvement { id } task { id } } } \
     pageInfo { hasNextPage endCursor } } } }";
pub(crate) const MY_CHILDREN: &str = "query($first: Int, $after: String) { myChildren(first: $first, after: $after) { \
     edges { cursor node { id givenName familyName dateOfBirth } } pageInfo { hasNextPage endCursor } } }";
pub(crate) const MY_TASKS: &str =
    "query($first: Int, $after: String) { myTasks(first: $first, after: $after) { \
     edges { cursor node { id title dueOn status child { id } assignee { id } createdBy { id } } } \
     pageInfo { hasNextPage endCursor } } }";
pub(crate) const SEARCH: &str = "query($f: String!, $d: Date!, $g: String, $p: String) { \
     searchChildren(familyName: $f, dateOfBirth: $d, givenName: $g, postcode: $p) { \
     id givenName familyName dateOfBirth postcodeDistrict score } }";

/// "Today" as the tests see it.
pub(crate) fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

/// Today plus `offset` days, as a contract `Date`.
pub(crate) fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

/// Now plus `offset`, as a contract `DateTime` (whole seconds).
pub(crate) fn ts(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A string value, or a clear failure.
pub(crate) fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

/// A `DateTime` value as an instant.
pub(crate) fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        v.as_str()
            .unwrap_or_else(|| panic!("expected a timestamp, got {v}")),
    )
    .unwrap_or_else(|e| panic!("{v} is not RFC 3339: {e}"))
    .with_timezone(&Utc)
}

/// The `id`s of a list of objects, or of the object at `inner` within each.
pub(crate) fn ids(list: &Value, inner: Option<&str>) -> Vec<String> {
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
pub(crate) fn assert_bad(body: &Value, fields: &[&str]) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{body:#}");
    let mut got = error_fields(body);
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "fields named: {body:#}");
}

/// A fingerprint of every table a team operation may write: equal fingerprints mean nothing
/// was written.
pub(crate) fn fingerprint(app: &TestApp) -> Vec<(&'static str, String)> {
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

/// Creates a practitioner with a chosen display name (as `by`) and signs them in.
pub(crate) async fn person(app: &TestApp, by: &User, agency: &str, role: &str, name: &str) -> User {
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
pub(crate) async fn register(
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
pub(crate) async fn join(app: &TestApp, by: &User, child: &str, role: &str) -> Value {
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
pub(crate) async fn join_raw(app: &TestApp, by: &User, input: Value) -> Value {
    let q = format!(
        "mutation($i: JoinTeamInput!) {{ joinTeam(input: $i) {{ {INVOLVEMENT_FIELDS} }} }}"
    );
    app.gql(Some(&by.token), &q, json!({ "i": input })).await
}

/// updateInvolvement, returning the whole response.
pub(crate) async fn update(app: &TestApp, by: &User, input: Value) -> Value {
    app.gql(Some(&by.token), UPDATE, json!({ "i": input }))
        .await
}

/// recordContact, returning the whole response.
pub(crate) async fn contact(
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
pub(crate) async fn task(
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
pub(crate) async fn agreement(
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
pub(crate) async fn revoke(app: &TestApp, by: &User, id: &str) -> Value {
    let q = format!(
        "mutation($id: ID!) {{ revokeSharingAgreement(id: $id) {{ {AGREEMENT_FIELDS} }} }}"
    );
    app.gql(Some(&by.token), &q, json!({ "id": id })).await
}

/// `child(id)` as `reader`: the child, or null.
pub(crate) async fn child_as(app: &TestApp, reader: &User, child: &str) -> Value {
    app.gql_ok(Some(&reader.token), CHILD, json!({ "id": child }))
        .await["child"]
        .clone()
}

/// One involvement as `reader` finds it in the child's team (ended ones included), or null.
pub(crate) async fn involvement_as(
    app: &TestApp,
    reader: &User,
    child: &str,
    involvement: &str,
) -> Value {
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
pub(crate) async fn timeline(app: &TestApp, reader: &User, child: &str) -> Vec<Value> {
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
pub(crate) async fn pages(
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
pub(crate) struct World {
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

pub(crate) const CHILD_DOB: &str = "2015-04-12";
pub(crate) const HIDDEN_DOB: &str = "2016-09-30";

impl World {
    pub(crate) async fn build() -> World {
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
    fn seats(&self) -> Vec<Seat<'_>> {
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
    fn standard_members(&self) -> BTreeSet<String> {
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
    fn names_idva(&self, e: &Value) -> bool {
        e["involvement"]["id"] == self.idva_inv.as_str()
            || e["task"]["id"] == self.task_idva_self.as_str()
            || e["task"]["id"] == self.task_idva_to_officer.as_str()
    }
}

/// A reader of the access matrix.
struct Seat<'a> {
    label: &'static str,
    user: &'a User,
    /// May read the child's record (rule 1).
    reads: bool,
    /// May see the domestic-abuse service's restricted involvements (rule 3).
    sees_da: bool,
    /// Has an active involvement with the child.
    member: bool,
    /// Is a practitioner who searches (system admins are left out of search).
    searches: bool,
}

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

// ---------------------------------------------------------------------------------------------
// Contacts keep the involvement's picture true.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn recording_contacts_keeps_last_and_next_contact_true() {
    let w = World::build().await;
    let (app, sw, inv) = (&w.app, &w.social_worker, &w.sw_inv);
    let last = ts(Duration::hours(-2));
    let body = contact(app, sw, inv, "PHONE", "HAPPENED", &last).await;
    let c = &body["data"]["recordContact"];
    assert_eq!(c["kind"], "PHONE", "{body:#}");
    assert_eq!(instant(&c["at"]), instant(&json!(last)));
    assert_eq!(
        instant(&c["involvement"]["lastContactAt"]),
        instant(&json!(last))
    );
    assert!(c["involvement"]["nextContactAt"].is_null());

    // An older contact does not make the last one older.
    let body = contact(
        app,
        sw,
        inv,
        "HOME_VISIT",
        "HAPPENED",
        &ts(Duration::hours(-5)),
    )
    .await;
    assert_eq!(
        instant(&body["data"]["recordContact"]["involvement"]["lastContactAt"]),
        instant(&json!(last)),
        "{body:#}"
    );

    let planned = ts(Duration::days(2));
    let body = contact(app, sw, inv, "HOME_VISIT", "PLANNED", &planned).await;
    let i = &body["data"]["recordContact"]["involvement"];
    assert_eq!(
        instant(&i["nextContactAt"]),
        instant(&json!(planned)),
        "{body:#}"
    );
    assert_eq!(instant(&i["lastContactAt"]), instant(&json!(last)));
    let sooner = ts(Duration::days(1));
    let body = contact(app, sw, inv, "OFFICE_VISIT", "PLANNED", &sooner).await;
    assert_eq!(
        instant(&body["data"]["recordContact"]["involvement"]["nextContactAt"]),
        instant(&json!(sooner)),
        "{body:#}"
    );

    // A planned contact in the past may be recorded, and moves neither.
    let body = contact(app, sw, inv, "MEETING", "PLANNED", &ts(Duration::days(-3))).await;
    let i = &body["data"]["recordContact"]["involvement"];
    assert_eq!(
        instant(&i["nextContactAt"]),
        instant(&json!(sooner)),
        "{body:#}"
    );
    assert_eq!(instant(&i["lastContactAt"]), instant(&json!(last)));

    // A contact that "happened" in the future is refused.
    let before = fingerprint(app);
    let body = contact(app, sw, inv, "PHONE", "HAPPENED", &ts(Duration::hours(3))).await;
    assert_bad(&body, &["input.at"]);
    assert_eq!(fingerprint(app), before);

    // The team sees it; contacts newest first.
    let seen = involvement_as(app, &w.teacher, &w.child, inv).await;
    assert_eq!(instant(&seen["lastContactAt"]), instant(&json!(last)));
    assert_eq!(instant(&seen["nextContactAt"]), instant(&json!(sooner)));
    let ats: Vec<DateTime<Utc>> = seen["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| instant(&c["at"]))
        .collect();
    assert_eq!(ats.len(), 5, "{seen:#}");
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");
    assert_eq!(
        app.count("contacts", &format!("involvement_id = '{inv}'")),
        5
    );
}

// ---------------------------------------------------------------------------------------------
// Orders and pagination.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn team_tasks_my_children_and_timeline_follow_the_contract_orders() {
    let w = World::build().await;
    // team: lead first, then startedOn (all today here), then id.
    let child = child_as(&w.app, &w.teacher, &w.child).await;
    let mut rest = vec![
        w.teacher_inv.clone(),
        w.housing_inv.clone(),
        w.officer_inv.clone(),
        w.health_inv.clone(),
        w.probation_inv.clone(),
    ];
    rest.sort();
    let mut expected = vec![w.sw_inv.clone()];
    expected.extend(rest);
    assert_eq!(ids(&child["team"], None), expected, "{child:#}");
    let started: Vec<String> = child["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| s(&i["startedOn"]))
        .collect();
    assert!(started.iter().all(|d| d == &started[0]), "{started:?}");

    // tasks: dueOn (none last), then creation.
    let mut created: Vec<(String, Option<String>)> = vec![
        (w.task_housing.clone(), Some(day(2))),
        (w.task_unassigned.clone(), None),
    ];
    for (title, due) in [
        ("a", Some(day(5))),
        ("b", None),
        ("c", Some(day(2))),
        ("d", None),
        ("e", Some(day(5))),
    ] {
        let id = task(
            &w.app,
            &w.teacher,
            &w.child,
            &format!("Task {title}"),
            Some(&w.housing_officer.id),
            due.clone(),
        )
        .await;
        created.push((id, due));
    }
    let mut sorted = created.clone();
    sorted.sort_by_key(|(_, due)| (due.is_none(), due.clone()));
    let expected: Vec<String> = sorted.iter().map(|(id, _)| id.clone()).collect();
    let child = child_as(&w.app, &w.teacher, &w.child).await;
    assert_eq!(ids(&child["tasks"], None), expected, "{child:#}");
    let data = w
        .app
        .gql_ok(Some(&w.housing_officer.token), MY_TASKS, json!({}))
        .await;
    let mine: Vec<String> = data["myTasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["id"]))
        .collect();
    let expected_mine: Vec<String> = expected
        .iter()
        .filter(|id| **id != w.task_unassigned)
        .cloned()
        .collect();
    assert_eq!(mine, expected_mine);

    // timeline: newest first; the last thing done comes first.
    let last = created.last().unwrap().0.clone();
    let events = timeline(&w.app, &w.teacher, &w.child).await;
    assert_eq!(events[0]["kind"], "TASK_CREATED", "{events:#?}");
    assert_eq!(events[0]["task"]["id"], last.as_str());
    for pair in events.windows(2) {
        assert!(
            instant(&pair[0]["at"]) >= instant(&pair[1]["at"]),
            "{pair:#?}"
        );
    }

    // myChildren: familyName, givenName, id.
    let mut made = Vec::new();
    for (given, family, dob) in [
        ("Zed", "Adams", "2015-01-01"),
        ("Cal", "Brown", "2015-02-02"),
        ("Amy", "Brown", "2015-03-03"),
        ("Cal", "Brown", "2016-04-04"),
        ("Ben", "Brown", "2015-05-05"),
    ] {
        let inv = register(
            &w.app,
            &w.outsider,
            given,
            family,
            dob,
            None,
            "Youth worker",
        )
        .await;
        made.push((family, given, s(&inv["child"]["id"])));
    }
    made.sort();
    let expected: Vec<String> = made.into_iter().map(|(_, _, id)| id).collect();
    let data = w
        .app
        .gql_ok(Some(&w.outsider.token), MY_CHILDREN, json!({}))
        .await;
    let got: Vec<String> = data["myChildren"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["id"]))
        .collect();
    assert_eq!(got, expected, "{data:#}");
}

#[tokio::test]
async fn my_children_my_tasks_and_the_timeline_page_by_cursor() {
    let w = World::build().await;
    for (given, family, dob) in [
        ("Zed", "Adams", "2015-01-01"),
        ("Cal", "Brown", "2015-02-02"),
        ("Amy", "Brown", "2015-03-03"),
        ("Ben", "Brown", "2015-05-05"),
        ("Ava", "Cole", "2015-06-06"),
    ] {
        let inv = register(
            &w.app,
            &w.outsider,
            given,
            family,
            dob,
            None,
            "Youth worker",
        )
        .await;
        task(
            &w.app,
            &w.outsider,
            &s(&inv["child"]["id"]),
            &format!("See {given}"),
            Some(&w.outsider.id),
            None,
        )
        .await;
    }
    for (user, query, pointer, vars, total) in [
        (&w.outsider, MY_CHILDREN, "/myChildren", json!({}), 5usize),
        (&w.outsider, MY_TASKS, "/myTasks", json!({}), 5),
        (
            &w.teacher,
            TIMELINE,
            "/child/timeline",
            json!({ "id": w.child }),
            0,
        ),
    ] {
        let full = w.app.gql_ok(Some(&user.token), query, vars.clone()).await;
        let full = full.pointer(pointer).unwrap().clone();
        let all: Vec<Value> = full["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        if total > 0 {
            assert_eq!(all.len(), total, "{pointer}: {full:#}");
        }
        assert!(all.len() >= 5, "{pointer}: enough to page");
        let (edges, more) = pages(&w.app, user, query, pointer, vars, 2).await;
        let nodes: Vec<Value> = edges.iter().map(|e| e["node"].clone()).collect();
        assert_eq!(
            nodes, all,
            "{pointer}: pages join up to the whole, in order"
        );
        let cursors: BTreeSet<String> = edges.iter().map(|e| s(&e["cursor"])).collect();
        assert_eq!(cursors.len(), edges.len(), "{pointer}: no duplicates");
        let n = all.len().div_ceil(2);
        let mut expected_more = vec![true; n];
        expected_more[n - 1] = false;
        assert_eq!(more, expected_more, "{pointer}: hasNextPage");
    }
}

// ---------------------------------------------------------------------------------------------
// Search.
// ---------------------------------------------------------------------------------------------

async fn search(app: &TestApp, user: &User, vars: Value) -> Vec<Value> {
    app.gql_ok(Some(&user.token), SEARCH, vars).await["searchChildren"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn search_tolerates_typos_hyphens_prefixes_accents_and_case() {
    let w = World::build().await;
    let mut child = std::collections::HashMap::new();
    for (given, family, dob) in [
        ("Amara", "Okafor", "2014-03-09"),
        ("Kemi", "Okafor-Reid", "2013-01-02"),
        ("Jonathan", "Smith", "2012-05-06"),
        ("Zoë", "Smith", "2015-06-07"),
        ("Chloé", "Brontë", "2011-02-03"),
    ] {
        let inv = register(
            &w.app,
            &w.teacher,
            given,
            family,
            dob,
            Some("LS6 2AB"),
            "Class teacher",
        )
        .await;
        child.insert(given, s(&inv["child"]["id"]));
    }
    for (vars, who, label) in [
        (
            json!({ "f": "Okafro", "d": "2014-03-09" }),
            "Amara",
            "a typo",
        ),
        (json!({ "f": "okafor", "d": "2014-03-09" }), "Amara", "case"),
        (
            json!({ "f": "OkaforReid", "d": "2013-01-02" }),
            "Kemi",
            "a missing hyphen",
        ),
        (
            json!({ "f": "Okafor Reid", "d": "2013-01-02" }),
            "Kemi",
            "a space for a hyphen",
        ),
        (
            json!({ "f": "Smith", "d": "2012-05-06", "g": "Jon" }),
            "Jonathan",
            "a prefix of the given name",
        ),
        (
            json!({ "f": "SMITH", "d": "2012-05-06" }),
            "Jonathan",
            "upper case",
        ),
        (
            json!({ "f": "smith", "d": "2015-06-07", "g": "zoe" }),
            "Zoë",
            "no accent, lower case",
        ),
        (
            json!({ "f": "bronte", "d": "2011-02-03" }),
            "Chloé",
            "an accent left out",
        ),
        (
            json!({ "f": "BRONTË", "d": "2011-02-03", "g": "CHLOE" }),
            "Chloé",
            "accents and case",
        ),
    ] {
        let found = search(&w.app, &w.outsider, vars.clone()).await;
        assert!(
            found.iter().any(|m| m["id"] == child[who].as_str()),
            "{label}: {vars} should find {who}: {found:#?}"
        );
        for m in &found {
            let score = m["score"].as_f64().unwrap();
            assert!(score > 0.0 && score <= 1.0, "{m}");
            assert_eq!(m["dateOfBirth"], vars["d"]);
        }
    }
    // A different date of birth does not find the child.
    let found = search(
        &w.app,
        &w.outsider,
        json!({ "f": "Okafor", "d": "2014-03-10" }),
    )
    .await;
    assert!(
        !found.iter().any(|m| m["id"] == child["Amara"].as_str()),
        "{found:#?}"
    );
    // An exact match scores 1 and comes first.
    let found = search(
        &w.app,
        &w.outsider,
        json!({ "f": "Okafor", "d": "2014-03-09", "g": "Amara" }),
    )
    .await;
    assert_eq!(found[0]["id"], child["Amara"].as_str(), "{found:#?}");
    assert_eq!(found[0]["score"].as_f64(), Some(1.0));
    assert_eq!(found[0]["postcodeDistrict"], "LS6");
    // Searches are audited with their criteria.
    assert!(
        w.app.count(
            "audit_events",
            &format!(
                "actor_id = '{}' AND (details::text || coalesce(reason, '')) ILIKE '%okafro%'",
                w.outsider.id
            )
        ) >= 1,
        "the search for Okafro is in the audit log"
    );
}

#[tokio::test]
async fn search_returns_at_most_ten_matches_best_first() {
    let w = World::build().await;
    let mut exact = BTreeSet::new();
    let mut anika = String::new();
    for (given, family) in [
        ("Anika", "Patel"),
        ("Bela", "Patel"),
        ("Chetan", "Patel"),
        ("Dev", "Patel"),
        ("Esha", "Patel"),
        ("Farah", "Patel"),
        ("Gita", "Patel"),
        ("Hari", "Patel"),
        ("Isha", "Patell"),
        ("Jai", "Patell"),
        ("Kavya", "Pattel"),
        ("Leela", "Pattel"),
    ] {
        let inv = register(
            &w.app,
            &w.teacher,
            given,
            family,
            "2014-07-07",
            None,
            "Class teacher",
        )
        .await;
        let id = s(&inv["child"]["id"]);
        if family == "Patel" {
            exact.insert(id.clone());
        }
        if given == "Anika" {
            anika = id;
        }
    }
    // Twelve near enough; ten shown, the exact family names first with score 1.
    let found = search(
        &w.app,
        &w.outsider,
        json!({ "f": "Patel", "d": "2014-07-07" }),
    )
    .await;
    assert_eq!(found.len(), 10, "at most 10: {found:#?}");
    let scores: Vec<f64> = found.iter().map(|m| m["score"].as_f64().unwrap()).collect();
    assert!(scores.iter().all(|s| *s > 0.0 && *s <= 1.0), "{scores:?}");
    assert!(
        scores.windows(2).all(|p| p[0] >= p[1]),
        "best first: {scores:?}"
    );
    let first8: BTreeSet<String> = found[..8].iter().map(|m| s(&m["id"])).collect();
    assert_eq!(first8, exact, "{found:#?}");
    assert!(scores[..8].iter().all(|s| *s == 1.0), "{scores:?}");
    assert!(scores[8..].iter().all(|s| *s < 1.0), "{scores:?}");
    let unique: BTreeSet<String> = found.iter().map(|m| s(&m["id"])).collect();
    assert_eq!(unique.len(), 10);

    // The given name narrows; the exact match comes first with score 1.
    let found = search(
        &w.app,
        &w.outsider,
        json!({ "f": "Patel", "d": "2014-07-07", "g": "Anika" }),
    )
    .await;
    assert!(!found.is_empty() && found.len() <= 10);
    assert_eq!(found[0]["id"], anika.as_str());
    assert_eq!(found[0]["score"].as_f64(), Some(1.0));
    assert!(found[1..]
        .iter()
        .all(|m| m["score"].as_f64().unwrap() < 1.0));
}
