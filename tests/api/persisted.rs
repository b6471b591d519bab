//! Persisted queries as Apollo's clients use them: a hash alone answers PersistedQueryNotFound
//! until a signed-in client sends the document with it; then the hash alone runs it, by POST
//! or GET, on every process; with PERSISTED_QUERIES=only, only registered documents run.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;
use sha2::{Digest, Sha256};

const ME: &str = "query Me { me { email } }";

fn hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POST with `extensions.persistedQuery`, and the document when given: status and body.
async fn post(
    app: &TestApp,
    token: Option<&str>,
    hash: &str,
    document: Option<&str>,
) -> (u16, Value) {
    let mut body =
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
    if let Some(d) = document {
        body["query"] = json!(d);
    }
    let mut req = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// GET with the hash alone, as Apollo's clients send queries when told to use GET.
async fn get(app: &TestApp, token: &str, hash: &str) -> (u16, Value) {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("extensions", extensions.as_str())])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_hash_alone_runs_once_a_signed_in_client_has_sent_its_document_on_any_process() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let h = hash(ME);

    let (status, unknown) = post(&app, Some(&admin.token), &h, None).await;
    assert_eq!(status, 200);
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // Sent without a token, the document runs but is not remembered.
    let (_, anonymous) = post(&app, None, &h, Some(ME)).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    let (_, still) = post(&app, Some(&admin.token), &h, None).await;
    assert_eq!(
        still["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // A document that is not the hash's is refused.
    let (status, wrong) = post(&app, Some(&admin.token), &h, Some("{ me { id } }")).await;
    assert_eq!(
        (status, wrong["errors"][0]["extensions"]["code"].as_str()),
        (400, Some("BAD_USER_INPUT"))
    );

    let (_, sent) = post(&app, Some(&admin.token), &h, Some(ME)).await;
    assert_eq!(sent["data"]["me"]["email"], admin.email.as_str());
    let (_, by_hash) = post(&app, Some(&admin.token), &h, None).await;
    assert_eq!(by_hash, sent);
    let (status, by_get) = get(&app, &admin.token, &h).await;
    assert_eq!((status, &by_get), (200, &sent));

    // Another process over the same database knows it too.
    let url = app.database_url.clone();
    let other = spawn_app_with(move |v| {
        v.insert("DATABASE_URL".into(), url);
    })
    .await;
    let (_, elsewhere) = post(&other, Some(&admin.token), &h, None).await;
    assert_eq!(elsewhere, sent);

    // GET still never runs a mutation, even named by hash.
    let login = "mutation L { logout(refreshToken: \"x\") }";
    post(&app, Some(&admin.token), &hash(login), Some(login)).await;
    let (status, refused) = get(&app, &admin.token, &hash(login)).await;
    assert_eq!(status, 405, "{refused:#}");
}

#[tokio::test]
async fn with_persisted_queries_only_nothing_runs_but_registered_documents() {
    // The admin signs in through a process that still takes documents; the process under test,
    // over the same database, runs only registered ones.
    let open = spawn_app().await;
    let admin = open.system_admin().await;
    let url = open.database_url.clone();
    let app = spawn_app_with(move |v| {
        v.insert("DATABASE_URL".into(), url);
        v.insert("PERSISTED_QUERIES".into(), "only".into());
    })
    .await;
    assert_eq!(register_queries(&open, &[ME]), [hash(ME)]);

    let (_, ran) = post(&app, Some(&admin.token), &hash(ME), None).await;
    assert_eq!(ran["data"]["me"]["email"], admin.email.as_str());
    // A document sent as text, or an unregistered hash (even with its text), does not run.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin.token)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res: Value = res.json().await.unwrap();
    assert_eq!(
        res["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let other = "{ me { id } }";
    let (status, refused) = post(&app, Some(&admin.token), &hash(other), Some(other)).await;
    assert_eq!(
        (status, refused["errors"][0]["extensions"]["code"].as_str()),
        (400, Some("GRAPHQL_VALIDATION_FAILED"))
    );
}
