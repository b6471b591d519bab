//! Relay-complete connections and `node(id:)`: paging both ways over every connection, and a
//! node that obeys the same rules as fetching its kind.

use patchwork_tests::world::*;
use patchwork_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const CHILDREN: &str = "query($first: Int, $after: String, $last: Int, $before: String) { \
     myChildren(first: $first, after: $after, last: $last, before: $before) { \
     edges { cursor node { id } } \
     pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
const TASKS: &str = "query($first: Int, $after: String, $last: Int, $before: String) { \
     myTasks(first: $first, after: $after, last: $last, before: $before) { \
     edges { cursor node { id } } \
     pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
const TIMELINE_BOTH_WAYS: &str =
    "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { child(id: $id) { \
     timeline(first: $first, after: $after, last: $last, before: $before) { \
     edges { cursor node { at kind } } \
     pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
const AUDIT: &str = "query($c: ID, $first: Int, $after: String, $last: Int, $before: String) { \
     auditEvents(childId: $c, first: $first, after: $after, last: $last, before: $before) { \
     edges { cursor node { id action } } \
     pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id \
     ... on Child { givenName } ... on Task { title } ... on Practitioner { displayName } \
     ... on Agency { name } ... on Involvement { role } } }";

/// Walks a connection from its end back to its start, `last` rows a page, and returns its
/// edges in the list's order; checks each page's `pageInfo` on the way.
async fn backwards(
    app: &TestApp,
    reader: &User,
    pointer: &str,
    query: &str,
    vars: Value,
) -> Vec<Value> {
    let mut edges: Vec<Value> = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..50 {
        let mut v = vars.clone();
        v["last"] = json!(2);
        if let Some(b) = &before {
            v["before"] = json!(b);
        }
        let data = app.gql_ok(Some(&reader.token), query, v).await;
        let conn = data
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{data:#}"))
            .clone();
        let page = conn["edges"].as_array().unwrap().clone();
        let info = &conn["pageInfo"];
        assert!(page.len() <= 2, "a page holds at most `last`");
        assert_eq!(info["hasNextPage"], before.is_some(), "{info}");
        assert_eq!(
            info["startCursor"],
            page.first().map_or(Value::Null, |e| e["cursor"].clone())
        );
        assert_eq!(
            info["endCursor"],
            page.last().map_or(Value::Null, |e| e["cursor"].clone())
        );
        edges.splice(0..0, page);
        if info["hasPreviousPage"] == false {
            return edges;
        }
        before = Some(s(&info["startCursor"]));
    }
    panic!("paging backwards never ended");
}

/// The same list read forwards, two at a time, checking `hasPreviousPage` on the way.
async fn forwards(
    app: &TestApp,
    reader: &User,
    pointer: &str,
    query: &str,
    vars: Value,
) -> Vec<Value> {
    let (edges, more) = pages(app, reader, query, pointer, vars.clone(), 2).await;
    assert!(more.len() >= 2, "the list spans pages: {more:?}");
    let first = app
        .gql_ok(Some(&reader.token), query, {
            let mut v = vars;
            v["first"] = json!(2);
            v
        })
        .await;
    let info = &first.pointer(pointer).unwrap()["pageInfo"];
    assert_eq!(
        info["hasPreviousPage"], false,
        "the first page has nothing before it"
    );
    edges
}

fn cursors(edges: &[Value]) -> Vec<String> {
    edges.iter().map(|e| s(&e["cursor"])).collect()
}

#[tokio::test]
async fn every_connection_reads_the_same_list_backwards_as_forwards() {
    let app = spawn_quiet_app().await;
    let t = small_town(&app).await;
    // Five children, two with the same names (the id breaks the tie).
    for (given, family, dob) in [
        ("Ada", "Birch", "2015-02-03"),
        ("Cal", "Birch", "2015-02-03"),
        ("Cal", "Birch", "2016-08-09"),
        ("Dee", "Yew", "2015-02-03"),
    ] {
        register(&app, &t.teacher, given, family, dob, None, "Class teacher").await;
    }
    // Tasks on every side of the order's edges: dated, dated alike, and undated.
    for (title, due) in [
        ("Call home", Some(day(3))),
        ("Book review", Some(day(1))),
        ("Send report", Some(day(3))),
        ("Ask about lunch", None),
        ("Share plan", None),
    ] {
        task(&app, &t.teacher, &t.child, title, Some(&t.teacher.id), due).await;
    }
    let inv = s(&t.teacher_inv["id"]);
    for hours in 1..=3 {
        let at = ts(chrono::Duration::hours(-hours));
        let done = contact(&app, &t.teacher, &inv, "PHONE", "HAPPENED", &at).await;
        assert!(done["errors"].is_null(), "{done:#}");
    }

    let lists: [(&str, &str, Value); 3] = [
        ("/myChildren", CHILDREN, json!({})),
        ("/myTasks", TASKS, json!({})),
        (
            "/child/timeline",
            TIMELINE_BOTH_WAYS,
            json!({ "id": t.child }),
        ),
    ];
    for (pointer, query, vars) in lists {
        let ahead = forwards(&app, &t.teacher, pointer, query, vars.clone()).await;
        let back = backwards(&app, &t.teacher, pointer, query, vars).await;
        assert!(ahead.len() >= 5, "{pointer}: {ahead:#?}");
        assert_eq!(cursors(&ahead), cursors(&back), "{pointer}");
    }
    // The audit log of one child, as the system admin reads it.
    let vars = json!({ "c": t.child });
    let ahead = forwards(&app, &t.sys, "/auditEvents", AUDIT, vars.clone()).await;
    let back = backwards(&app, &t.sys, "/auditEvents", AUDIT, vars).await;
    assert_eq!(cursors(&ahead), cursors(&back));

    // A window between two cursors, taken from either end.
    let all = cursors(&forwards(&app, &t.teacher, "/myTasks", TASKS, json!({})).await);
    let between = |first: Option<i64>, last: Option<i64>| {
        let app = &app;
        let token = t.teacher.token.clone();
        let vars = json!({ "after": all[0], "before": all[4], "first": first, "last": last });
        async move {
            let data = app.gql_ok(Some(&token), TASKS, vars).await;
            cursors(data["myTasks"]["edges"].as_array().unwrap())
        }
    };
    assert_eq!(between(Some(2), None).await, all[1..3]);
    assert_eq!(between(Some(50), Some(2)).await, all[2..4]);
}

#[tokio::test]
async fn page_arguments_are_checked_and_named() {
    let app = spawn_quiet_app().await;
    let t = small_town(&app).await;
    for (vars, field) in [
        (json!({ "last": 0 }), "last"),
        (json!({ "last": 101 }), "last"),
        (json!({ "before": "not-a-cursor" }), "before"),
        (json!({ "after": "not-a-cursor" }), "after"),
    ] {
        let body = app.gql(Some(&t.teacher.token), CHILDREN, vars).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:#}");
        assert_eq!(error_fields(&body), [field], "{body:#}");
    }
}

#[tokio::test]
async fn node_fetches_each_kind_by_its_id() {
    let app = spawn_quiet_app().await;
    let t = small_town(&app).await;
    let task_id = task(&app, &t.teacher, &t.child, "Call home", None, None).await;
    let inv = s(&t.teacher_inv["id"]);
    let viewed = format!("action = 'CHILD_VIEWED' AND child_id = '{}'", t.child);
    let views_before = app.count("audit_events", &viewed);
    for (id, kind, field, value) in [
        (t.child.as_str(), "Child", "givenName", "Maisie"),
        (task_id.as_str(), "Task", "title", "Call home"),
        (inv.as_str(), "Involvement", "role", "Class teacher"),
        (
            t.worker.id.as_str(),
            "Practitioner",
            "displayName",
            "Tom Worker",
        ),
    ] {
        let data = app
            .gql_ok(Some(&t.teacher.token), NODE, json!({ "id": id }))
            .await;
        assert_eq!(data["node"]["__typename"], kind, "{data:#}");
        assert_eq!(data["node"]["id"], id);
        assert_eq!(data["node"][field], value);
    }
    let data = app
        .gql_ok(Some(&t.teacher.token), NODE, json!({ "id": t.school }))
        .await;
    assert_eq!(data["node"]["__typename"], "Agency");
    // Reading a child by node is reading it: audited as child(id:) is.
    assert_eq!(app.count("audit_events", &viewed), views_before + 1);
    let body = app
        .gql(Some(&t.teacher.token), NODE, json!({ "id": "nope" }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(error_fields(&body), ["id"]);
}

/// What a practitioner outside a hidden service learns from `node`: the answers, and the SQL
/// statements they cost, for the hidden involvement, its child, and an id that names nothing.
async fn nodes_seen_from_outside(hidden: bool) -> (Vec<String>, Vec<u64>) {
    let app = spawn_quiet_app().await;
    let t = small_town(&app).await;
    let secret = if hidden {
        s(&t.advocate_joins(&app).await["id"])
    } else {
        Uuid::new_v4().to_string()
    };
    // A child only the hidden service knows.
    let only = register(
        &app,
        &t.advocate,
        "Tobias",
        "Wren",
        "2017-01-01",
        None,
        "IDVA",
    )
    .await;
    let only_inv = s(&only["id"]);
    let only_child = s(&only["child"]["id"]);
    let mut answers = Vec::new();
    let mut costs = Vec::new();
    // A first call settles what is done once per reader.
    app.gql_ok(Some(&t.teacher.token), NODE, json!({ "id": t.child }))
        .await;
    for id in [secret, only_inv, only_child, Uuid::new_v4().to_string()] {
        let before = app.state.statements.get();
        let body = app
            .gql(Some(&t.teacher.token), NODE, json!({ "id": id }))
            .await;
        costs.push(app.state.statements.get() - before);
        answers.push(body.to_string());
    }
    (answers, costs)
}

#[tokio::test]
async fn node_shows_nothing_of_a_hidden_service_to_a_practitioner_outside_it() {
    let (with, with_costs) = nodes_seen_from_outside(true).await;
    let (without, without_costs) = nodes_seen_from_outside(false).await;
    assert_eq!(with, without);
    assert!(
        with.iter().all(|a| a == r#"{"data":{"node":null}}"#),
        "{with:?}"
    );
    assert_eq!(with_costs, without_costs);
    assert!(
        with_costs.windows(2).all(|w| w[0] == w[1]),
        "{with_costs:?}"
    );
}

#[tokio::test]
async fn a_crafted_cursor_naming_a_child_the_reader_may_not_read_places_nothing() {
    use base64::Engine;
    let app = spawn_quiet_app().await;
    let t = small_town(&app).await;
    // A child of the social worker's, not the teacher's, whose names sort before Maisie's.
    let other = register(
        &app,
        &t.worker,
        "Aaron",
        "Abbott",
        "2014-01-01",
        None,
        "Social worker",
    )
    .await;
    let cursor =
        |id: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("\"{id}\""));
    let page = |after: String| {
        let app = &app;
        let token = t.teacher.token.clone();
        async move {
            app.gql(
                Some(&token),
                CHILDREN,
                json!({ "first": 10, "after": after }),
            )
            .await
        }
    };
    let crafted = page(cursor(&s(&other["child"]["id"]))).await;
    let nothing = page(cursor(&Uuid::new_v4().to_string())).await;
    assert_eq!(
        crafted, nothing,
        "the cursor tells nothing of where that child sorts"
    );
    assert_eq!(
        crafted["data"]["myChildren"]["edges"],
        json!([]),
        "{crafted:#}"
    );
}
