//! The change feed, as a vendor's system and an app pull it: the changes their caller may see,
//! in commit order, a page at a time, resumable from any event; and nothing in it (events or
//! cursors) tells of a hidden service.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::{self, s};
use patchwork_tests::*;

fn types(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_feed_lists_what_the_agency_may_see_in_order_and_pages_from_any_event() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let (care_admin, worker, teacher) = (&t.care_admin, &t.worker, &t.teacher);
    let token = app.client_token(care_admin, &["TEAMS_READ"]).await;

    // A child only the school works with: nothing for social care yet.
    let inv = &t.teacher_inv;
    let child = t.child.clone();
    let (status, _, empty) = app.api_get(&token, "/changes").await;
    assert_eq!(status, 200, "{empty:#}");
    assert_eq!(
        empty,
        json!({ "events": [], "endCursor": null, "hasMore": false })
    );

    let joined = world::join(&app, worker, &child, "Allocated social worker").await;
    world::task(
        &app,
        teacher,
        &child,
        "Strategy meeting",
        Some(&worker.id),
        None,
    )
    .await;
    world::contact(
        &app,
        teacher,
        &s(&inv["id"]),
        "SCHOOL_VISIT",
        "WAS_NOT_BROUGHT",
        &world::ts(chrono::Duration::hours(-1)),
    )
    .await;

    // Now social care works with the child: its history is the agency's to read too. (An event
    // is listed once every write transaction that began before it has ended: at once here,
    // unless another database of the test cluster is mid-write.)
    for _ in 0..100 {
        let (_, _, all) = app.api_get(&token, "/changes").await;
        if all["events"].as_array().unwrap().len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, headers, first) = app.api_get(&token, "/changes?first=2").await;
    assert_eq!(status, 200);
    assert_eq!(types(&first), ["team.member_joined", "team.member_joined"]);
    assert_eq!(first["hasMore"], true);
    let cursor = s(&first["endCursor"]);
    assert_eq!(first["events"][1]["id"], json!(cursor));
    assert_eq!(
        headers["link"].to_str().unwrap(),
        format!("</api/v1/changes?first=2&after={cursor}>; rel=\"next\"")
    );
    assert_eq!(
        first["events"][1]["data"]["involvement"]["id"],
        joined["id"]
    );
    let (_, _, rest) = app
        .api_get(&token, &format!("/changes?after={cursor}"))
        .await;
    assert_eq!(types(&rest), ["task.assigned", "contact.missed"]);
    assert_eq!(rest["hasMore"], false);
    // Nothing new: the cursor stays where it was.
    let end = s(&rest["endCursor"]);
    let (_, _, none) = app.api_get(&token, &format!("/changes?after={end}")).await;
    assert_eq!(
        none,
        json!({ "events": [], "endCursor": end, "hasMore": false })
    );
    // Any event's id is a place to read on from.
    let from_first = s(&first["events"][0]["id"]);
    let (_, _, again) = app
        .api_get(&token, &format!("/changes?after={from_first}&first=1"))
        .await;
    assert_eq!(again["events"][0], first["events"][1]);

    for bad in ["not-a-cursor", "0b8e2d6c-3f1a-4c55-9e1d-2f4c8a7b6d50"] {
        let (status, _, body) = app.api_get(&token, &format!("/changes?after={bad}")).await;
        assert_eq!(status, 422, "{body:#}");
        assert_eq!(body["fields"][0]["field"], "after");
    }
    let (status, _, _) = app.api_get(&token, "/changes?first=0").await;
    assert_eq!(status, 422);

    // An app pulls the same feed over GraphQL, as its practitioner may see it.
    let data = app
        .gql_ok(
            Some(&worker.token),
            "{ changes(first: 10) { events { id type childId data } endCursor hasMore } }",
            json!({}),
        )
        .await;
    let feed = &data["changes"];
    assert_eq!(
        types(feed),
        [
            "team.member_joined",
            "team.member_joined",
            "task.assigned",
            "contact.missed"
        ]
    );
    assert_eq!(feed["events"][2]["childId"], json!(child));
    assert_eq!(
        feed["events"][2]["data"]["task"]["title"],
        "Strategy meeting"
    );
    assert_eq!(feed["endCursor"], rest["endCursor"]);
    assert!(feed["events"][0]["data"].get("childRef").is_none());
}

/// Ids, times and generated agency names masked, so that two stories compare.
fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => json!("<id>"),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("<time>"),
        Value::String(s) if s.starts_with("School ") || s.starts_with("Care ") => json!("<agency>"),
        Value::Array(list) => Value::Array(list.iter().map(masked).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "startedOn" || k == "endedOn" && v.is_string() {
                        json!("<date>")
                    } else {
                        masked(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The teacher's change feed over GraphQL in one story, masked.
async fn teacher_feed(hidden: bool) -> Value {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let joined = world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    if hidden {
        let idva = t.advocate_joins(&app).await;
        world::contact(
            &app,
            &t.advocate,
            &s(&idva["id"]),
            "HOME_VISIT",
            "NO_ACCESS",
            &world::ts(chrono::Duration::hours(-3)),
        )
        .await;
        world::task(
            &app,
            &t.advocate,
            &t.child,
            "Safety plan",
            Some(&t.advocate.id),
            None,
        )
        .await;
    }
    world::task(
        &app,
        &t.teacher,
        &t.child,
        "Attendance review",
        Some(&t.worker.id),
        None,
    )
    .await;
    world::contact(
        &app,
        &t.worker,
        &s(&joined["id"]),
        "HOME_VISIT",
        "NO_ACCESS",
        &world::ts(chrono::Duration::hours(-1)),
    )
    .await;
    let query =
        "{ changes(first: 100) { events { id type timestamp childId data } endCursor hasMore } }";
    let mut feed = Value::Null;
    for _ in 0..100 {
        feed = app.gql_ok(Some(&t.teacher.token), query, json!({})).await["changes"].clone();
        if feed["events"].as_array().unwrap().len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    masked(&feed)
}

#[tokio::test]
async fn a_practitioner_outside_a_hidden_service_pulls_the_same_feed_with_or_without_it() {
    let without = teacher_feed(false).await;
    let with = teacher_feed(true).await;
    assert_eq!(
        without["events"].as_array().unwrap().len(),
        4,
        "{without:#}"
    );
    assert_eq!(without, with);
}
