//! Nothing leaks by difference (PRODUCT.md rule 3): the same family built twice, the second with
//! one extra restricted involvement (with contacts, and tasks naming its practitioner), looks
//! exactly the same to everyone who may not see that involvement, through every query they can
//! make, up to ids, names and timestamps; and the hidden involvement's id answers like an id
//! that does not exist, byte for byte, bar the request id.

use chrono::{DateTime, Duration, NaiveDate};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;
use uuid::Uuid;

use patchwork_tests::world::{
    contact, day, fingerprint, join, pages, person, register, s, ts, update, People, CONTACT,
    CREATE_TASK, END, IDVA_NAME, SEARCH, UPDATE, UPDATE_TASK,
};

/// One string with ids, timestamps, dates and the given words replaced by placeholders.
fn normalise_str(text: &str, words: &[(&str, &str)]) -> String {
    let whole = |t: &str| -> Option<&'static str> {
        if Uuid::parse_str(t).is_ok() {
            Some("<id>")
        } else if DateTime::parse_from_rfc3339(t).is_ok() {
            Some("<timestamp>")
        } else if NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
            Some("<date>")
        } else {
            None
        }
    };
    if let Some(p) = whole(text) {
        return p.to_owned();
    }
    let mut out = text.to_owned();
    for (word, placeholder) in words {
        out = out.replace(word, placeholder);
    }
    // Ids, timestamps and dates inside free text (e.g. a summary).
    out.split(' ')
        .map(|tok| {
            let core = tok.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            match whole(core) {
                Some(p) if !core.is_empty() => tok.replace(core, p),
                _ => tok.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A JSON answer with ids, the child's names, dates, timestamps and cursors replaced by
/// placeholders, so that two answers about different children compare equal when they have
/// the same shape and content.
pub(crate) fn normalise(v: &Value, words: &[(&str, &str)]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let x = if (k == "cursor" || k == "endCursor") && x.is_string() {
                        json!("<cursor>")
                    } else if (k == "team" || k == "everyone") && x.is_array() {
                        // Ties in the team's order fall to the id, which differs between any
                        // two records: compare the team as a set here (team_access checks
                        // the order).
                        let mut members: Vec<Value> = x
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| normalise(m, words))
                            .collect();
                        members.sort_by_key(|m| m.to_string());
                        Value::Array(members)
                    } else {
                        normalise(x, words)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, words)).collect()),
        Value::String(t) => Value::String(normalise_str(t, words)),
        other => other.clone(),
    }
}

/// Sends one operation and returns the raw body with the request id blanked.
async fn raw(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let request_id = res
        .headers()
        .get("x-request-id")
        .map(|h| h.to_str().unwrap().to_owned());
    let mut body = res.text().await.expect("body");
    if let Some(r) = request_id {
        body = body.replace(&r, "<request-id>");
    }
    body
}

const INVOLVEMENT: &str = "fragment I on Involvement { id role sensitivity consent lawfulBasis isLead startedOn endedOn \
     lastContactAt nextContactAt version practitioner { id displayName jobTitle email agency { id name } } \
     agency { id name kind sensitive } contacts { id kind outcome at } }";
const TASK: &str = "fragment T on Task { id title description dueOn status version \
     assignee { id displayName } createdBy { id displayName } }";
const CHILD_FIELDS: &str = "id givenName familyName dateOfBirth gender postcode version \
     team { ...I } everyone: team(includeEnded: true) { id } leadProfessional { ...I } \
     tasks { ...T } open: tasks(status: OPEN) { id } done: tasks(status: DONE) { id } \
     timeline { edges { cursor node { at kind summary involvement { id role } task { id title } } } \
       pageInfo { hasNextPage endCursor } } \
     shortTimeline: timeline(first: 3) { edges { cursor node { kind } } pageInfo { hasNextPage endCursor } }";

fn child_query() -> String {
    format!("query($id: ID!) {{ child(id: $id) {{ {CHILD_FIELDS} }} }} {INVOLVEMENT} {TASK}")
}

fn my_children_query() -> String {
    format!(
        "query($first: Int, $after: String) {{ myChildren(first: $first, after: $after) {{ \
         edges {{ cursor node {{ {CHILD_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }} {INVOLVEMENT} {TASK}"
    )
}

fn my_tasks_query() -> String {
    format!(
        "query($first: Int, $after: String) {{ myTasks(first: $first, after: $after) {{ \
         edges {{ cursor node {{ ...T child {{ id }} }} }} pageInfo {{ hasNextPage endCursor }} }} }} {TASK}"
    )
}

const PAGE: &str = "query($id: ID!, $first: Int, $after: String) { child(id: $id) { \
     timeline(first: $first, after: $after) { edges { cursor node { at kind summary involvement { id } task { id } } } \
     pageInfo { hasNextPage endCursor } } } }";

/// One family: a teacher who registered the child, a social worker who leads, contacts and
/// tasks; and, when `hidden`, the IDVA's restricted involvement woven in between.
struct Family {
    child: String,
    given: &'static str,
    family: &'static str,
    dob: &'static str,
    idva_inv: Option<String>,
    idva_task: Option<String>,
}

impl Family {
    fn words(&self) -> [(&'static str, &'static str); 2] {
        [(self.given, "<given>"), (self.family, "<family>")]
    }
}

async fn build_family(
    app: &TestApp,
    p: &People,
    given: &'static str,
    family: &'static str,
    dob: &'static str,
    hidden: bool,
) -> Family {
    let inv = register(
        app,
        &p.teacher,
        given,
        family,
        dob,
        Some("LS6 2AB"),
        "Class teacher",
    )
    .await;
    let child = s(&inv["child"]["id"]);
    let teacher_inv = s(&inv["id"]);
    let sw = join(app, &p.social_worker, &child, "Allocated social worker").await;
    let sw_inv = s(&sw["id"]);
    let mut idva_inv = None;
    if hidden {
        let i = join(app, &p.idva, &child, "IDVA").await;
        assert_eq!(i["sensitivity"], "RESTRICTED");
        idva_inv = Some(s(&i["id"]));
    }
    let body = update(
        app,
        &p.social_worker,
        json!({ "id": sw_inv, "expectedVersion": sw["version"], "isLead": true }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let ok = |body: Value| assert!(body.get("errors").is_none(), "{body:#}");
    ok(contact(
        app,
        &p.teacher,
        &teacher_inv,
        "SCHOOL_VISIT",
        "HAPPENED",
        &ts(Duration::hours(-1)),
    )
    .await);
    if let Some(i) = &idva_inv {
        ok(contact(
            app,
            &p.idva,
            i,
            "HOME_VISIT",
            "HAPPENED",
            &ts(Duration::hours(-3)),
        )
        .await);
        ok(contact(app, &p.idva, i, "PHONE", "PLANNED", &ts(Duration::days(1))).await);
    }
    ok(contact(
        app,
        &p.social_worker,
        &sw_inv,
        "HOME_VISIT",
        "PLANNED",
        &ts(Duration::days(2)),
    )
    .await);
    patchwork_tests::world::task(
        app,
        &p.social_worker,
        &child,
        "Review attendance",
        Some(&p.teacher.id),
        Some(day(7)),
    )
    .await;
    let mut idva_task = None;
    if hidden {
        idva_task = Some(
            patchwork_tests::world::task(
                app,
                &p.idva,
                &child,
                "Update the safety plan",
                Some(&p.idva.id),
                Some(day(3)),
            )
            .await,
        );
        // A task naming the IDVA, assigned to the teacher: refused (naming the assignee) or
        // created; either way nothing the teacher may see.
        let body = app
            .gql(
                Some(&p.idva.token),
                CREATE_TASK,
                json!({ "i": { "childId": child, "title": "Tell me about absences",
                               "assigneeId": p.teacher.id, "dueOn": day(1) } }),
            )
            .await;
        if error_code(&body).is_some() {
            patchwork_tests::world::assert_bad(&body, &["input.assigneeId"]);
        }
    }
    patchwork_tests::world::task(app, &p.teacher, &child, "Book a team meeting", None, None).await;
    Family {
        child,
        given,
        family,
        dob,
        idva_inv,
        idva_task,
    }
}

/// The app, its people, family A (no hidden service) and family B (with the IDVA).
async fn two_families() -> (TestApp, People, Family, Family) {
    let app = spawn_app().await;
    let people = patchwork_tests::world::people(&app).await;
    // Same initials and name lengths, so that nothing but the names themselves differ.
    let a = build_family(&app, &people, "Ruby", "Hale", "2014-03-09", false).await;
    let b = build_family(&app, &people, "Rosa", "Hart", "2014-08-21", true).await;
    (app, people, a, b)
}

/// `data` for `query` as `user`, normalised for `f`.
async fn seen(app: &TestApp, user: &User, query: &str, vars: Value, f: &Family) -> Value {
    let body = app.gql(Some(&user.token), query, vars).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    normalise(&body, &f.words())
}

#[tokio::test]
async fn team_members_see_the_same_child_whether_or_not_a_hidden_service_is_involved() {
    let (app, p, a, b) = two_families().await;
    let q = child_query();
    for (user, label) in [
        (&p.teacher, "the teacher"),
        (&p.social_worker, "the social worker"),
    ] {
        let va = seen(&app, user, &q, json!({ "id": a.child }), &a).await;
        let vb = seen(&app, user, &q, json!({ "id": b.child }), &b).await;
        assert!(!va["data"]["child"].is_null(), "{label} reads the child");
        assert_eq!(va, vb, "{label}: child, team, lead, tasks and timeline");
        let raw_b = app
            .gql(Some(&user.token), &q, json!({ "id": b.child }))
            .await
            .to_string();
        for needle in [
            IDVA_NAME,
            patchwork_tests::world::DA_NAME,
            p.idva.id.as_str(),
            b.idva_inv.as_deref().unwrap(),
            b.idva_task.as_deref().unwrap(),
            "safety plan",
            "absences",
        ] {
            assert!(!raw_b.contains(needle), "{label} must not see {needle}");
        }

        // Every page of the timeline, at every page size.
        for first in [1, 2, 3] {
            let (ea, ma) = pages(
                &app,
                user,
                PAGE,
                "/child/timeline",
                json!({ "id": a.child }),
                first,
            )
            .await;
            let (eb, mb) = pages(
                &app,
                user,
                PAGE,
                "/child/timeline",
                json!({ "id": b.child }),
                first,
            )
            .await;
            assert_eq!(ma, mb, "{label}: the same pages of {first}");
            assert_eq!(
                normalise(&Value::Array(ea), &a.words()),
                normalise(&Value::Array(eb), &b.words()),
                "{label}: timeline pages of {first}"
            );
        }
    }
}

#[tokio::test]
async fn my_children_my_tasks_and_search_answer_alike_for_both_families() {
    let (app, p, a, b) = two_families().await;
    let mc = my_children_query();
    let mt = my_tasks_query();
    for (user, label) in [
        (&p.teacher, "the teacher"),
        (&p.social_worker, "the social worker"),
        (&p.outsider, "a practitioner on neither team"),
    ] {
        // myChildren: one edge per child (Hale before Hart), the same up to the child.
        let data = app.gql_ok(Some(&user.token), &mc, json!({})).await;
        let edges = data["myChildren"]["edges"].as_array().unwrap().clone();
        if user.id == p.outsider.id {
            assert!(edges.is_empty(), "{label}: {data:#}");
        } else {
            assert_eq!(edges.len(), 2, "{label}: {data:#}");
            assert_eq!(edges[0]["node"]["id"], a.child.as_str());
            assert_eq!(edges[1]["node"]["id"], b.child.as_str());
            assert_eq!(
                normalise(&edges[0], &a.words()),
                normalise(&edges[1], &b.words()),
                "{label}: myChildren"
            );
            let (_, more) = pages(&app, user, &mc, "/myChildren", json!({}), 1).await;
            assert_eq!(more, vec![true, false], "{label}");
        }

        // myTasks: the same tasks on both children, and the same page sizes.
        let data = app.gql_ok(Some(&user.token), &mt, json!({})).await;
        let edges = data["myTasks"]["edges"].as_array().unwrap().clone();
        let of = |child: &str| -> Vec<Value> {
            edges
                .iter()
                .filter(|e| e["node"]["child"]["id"] == child)
                .cloned()
                .collect()
        };
        let (ta, tb) = (of(&a.child), of(&b.child));
        assert_eq!(ta.len() + tb.len(), edges.len());
        assert_eq!(
            normalise(&Value::Array(ta.clone()), &a.words()),
            normalise(&Value::Array(tb), &b.words()),
            "{label}: myTasks {data:#}"
        );
        if user.id == p.teacher.id {
            assert_eq!(
                ta.len(),
                1,
                "the teacher has one task on each child: {data:#}"
            );
            let (e, more) = pages(&app, user, &mt, "/myTasks", json!({}), 1).await;
            assert_eq!(e.len(), 2);
            assert_eq!(more, vec![true, false]);
        } else {
            assert!(edges.is_empty(), "{label}: {data:#}");
        }

        // searchChildren, each by its own name and date of birth.
        let sa = seen(&app, user, SEARCH, json!({ "f": a.family, "d": a.dob }), &a).await;
        let sb = seen(&app, user, SEARCH, json!({ "f": b.family, "d": b.dob }), &b).await;
        assert_eq!(sa["data"]["searchChildren"].as_array().unwrap().len(), 1);
        assert_eq!(sa, sb, "{label}: search");
        let sa = seen(
            &app,
            user,
            SEARCH,
            json!({ "f": a.family, "d": a.dob, "g": a.given, "p": "LS6 2AB" }),
            &a,
        )
        .await;
        let sb = seen(
            &app,
            user,
            SEARCH,
            json!({ "f": b.family, "d": b.dob, "g": b.given, "p": "LS6 2AB" }),
            &b,
        )
        .await;
        assert_eq!(sa, sb, "{label}: search with every criterion");
    }

    // A non-member reads neither child, alike.
    let q = child_query();
    let null_view = |f: &Family| {
        let (app, token, q) = (&app, p.outsider.token.clone(), q.clone());
        let child = f.child.clone();
        async move {
            raw(app, &token, &q, json!({ "id": child }))
                .await
                .replace(&child, "<child>")
        }
    };
    let va = null_view(&a).await;
    let vb = null_view(&b).await;
    assert_eq!(va, r#"{"data":{"child":null}}"#);
    assert_eq!(va, vb);
}

/// Documents refused before they run, by the document checks every door applies (aliases, a
/// text argument) or by the engine's own (directives per field, a wrong variable), answer
/// alike, byte for byte bar the request id, about a child with or without a hidden service.
#[tokio::test]
async fn refused_documents_about_either_family_answer_alike() {
    let (app, p, a, b) = two_families().await;
    let aliases: String = (0..=16)
        .map(|n| format!("a{n}: child(id: $id) {{ id }} "))
        .collect();
    let skips = " @skip(if: false)".repeat(5);
    let cases = [
        (
            "too many aliases",
            format!("query($id: ID!) {{ {aliases}}}"),
            json!({ "id": "<ID>" }),
            "at most 15 are allowed",
        ),
        (
            "a NUL in a text argument",
            "query($id: ID!, $t: String!) { child(id: $id) { id } searchChildren(familyName: $t, dateOfBirth: \"2015-01-01\") { id } }"
                .to_owned(),
            json!({ "id": "<ID>", "t": "a\u{0}b" }),
            "must not contain NUL characters",
        ),
        (
            "too many directives",
            format!("query($id: ID!) {{ child(id: $id){skips} {{ id givenName }} }}"),
            json!({ "id": "<ID>" }),
            "number of directives",
        ),
        (
            "a variable of the wrong type",
            "query($id: ID!) { child(id: $id) { id team { id } } }".to_owned(),
            json!({ "id": { "child": "<ID>" } }),
            "expected type",
        ),
    ];
    for (user, label) in [(&p.teacher, "a team member"), (&p.outsider, "a non-member")] {
        for (what, query, template, refusal) in &cases {
            let ask = |f: &Family| {
                let vars: Value = patchwork_tests::serde_json::from_str(
                    &template.to_string().replace("<ID>", &f.child),
                )
                .unwrap();
                let (app, token, query, child) =
                    (&app, user.token.clone(), query.clone(), f.child.clone());
                async move {
                    raw(app, &token, &query, vars)
                        .await
                        .replace(&child, "<child>")
                }
            };
            let (on_a, on_b) = (ask(&a).await, ask(&b).await);
            assert!(on_a.contains(refusal), "{label}, {what}: {on_a}");
            assert!(!on_a.contains("\"child\":{"), "{label}, {what}: {on_a}");
            assert_eq!(on_a, on_b, "{label}, {what}");
        }
    }
}

/// The same over the WebSocket door: subscriptions refused by the document checks (aliases)
/// or by the engine (directives per field, a wrong variable) answer alike about either child.
#[tokio::test]
async fn refused_subscriptions_about_either_family_answer_alike() {
    let (app, p, a, b) = two_families().await;
    let aliases: String = (0..=16)
        .map(|n| format!("a{n}: teamChanged(childId: $id) {{ type }} "))
        .collect();
    let skips = " @skip(if: false)".repeat(5);
    let cases = [
        (
            format!("subscription($id: ID!) {{ {aliases}}}"),
            json!({ "id": "<ID>" }),
            "at most 15 are allowed",
        ),
        (
            format!("subscription($id: ID!) {{ teamChanged(childId: $id){skips} {{ type }} }}"),
            json!({ "id": "<ID>" }),
            "number of directives",
        ),
        (
            "subscription($id: ID!) { teamChanged(childId: $id) { type childId } }".to_owned(),
            json!({ "id": { "child": "<ID>" } }),
            "expected type",
        ),
    ];
    for (user, label) in [(&p.teacher, "a team member"), (&p.outsider, "a non-member")] {
        let mut ws = patchwork_tests::ws::connected(app.port, &user.token).await;
        for (n, (query, template, refusal)) in cases.iter().enumerate() {
            let mut answers = Vec::new();
            for f in [&a, &b] {
                let variables: Value = patchwork_tests::serde_json::from_str(
                    &template.to_string().replace("<ID>", &f.child),
                )
                .unwrap();
                let id = format!("s{n}");
                let subscribe = json!({ "id": id, "type": "subscribe",
                                        "payload": { "query": query, "variables": variables } });
                patchwork_tests::ws::send(&mut ws, subscribe).await;
                let refused = patchwork_tests::ws::receive(&mut ws).await.unwrap();
                let complete = patchwork_tests::ws::receive(&mut ws).await.unwrap();
                assert_eq!(complete, json!({ "type": "complete", "id": id }), "{label}");
                answers.push(refused.to_string().replace(&f.child, "<child>"));
            }
            assert!(answers[0].contains(refusal), "{label}: {}", answers[0]);
            assert_eq!(answers[0], answers[1], "{label}: {query}");
        }
    }
}

#[tokio::test]
async fn a_hidden_involvements_id_answers_like_an_id_that_does_not_exist() {
    let (app, p, a, b) = two_families().await;
    let hidden_inv = b.idva_inv.clone().unwrap();
    let hidden_task = b.idva_task.clone().unwrap();
    let before = fingerprint(&app);

    for (user, label) in [(&p.teacher, "a team member"), (&p.outsider, "a non-member")] {
        // Each probe names the id as "<ID>".
        let cases = [
            (
                "updateInvolvement, current version",
                UPDATE,
                json!({ "i": { "id": "<ID>", "expectedVersion": 1, "role": "Mine now" } }),
                &hidden_inv,
            ),
            (
                "updateInvolvement, stale version",
                UPDATE,
                json!({ "i": { "id": "<ID>", "expectedVersion": 7, "role": "Mine now" } }),
                &hidden_inv,
            ),
            (
                "updateInvolvement, lead",
                UPDATE,
                json!({ "i": { "id": "<ID>", "expectedVersion": 1, "isLead": true } }),
                &hidden_inv,
            ),
            (
                "updateInvolvement, consent",
                UPDATE,
                json!({ "i": { "id": "<ID>", "expectedVersion": 1, "sensitivity": "STANDARD", "consent": "GIVEN" } }),
                &hidden_inv,
            ),
            (
                "endInvolvement",
                END,
                json!({ "id": "<ID>", "v": 1, "r": "Closing" }),
                &hidden_inv,
            ),
            (
                "endInvolvement, stale version",
                END,
                json!({ "id": "<ID>", "v": 9 }),
                &hidden_inv,
            ),
            (
                "recordContact",
                CONTACT,
                json!({ "i": { "involvementId": "<ID>", "kind": "PHONE", "outcome": "PLANNED", "at": "2030-01-01T10:00:00Z" } }),
                &hidden_inv,
            ),
            (
                "updateTask",
                UPDATE_TASK,
                json!({ "i": { "id": "<ID>", "expectedVersion": 1, "status": "DONE" } }),
                &hidden_task,
            ),
            (
                "updateTask, stale version",
                UPDATE_TASK,
                json!({ "i": { "id": "<ID>", "expectedVersion": 4, "title": "Mine" } }),
                &hidden_task,
            ),
        ];
        for (what, query, template, hidden) in cases {
            let with = |id: &str| -> Value {
                patchwork_tests::serde_json::from_str(&template.to_string().replace("<ID>", id))
                    .unwrap()
            };
            let random = Uuid::new_v4().to_string();
            let got = raw(&app, &user.token, query, with(hidden))
                .await
                .replace(hidden.as_str(), "<probed>");
            let nothing = raw(&app, &user.token, query, with(&random))
                .await
                .replace(&random, "<probed>");
            assert!(nothing.contains("\"errors\""), "{what}: {nothing}");
            assert_eq!(got, nothing, "{label}, {what}");
        }

        // Assigning a task to the hidden practitioner answers as on the child she is not on.
        let assign = |child: &str| json!({ "i": { "childId": child, "title": "Call her", "assigneeId": p.idva.id } });
        let on_b = raw(&app, &user.token, CREATE_TASK, assign(&b.child))
            .await
            .replace(&b.child, "<child>");
        let on_a = raw(&app, &user.token, CREATE_TASK, assign(&a.child))
            .await
            .replace(&a.child, "<child>");
        assert!(on_a.contains("\"errors\""), "{label}: {on_a}");
        assert_eq!(
            on_b, on_a,
            "{label}: createTask assigned to the hidden practitioner"
        );
    }
    assert_eq!(fingerprint(&app), before, "nothing written");
}

#[tokio::test]
async fn joining_either_family_answers_alike() {
    let (app, p, a, b) = two_families().await;
    let q = format!(
        "mutation($i: JoinTeamInput!) {{ joinTeam(input: $i) {{ ...I child {{ {CHILD_FIELDS} }} }} }} {INVOLVEMENT} {TASK}"
    );
    let mut answers = Vec::new();
    for f in [&a, &b] {
        let body = app
            .gql(
                Some(&p.outsider.token),
                &q,
                json!({ "i": { "childId": f.child, "role": "Youth worker", "reason": "Attends the club" } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(
            body["data"]["joinTeam"]["child"]["team"]
                .as_array()
                .unwrap()
                .len(),
            3,
            "the teacher, the social worker and the newcomer: {body:#}"
        );
        answers.push(normalise(&body, &f.words()));
    }
    assert_eq!(answers[0], answers[1], "joinTeam");

    // And as a member now, the outsider sees both alike.
    let cq = child_query();
    let va = seen(&app, &p.outsider, &cq, json!({ "id": a.child }), &a).await;
    let vb = seen(&app, &p.outsider, &cq, json!({ "id": b.child }), &b).await;
    assert_eq!(va, vb, "the newcomer's view");
    let mc = my_children_query();
    let data = app.gql_ok(Some(&p.outsider.token), &mc, json!({})).await;
    let edges = data["myChildren"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(
        normalise(&edges[0], &a.words()),
        normalise(&edges[1], &b.words())
    );
}

/// Identity per source (rule 2): what a hidden service recorded never reaches anyone outside
/// it. Registering a child known only to the hidden service answers, then and later, with
/// exactly what the registrant typed, as a new record does; and anyone who later finds the
/// child through the registrant sees the registrant's details, not the hidden service's.
#[tokio::test]
async fn identity_recorded_by_a_hidden_service_never_reaches_anyone_outside_it() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let health = app
        .given_agency(&admin, "Kestrel Bay Health Visiting", "HEALTH", false)
        .await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let da = app
        .given_agency(&admin, "Safe Harbour", "DOMESTIC_ABUSE", true)
        .await;
    let idva = person(&app, &admin, &da, "PRACTITIONER", "Indigo Vance").await;
    let visitor = person(&app, &admin, &health, "PRACTITIONER", "Olive Bakare").await;
    let teacher = person(&app, &admin, &school, "PRACTITIONER", "Grace Lin").await;
    let register =
        "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id role sensitivity \
         child { id givenName familyName dateOfBirth gender postcode version } } }";
    let child_q = "query($id: ID!) { child(id: $id) { id givenName familyName dateOfBirth gender postcode version } }";

    // Known only to the IDVA, with all she knows.
    let hidden = app
        .gql_ok(
            Some(&idva.token),
            register,
            json!({ "i": { "givenName": "Ellie", "familyName": "Parsons", "dateOfBirth": "2018-03-09",
                           "gender": "Female", "postcode": "KB3 7QP", "role": "IDVA" } }),
        )
        .await["registerChild"]["child"]
        .clone();

    // The health visitor does not find her, and registers her as she knows her.
    let found = app
        .gql_ok(
            Some(&visitor.token),
            SEARCH,
            json!({ "f": "Parsons", "d": "2018-03-09" }),
        )
        .await;
    assert_eq!(found["searchChildren"], json!([]), "{found}");
    let attached = app
        .gql_ok(
            Some(&visitor.token),
            register,
            json!({ "i": { "givenName": "ellie", "familyName": "parsons", "dateOfBirth": "2018-03-09",
                           "role": "Health visitor" } }),
        )
        .await["registerChild"]
        .clone();
    let fresh = app
        .gql_ok(
            Some(&visitor.token),
            register,
            json!({ "i": { "givenName": "maya", "familyName": "quinn", "dateOfBirth": "2018-04-09",
                           "role": "Health visitor" } }),
        )
        .await["registerChild"]
        .clone();
    assert_eq!(attached["child"]["id"], hidden["id"], "one record");
    let words_a = [("ellie", "<given>"), ("parsons", "<family>")];
    let words_b = [("maya", "<given>"), ("quinn", "<family>")];
    assert_eq!(
        normalise(&attached, &words_a),
        normalise(&fresh, &words_b),
        "attaching answers as a new record does:\n{attached:#}\n{fresh:#}"
    );
    assert_eq!(attached["child"]["givenName"], "ellie");
    assert_eq!(attached["child"]["gender"], Value::Null);
    assert_eq!(attached["child"]["postcode"], Value::Null);
    // And every later read.
    let later_a = app
        .gql_ok(
            Some(&visitor.token),
            child_q,
            json!({ "id": attached["child"]["id"] }),
        )
        .await;
    let later_b = app
        .gql_ok(
            Some(&visitor.token),
            child_q,
            json!({ "id": fresh["child"]["id"] }),
        )
        .await;
    assert_eq!(normalise(&later_a, &words_a), normalise(&later_b, &words_b));

    // The IDVA sees the newest details she may see: the visitor's, recorded after hers.
    let idva_view = app
        .gql_ok(Some(&idva.token), child_q, json!({ "id": hidden["id"] }))
        .await;
    assert_eq!(idva_view["child"]["givenName"], "ellie", "{idva_view}");

    // A teacher finds her through the visitor, by what the visitor recorded, and joins.
    let by_visitor = app
        .gql_ok(
            Some(&teacher.token),
            SEARCH,
            json!({ "f": "parsons", "d": "2018-03-09", "p": "KB3 7QP" }),
        )
        .await["searchChildren"]
        .clone();
    let by_fresh = app
        .gql_ok(
            Some(&teacher.token),
            SEARCH,
            json!({ "f": "quinn", "d": "2018-04-09", "p": "KB3 7QP" }),
        )
        .await["searchChildren"]
        .clone();
    assert_eq!(
        normalise(&by_visitor, &words_a),
        normalise(&by_fresh, &words_b),
        "a postcode only the hidden service recorded changes neither match nor score"
    );
    let joined = join(&app, &teacher, &s(&hidden["id"]), "Class teacher").await;
    let view = app
        .gql_ok(
            Some(&teacher.token),
            child_q,
            json!({ "id": joined["child"]["id"] }),
        )
        .await;
    assert_eq!(view["child"]["givenName"], "ellie");
    assert_eq!(view["child"]["postcode"], Value::Null);
    let all = app
        .gql_ok(Some(&teacher.token), &my_children_query(), json!({}))
        .await
        .to_string();
    for secret in ["Ellie", "Parsons", "Female", "KB3 7QP"] {
        assert!(!all.contains(secret), "{secret} reached the teacher: {all}");
    }
}
