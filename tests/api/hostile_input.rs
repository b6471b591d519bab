//! Hostile input: documents and variables nested deep enough to exhaust a parser's stack. Each
//! is refused with a coded JSON error, and the same process goes on answering.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;

/// The depth of the payloads that aborted a release build. A debug build's larger frames trip
/// the parser's own stack guard at that depth but overflow at a few hundred levels, hence the
/// shallower variants too.
const DEEP: usize = 2_000;
const DEPTHS: [usize; 3] = [300, 700, DEEP];

/// `[[[ ... "x" ... ]]]`, `depth` lists deep.
fn deep_list(depth: usize) -> String {
    format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{a:{a:{ ... 1 ... }}}`, `depth` input objects deep.
fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth))
}

/// The crash payloads: deep values in a query's and in sign-in's arguments, and deep
/// selections.
fn deep_documents(depth: usize) -> Vec<(String, String)> {
    vec![
        (
            format!("list {depth} deep in child"),
            format!("{{ child(id: {}) {{ id }} }}", deep_list(depth)),
        ),
        (
            format!("object {depth} deep in child"),
            format!("{{ child(id: {}) {{ id }} }}", deep_object(depth)),
        ),
        (
            format!("list {depth} deep in login"),
            format!(
                "mutation {{ login(email: {}, password: \"x\") {{ accessToken }} }}",
                deep_list(depth)
            ),
        ),
        (
            format!("object {depth} deep in login"),
            format!(
                "mutation {{ login(email: \"a@b.example\", password: {}) {{ accessToken }} }}",
                deep_object(depth)
            ),
        ),
        (
            format!("selections {depth} deep"),
            format!("{{ {}id{} }}", "me { ".repeat(depth), " }".repeat(depth)),
        ),
    ]
}

async fn assert_refused(res: reqwest::Response, status: u16, code: &str, what: &str) -> Value {
    assert_eq!(res.status(), status, "{what}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{what}: a JSON answer"
    );
    let body: Value = res.json().await.expect("JSON body");
    assert_eq!(error_code(&body), Some(code), "{what}: {body}");
    body
}

async fn still_answers(app: &TestApp) {
    let data = app.gql_ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_before_parsing_and_the_server_keeps_answering() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    for (what, doc) in DEPTHS.into_iter().flat_map(deep_documents) {
        let what = what.as_str();
        let res = app
            .client
            .post(&url)
            .json(&json!({ "query": doc }))
            .send()
            .await
            .unwrap();
        let body = assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", what).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nests deeper than"),
            "{what}: {body}"
        );

        // By GET too, mutations included: the depth is checked before anything parses the
        // document to look for a mutation.
        let res = app
            .client
            .get(&url)
            .query(&[("query", doc.as_str())])
            .send()
            .await
            .unwrap();
        assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", what).await;

        // Every operation of a batch is checked, not just the first.
        let res = app
            .client
            .post(&url)
            .json(&json!([{ "query": "{ __typename }" }, { "query": doc }]))
            .send()
            .await
            .unwrap();
        assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", what).await;
        still_answers(&app).await;
    }

    // Real documents, with arguments a few levels deep, are untouched.
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let data = app
        .gql_ok(
            Some(&teacher.token),
            "query($f: String!) { searchChildren(familyName: $f, dateOfBirth: \"2015-01-01\") { id } me { agency { id } } }",
            json!({ "f": "Marsh" }),
        )
        .await;
    assert!(data["searchChildren"].is_array(), "{data}");
}

#[tokio::test]
async fn deeply_nested_variables_answer_a_coded_error() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let query = "query($i: ID!) { child(id: $i) { id } }";
    // serde_json refuses JSON nested over 128 levels before building anything.
    let json_list = format!("{}\"x\"{}", "[".repeat(DEEP), "]".repeat(DEEP));
    let json_object = format!("{}1{}", "{\"a\":".repeat(DEEP), "}".repeat(DEEP));
    for (what, vars) in [("list", &json_list), ("object", &json_object)] {
        let body = format!(r#"{{"query":"{query}","variables":{{"i":{vars}}}}}"#);
        let res = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", what).await;

        let res = app
            .client
            .get(&url)
            .query(&[
                ("query", query),
                ("variables", &format!(r#"{{"i":{vars}}}"#)),
            ])
            .send()
            .await
            .unwrap();
        assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", what).await;
        still_answers(&app).await;
    }

    // Within serde_json's limit the value reaches the schema, which refuses it by type.
    let nested = format!("{}\"x\"{}", "[".repeat(120), "]".repeat(120));
    let body = format!(r#"{{"query":"{query}","variables":{{"i":{nested}}}}}"#);
    let res = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let code = error_code(&body);
    assert!(code.is_some() && code != Some("INTERNAL"), "{body}");
    still_answers(&app).await;
}
