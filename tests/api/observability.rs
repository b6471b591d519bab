//! Prometheus metrics at `/metrics`: what an operator watches, and nothing personal.

use patchwork_tests::serde_json::json;
use patchwork_tests::*;

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of one sample line, e.g. `patchwork_outbox_messages{status="failed"}`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_statements_pool_and_outbox() {
    let app = spawn_app().await;
    let admin = app.system_admin().await;
    app.gql_ok(Some(&admin.token), "{ me { id } }", json!({}))
        .await;
    // One notification that failed for good, as the worker leaves it.
    {
        use diesel::connection::SimpleConnection;
        app.db()
            .batch_execute(&format!(
                "INSERT INTO notifications (id, recipient_id, kind, status, subject, body_text, body_html) \
                 VALUES (gen_random_uuid(), '{}', 'INVITATION', 'FAILED', 's', 't', 'h')",
                admin.id
            ))
            .unwrap();
    }

    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(
            r#"patchwork_http_requests_total{method="POST",route="/graphql",status="200"}"#
        ),
        "{body}"
    );
    assert!(body.contains("patchwork_http_request_duration_seconds_bucket{route=\"/graphql\""));
    assert!(sample(&body, r#"patchwork_graphql_operations_total{outcome="ok"}"#).unwrap() >= 2.0);
    assert!(sample(&body, "patchwork_sql_statements_total").unwrap() > 0.0);
    assert!(body.contains("# TYPE patchwork_sql_statements_total counter"));
    assert_eq!(
        sample(&body, r#"patchwork_db_pool_connections{state="max"}"#),
        Some(4.0)
    );
    assert_eq!(
        sample(&body, r#"patchwork_outbox_messages{status="failed"}"#),
        Some(1.0)
    );
    assert!(
        !body.contains(&admin.email) && !body.contains(&admin.id),
        "no personal data in metrics"
    );
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = spawn_app_with(|v| {
        v.insert("METRICS_TOKEN".into(), "scrape-me-please-0123456789".into());
    })
    .await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);
    let (status, body) = scrape(&app, Some("scrape-me-please-0123456789")).await;
    assert_eq!(status, 200);
    assert!(body.contains("patchwork_sql_statements_total"));
}
