//! `patchwork serve` as its own process: structured logs, and a clean stop under load.

use std::process::Command;
use std::time::Duration;

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::served::{serve, serve_with};
use patchwork_tests::*;

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
}

async fn exited(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("patchwork serve did not exit within 30 s of SIGTERM");
}

#[tokio::test]
async fn logs_are_json_lines_with_request_id_actor_and_operation_but_no_personal_data() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let mut served = serve(&app).await;
    let res = app
        .client
        .post(format!("{}/graphql", served.address))
        .bearer_auth(&admin.token)
        .header("x-request-id", "log-test-request-0001")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .json(&json!({ "query": "query WhoAmI { me { email displayName } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The caller's trace goes on, with this request as its span.
    let traceparent = res.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
            && traceparent.ends_with("-01")
            && !traceparent.contains("00f067aa0ba902b7"),
        "{traceparent}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], admin.email.as_str());
    // A failed sign-in: the email typed must not reach the log.
    let res = app
        .client
        .post(format!("{}/graphql", served.address))
        .json(&json!({ "query": "mutation { login(email: \"secret.person@example.org\", password: \"hunter2hunter2\") { accessToken } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    sigterm(&served.child);
    assert!(exited(&mut served.child).await.success());
    let lines: Vec<String> = served.lines.try_iter().collect();
    let events: Vec<Value> = lines
        .iter()
        .map(|l| {
            patchwork_tests::serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
        })
        .collect();
    let served_line = events
        .iter()
        .find(|e| e["message"] == "served" && e["span"]["request_id"] == "log-test-request-0001")
        .unwrap_or_else(|| panic!("no 'served' line for the request: {lines:#?}"));
    assert_eq!(served_line["span"]["actor"], admin.id.as_str());
    assert_eq!(
        served_line["span"]["trace_id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(served_line["span"]["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(
        served_line["span"]["span_id"],
        traceparent.split('-').nth(2).unwrap()
    );
    assert_eq!(served_line["span"]["operation"], "WhoAmI");
    assert_eq!(served_line["status"], 200);
    let all = lines.join("\n");
    for secret in [
        admin.email.as_str(),
        "secret.person@example.org",
        "hunter2hunter2",
        admin.token.as_str(),
    ] {
        assert!(!all.contains(secret), "the log holds {secret}: {all}");
    }
}

#[tokio::test]
async fn sigterm_under_load_lets_in_flight_requests_finish_and_exits_cleanly() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    let mut served = serve(&app).await;
    // Sign-ins are deliberately slow (argon2): many are in flight when SIGTERM arrives.
    let requests: Vec<_> = (0..16)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/graphql", served.address);
            let email = admin.email.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({
                        "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                        "variables": { "e": email, "p": PASSWORD },
                    }))
                    .send()
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sigterm(&served.child);
    let mut answered = 0;
    for r in requests {
        match r.await.unwrap() {
            Ok(res) => {
                assert_eq!(res.status(), 200);
                let body: Value = res.json().await.unwrap();
                assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
                answered += 1;
            }
            // A request the server had not yet accepted when its listener closed is refused:
            // at connect time, or, when the kernel had already completed the handshake (a
            // loaded machine leaves connections waiting in the listen backlog), by the reset
            // of that unaccepted connection before any byte of a response. A response cut
            // short after its head would fail in `res.json()` above.
            Err(e) => assert!(
                e.is_connect() || (e.is_request() && e.status().is_none()),
                "{e:?}"
            ),
        }
    }
    assert!(answered > 0, "some requests were in flight");
    assert!(exited(&mut served.child).await.success(), "clean exit");
    // Afterwards nothing listens.
    assert!(app
        .client
        .get(format!("{}/healthz", served.address))
        .send()
        .await
        .is_err());
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn with_an_otlp_endpoint_each_request_is_exported_as_a_span_of_the_callers_trace() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    // A collector: a real HTTP server answering 200 to every export.
    let collector = patchwork_tests::receiver::Receiver::start().await;
    let mut served = serve_with(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.address.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let res = app
        .client
        .post(format!("{}/graphql", served.address))
        .bearer_auth(&admin.token)
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .json(&json!({ "query": "query WhoAmI { me { email displayName } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let traceparent = res.headers()["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(
        parts[1], "0af7651916cd43dd8448eb211c80319c",
        "{traceparent}"
    );
    assert_eq!(parts[3], "01", "{traceparent}");
    let span_id = parts[2].to_owned();

    // The span arrives in a batch, as OTLP/HTTP protobuf at /v1/traces.
    let mut bodies = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(export) = collector.next(Duration::from_secs(20)).await {
            assert_eq!(
                (export.method.as_str(), export.path.as_str()),
                ("POST", "/v1/traces")
            );
            let done = holds(&export.body, &hex_bytes(&span_id));
            bodies.push(export.body);
            if done {
                return;
            }
        }
    })
    .await;
    sigterm(&served.child);
    assert!(exited(&mut served.child).await.success());
    assert!(found.is_ok(), "no span {span_id} reached the collector");
    let body = bodies.concat();
    // The request's span: in the caller's trace, as a child of the caller's span, named with
    // the service, the route and the operation.
    assert!(holds(&body, &hex_bytes("0af7651916cd43dd8448eb211c80319c")));
    assert!(holds(&body, &hex_bytes("b7ad6b7169203331")));
    for text in ["patchwork", "/graphql", "WhoAmI", admin.id.as_str()] {
        assert!(holds(&body, text.as_bytes()), "the span lacks {text}");
    }
    // Never personal data or credentials.
    for secret in [admin.email.as_str(), admin.token.as_str()] {
        assert!(!holds(&body, secret.as_bytes()), "the span holds {secret}");
    }
}
