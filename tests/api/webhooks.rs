//! Webhooks as a vendor's receiver sees them: a real HTTP server on loopback (allowed by
//! `WEBHOOK_ALLOWED_NETWORKS`) gets every event type, signed as Standard Webhooks says, numbered
//! without gaps, in order, through an outage and a restart of the worker; endpoints inside the
//! network are refused; a failing endpoint backs off, dead-letters, is disabled and its admins
//! are told; and an agency outside a hidden service receives byte-identical deliveries with and
//! without it.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use patchwork_tests::receiver::{Received, Receiver};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::{self, s};
use patchwork_tests::*;
use sha2::Sha256;

const SUBSCRIBE: &str = "mutation($i: CreateWebhookSubscriptionInput!) { \
     createWebhookSubscription(input: $i) { secret subscription { id url eventTypes status } } }";

/// A server whose webhooks may reach loopback, quickly; `worker` says whether it runs its own
/// delivery worker.
async fn app_for_hooks(worker: bool, more: &[(&str, &str)]) -> TestApp {
    let more: Vec<(String, String)> = more
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spawn_app_with(move |v| {
        v.insert("WEBHOOK_ALLOWED_NETWORKS".into(), "127.0.0.0/8".into());
        v.insert("WEBHOOK_POLL_INTERVAL".into(), "50ms".into());
        v.insert("WEBHOOK_RETRY_BASE".into(), "100ms".into());
        v.insert("WEBHOOK_LEASE".into(), "10s".into());
        v.insert("DAILY_JOBS_HOUR".into(), "24".into());
        if !worker {
            v.insert("MAIL_WORKER".into(), "off".into());
        }
        v.extend(more);
    })
    .await
}

/// Subscribes `admin`'s agency's endpoint at the receiver; returns (subscription id, secret).
async fn subscribe(
    app: &TestApp,
    admin: &User,
    receiver: &Receiver,
    types: &[&str],
) -> (String, String) {
    let data = app
        .gql_ok(
            Some(&admin.token),
            SUBSCRIBE,
            json!({ "i": { "url": format!("{}/hooks/patchwork", receiver.address), "eventTypes": types } }),
        )
        .await;
    let made = &data["createWebhookSubscription"];
    assert_eq!(made["subscription"]["status"], "ACTIVE");
    (s(&made["subscription"]["id"]), s(&made["secret"]))
}

/// Checks a delivery's signature against `secret` (any of the signatures it carries), as a
/// receiver would with the Standard Webhooks libraries.
fn verified(r: &Received, secret: &str) -> bool {
    let (Some(id), Some(ts), Some(sigs)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    sigs.split(' ').any(|s| s == expected)
}

fn body(r: &Received) -> Value {
    patchwork_tests::serde_json::from_slice(&r.body).expect("a JSON delivery")
}

/// Deliveries answered 200, one per webhook-id, until `n` distinct ones arrived.
async fn delivered(receiver: &Receiver, n: usize) -> Vec<Received> {
    let got = receiver
        .until(Duration::from_secs(30), |got| {
            let mut ids: Vec<&str> = got
                .iter()
                .filter(|r| r.answered == 200)
                .filter_map(|r| r.header("webhook-id"))
                .collect();
            ids.sort();
            ids.dedup();
            ids.len() >= n
        })
        .await;
    let mut seen = std::collections::HashSet::new();
    got.into_iter()
        .filter(|r| r.answered == 200)
        .filter(|r| seen.insert(r.header("webhook-id").unwrap().to_owned()))
        .collect()
}

async fn town(app: &TestApp) -> world::SmallTown {
    world::small_town(app).await
}

#[tokio::test]
async fn an_agency_hears_every_change_signed_in_order_through_an_outage_and_a_restart() {
    let app = app_for_hooks(false, &[]).await;
    let t = town(&app).await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, &t.care_admin, &receiver, world_types()).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(patchwork::webhook::worker::run(app.state.clone(), stopped));

    // The endpoint is down for the first two attempts.
    receiver.fail_next(2);
    let joined = world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    let task = world::task(
        &app,
        &t.teacher,
        &t.child,
        "Strategy meeting",
        Some(&t.worker.id),
        None,
    )
    .await;
    let first = delivered(&receiver, 2).await;

    // The worker stops (a deploy); changes go on; a new worker takes up where it left off.
    let _ = stop.send(true);
    worker.await.unwrap();
    let done = app
        .gql_ok(
            Some(&t.worker.token),
            world::UPDATE_TASK,
            json!({ "i": { "id": task, "expectedVersion": 1, "status": "DONE" } }),
        )
        .await;
    assert_eq!(done["updateTask"]["status"], "DONE");
    let missed = world::contact(
        &app,
        &t.teacher,
        &s(&t.teacher_inv["id"]),
        "SCHOOL_VISIT",
        "WAS_NOT_BROUGHT",
        &world::ts(chrono::Duration::hours(-2)),
    )
    .await;
    assert!(missed["errors"].is_null(), "{missed:#}");
    let lead = world::update(
        &app,
        &t.worker,
        json!({ "id": joined["id"], "expectedVersion": joined["version"], "isLead": true }),
    )
    .await;
    assert!(lead["errors"].is_null(), "{lead:#}");
    app.gql_ok(
        Some(&t.teacher.token),
        "mutation($c: ID!) { raiseAttention(childId: $c, message: \"Please call the school today.\") }",
        json!({ "c": t.child }),
    )
    .await;
    let version = lead["data"]["updateInvolvement"]["version"].clone();
    app.gql_ok(
        Some(&t.worker.token),
        world::END,
        json!({ "id": joined["id"], "v": version, "r": "Case closed" }),
    )
    .await;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(patchwork::webhook::worker::run(app.state.clone(), stopped));
    let rest = delivered(&receiver, 5).await;

    let all: Vec<Received> = first.into_iter().chain(rest).collect();
    let mut by_sequence: Vec<(i64, Value, &Received)> = all
        .iter()
        .map(|r| (body(r)["sequence"].as_i64().unwrap(), body(r), r))
        .collect();
    by_sequence.sort_by_key(|(n, _, _)| *n);
    by_sequence.dedup_by_key(|(n, _, _)| *n);
    let types: Vec<&str> = by_sequence
        .iter()
        .map(|(_, b, _)| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "team.member_joined",
            "task.assigned",
            "task.completed",
            "contact.missed",
            "team.lead_changed",
            "attention.raised",
            "team.member_left",
        ],
        "every change once, in order"
    );
    let sequences: Vec<i64> = by_sequence.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        sequences,
        (1..=7).collect::<Vec<i64>>(),
        "numbered without gaps"
    );
    for (_, b, r) in &by_sequence {
        assert!(verified(r, &secret), "a valid signature on {b:#}");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hooks/patchwork");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(b["data"]["childId"], json!(t.child));
        assert!(b["timestamp"].is_string());
    }
    let joined_event = &by_sequence[0].1["data"]["involvement"];
    assert_eq!(joined_event["practitioner"]["id"], json!(t.worker.id));
    assert_eq!(joined_event["practitioner"]["displayName"], "Tom Worker");
    assert_eq!(joined_event["agency"]["id"], json!(t.care));
    assert_eq!(
        by_sequence[1].1["data"]["task"]["assignee"]["id"],
        json!(t.worker.id)
    );
    assert_eq!(
        by_sequence[3].1["data"]["contact"]["outcome"],
        "WAS_NOT_BROUGHT"
    );
    // No message text, email or phone ever leaves in a webhook.
    let everything: String = all.iter().map(Received::text).collect();
    for secret_text in ["Please call the school", &t.worker.email, &t.teacher.email] {
        assert!(
            !everything.contains(secret_text),
            "a webhook holds {secret_text}"
        );
    }
    // The outage was retried under the same id, and nothing was sent twice once answered (the
    // worker records the last answer a moment after the receiver has it).
    for _ in 0..100 {
        if app.count("webhook_deliveries", "status = 'SENT'") == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("webhook_deliveries", "status = 'SENT'"), 7);
    assert_eq!(
        app.count("webhook_deliveries", "status = 'SENT' AND attempts = 3"),
        1,
        "the first delivery took three attempts"
    );
}

fn world_types() -> &'static [&'static str] {
    &[
        "team.member_joined",
        "team.member_left",
        "team.lead_changed",
        "task.assigned",
        "task.completed",
        "contact.missed",
        "attention.raised",
    ]
}

#[tokio::test]
async fn endpoints_inside_the_network_and_unknown_types_are_refused_and_only_admins_subscribe() {
    let app = spawn_app().await;
    let t = town(&app).await;
    let attempt = |user: &User, url: &str, types: Value| {
        let app = &app;
        let token = user.token.clone();
        let url = url.to_owned();
        async move {
            app.gql(
                Some(&token),
                SUBSCRIBE,
                json!({ "i": { "url": url, "eventTypes": types } }),
            )
            .await
        }
    };
    let refused = attempt(
        &t.worker,
        "https://hooks.example/p",
        json!(["task.assigned"]),
    )
    .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://10.0.0.7/hook",
        "http://hooks.example/plain-http",
        "https://user:pw@hooks.example/",
        "not a url",
    ] {
        let body = attempt(&t.care_admin, url, json!(["task.assigned"])).await;
        world::assert_bad(&body, &["input.url"]);
    }
    let body = attempt(
        &t.care_admin,
        "https://127.0.0.1/hook",
        json!(["task.exploded"]),
    )
    .await;
    world::assert_bad(&body, &["input.eventTypes", "input.url"]);
    assert_eq!(app.count("webhook_subscriptions", "true"), 0);
}

/// What a school's endpoint receives in one story, normalised: ids numbered by first
/// appearance, times and generated agency names blanked.
async fn school_hears(hidden: bool) -> Vec<String> {
    let app = app_for_hooks(true, &[]).await;
    let t = world::small_town(&app).await;
    let (school_admin, teacher, worker, advocate, child) = (
        &t.school_admin,
        &t.teacher,
        &t.worker,
        &t.advocate,
        t.child.clone(),
    );
    let receiver = Receiver::start().await;
    // Every type there is, as the API lists them.
    let types = app
        .gql_ok(
            Some(&school_admin.token),
            "{ webhookEventTypes }",
            json!({}),
        )
        .await;
    let every: Vec<&str> = types["webhookEventTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        every.len() >= 7 && every.contains(&"attention.raised"),
        "{every:?}"
    );
    subscribe(&app, school_admin, &receiver, &every).await;

    let joined = world::join(&app, worker, &child, "Allocated social worker").await;
    if hidden {
        // A domestic-abuse service works with the child, restricted: its involvement, its
        // visit, its task and its lead are nobody else's business.
        let idva = &t.advocate_joins(&app).await;
        world::contact(
            &app,
            advocate,
            &s(&idva["id"]),
            "HOME_VISIT",
            "NO_ACCESS",
            &world::ts(chrono::Duration::hours(-3)),
        )
        .await;
        world::task(
            &app,
            advocate,
            &child,
            "Safety plan",
            Some(&advocate.id),
            None,
        )
        .await;
        world::update(
            &app,
            advocate,
            json!({ "id": idva["id"], "expectedVersion": idva["version"], "isLead": true }),
        )
        .await;
        app.gql_ok(
            Some(&advocate.token),
            "mutation($c: ID!) { raiseAttention(childId: $c, message: \"Safety concern\") }",
            json!({ "c": child }),
        )
        .await;
    }
    world::task(
        &app,
        teacher,
        &child,
        "Attendance review",
        Some(&worker.id),
        None,
    )
    .await;
    world::contact(
        &app,
        worker,
        &s(&joined["id"]),
        "HOME_VISIT",
        "NO_ACCESS",
        &world::ts(chrono::Duration::hours(-1)),
    )
    .await;
    app.gql_ok(
        Some(&worker.token),
        world::END,
        json!({ "id": joined["id"], "v": joined["version"], "r": "Moved on" }),
    )
    .await;
    let got = delivered(&receiver, 4).await;
    // Nothing more comes.
    assert!(receiver.next(Duration::from_millis(800)).await.is_none());
    let mut bodies: Vec<(i64, String)> = got
        .iter()
        .map(|r| (body(r)["sequence"].as_i64().unwrap(), r.text()))
        .collect();
    bodies.sort();
    // And the school's change feed, pulled by its case system.
    let token = app.client_token(school_admin, &["TEAMS_READ"]).await;
    let (status, _, feed) = app.api_get(&token, "/changes?first=100").await;
    assert_eq!(status, 200);
    let mut pages: Vec<(i64, String)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["id"] = json!("<event>");
            (0, e.to_string())
        })
        .collect();
    pages.push((
        0,
        json!({ "hasMore": feed["hasMore"], "endCursor": "<event>" }).to_string(),
    ));
    bodies.extend(pages);
    let mut names: HashMap<String, String> = HashMap::new();
    let uuid = regex_lite_uuid();
    bodies
        .into_iter()
        .map(|(_, text)| {
            let mut v: Value = patchwork_tests::serde_json::from_str(&text).unwrap();
            if v["timestamp"].is_string() {
                v["timestamp"] = json!("<time>");
            }
            if v["data"]["contact"].is_object() {
                v["data"]["contact"]["at"] = json!("<time>");
            }
            if v["data"]["involvement"].is_object() {
                v["data"]["involvement"]["agency"]["name"] = json!("<agency>");
                v["data"]["involvement"]["startedOn"] = json!("<date>");
                if v["data"]["involvement"]["endedOn"].is_string() {
                    v["data"]["involvement"]["endedOn"] = json!("<date>");
                }
            }
            let text = v.to_string();
            uuid(&text, &mut names)
        })
        .collect()
}

/// Replaces each UUID in `text` by its number of first appearance across calls.
fn regex_lite_uuid() -> impl Fn(&str, &mut HashMap<String, String>) -> String {
    |text, names| {
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < text.len() {
            let candidate = text.get(i..i + 36);
            if let Some(c) =
                candidate.filter(|c| uuid::Uuid::parse_str(c).is_ok() && c.as_bytes()[8] == b'-')
            {
                let n = names.len();
                let name = names
                    .entry(c.to_owned())
                    .or_insert_with(|| format!("<id{n}>"));
                out.push_str(name);
                i += 36;
            } else {
                out.push(bytes[i] as char);
                i += 1;
            }
        }
        out
    }
}

#[tokio::test]
async fn an_agency_outside_a_hidden_service_receives_the_same_webhooks_and_feed_with_or_without_it()
{
    let without = school_hears(false).await;
    let with = school_hears(true).await;
    // Four deliveries; the feed's five events (the teacher's registration too) and its end.
    assert_eq!(without.len(), 10, "{without:#?}");
    assert_eq!(without, with);
}

#[tokio::test]
async fn a_failing_endpoint_backs_off_dead_letters_is_disabled_its_admins_told_and_resumes() {
    let app = app_for_hooks(
        false,
        &[
            ("WEBHOOK_MAX_ATTEMPTS", "2"),
            ("WEBHOOK_DISABLE_AFTER", "3"),
            ("WEBHOOK_RETRY_BASE", "20ms"),
        ],
    )
    .await;
    let t = town(&app).await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, &t.care_admin, &receiver, world_types()).await;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(patchwork::webhook::worker::run(app.state.clone(), stopped));
    receiver.fail_next(usize::MAX);
    let joined = world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    world::task(
        &app,
        &t.teacher,
        &t.child,
        "Strategy meeting",
        Some(&t.worker.id),
        None,
    )
    .await;
    // Two attempts at the first (then a dead letter), one at the second: disabled.
    let tries = receiver
        .until(Duration::from_secs(20), |got| got.len() >= 3)
        .await;
    assert!(tries.iter().all(|r| r.answered == 500));
    assert_eq!(tries[0].header("webhook-id"), tries[1].header("webhook-id"));
    assert_ne!(tries[1].header("webhook-id"), tries[2].header("webhook-id"));
    let list = "{ webhookSubscriptions { id status failingSince deadLetters { id sequence eventType attempts lastError } } }";
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.gql_ok(Some(&t.care_admin.token), list, json!({})).await;
        if status["webhookSubscriptions"][0]["status"] == "DISABLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sub = &status["webhookSubscriptions"][0];
    assert_eq!(sub["status"], "DISABLED", "{status:#}");
    assert!(sub["failingSince"].is_string());
    let dead = &sub["deadLetters"];
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead:#}");
    assert_eq!(dead[0]["sequence"], 1);
    assert_eq!(dead[0]["eventType"], "team.member_joined");
    assert_eq!(dead[0]["attempts"], 2);
    assert_eq!(dead[0]["lastError"], "answered 500");
    assert_eq!(
        app.count(
            "notifications",
            &format!(
                "kind = 'WEBHOOK_DISABLED' AND recipient_id = '{}'",
                t.care_admin.id
            )
        ),
        1,
        "the agency's admin is told"
    );
    // Nothing is sent while disabled.
    assert!(receiver.next(Duration::from_millis(400)).await.is_none());

    // Fixed: the admin replays the dead letter and resumes; both arrive, in sequence order.
    receiver.fail_next(0);
    app.gql_ok(
        Some(&t.care_admin.token),
        "mutation($s: ID!, $d: ID!) { replayWebhookDelivery(subscriptionId: $s, deliveryId: $d) }",
        json!({ "s": id, "d": dead[0]["id"] }),
    )
    .await;
    let resumed = app
        .gql_ok(
            Some(&t.care_admin.token),
            "mutation($id: ID!) { resumeWebhookSubscription(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(resumed["resumeWebhookSubscription"]["status"], "ACTIVE");
    let got = delivered(&receiver, 2).await;
    let sequences: Vec<i64> = got
        .iter()
        .map(|r| body(r)["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2]);
    assert!(got.iter().all(|r| verified(r, &secret)));

    // A rotation: for a while every delivery carries both signatures, each valid.
    let rotated = app
        .gql_ok(
            Some(&t.care_admin.token),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": id }),
        )
        .await;
    let fresh = s(&rotated["rotateWebhookSecret"]["secret"]);
    assert_ne!(fresh, secret);
    world::update(
        &app,
        &t.worker,
        json!({ "id": joined["id"], "expectedVersion": joined["version"], "isLead": true }),
    )
    .await;
    let got = delivered(&receiver, 1).await;
    assert_eq!(
        got[0]
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert!(verified(&got[0], &fresh) && verified(&got[0], &secret));
}

/// A call under the vendor API with a method, an optional `Idempotency-Key` and a JSON body.
async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, format!("{}/api/v1{path}", app.address))
        .bearer_auth(token);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_case_system_with_webhooks_manage_manages_its_agency_s_subscriptions() {
    use reqwest::Method;
    let app = app_for_hooks(false, &[]).await;
    let t = town(&app).await;
    let receiver = Receiver::start().await;
    let token = app.client_token(&t.care_admin, &["WEBHOOKS_MANAGE"]).await;
    let url = format!("{}/hooks/case-system", receiver.address);
    let new = json!({ "url": url, "eventTypes": ["team.member_joined", "task.assigned"] });

    let (status, refused) = call(
        &app,
        &token,
        Method::POST,
        "/webhooks",
        None,
        Some(new.clone()),
    )
    .await;
    assert_eq!(
        (status, refused["fields"][0]["field"].as_str()),
        (400, Some("Idempotency-Key"))
    );
    let (status, made) = call(
        &app,
        &token,
        Method::POST,
        "/webhooks",
        Some("sub-1"),
        Some(new.clone()),
    )
    .await;
    assert_eq!(status, 201, "{made:#}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(made["subscription"]["status"], "ACTIVE");
    // A retry answers the same subscription, not a second one.
    let (status, again) = call(
        &app,
        &token,
        Method::POST,
        "/webhooks",
        Some("sub-1"),
        Some(new),
    )
    .await;
    assert_eq!((status, &again), (201, &made));
    let id = s(&made["subscription"]["id"]);
    let (_, list) = call(&app, &token, Method::GET, "/webhooks", None, None).await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    // Visible to the agency's admins in GraphQL too: one agency, one set of subscriptions.
    let seen = app
        .gql_ok(
            Some(&t.care_admin.token),
            "{ webhookSubscriptions { id } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["webhookSubscriptions"][0]["id"], json!(id));

    // Deliveries reach the endpoint, signed with the secret the client was given.
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(patchwork::webhook::worker::run(app.state.clone(), stopped));
    world::join(&app, &t.worker, &t.child, "Allocated social worker").await;
    let got = delivered(&receiver, 1).await;
    assert!(verified(&got[0], made["secret"].as_str().unwrap()));

    let (status, paused) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/webhooks/{id}"),
        None,
        Some(json!({ "status": "PAUSED" })),
    )
    .await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("PAUSED")));
    let (status, _) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/webhooks/{id}"),
        None,
        Some(json!({ "status": "GONE" })),
    )
    .await;
    assert_eq!(status, 422);
    let (status, rotated) = call(
        &app,
        &token,
        Method::POST,
        &format!("/webhooks/{id}/secret"),
        Some("rot-1"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated:#}");
    assert_ne!(rotated["secret"], made["secret"]);
    let (status, dead) = call(
        &app,
        &token,
        Method::GET,
        &format!("/webhooks/{id}/dead-letters"),
        None,
        None,
    )
    .await;
    assert_eq!((status, dead), (200, json!({ "deadLetters": [] })));
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/webhooks/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, list) = call(&app, &token, Method::GET, "/webhooks", None, None).await;
    assert_eq!(list, json!({ "webhooks": [] }));

    // Without the scope, nothing.
    let narrow = app.client_token(&t.care_admin, &["TEAMS_READ"]).await;
    let (status, _) = call(&app, &narrow, Method::GET, "/webhooks", None, None).await;
    assert_eq!(status, 403);
}
