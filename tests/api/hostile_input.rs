//! Hostile input: documents and variables nested deep enough to exhaust a parser's stack,
//! oversized and unreadable bodies, and text longer than any field needs. Each is refused
//! with a coded JSON error, and the same process goes on answering.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A few hundred bytes of fragments, each spreading the next twice, that the engine's own
/// depth and complexity walks would spread to 2^40 selections (hours of a worker's time), and
/// a fragment that spreads itself twice.
#[tokio::test]
async fn fragments_that_spread_exponentially_are_refused_at_once() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let mut bomb = "query { ...F0 }".to_owned();
    for i in 0..40 {
        let next = i + 1;
        bomb.push_str(&format!(
            " fragment F{i} on Query {{ ...F{next} ...F{next} }}"
        ));
    }
    bomb.push_str(" fragment F40 on Query { __typename }");
    let cycle = "query { ...A } fragment A on Query { ...A ...A }".to_owned();
    for (what, doc) in [("fragment bomb", bomb), ("fragment cycle", cycle)] {
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.client.post(&url).json(&json!({ "query": doc })).send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: answered within 10 s"))
        .unwrap();
        let body = assert_refused(res, 200, "GRAPHQL_VALIDATION_FAILED", what).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("spread"),
            "{what}: {body}"
        );
        still_answers(&app).await;
    }
}

#[tokio::test]
async fn refusals_before_graphql_runs_are_coded_json() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);

    // Over the size limit, with a Content-Length.
    let padding = " ".repeat(1024 * 1024);
    let res = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(format!(r#"{{"query":"{{ __typename }}{padding}"}}"#))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    let body = assert_refused(res, 413, "GRAPHQL_VALIDATION_FAILED", "sized body").await;
    assert_eq!(
        body["errors"][0]["message"],
        "the body is larger than 1048576 bytes"
    );

    // Over the size limit, streamed in chunks with no length announced.
    let (status, body) = chunked_post(&app, 1024 * 1024 + 4096).await;
    assert_eq!(status, 413, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(
        error_code(&body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );

    // A query string that is not a GraphQL request.
    let res = app
        .client
        .get(format!(
            "{url}?query=%7B%20me%20%7B%20id%20%7D%20%7D&query=x"
        ))
        .send()
        .await
        .unwrap();
    assert_refused(res, 400, "GRAPHQL_VALIDATION_FAILED", "duplicated query").await;

    // A method the endpoint does not take.
    let res = app
        .client
        .put(&url)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_refused(res, 405, "GRAPHQL_VALIDATION_FAILED", "PUT").await;

    still_answers(&app).await;
}

/// POSTs a body of `size` bytes with `Transfer-Encoding: chunked`; returns the status and body.
async fn chunked_post(app: &TestApp, size: usize) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        // The server may answer and stop reading before the body ends.
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn text_longer_than_any_field_needs_is_bad_input_naming_the_argument() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let long = "x".repeat(10_001);

    let body = app
        .gql(
            Some(&admin.token),
            &format!(r#"{{ child(id: "{long}") {{ id }} }}"#),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), ["id"]);
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");

    let body = app
        .gql(
            Some(&admin.token),
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
            json!({ "i": { "givenName": "Leo", "familyName": long, "dateOfBirth": "2015-01-01" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), ["input.familyName"]);
    assert_eq!(
        body["errors"][0]["extensions"]["fields"][0]["message"],
        "must be at most 10000 characters"
    );

    // Below the cap, the field's own rule answers, in the same shape.
    let school = app
        .given_agency(&admin, "Gull Street Primary School", "EDUCATION", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let body = app
        .gql(
            Some(&teacher.token),
            "query($f: String!) { searchChildren(familyName: $f, dateOfBirth: \"2015-01-01\") { id } }",
            json!({ "f": "x".repeat(10_000) }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), ["familyName"]);
    assert_eq!(
        body["errors"][0]["extensions"]["fields"][0]["message"],
        "must be at most 100 characters"
    );
}
