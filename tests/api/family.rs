//! Family links (PRODUCT.md rule 11) and the picture of the network around a child: a link is
//! seen only by readers of both children's records, never when a hidden service recorded it,
//! and the picture and the team around the family show only what rule 3 lets the reader see.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::world::{assert_bad, fingerprint, join, register, s, IDVA_NAME};
use patchwork_tests::*;

const FAMILY: &str = "query($id: ID!) { child(id: $id) { \
     family { id relation description name child { id givenName familyName } } } }";
const FAMILY_TEAM: &str = "query($id: ID!) { child(id: $id) { familyTeam { \
     role child { id } practitioner { id displayName } agency { id name } } } }";
const NETWORK: &str = "query($id: ID!) { child(id: $id) { network { \
     nodes { id kind label detail agencyId lead phone email } edges { from to kind label } } } }";
const LINK: &str = "mutation($i: LinkSiblingsInput!) { linkSiblings(input: $i) { \
     id relation description name child { id givenName } } }";
const CARER: &str = "mutation($i: AddCarerInput!) { addCarer(input: $i) { \
     id relation description name child { id } } }";
const REMOVE: &str = "mutation($id: ID!) { removeFamilyLink(id: $id) }";

struct Town {
    app: TestApp,
    teacher: User,
    social_worker: User,
    idva: User,
    outsider: User,
}

async fn town() -> Town {
    let app = spawn_app().await;
    let p = patchwork_tests::world::people(&app).await;
    Town {
        teacher: p.teacher,
        social_worker: p.social_worker,
        idva: p.idva,
        outsider: p.outsider,
        app,
    }
}

async fn child(t: &Town, given: &str, family: &str, dob: &str) -> String {
    s(&register(
        &t.app,
        &t.teacher,
        given,
        family,
        dob,
        Some("LS6 2AB"),
        "Class teacher",
    )
    .await["child"]["id"])
}

async fn family_of(t: &Town, user: &User, child: &str) -> Value {
    t.app
        .gql_ok(Some(&user.token), FAMILY, json!({ "id": child }))
        .await["child"]["family"]
        .clone()
}

#[tokio::test]
async fn a_sibling_link_is_seen_only_by_readers_of_both_children() {
    let t = town().await;
    let ruby = child(&t, "Ruby", "Hale", "2014-03-09").await;
    let ollie = child(&t, "Ollie", "Hale", "2016-05-01").await;
    join(&t.app, &t.social_worker, &ruby, "Allocated social worker").await;

    let link = t
        .app
        .gql_ok(
            Some(&t.teacher.token),
            LINK,
            json!({ "i": { "childId": ruby, "siblingId": ollie, "description": "brother" } }),
        )
        .await["linkSiblings"]
        .clone();
    assert_eq!(link["relation"], "SIBLING");
    assert_eq!(link["child"]["id"], json!(ollie));
    assert_eq!(link["child"]["givenName"], "Ollie");
    assert_eq!(link["description"], "brother");

    // The teacher reads both records: each shows the other.
    let from_ruby = family_of(&t, &t.teacher, &ruby).await;
    assert_eq!(from_ruby.as_array().unwrap().len(), 1, "{from_ruby:#}");
    assert_eq!(from_ruby[0]["child"]["id"], json!(ollie));
    let from_ollie = family_of(&t, &t.teacher, &ollie).await;
    assert_eq!(from_ollie[0]["child"]["id"], json!(ruby));
    assert_eq!(from_ollie[0]["id"], from_ruby[0]["id"]);

    // The social worker reads Ruby's record only: no sibling, and no trace of one.
    assert_eq!(family_of(&t, &t.social_worker, &ruby).await, json!([]));
    let net = t
        .app
        .gql_ok(Some(&t.social_worker.token), NETWORK, json!({ "id": ruby }))
        .await;
    let text = net.to_string();
    assert!(!text.contains(&ollie) && !text.contains("Ollie"), "{net:#}");

    // Linking again answers the same link and writes nothing.
    let before = fingerprint(&t.app);
    let audit_before = t
        .app
        .count("audit_events", "action = 'FAMILY_LINK_RECORDED'");
    let again = t
        .app
        .gql_ok(
            Some(&t.teacher.token),
            LINK,
            json!({ "i": { "childId": ollie, "siblingId": ruby } }),
        )
        .await;
    assert_eq!(again["linkSiblings"]["id"], link["id"]);
    assert_eq!(again["linkSiblings"]["child"]["id"], json!(ruby));
    assert_eq!(fingerprint(&t.app), before);
    assert_eq!(
        t.app
            .count("audit_events", "action = 'FAMILY_LINK_RECORDED'"),
        audit_before
    );
    assert_eq!(audit_before, 2, "one event on each child's record");

    // The social worker may not link Ruby to a child they cannot read: the same answer as for
    // a child that does not exist.
    let refused = t
        .app
        .gql(
            Some(&t.social_worker.token),
            LINK,
            json!({ "i": { "childId": ruby, "siblingId": ollie } }),
        )
        .await;
    assert_bad(&refused, &["input.siblingId"]);
    let nobody = t
        .app
        .gql(
            Some(&t.social_worker.token),
            LINK,
            json!({ "i": { "childId": ruby, "siblingId": uuid::Uuid::new_v4().to_string() } }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["message"],
        nobody["errors"][0]["message"]
    );

    // Removing: the social worker cannot see the link, so it is not found for them.
    let id = s(&link["id"]);
    let body = t
        .app
        .gql(Some(&t.social_worker.token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body:#}");
    let body = t
        .app
        .gql_ok(Some(&t.teacher.token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(body["removeFamilyLink"], true);
    assert_eq!(family_of(&t, &t.teacher, &ruby).await, json!([]));
    assert_eq!(
        t.app
            .count("audit_events", "action = 'FAMILY_LINK_REMOVED'"),
        2
    );
}

#[tokio::test]
async fn parents_and_carers_are_names_and_relationships_seen_by_the_childs_readers() {
    let t = town().await;
    let ruby = child(&t, "Ruby", "Hale", "2014-03-09").await;
    join(&t.app, &t.social_worker, &ruby, "Allocated social worker").await;
    let mum = t
        .app
        .gql_ok(
            Some(&t.social_worker.token),
            CARER,
            json!({ "i": { "childId": ruby, "relation": "PARENT", "name": "  Dana Hale ", "description": "mother" } }),
        )
        .await["addCarer"]
        .clone();
    assert_eq!(mum["relation"], "PARENT");
    assert_eq!(mum["name"], "Dana Hale");
    assert_eq!(mum["child"], Value::Null);
    let seen = family_of(&t, &t.teacher, &ruby).await;
    assert_eq!(seen[0]["name"], "Dana Hale");
    assert_eq!(seen[0]["description"], "mother");

    // Someone who may not read the record can neither add nor see.
    let before = fingerprint(&t.app);
    let body = t
        .app
        .gql(
            Some(&t.outsider.token),
            CARER,
            json!({ "i": { "childId": ruby, "relation": "CARER", "name": "Someone" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body:#}");
    let body = t
        .app
        .gql(Some(&t.outsider.token), FAMILY, json!({ "id": ruby }))
        .await;
    assert_eq!(body["data"]["child"], Value::Null);

    // Bad input names its field and changes nothing.
    for (input, fields) in [
        (
            json!({ "childId": ruby, "relation": "SIBLING", "name": "X" }),
            vec!["input.relation"],
        ),
        (
            json!({ "childId": ruby, "relation": "CARER", "name": "   " }),
            vec!["input.name"],
        ),
        (
            json!({ "childId": ruby, "relation": "CARER", "name": "x".repeat(201) }),
            vec!["input.name"],
        ),
        (
            json!({ "childId": "not-an-id", "relation": "CARER", "name": "X" }),
            vec!["input.childId"],
        ),
    ] {
        let body = t
            .app
            .gql(Some(&t.teacher.token), CARER, json!({ "i": input }))
            .await;
        assert_bad(&body, &fields);
    }
    let body = t
        .app
        .gql(
            Some(&t.teacher.token),
            LINK,
            json!({ "i": { "childId": ruby, "siblingId": ruby } }),
        )
        .await;
    assert_bad(&body, &["input.siblingId"]);
    let body = t
        .app
        .gql(
            None,
            CARER,
            json!({ "i": { "childId": ruby, "relation": "CARER", "name": "X" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body:#}");
    assert_eq!(fingerprint(&t.app), before);
    assert_eq!(t.app.count("family_links", "TRUE"), 1);
}

#[tokio::test]
async fn the_picture_and_the_team_around_the_family_show_what_the_reader_may_see() {
    let t = town().await;
    let ruby = child(&t, "Ruby", "Hale", "2014-03-09").await;
    let ollie = child(&t, "Ollie", "Hale", "2016-05-01").await;
    let sw = join(&t.app, &t.social_worker, &ollie, "Allocated social worker").await;
    join(&t.app, &t.idva, &ruby, "IDVA").await;
    t.app
        .gql_ok(
            Some(&t.teacher.token),
            LINK,
            json!({ "i": { "childId": ruby, "siblingId": ollie } }),
        )
        .await;
    t.app
        .gql_ok(
            Some(&t.teacher.token),
            CARER,
            json!({ "i": { "childId": ruby, "relation": "CARER", "name": "Iris Hale", "description": "grandmother" } }),
        )
        .await;

    let net = t
        .app
        .gql_ok(Some(&t.teacher.token), NETWORK, json!({ "id": ruby }))
        .await["child"]["network"]
        .clone();
    let nodes = net["nodes"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("CHILD", "Ruby Hale"),
            ("AGENCY", "Gull Street Primary School"),
            ("PRACTITIONER", "Grace Lin"),
            ("SIBLING", "Ollie Hale"),
            ("CARER", "Iris Hale"),
        ],
        "the IDVA's restricted involvement is not in the teacher's picture: {net:#}"
    );
    let teacher = &nodes[2];
    assert_eq!(teacher["id"], json!(t.teacher.id));
    assert_eq!(teacher["detail"], "Class teacher");
    assert_eq!(teacher["agencyId"], json!(t.teacher.agency_id));
    assert!(teacher["email"].as_str().unwrap().contains('@'));
    assert_eq!(nodes[3]["id"], json!(ollie));
    assert_eq!(nodes[4]["detail"], "grandmother");
    let edges: Vec<(String, String, &str)> = net["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["from"]), s(&e["to"]), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        edges,
        vec![
            (ruby.clone(), t.teacher.id.clone(), "WORKS_WITH"),
            (
                t.teacher.id.clone(),
                t.teacher.agency_id.clone(),
                "MEMBER_OF"
            ),
            (ruby.clone(), ollie.clone(), "FAMILY"),
            (ruby.clone(), s(&nodes[4]["id"]), "FAMILY"),
        ]
    );

    // The IDVA sees their own involvement in the picture.
    let idva_net = t
        .app
        .gql_ok(Some(&t.idva.token), NETWORK, json!({ "id": ruby }))
        .await;
    assert!(idva_net.to_string().contains(IDVA_NAME));

    // The team around the family: Ruby's team then Ollie's, as the teacher may see them;
    // showing Ollie's team is a read of Ollie's record, audited as such.
    let ollie_viewed = format!(
        "action = 'CHILD_VIEWED' AND child_id = '{ollie}' AND actor_id = '{}'",
        t.teacher.id
    );
    let views_before = t.app.count("audit_events", &ollie_viewed);
    t.app
        .gql_ok(
            Some(&t.teacher.token),
            "query($id: ID!) { child(id: $id) { familyTeam { role practitioner { id } } } }",
            json!({ "id": ruby }),
        )
        .await;
    assert_eq!(t.app.count("audit_events", &ollie_viewed), views_before + 1);
    let team = t
        .app
        .gql_ok(Some(&t.teacher.token), FAMILY_TEAM, json!({ "id": ruby }))
        .await["child"]["familyTeam"]
        .clone();
    let rows: Vec<(String, String)> = team
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["child"]["id"]), s(&i["practitioner"]["displayName"])))
        .collect();
    // Ruby's team first; within a team, members who started the same day fall in id order.
    assert!(rows.iter().position(|r| r.0 == ollie) > rows.iter().rposition(|r| r.0 == ruby));
    let mut rows = rows;
    rows.sort();
    let mut want = vec![
        (ruby.clone(), "Grace Lin".to_owned()),
        (ollie.clone(), "Grace Lin".to_owned()),
        (ollie.clone(), "Sol Weller".to_owned()),
    ];
    want.sort();
    assert_eq!(rows, want);
    assert!(!team.to_string().contains(IDVA_NAME));
    assert!(team
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["role"] == sw["role"] && i["child"]["id"] == json!(ollie)));
}

/// The same two families, built once without and once with a domestic-abuse service's
/// restricted involvements, whose IDVA records a sibling link and a carer of their own.
async fn family_story(t: &Town, given: [&str; 2], family: &str, hidden: bool) -> [String; 2] {
    let a = child(t, given[0], family, "2013-02-03").await;
    let b = child(t, given[1], family, "2015-06-07").await;
    for c in [&a, &b] {
        join(&t.app, &t.social_worker, c, "Allocated social worker").await;
    }
    if hidden {
        for c in [&a, &b] {
            join(&t.app, &t.idva, c, "IDVA").await;
        }
        t.app
            .gql_ok(
                Some(&t.idva.token),
                LINK,
                json!({ "i": { "childId": a, "siblingId": b, "description": "half-siblings" } }),
            )
            .await;
        t.app
            .gql_ok(
                Some(&t.idva.token),
                CARER,
                json!({ "i": { "childId": a, "relation": "PARENT", "name": "Hidden Parent" } }),
            )
            .await;
    }
    t.app
        .gql_ok(
            Some(&t.teacher.token),
            LINK,
            json!({ "i": { "childId": a, "siblingId": b } }),
        )
        .await;
    t.app
        .gql_ok(
            Some(&t.social_worker.token),
            CARER,
            json!({ "i": { "childId": b, "relation": "CARER", "name": "Iris Moor", "description": "grandmother" } }),
        )
        .await;
    [a, b]
}

/// Sorts every list so that ties in order (which fall to ids) do not count.
fn as_sets(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, as_sets(x))).collect()),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.into_iter().map(as_sets).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        other => other,
    }
}

#[tokio::test]
async fn the_family_and_its_picture_look_the_same_with_or_without_a_hidden_service() {
    let t = town().await;
    let plain = family_story(&t, ["Ruby", "Ollie"], "Hale", false).await;
    let hidden = family_story(&t, ["Rosa", "Owen"], "Hart", true).await;
    let words = |given: [&'static str; 2], family: &'static str| {
        [
            (given[0], "<given-a>"),
            (given[1], "<given-b>"),
            (family, "<family>"),
        ]
    };
    let (plain_words, hidden_words) = (
        words(["Ruby", "Ollie"], "Hale"),
        words(["Rosa", "Owen"], "Hart"),
    );
    let all = "query($id: ID!) { child(id: $id) { \
         family { id relation description name recordedAt child { id givenName familyName } } \
         familyTeam { role child { id } practitioner { id displayName } agency { id name } } \
         network { nodes { id kind label detail agencyId lead phone email } edges { from to kind label } } } }";
    for user in [&t.teacher, &t.social_worker] {
        for i in 0..2 {
            let a = t
                .app
                .gql_ok(Some(&user.token), all, json!({ "id": plain[i] }))
                .await;
            let b = t
                .app
                .gql_ok(Some(&user.token), all, json!({ "id": hidden[i] }))
                .await;
            let a = as_sets(crate::team_leaks::normalise(&a, &plain_words));
            let b = as_sets(crate::team_leaks::normalise(&b, &hidden_words));
            assert_eq!(a, b, "{} sees child {i} differently", user.email);
            assert!(!b.to_string().contains("Hidden Parent"));
            assert!(!b.to_string().contains("half-siblings"));
        }
    }
    // The IDVA sees what they recorded, and one sibling, not two.
    let idva = family_of(&t, &t.idva, &hidden[0]).await;
    let text = idva.to_string();
    assert!(
        text.contains("Hidden Parent") && text.contains("half-siblings"),
        "{idva:#}"
    );
    assert_eq!(
        idva.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["relation"] == "SIBLING")
            .count(),
        1
    );
    // An outsider reads neither record.
    for c in plain.iter().chain(hidden.iter()) {
        let body = t
            .app
            .gql(Some(&t.outsider.token), all, json!({ "id": c }))
            .await;
        assert_eq!(body["data"]["child"], Value::Null, "{body:#}");
    }
}
