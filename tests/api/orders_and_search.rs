//! Orders, pages and search as the contract says: last and next contact kept true, the
//! contract's orders, cursors across pages, and search that tolerates typos and ranks matches.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::*;
use patchwork_tests::*;

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

#[tokio::test]
async fn a_my_children_cursor_carries_no_name() {
    use base64::Engine;
    let w = World::build().await;
    for (given, family) in [("Orla", "Quinlan"), ("Pip", "Quinlan")] {
        register(
            &w.app,
            &w.outsider,
            given,
            family,
            "2014-07-07",
            None,
            "Youth worker",
        )
        .await;
    }
    let first = w
        .app
        .gql_ok(Some(&w.outsider.token), MY_CHILDREN, json!({ "first": 1 }))
        .await;
    let page = &first["myChildren"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let cursor = s(&page["pageInfo"]["endCursor"]);
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cursor)
        .unwrap();
    let decoded = String::from_utf8(decoded).unwrap();
    assert!(
        !decoded.contains("Quinlan") && !decoded.contains("Orla"),
        "{decoded}"
    );
    let next = w
        .app
        .gql_ok(
            Some(&w.outsider.token),
            MY_CHILDREN,
            json!({ "first": 1, "after": cursor }),
        )
        .await;
    assert_eq!(
        next["myChildren"]["edges"][0]["node"]["givenName"], "Pip",
        "the page after Orla Quinlan"
    );
}
