//! Subscriptions as an app's live team screen uses them: `graphql-transport-ws` on `/graphql`,
//! the token in `connection_init`, each change as the subscriber may see it when it is sent,
//! and the end of the subscription when they may no longer read the child.

use std::time::Duration;

use patchwork_tests::serde_json::json;
use patchwork_tests::world;
use patchwork_tests::ws::{connect, connected, receive, send};
use patchwork_tests::*;

const TEAM_CHANGED: &str =
    "subscription($c: ID!) { teamChanged(childId: $c) { type childId data } }";

#[tokio::test]
async fn a_live_team_screen_hears_each_change_it_may_see_and_nothing_hidden() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let (teacher, worker, advocate, child) = (&t.teacher, &t.worker, &t.advocate, t.child.clone());
    let inv = &t.teacher_inv;
    let mut ws = connect(app.port, &teacher.token).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe",
                          "payload": { "query": TEAM_CHANGED, "variables": { "c": child } } }),
    )
    .await;
    // Let the subscription settle before anything changes.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A restricted service joins and works: nothing of it reaches the teacher. Then the social
    // worker joins: that is the first thing the teacher hears.
    t.advocate_joins(&app).await;
    world::task(
        &app,
        advocate,
        &child,
        "Safety plan",
        Some(&advocate.id),
        None,
    )
    .await;
    let joined = world::join(&app, worker, &child, "Allocated social worker").await;
    // A subscription starts at about the moment it is made: a change from just before may
    // come first (here, the teacher's own registration), never one the teacher may not see.
    let event = loop {
        let next = receive(&mut ws).await.unwrap();
        assert_eq!(next["type"], "next", "{next:#}");
        assert_eq!(next["id"], "1");
        let event = next["payload"]["data"]["teamChanged"].clone();
        assert_eq!(event["childId"], json!(child));
        if event["data"]["involvement"]["id"] == inv["id"] {
            continue;
        }
        break event;
    };
    assert_eq!(event["type"], "team.member_joined");
    assert_eq!(
        event["data"]["involvement"]["id"], joined["id"],
        "{event:#}"
    );

    world::task(&app, worker, &child, "Home visit", Some(&teacher.id), None).await;
    let next = receive(&mut ws).await.unwrap();
    assert_eq!(
        next["payload"]["data"]["teamChanged"]["type"],
        "task.assigned"
    );
    assert_eq!(
        next["payload"]["data"]["teamChanged"]["data"]["task"]["title"],
        "Home visit"
    );
    let all = format!("{next}");
    assert!(!all.contains("Safety plan") && !all.contains("Indigo"));

    // The teacher leaves the team: the subscription ends with NOT_FOUND, as `child` would say.
    app.gql_ok(
        Some(&teacher.token),
        world::END,
        json!({ "id": inv["id"], "v": inv["version"], "r": "Left the school" }),
    )
    .await;
    let ended = receive(&mut ws).await.unwrap();
    assert_eq!(ended["type"], "next", "{ended:#}");
    assert_eq!(
        ended["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    let complete = receive(&mut ws).await.unwrap();
    assert_eq!(complete, json!({ "type": "complete", "id": "1" }));
}

#[tokio::test]
async fn a_connection_without_a_valid_token_is_closed_and_a_hidden_child_is_not_found() {
    let app = spawn_app().await;
    let mut ws = connect(app.port, "not-a-token").await;
    // Closed at once, as graphql-transport-ws has it: 4403 Forbidden.
    let closed = receive(&mut ws).await.unwrap();
    assert_eq!(closed["closed"], 4403, "{closed:#}");

    let t = world::small_town(&app).await;
    let teacher = &t.teacher;
    let mut ws = connect(app.port, &teacher.token).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "7", "type": "subscribe",
                          "payload": { "query": TEAM_CHANGED, "variables": { "c": uuid::Uuid::new_v4() } } })).await;
    let refused = receive(&mut ws).await.unwrap();
    assert_eq!(refused["type"], "next", "{refused:#}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        receive(&mut ws).await.unwrap(),
        json!({ "type": "complete", "id": "7" })
    );
}

#[tokio::test]
async fn an_app_hears_each_message_queued_for_its_practitioner() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    let mut ws = connect(app.port, &t.teacher.token).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "n", "type": "subscribe", "payload": {
        "query": "subscription { myNotifications { id kind childId subject createdAt } }" } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    world::task(
        &app,
        &t.worker,
        &t.child,
        "Call the school nurse",
        Some(&t.teacher.id),
        None,
    )
    .await;
    let next = receive(&mut ws).await.unwrap();
    assert_eq!(next["type"], "next", "{next:#}");
    let message = &next["payload"]["data"]["myNotifications"];
    assert_eq!(message["kind"], "TASK_ASSIGNED");
    assert_eq!(message["childId"], json!(t.child));
    let subject = message["subject"].as_str().unwrap();
    assert!(subject.contains("M.T."), "{subject}");
    assert!(
        !subject.contains("Maisie") && !subject.contains("Thorne"),
        "{subject}"
    );
    // One message, once.
    assert_eq!(
        app.count(
            "notifications",
            &format!(
                "recipient_id = '{}' AND kind = 'TASK_ASSIGNED'",
                t.teacher.id
            )
        ),
        1
    );
}

#[tokio::test]
async fn a_change_made_through_one_process_reaches_a_subscriber_on_another() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    // The subscriber's server is another process over the same database.
    let other = patchwork_tests::served::serve_with(&app, &[]).await;
    let mut ws = connected(other.port, &t.teacher.token).await;
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe",
                "payload": { "query": TEAM_CHANGED, "variables": { "c": t.child } } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let joined = world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    let event = loop {
        let next = receive(&mut ws).await.unwrap();
        assert_eq!(next["type"], "next", "{next:#}");
        let event = next["payload"]["data"]["teamChanged"].clone();
        if event["data"]["involvement"]["id"] == t.teacher_inv["id"] {
            continue;
        }
        break event;
    };
    assert_eq!(event["type"], "team.member_joined");
    assert_eq!(event["data"]["involvement"]["id"], joined["id"]);
}

#[tokio::test]
async fn a_subscriber_whose_token_expires_or_who_is_deactivated_is_closed_with_4403() {
    // Tokens that last three seconds: the subscriber's runs out while it listens.
    let app = spawn_app_with(|v| {
        v.insert("ACCESS_TOKEN_TTL".into(), "3s".into());
    })
    .await;
    let admin = app.system_admin().await;
    let mut ws = connected(app.port, &admin.token).await;
    send(
        &mut ws,
        json!({ "id": "n", "type": "subscribe",
                "payload": { "query": "subscription { myNotifications { id } }" } }),
    )
    .await;
    let closed = loop {
        let next = receive(&mut ws).await.unwrap();
        if next.get("closed").is_some() {
            break next;
        }
    };
    assert_eq!(closed["closed"], 4403, "{closed:#}");

    // Deactivated while listening.
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let mut ws = connected(app.port, &t.teacher.token).await;
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe",
                "payload": { "query": TEAM_CHANGED, "variables": { "c": t.child } } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.gql_ok(
        Some(&t.school_admin.token),
        "mutation($id: ID!) { deactivatePractitioner(id: $id) { id } }",
        json!({ "id": t.teacher.id }),
    )
    .await;
    let closed = loop {
        let next = receive(&mut ws).await.unwrap();
        if next.get("closed").is_some() {
            break next;
        }
        // Changes from before the deactivation may come first, and the subscription's end.
        assert!(
            next["type"] == "next" || next["type"] == "complete",
            "{next:#}"
        );
    };
    assert_eq!(closed["closed"], 4403, "{closed:#}");
}

#[tokio::test]
async fn only_subscriptions_run_over_a_websocket() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let mut ws = connected(app.port, &admin.token).await;
    for (id, query) in [
        ("q", "{ me { id } }"),
        ("m", "mutation { logout(refreshToken: \"x\") }"),
    ] {
        send(
            &mut ws,
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
        )
        .await;
        let refused = receive(&mut ws).await.unwrap();
        assert_eq!(refused["type"], "next", "{refused:#}");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{refused:#}"
        );
        assert!(refused["payload"]["data"].is_null(), "{refused:#}");
        assert_eq!(
            receive(&mut ws).await.unwrap(),
            json!({ "type": "complete", "id": id })
        );
    }
}

#[tokio::test]
async fn with_persisted_queries_only_a_subscription_must_be_registered() {
    let open = spawn_app().await;
    let t = world::small_town(&open).await;
    world::join(&open, &t.worker, &t.child, "Allocated social worker").await;
    let url = open.database_url.clone();
    let app = spawn_app_with(move |v| {
        v.insert("DATABASE_URL".into(), url);
        v.insert("PERSISTED_QUERIES".into(), "only".into());
    })
    .await;
    let document = "subscription { myNotifications { kind childId } }";
    let hash = register_queries(&open, &[document]).remove(0);

    let mut ws = connected(app.port, &t.teacher.token).await;
    // As text, it is refused.
    send(
        &mut ws,
        json!({ "id": "text", "type": "subscribe", "payload": { "query": document } }),
    )
    .await;
    let refused = receive(&mut ws).await.unwrap();
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{refused:#}"
    );
    assert_eq!(
        receive(&mut ws).await.unwrap(),
        json!({ "type": "complete", "id": "text" })
    );
    // By its registered hash, it runs: a task assigned to the teacher is heard.
    send(
        &mut ws,
        json!({ "id": "hash", "type": "subscribe", "payload": { "query": "", "extensions": {
            "persistedQuery": { "version": 1, "sha256Hash": hash } } } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    world::task(
        &open,
        &t.worker,
        &t.child,
        "Call home",
        Some(&t.teacher.id),
        None,
    )
    .await;
    let heard = receive(&mut ws).await.unwrap();
    assert_eq!(heard["id"], "hash", "{heard:#}");
    assert_eq!(
        heard["payload"]["data"]["myNotifications"],
        json!({ "kind": "TASK_ASSIGNED", "childId": t.child }),
        "{heard:#}"
    );
}
