//! The audit log as admins read it, rule 9's `recentViewers`, and the search rate limit that
//! refuses a burst of searches and records it.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;

use patchwork_tests::world::{
    agreement, assert_bad, child_as, day, join, person, register, s, SEARCH,
};

const VIEWERS: &str = "query($id: ID!) { child(id: $id) { recentViewers { lastViewedAt \
     practitioner { id displayName agency { name } } } } }";
const EVENTS: &str = "query($c: ID, $p: ID, $a: String, $from: DateTime, $to: DateTime, $first: Int, $after: String) { \
     auditEvents(childId: $c, practitionerId: $p, action: $a, from: $from, to: $to, first: $first, after: $after) { \
     edges { cursor node { id at action childId reason details requestId actor { id } actorAgency { id } } } \
     pageInfo { hasNextPage endCursor } } }";

/// A child on the teams of a teacher, an IDVA (restricted, from a sensitive agency) and a police
/// officer whose agency holds a sharing agreement from the IDVA's.
struct Scene {
    app: TestApp,
    admin: User,
    school: String,
    teacher: User,
    school_admin: User,
    idva: User,
    da_admin: User,
    officer: User,
    outsider: User,
    child: String,
}

async fn scene(app: TestApp) -> Scene {
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let da = app
        .given_agency(&admin, "Safe Harbour", "DOMESTIC_ABUSE", true)
        .await;
    let police = app
        .given_agency(&admin, "Kestrel Bay Police", "POLICE", false)
        .await;
    let youth = app
        .given_agency(&admin, "Pier Road Youth Club", "YOUTH", false)
        .await;
    let teacher = person(&app, &admin, &school, "PRACTITIONER", "Grace Lin").await;
    let school_admin = person(&app, &admin, &school, "AGENCY_ADMIN", "Sara Head").await;
    let idva = person(&app, &admin, &da, "PRACTITIONER", "Indigo Vance").await;
    let da_admin = person(&app, &admin, &da, "AGENCY_ADMIN", "Ada Mensah").await;
    let officer = person(&app, &admin, &police, "PRACTITIONER", "Owen Parry").await;
    let outsider = person(&app, &admin, &youth, "PRACTITIONER", "Yusuf Obi").await;
    agreement(&app, &da_admin, &police, day(-1), None).await;
    let child = s(&register(
        &app,
        &teacher,
        "Leo",
        "Marsh",
        "2015-04-12",
        None,
        "Class teacher",
    )
    .await["child"]["id"]);
    let idva_inv = join(&app, &idva, &child, "IDVA").await;
    assert_eq!(idva_inv["sensitivity"], "RESTRICTED");
    join(&app, &officer, &child, "Safeguarding officer").await;
    Scene {
        app,
        admin,
        school,
        teacher,
        school_admin,
        idva,
        da_admin,
        officer,
        outsider,
        child,
    }
}

fn viewer_ids(child: &Value) -> Vec<String> {
    child["recentViewers"]
        .as_array()
        .unwrap_or_else(|| panic!("no viewers in {child}"))
        .iter()
        .map(|v| s(&v["practitioner"]["id"]))
        .collect()
}

#[tokio::test]
async fn recent_viewers_show_who_opened_the_record_but_never_a_hidden_service() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    // Each opens the record, in this order; the teacher last.
    for who in [&sc.idva, &sc.da_admin, &sc.officer, &sc.teacher] {
        assert!(child_as(app, who, &sc.child).await.is_object());
    }
    let as_of = |who: &User| {
        let token = who.token.clone();
        let child = sc.child.clone();
        async move {
            app.gql_ok(Some(&token), VIEWERS, json!({ "id": child }))
                .await["child"]
                .clone()
        }
    };

    // The teacher may not see the IDVA's involvement: neither she nor her agency admin is
    // listed. Most recent first.
    let seen = as_of(&sc.teacher).await;
    assert_eq!(
        viewer_ids(&seen),
        vec![sc.teacher.id.clone(), sc.officer.id.clone()],
        "{seen:#}"
    );
    assert!(!seen.to_string().contains("Safe Harbour"));
    assert!(!seen.to_string().contains("Indigo"));

    // The officer's agency holds an agreement from Safe Harbour: everyone is listed.
    let seen = as_of(&sc.officer).await;
    assert_eq!(
        viewer_ids(&seen),
        vec![
            sc.officer.id.clone(),
            sc.teacher.id.clone(),
            sc.da_admin.id.clone(),
            sc.idva.id.clone()
        ],
        "{seen:#}"
    );
    assert_eq!(
        seen["recentViewers"][3]["practitioner"]["agency"]["name"],
        "Safe Harbour"
    );

    // Someone not on the team gets no record at all, so no viewers.
    let body = app
        .gql(Some(&sc.outsider.token), VIEWERS, json!({ "id": sc.child }))
        .await;
    assert!(body["data"]["child"].is_null(), "{body}");
    // Nor does a system admin who is not on the team (rule 8).
    let body = app
        .gql(Some(&sc.admin.token), VIEWERS, json!({ "id": sc.child }))
        .await;
    assert!(body["data"]["child"].is_null(), "{body}");

    // Views older than 90 days drop off.
    {
        use diesel::connection::SimpleConnection;
        app.db()
            .batch_execute(&format!(
                "ALTER TABLE audit_events DISABLE TRIGGER USER; \
                 UPDATE audit_events SET at = now() - interval '91 days' \
                 WHERE actor_id = '{}' AND action = 'CHILD_VIEWED'; \
                 ALTER TABLE audit_events ENABLE TRIGGER USER;",
                sc.officer.id
            ))
            .unwrap();
    }
    let seen = as_of(&sc.teacher).await;
    assert!(!viewer_ids(&seen).contains(&sc.officer.id), "{seen:#}");
}

#[tokio::test]
async fn audit_events_for_system_admins_and_agency_admins_only() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    // The scene's own answers (registering, joining) showed the child too: count from here.
    let since = chrono::Utc::now().to_rfc3339();
    for who in [&sc.teacher, &sc.idva, &sc.officer] {
        child_as(app, who, &sc.child).await;
    }

    // Practitioners may not read the log.
    let body = app.gql(Some(&sc.teacher.token), EVENTS, json!({})).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = app.gql(None, EVENTS, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    // A system admin reads everything: the child's views, newest first, page by page.
    let vars = json!({ "c": sc.child, "a": "CHILD_VIEWED", "first": 2, "from": since });
    let first = app
        .gql_ok(Some(&sc.admin.token), EVENTS, vars.clone())
        .await["auditEvents"]
        .clone();
    let edges = first["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(s(&edges[0]["node"]["actor"]["id"]), sc.officer.id);
    assert_eq!(s(&edges[1]["node"]["actor"]["id"]), sc.idva.id);
    let mut next = vars;
    next["after"] = first["pageInfo"]["endCursor"].clone();
    let second = app.gql_ok(Some(&sc.admin.token), EVENTS, next).await["auditEvents"].clone();
    let edges = second["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(s(&edges[0]["node"]["actor"]["id"]), sc.teacher.id);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // Joining is recorded with its reason.
    let joins = app
        .gql_ok(
            Some(&sc.admin.token),
            EVENTS,
            json!({ "p": sc.officer.id, "a": "TEAM_JOINED" }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    assert_eq!(joins.as_array().unwrap().len(), 1);
    assert_eq!(
        joins[0]["node"]["reason"],
        "Joining as Safeguarding officer"
    );

    // An agency admin reads what their own staff did, and nothing else.
    let own = app
        .gql_ok(
            Some(&sc.school_admin.token),
            EVENTS,
            json!({ "first": 100 }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    let own = own.as_array().unwrap();
    assert!(!own.is_empty());
    assert!(
        own.iter()
            .all(|e| e["node"]["actorAgency"]["id"] == sc.school.as_str()),
        "{own:#?}"
    );
    assert!(own.iter().any(|e| e["node"]["action"] == "CHILD_VIEWED"
        && e["node"]["actor"]["id"] == sc.teacher.id.as_str()));
    let others = app
        .gql_ok(
            Some(&sc.school_admin.token),
            EVENTS,
            json!({ "p": sc.idva.id }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    assert_eq!(others, json!([]));

    // Bad input names the argument and changes nothing.
    let before = app.count("audit_events", "TRUE");
    for (vars, field) in [
        (json!({ "c": "not-an-id" }), "childId"),
        (json!({ "p": "not-an-id" }), "practitionerId"),
        (
            json!({ "from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z" }),
            "to",
        ),
        (json!({ "first": 0 }), "first"),
        (json!({ "after": "bogus" }), "after"),
    ] {
        let body = app.gql(Some(&sc.admin.token), EVENTS, vars).await;
        assert_bad(&body, &[field]);
    }
    assert_eq!(app.count("audit_events", "TRUE"), before);
}

#[tokio::test]
async fn a_burst_of_searches_is_refused_and_recorded() {
    let sc = scene(
        spawn_app_with(|v| {
            v.insert("SEARCH_LIMIT".into(), "3".into());
        })
        .await,
    )
    .await;
    let app = &sc.app;
    let search = |who: &User, family: &str| {
        let token = who.token.clone();
        let vars = json!({ "f": family, "d": "2015-04-12" });
        async move { app.gql(Some(&token), SEARCH, vars).await }
    };
    for family in ["Marsh", "Marhs", "Mash"] {
        let body = search(&sc.outsider, family).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    for family in ["Smith", "Jones"] {
        let body = search(&sc.outsider, family).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
        assert!(body["data"].is_null(), "{body}");
        assert!(
            body["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    // The limit is the searcher's own: others search on.
    let body = search(&sc.teacher, "Marsh").await;
    assert_eq!(body["data"]["searchChildren"][0]["id"], sc.child.as_str());

    // Refused searches ran nothing, and each refusal is in the log with its criteria.
    let searched = app.count(
        "audit_events",
        &format!(
            "action = 'CHILD_SEARCHED' AND actor_id = '{}'",
            sc.outsider.id
        ),
    );
    assert_eq!(searched, 3);
    let refused = app
        .gql_ok(
            Some(&sc.admin.token),
            EVENTS,
            json!({ "a": "SEARCH_RATE_LIMITED" }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    let refused = refused.as_array().unwrap();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert_eq!(s(&refused[0]["node"]["actor"]["id"]), sc.outsider.id);
    assert_eq!(refused[0]["node"]["details"]["familyName"], "Jones");
    assert_eq!(refused[1]["node"]["details"]["familyName"], "Smith");
    // Over HTTP too: a client that reads no GraphQL error can still wait as long as it is told.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&sc.outsider.token)
        .json(&json!({ "query": SEARCH, "variables": { "f": "Brown", "d": "2015-04-12" } }))
        .send()
        .await
        .unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("RATE_LIMITED"));
    assert_eq!(
        body["errors"][0]["extensions"]["retryAfter"].as_u64(),
        Some(retry)
    );
    // An answer with no such error says nothing of waiting.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&sc.teacher.token)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn a_read_whose_audit_event_cannot_be_written_fails_closed() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    assert!(child_as(app, &sc.teacher, &sc.child).await.is_object());
    // The audit table starts refusing new rows (a full disk, a broken trigger, a revoked grant).
    {
        use diesel::connection::SimpleConnection;
        app.db()
            .batch_execute(
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'audit unavailable'; END; $$; \
                 CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
            )
            .unwrap();
    }
    let body = app
        .gql(
            Some(&sc.teacher.token),
            "query($id: ID!) { child(id: $id) { givenName team { practitioner { displayName } } } }",
            json!({ "id": sc.child }),
        )
        .await;
    assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
    assert!(
        !body.to_string().contains("Leo") && !body.to_string().contains("Grace"),
        "nothing of the record leaves without its audit event: {body}"
    );
    let body = app
        .gql(
            Some(&sc.outsider.token),
            SEARCH,
            json!({ "f": "Marsh", "d": "2015-04-12" }),
        )
        .await;
    assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
    assert!(!body.to_string().contains(&sc.child), "{body}");
}

const TEAM_SCREEN: &str =
    "query($id: ID!) { child(id: $id) { givenName team { practitioner { displayName } } } }";

/// `CHILD_VIEWED` events of `child` by `actor` so far.
fn views_by(app: &TestApp, actor: &str, child: &str) -> i64 {
    use diesel::prelude::*;
    diesel::sql_query(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'CHILD_VIEWED' \
         AND actor_id = $1::uuid AND child_id = $2::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(actor)
    .bind::<diesel::sql_types::Text, _>(child)
    .get_result::<Count>(&mut app.db())
    .expect("count views")
    .n
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn team_screens_read_at_once_are_each_recorded_once() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    let before = (
        views_by(app, &sc.teacher.id, &sc.child),
        views_by(app, &sc.officer.id, &sc.child),
    );
    // Concurrent screens share the appender's commits; each is recorded, and only once.
    let screens = (0..24).map(|i| {
        let who = if i % 2 == 0 { &sc.teacher } else { &sc.officer };
        app.gql_ok(Some(&who.token), TEAM_SCREEN, json!({ "id": sc.child }))
    });
    for data in futures_util::future::join_all(screens).await {
        assert_eq!(data["child"]["givenName"], "Leo", "{data}");
    }
    assert_eq!(views_by(app, &sc.teacher.id, &sc.child), before.0 + 12);
    assert_eq!(views_by(app, &sc.officer.id, &sc.child), before.1 + 12);
}

#[tokio::test]
async fn an_event_the_database_refuses_fails_only_its_own_read() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    // The officer's events are refused; the teacher's are not. Read at once, they may share
    // a batch: the officer's read fails closed, the teacher's answers and is recorded.
    {
        use diesel::connection::SimpleConnection;
        app.db()
            .batch_execute(&format!(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN IF NEW.actor_id = '{}' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END; $$; \
                 CREATE TRIGGER refuse_one BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_one();",
                sc.officer.id
            ))
            .unwrap();
    }
    let before = (
        views_by(app, &sc.teacher.id, &sc.child),
        views_by(app, &sc.officer.id, &sc.child),
    );
    let child = &sc.child;
    let screens = (0..16).map(|i| {
        let who = if i % 2 == 0 { &sc.teacher } else { &sc.officer };
        async move {
            (
                who.id.clone(),
                app.gql(Some(&who.token), TEAM_SCREEN, json!({ "id": child }))
                    .await,
            )
        }
    });
    for (who, body) in futures_util::future::join_all(screens).await {
        if who == sc.officer.id {
            assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
            assert!(!body.to_string().contains("Leo"), "{body}");
        } else {
            assert_eq!(body["data"]["child"]["givenName"], "Leo", "{body}");
        }
    }
    assert_eq!(views_by(app, &sc.teacher.id, &sc.child), before.0 + 8);
    assert_eq!(views_by(app, &sc.officer.id, &sc.child), before.1);
}

#[tokio::test]
async fn listing_my_children_records_exactly_the_children_shown() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    // Leo Marsh is already on the teacher's list; two more, so that a page of two leaves one.
    let ava = s(&register(
        app,
        &sc.teacher,
        "Ava",
        "Bell",
        "2016-02-01",
        None,
        "Teacher",
    )
    .await["child"]["id"]);
    let zak = s(&register(
        app,
        &sc.teacher,
        "Zak",
        "Young",
        "2014-09-30",
        None,
        "Teacher",
    )
    .await["child"]["id"]);
    let q = "query($after: String) { myChildren(first: 2, after: $after) { \
             edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let first = app.gql_ok(Some(&sc.teacher.token), q, json!({})).await["myChildren"].clone();
    let shown: Vec<String> = first["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["id"]))
        .collect();
    assert_eq!(shown, vec![ava.clone(), sc.child.clone()], "by family name");
    let vars = json!({ "after": first["pageInfo"]["endCursor"] });
    let second = app.gql_ok(Some(&sc.teacher.token), q, vars).await["myChildren"].clone();
    assert_eq!(s(&second["edges"][0]["node"]["id"]), zak);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // One event per child shown, against that child, and none for the row that only told
    // whether another page follows.
    let events = app
        .gql_ok(
            Some(&sc.admin.token),
            EVENTS,
            json!({ "p": sc.teacher.id, "a": "CHILD_LISTED" }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 3, "{events:#?}");
    // Newest first: the second page, then the first.
    assert_eq!(s(&events[0]["node"]["childId"]), zak);
    let mut first_page = vec![
        s(&events[1]["node"]["childId"]),
        s(&events[2]["node"]["childId"]),
    ];
    first_page.sort();
    let mut expected = vec![ava, sc.child.clone()];
    expected.sort();
    assert_eq!(first_page, expected);
    assert_eq!(
        events[1]["node"]["requestId"], events[2]["node"]["requestId"],
        "one page, one request"
    );
    for e in events {
        assert_eq!(s(&e["node"]["actor"]["id"]), sc.teacher.id);
        assert!(e["node"]["requestId"].is_string(), "{e}");
    }
    // auditEvents(childId:) finds the listing against the child.
    let events = app
        .gql_ok(
            Some(&sc.admin.token),
            EVENTS,
            json!({ "c": sc.child, "a": "CHILD_LISTED" }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    assert_eq!(events.as_array().unwrap().len(), 1);
}

/// The `details` of `action` events by `actor`, oldest first, as `reader` reads the log.
async fn details_of(app: &TestApp, reader: &User, actor: &User, action: &str) -> Vec<Value> {
    let mut edges = app
        .gql_ok(
            Some(&reader.token),
            EVENTS,
            json!({ "p": actor.id, "a": action, "first": 100 }),
        )
        .await["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    edges.reverse();
    edges
        .into_iter()
        .map(|e| e["node"]["details"].clone())
        .collect()
}

#[tokio::test]
async fn an_agency_admin_reads_only_what_their_staff_member_was_told() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    // The same raise-attention on a child with the hidden IDVA and on one without.
    let plain = s(&register(
        app,
        &sc.teacher,
        "Ada",
        "Quill",
        "2015-06-01",
        None,
        "Teacher",
    )
    .await["child"]["id"]);
    join(app, &sc.officer, &plain, "Safeguarding officer").await;
    let raise = "mutation($c: ID!) { raiseAttention(childId: $c, message: \"Please call me.\") }";
    let told_hidden = app
        .gql_ok(Some(&sc.teacher.token), raise, json!({ "c": sc.child }))
        .await["raiseAttention"]
        .clone();
    let told_plain = app
        .gql_ok(Some(&sc.teacher.token), raise, json!({ "c": plain }))
        .await["raiseAttention"]
        .clone();
    assert_eq!(told_hidden, json!(1));
    assert_eq!(told_plain, json!(1));

    // A child known only to the IDVA, then registered by the teacher (attached), and a new one.
    register(app, &sc.idva, "Mia", "Thorne", "2016-09-30", None, "IDVA").await;
    register(
        app,
        &sc.teacher,
        "Mia",
        "Thorne",
        "2016-09-30",
        None,
        "Teacher",
    )
    .await;
    register(
        app,
        &sc.teacher,
        "Mae",
        "Thorpe",
        "2016-10-30",
        None,
        "Teacher",
    )
    .await;

    // The school's admin reads what the teacher was told, identically in both stories.
    let raised = details_of(app, &sc.school_admin, &sc.teacher, "ATTENTION_RAISED").await;
    assert_eq!(
        raised,
        vec![json!({ "recipients": 1 }), json!({ "recipients": 1 })]
    );
    let registered = details_of(app, &sc.school_admin, &sc.teacher, "CHILD_REGISTERED").await;
    // Leo and Ada (the scenes), then Mia (attached) and Mae (new).
    assert_eq!(registered.len(), 4, "{registered:?}");
    assert_eq!(
        registered[2], registered[3],
        "attaching must not show: {registered:?}"
    );
    assert_eq!(registered[2], json!({}));

    // A system admin reads everything.
    let raised = details_of(app, &sc.admin, &sc.teacher, "ATTENTION_RAISED").await;
    assert_eq!(
        raised,
        vec![json!({ "recipients": 2 }), json!({ "recipients": 1 })]
    );
    let registered = details_of(app, &sc.admin, &sc.teacher, "CHILD_REGISTERED").await;
    assert_eq!(registered[2], json!({ "attachedToExisting": true }));
    assert_eq!(registered[3], json!({ "attachedToExisting": false }));
}

#[tokio::test]
async fn every_read_of_the_audit_log_is_itself_recorded() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    let other_admin = app.system_admin().await;
    app.gql_ok(
        Some(&sc.admin.token),
        EVENTS,
        json!({ "c": sc.child, "a": "CHILD_VIEWED", "first": 7 }),
    )
    .await;
    app.gql_ok(Some(&sc.school_admin.token), EVENTS, json!({}))
        .await;

    let reads = details_of(app, &other_admin, &sc.admin, "AUDIT_LOG_READ").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["childId"], sc.child.as_str());
    assert_eq!(reads[0]["action"], "CHILD_VIEWED");
    assert_eq!(reads[0]["first"], 7);
    let reads = details_of(app, &other_admin, &sc.school_admin, "AUDIT_LOG_READ").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    // A refused read records nothing and changes nothing.
    let before = app.count("audit_events", "action = 'AUDIT_LOG_READ'");
    let body = app.gql(Some(&sc.teacher.token), EVENTS, json!({})).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    assert_eq!(
        app.count("audit_events", "action = 'AUDIT_LOG_READ'"),
        before
    );
}

#[tokio::test]
async fn a_child_shown_through_a_task_or_an_involvement_is_recorded_against_the_child() {
    let sc = scene(spawn_app().await).await;
    let app = &sc.app;
    for _ in 0..3 {
        app.gql_ok(
            Some(&sc.teacher.token),
            "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
            json!({ "i": { "childId": sc.child, "title": "Call home", "assigneeId": sc.officer.id } }),
        )
        .await;
    }
    let since = chrono::Utc::now().to_rfc3339();
    let data = app
        .gql_ok(
            Some(&sc.officer.token),
            "{ myTasks { edges { node { child { dateOfBirth postcode team { practitioner { phone } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["myTasks"]["edges"].as_array().unwrap().len(), 3);
    let views = app
        .gql_ok(
            Some(&sc.admin.token),
            EVENTS,
            json!({ "c": sc.child, "p": sc.officer.id, "a": "CHILD_VIEWED", "from": since }),
        )
        .await["auditEvents"]["edges"]
        .clone();
    // Three tasks of one child: one read of that child, against it.
    assert_eq!(views.as_array().unwrap().len(), 1, "{views:#?}");
    let viewers = app
        .gql_ok(Some(&sc.teacher.token), VIEWERS, json!({ "id": sc.child }))
        .await;
    assert!(viewer_ids(&viewers["child"]).contains(&sc.officer.id));

    // Someone off the team is shown nothing of the child, and nothing is recorded.
    let before = app.count("audit_events", "action = 'CHILD_VIEWED'");
    let inv = app
        .gql_ok(
            Some(&sc.outsider.token),
            "query($id: ID!) { child(id: $id) { id } }",
            json!({ "id": sc.child }),
        )
        .await;
    assert_eq!(inv["child"], Value::Null);
    assert_eq!(app.count("audit_events", "action = 'CHILD_VIEWED'"), before);
}

/// Runs `patchwork audit <action>` against the app's database: (succeeded, stdout + stderr).
fn audit_command(app: &TestApp, action: &str) -> (bool, String) {
    let out = std::process::Command::new(patchwork_binary())
        .args(["audit", action])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .output()
        .expect("run patchwork audit");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn a_row_forged_into_the_sealed_log_is_reported() {
    let sc = scene(spawn_app().await).await;
    child_as(&sc.app, &sc.teacher, &sc.child).await;
    let (ok, out) = audit_command(&sc.app, "seal");
    assert!(ok, "{out}");
    let (ok, out) = audit_command(&sc.app, "verify");
    assert!(ok && out.contains("intact"), "{out}");
    assert!(sc.app.count("audit_seals", "events > 0") >= 1);

    // The server's role may insert: a view that never happened, dated into a sealed window.
    use diesel::connection::SimpleConnection;
    sc.app
        .db()
        .batch_execute(&format!(
            "INSERT INTO audit_events (at, actor_id, action, child_id) \
             SELECT min(at), '{}', 'CHILD_VIEWED', '{}' FROM audit_events",
            sc.outsider.id, sc.child
        ))
        .unwrap();
    let (ok, out) = audit_command(&sc.app, "verify");
    assert!(!ok, "{out}");
    // The first seal broken is the one whose window the forged time falls in.
    let seals = sc.app.count("audit_seals", "TRUE");
    let window = (1..=seals)
        .find(|k| {
            sc.app.count(
                "audit_seals",
                &format!(
                    "seq = {k} AND covers_from <= (SELECT min(at) FROM audit_events) \
                     AND covers_to > (SELECT min(at) FROM audit_events)"
                ),
            ) == 1
        })
        .expect("a seal covers the forged time");
    assert!(out.contains(&format!("broken at seal {window}:")), "{out}");
}

#[tokio::test]
async fn an_owner_side_edit_of_a_sealed_event_is_reported() {
    let sc = scene(spawn_app().await).await;
    let (ok, out) = audit_command(&sc.app, "seal");
    assert!(ok, "{out}");
    // Later events, sealed in a second window.
    child_as(&sc.app, &sc.teacher, &sc.child).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (ok, out) = audit_command(&sc.app, "seal");
    assert!(ok, "{out}");
    let (ok, out) = audit_command(&sc.app, "verify");
    assert!(ok && out.contains("intact"), "{out}");

    // The table's owner can lift the append-only trigger and rewrite a row; the seal knows.
    use diesel::connection::SimpleConnection;
    sc.app
        .db()
        .batch_execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete; \
             UPDATE audit_events SET reason = 'routine check' \
             WHERE id = (SELECT max(id) FROM audit_events WHERE action = 'CHILD_VIEWED'); \
             ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;",
        )
        .unwrap();
    let (ok, out) = audit_command(&sc.app, "verify");
    assert!(!ok, "{out}");
    let last = sc.app.count("audit_seals", "TRUE");
    assert!(
        out.contains(&format!("broken at seal {last}:")),
        "the edit is in the last window: {out}"
    );
}
