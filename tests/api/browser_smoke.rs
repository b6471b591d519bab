//! The browser harness (`patchwork_tests::browser`) against the real server: headless Chromium
//! renders GraphiQL in development under its Content-Security-Policy, and axe-core runs on it.
//! Needs `scripts/browser.sh` to have been run (`make test` does); fails, never skips, without.

use patchwork_tests::browser::{screenshot_path, serious_violations, Browser};
use patchwork_tests::serde_json::Value;
use patchwork_tests::*;

#[tokio::test]
async fn graphiql_renders_in_a_real_browser() {
    let app = spawn_app_with(|v| {
        v.insert("PATCHWORK_ENV".into(), "development".into());
    })
    .await;
    let browser = Browser::start(1280, 800)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    let url = format!("{}/graphql", app.address);
    browser.goto(&url).await.unwrap();
    // GraphiQL's query editor (CodeMirror) with its default query in it: React, GraphiQL and
    // init.js all loaded and ran.
    browser
        .wait_for(".graphiql-query-editor .CodeMirror-code")
        .await
        .unwrap();
    let editor = browser
        .text(".graphiql-query-editor .CodeMirror-code")
        .await
        .unwrap();
    assert!(editor.contains("mutation SignIn"), "editor text: {editor}");
    // Its introspection query (nine `ofType` levels deep) is within development's depth limit:
    // the documentation explorer loads instead of an error in the result pane.
    for _ in 0..20 {
        let page = browser.page_source().await.unwrap();
        assert!(
            !page.contains("nested too deep"),
            "GraphiQL's introspection was refused"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let shot = screenshot_path("graphiql-smoke.png");
    browser.screenshot(&shot).await.unwrap();
    assert!(std::fs::metadata(&shot).unwrap().len() > 1_000, "{shot:?}");

    // Nothing the page needs was refused by its Content-Security-Policy.
    let console = browser.console_log().await.unwrap();
    let refused: Vec<&Value> = console
        .iter()
        .filter(|entry| {
            let message = entry["message"].as_str().unwrap_or_default();
            message.contains("Content Security Policy") || message.contains("Content-Security")
        })
        .collect();
    assert!(refused.is_empty(), "CSP refusals: {refused:#?}");
    // Nor any other error (a script's exception, a failed request), but for the favicon this
    // server does not have.
    let errors: Vec<&Value> = console
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter(|entry| {
            !entry["message"]
                .as_str()
                .unwrap_or_default()
                .contains("/favicon.ico")
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // axe-core runs (GraphiQL is third-party: its findings are reported, not asserted).
    let results = browser.axe().await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(results.is_object(), "{results}");
    assert!(results["violations"].is_array(), "{results}");
    let serious = serious_violations(&results);
    if !serious.is_empty() {
        eprintln!("axe-core on GraphiQL (not asserted): {serious:#?}");
    }

    browser.close().await.unwrap();
}
