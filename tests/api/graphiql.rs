//! GraphiQL in development: a page under a strict Content-Security-Policy that loads every file
//! from this server (so it works with no internet), subscriptions signed in from its Headers
//! tab, and nothing of it served in production.

use std::collections::HashMap;

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::*;

async fn spawn_development_app() -> TestApp {
    spawn_app_with(|v| {
        v.insert("PATCHWORK_ENV".into(), "development".into());
    })
    .await
}

/// The values of every `name="..."` attribute in `page`, in order.
fn attribute_values<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    let opening = format!(" {name}=\"");
    page.match_indices(&opening)
        .map(|(at, _)| {
            let rest = &page[at + opening.len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .collect()
}

/// A Content-Security-Policy as directive name → sources.
fn directives(policy: &str) -> HashMap<String, Vec<String>> {
    policy
        .split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

/// The page as a browser asks for it: its policy and its text.
async fn fetch_page(app: &TestApp) -> (String, String) {
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = res
        .headers()
        .get("content-security-policy")
        .expect("the page has a Content-Security-Policy")
        .to_str()
        .unwrap()
        .to_owned();
    (policy, res.text().await.unwrap())
}

/// Each file the page loads: its content type, and a size below which it cannot be the real
/// thing.
const EXPECTED: [(&str, &str, usize); 6] = [
    ("react.production.min.js", "text/javascript", 5_000),
    ("react-dom.production.min.js", "text/javascript", 100_000),
    ("graphiql.min.js", "text/javascript", 500_000),
    ("graphiql.min.css", "text/css", 100_000),
    ("init.js", "text/javascript", 500),
    ("page.css", "text/css", 20),
];

#[tokio::test]
async fn graphiql_loads_only_from_this_server_under_a_strict_policy() {
    let app = spawn_development_app().await;
    let (policy, page) = fetch_page(&app).await;

    // Only this server's scripts and styles; data: only for GraphiQL's fonts and images.
    let policy_text = policy.clone();
    let policy = directives(&policy);
    let only_self = vec!["'self'".to_owned()];
    for name in ["default-src", "script-src", "connect-src"] {
        assert_eq!(policy.get(name), Some(&only_self), "{name}: {policy_text}");
    }
    for name in ["object-src", "base-uri", "form-action", "frame-ancestors"] {
        assert_eq!(policy[name], vec!["'none'"], "{name}: {policy_text}");
    }
    for name in ["img-src", "font-src"] {
        assert_eq!(
            policy[name],
            vec!["'self'", "data:"],
            "{name}: {policy_text}"
        );
    }
    let style = &policy["style-src"];
    assert_eq!(style.len(), 2, "{policy_text}");
    assert_eq!(style[0], "'self'");
    let nonce = style[1]
        .strip_prefix("'nonce-")
        .and_then(|n| n.strip_suffix('\''))
        .expect("style-src names a nonce");
    assert!(nonce.len() >= 16, "{policy_text}");
    assert!(
        !policy_text.contains("unsafe") && !policy_text.contains('*'),
        "{policy_text}"
    );

    // The nonce is the page's own, and fresh for each page.
    assert_eq!(attribute_values(&page, "data-style-nonce"), vec![nonce]);
    let (again, _) = fetch_page(&app).await;
    assert!(!again.contains(nonce), "the nonce was reused: {again}");

    // No URL to any other host, no inline script or style.
    for forbidden in ["http:", "https:", "//", "<style", " style=", "<script>"] {
        assert!(
            !page.contains(forbidden),
            "the page contains {forbidden:?}: {page}"
        );
    }
    let handlers: Vec<&str> = page
        .split_whitespace()
        .filter(|w| w.starts_with("on") && w.contains('='))
        .collect();
    assert!(handlers.is_empty(), "inline event handlers: {handlers:?}");
    let scripts = attribute_values(&page, "src");
    let links = attribute_values(&page, "href");
    assert_eq!(page.matches("<script").count(), scripts.len(), "{page}");
    assert_eq!(scripts.len() + links.len(), EXPECTED.len(), "{page}");

    // Every file is served, as what it is, cached for good under its content's hash.
    for path in scripts.iter().chain(&links) {
        let (content_type, at_least) = EXPECTED
            .iter()
            .find(|(name, _, _)| path.ends_with(&format!("/{name}")))
            .map(|(_, t, n)| (*t, *n))
            .unwrap_or_else(|| panic!("an unexpected file: {path}"));
        assert!(path.starts_with("/graphiql/"), "{path}");
        let url = format!("{}{path}", app.address);
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}: {:?}",
            headers["content-type"]
        );
        let cache = headers["cache-control"].to_str().unwrap();
        assert!(
            cache.contains("max-age=31536000") && cache.contains("immutable"),
            "{path}: {cache}"
        );
        let etag = headers.get("etag").expect("an ETag").clone();
        let body = res.bytes().await.unwrap();
        assert!(body.len() >= at_least, "{path}: only {} bytes", body.len());

        let again = app
            .client
            .get(&url)
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");

        // Another hash, or none, names nothing.
        let (dir, name) = path.rsplit_once('/').unwrap();
        let hash = dir.rsplit('/').next().unwrap();
        let stale = format!("{}/graphiql/{}/{name}", app.address, "0".repeat(hash.len()));
        let res = app.client.get(stale).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let unhashed = format!("{}/graphiql/{name}", app.address);
        let res = app.client.get(unhashed).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn graphiql_is_not_served_in_production() {
    let dev = spawn_development_app().await;
    let (_, page) = fetch_page(&dev).await;
    let paths: Vec<String> = attribute_values(&page, "src")
        .into_iter()
        .chain(attribute_values(&page, "href"))
        .map(str::to_owned)
        .collect();
    assert_eq!(paths.len(), EXPECTED.len());
    drop(dev);

    let prod = spawn_app().await;
    let res = prod
        .client
        .get(format!("{}/graphql", prod.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        error_code(&body),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );
    for path in paths {
        let res = prod
            .client
            .get(format!("{}{path}", prod.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

/// GraphiQL sends the Headers tab's JSON, as typed, as the payload of `connection_init`: a
/// subscription is signed in by `{"Authorization": "Bearer <token>"}`.
#[tokio::test]
async fn graphiql_headers_sign_in_a_subscription() {
    let app = spawn_development_app().await;
    let admin = app.system_admin().await;
    let mut ws = patchwork_tests::ws::open(
        app.port,
        json!({ "Authorization": format!("Bearer {}", admin.token) }),
    )
    .await;
    let answer = patchwork_tests::ws::receive(&mut ws).await.unwrap();
    assert_eq!(answer["type"], "connection_ack", "{answer}");
}
