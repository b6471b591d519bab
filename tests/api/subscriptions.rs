//! Subscriptions as an app's live team screen uses them: `graphql-transport-ws` on `/graphql`,
//! the token in `connection_init`, each change as the subscriber may see it when it is sent,
//! and the end of the subscription when they may no longer read the child.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world;
use patchwork_tests::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql` as a WebSocket speaking `graphql-transport-ws` and sends `connection_init`.
async fn connect(app: &TestApp, token: &str) -> Socket {
    let mut req = format!("ws://127.0.0.1:{}/graphql", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    send(&mut ws, json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })).await;
    ws
}

async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message (pings answered), or None when the server closed.
async fn receive(ws: &mut Socket) -> Option<Value> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s");
        match next {
            Some(Ok(Message::Text(t))) => {
                let v: Value = patchwork_tests::serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(v);
            }
            Some(Ok(Message::Close(frame))) => {
                return Some(json!({ "closed": frame.map(|f| u16::from(f.code)) }))
            }
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

const TEAM_CHANGED: &str =
    "subscription($c: ID!) { teamChanged(childId: $c) { type childId data } }";

#[tokio::test]
async fn a_live_team_screen_hears_each_change_it_may_see_and_nothing_hidden() {
    let app = spawn_app().await;
    let t = world::small_town(&app).await;
    let (teacher, worker, advocate, child) = (&t.teacher, &t.worker, &t.advocate, t.child.clone());
    let inv = &t.teacher_inv;
    let mut ws = connect(&app, &teacher.token).await;
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
    let mut ws = connect(&app, "not-a-token").await;
    // Closed at once (async-graphql closes a refused connection_init with 1002).
    let closed = receive(&mut ws).await.unwrap();
    assert_eq!(closed["closed"], 1002, "{closed:#}");

    let t = world::small_town(&app).await;
    let teacher = &t.teacher;
    let mut ws = connect(&app, &teacher.token).await;
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
    let mut ws = connect(&app, &t.teacher.token).await;
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
