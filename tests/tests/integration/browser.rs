//! In a real browser (Debian's Chromium, driven by `tests/browser/check.mjs` through
//! playwright-core): GraphiQL works on first open with no request to another host, and a SPA on
//! a second origin can call the API only if that origin is allowed. The People page's own walk
//! is `people_page.rs`.

use serde_json::json;
use tests::{Answer, Backend, data};

use crate::support::{give_all_contacts_to_the_owner, people};

/// Serves a blank `/page.html`, so a page can run on an origin of its own.
async fn second_origin() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/page.html",
        axum::routing::get(|| async {
            axum::response::Html("<!DOCTYPE html><title>A SPA elsewhere</title><p>SPA</p>")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn graphiql_and_a_spa_on_another_origin_work_in_a_real_browser() {
    let port = second_origin().await;
    // The same server under two names is two origins: only the first is allowed.
    let allowed = format!("http://127.0.0.1:{port}");
    let other = format!("http://localhost:{port}");
    let allowed_in_config = allowed.clone();
    let app = tests::spawn_app_with(Backend::Sqlite, move |config| {
        config.cors = api::settings::CorsOrigins::Exactly(vec![allowed_in_config]);
    })
    .await;
    give_all_contacts_to_the_owner(&app).await;
    let mia = people(&app, ["mia.member@acme.test"]).await[0];
    let settings = json!({
        "api": app.address,
        "token": app.owner_token(),
        "workspaceId": app.demo.workspace_id,
        "userId": mia,
        "allowedOrigin": allowed,
        "otherOrigin": other,
    });
    let seen = tests::browser::run("check.mjs", settings).await;
    graphiql_worked(&seen["graphiql"], &app.address);
    no_other_origin_reads_the_demo_token(&seen["tokenFrom"]);
    the_spa_worked_from_the_allowed_origin_only(&seen);
    // GraphiQL follows the removal over its WebSocket (same origin, allowed by the page's CSP).
    let subscription = &seen["subscription"];
    assert_eq!(subscription["consoleErrors"], json!([]), "{subscription}");
    assert_eq!(
        subscription["sockets"],
        json!([format!(
            "{}/graphql/ws",
            app.address.replace("http://", "ws://")
        )])
    );
    assert!(
        subscription["result"]
            .as_str()
            .unwrap()
            .contains("offboardingStatus"),
        "{subscription}"
    );
    // Removed once, by the allowed origin's call.
    let answer = app
        .as_owner("query($ws: UUID!) { auditLog(workspaceId: $ws, filter: { action: TEAM_MEMBERSHIP_REMOVE }) { totalCount } }", json!({ "ws": app.demo.workspace_id }))
        .await;
    assert_eq!(data(&answer)["auditLog"]["totalCount"], 1);
}

/// GraphiQL's page, with the demo owner's token, is for a top-level navigation on this
/// machine: from a page on another origin (even one CORS allows) a fetch of it is refused, or
/// answered without the token, and a no-cors fetch reads nothing.
fn no_other_origin_reads_the_demo_token(tries: &Answer) {
    for origin in ["allowedOrigin", "otherOrigin"] {
        for way in ["cors", "noCors"] {
            let attempt = &tries[origin][way];
            let saw_token = attempt
                .get("sawToken")
                .and_then(|seen| seen.as_bool())
                .unwrap_or(false);
            assert!(!saw_token, "{origin} read the token by {way}: {tries}");
        }
    }
    assert_eq!(
        tries["otherOrigin"]["cors"]["read"], false,
        "CORS refuses the other origin: {tries}"
    );
}

/// GraphiQL: nothing fetched from another host, no error, the schema in, Docs and autocomplete
/// working, the prefilled query answered.
fn graphiql_worked(graphiql: &Answer, address: &str) {
    for url in graphiql["requests"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with(address) || url.starts_with("data:"),
            "GraphiQL requested another host: {url}"
        );
    }
    assert_eq!(graphiql["consoleErrors"], json!([]), "{graphiql}");
    assert_eq!(graphiql["errorShown"], false);
    assert_eq!(graphiql["introspection"]["status"], 200);
    let introspection: Answer =
        serde_json::from_str(graphiql["introspection"]["body"].as_str().unwrap()).unwrap();
    assert!(!introspection.has_errors(), "{introspection}");
    assert!(graphiql["result"].as_str().unwrap().contains("totalCount"));
    assert!(graphiql["docs"].as_str().unwrap().contains("Query"));
    let hints: Vec<&str> = graphiql["hints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|hint| hint.as_str())
        .collect();
    assert!(
        hints.contains(&"removalPreview"),
        "autocomplete offers the schema's fields: {hints:?}"
    );
    graphiql_kept_tabs_for_this_database_only(&graphiql["storage"]);
}

/// GraphiQL keeps its tabs under this database's name: tabs saved before (without one, or for
/// a database since recreated) are gone and never shown, the People page's key stays, and the
/// tabs of this session are saved under the page's name.
fn graphiql_kept_tabs_for_this_database_only(storage: &Answer) {
    let namespace = storage["namespace"].as_str().unwrap();
    assert_eq!(namespace.len(), 16, "a digest, not an id: {storage}");
    assert!(
        !storage["editor"]
            .as_str()
            .unwrap()
            .contains("staleTabMarker"),
        "{storage}"
    );
    let prefix = format!("offboarding-graphiql:{namespace}:");
    for keys in ["keys", "keysAfter"] {
        let keys: Vec<&str> = storage[keys]
            .items()
            .iter()
            .map(|key| key.as_str().unwrap())
            .collect();
        assert!(keys.contains(&"offboarding.workspace"), "{storage}");
        assert!(
            keys.iter()
                .all(|key| *key == "offboarding.workspace" || key.starts_with(&prefix)),
            "only this database's tabs: {storage}"
        );
    }
    assert!(
        storage["keysAfter"]
            .items()
            .iter()
            .any(|key| key.as_str().unwrap().starts_with(&prefix)),
        "GraphiQL saved its tabs under this database's name: {storage}"
    );
}

/// The SPA: blocked from the other origin (nothing removed), working from the allowed one.
fn the_spa_worked_from_the_allowed_origin_only(seen: &Answer) {
    let blocked = &seen["otherOrigin"];
    assert_eq!(blocked["ok"], false, "{blocked}");
    assert!(
        blocked["error"]
            .as_str()
            .unwrap()
            .contains("Failed to fetch"),
        "{blocked}"
    );
    let spa = &seen["allowedOrigin"];
    assert_eq!(spa["ok"], true, "{spa}");
    assert!(
        spa["listed"]["data"]["members"]["totalCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    let removed = &spa["removed"]["data"]["removeMembers"];
    assert_eq!(removed["userErrors"], json!([]), "{spa}");
    assert!(removed["removedMembers"][0]["member"]["removedAt"].is_string());
    // The "Undo": the person is among the removed, restorable, and comes back.
    let out = &spa["undone"]["out"]["data"]["removedMembers"]["nodes"][0];
    assert_eq!(out["canRestore"], true, "{spa}");
    assert!(out["restorableUntil"].is_string(), "{spa}");
    let restored = &spa["undone"]["restored"]["data"]["restoreMember"];
    assert_eq!(restored["userErrors"], json!([]), "{spa}");
    assert_eq!(restored["member"]["status"], "ACTIVE", "{spa}");
}

/// Apollo Client as a SPA ships it, with client awareness, on another origin CORS allows: its
/// `apollographql-client-*` headers pass Chromium's preflight, as does a header named in
/// `CORS_ALLOWED_HEADERS`; a header named nowhere makes the browser refuse the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn apollo_client_with_client_awareness_passes_the_preflight() {
    let port = second_origin().await;
    let origin = format!("http://127.0.0.1:{port}");
    let allowed = origin.clone();
    let app = tests::spawn_app_with(Backend::Sqlite, move |config| {
        config.cors = api::settings::CorsOrigins::Exactly(vec![allowed]);
        config.cors_headers = vec![axum::http::HeaderName::from_static("x-tenant")];
    })
    .await;
    let settings = json!({
        "api": app.address,
        "token": app.owner_token(),
        "workspaceId": app.demo.workspace_id,
        "origin": origin,
        "allowedHeader": "x-tenant",
        "unlistedHeader": "x-unlisted",
    });
    let seen = tests::browser::run("apollo.mjs", settings).await;
    for answered in ["plain", "allowedHeader"] {
        let count = &seen[answered]["data"]["members"]["totalCount"];
        assert!(count.as_u64().is_some_and(|count| count > 0), "{seen}");
    }
    assert!(
        seen["unlistedHeader"]["error"]
            .as_str()
            .is_some_and(|error| error.contains("Failed to fetch")),
        "{seen}"
    );
    let sent = &seen["sent"][0]["headers"];
    assert_eq!(sent["apollographql-client-name"], "people-spa", "{seen}");
    assert_eq!(sent["apollographql-client-version"], "1.4.2", "{seen}");
    assert_eq!(sent["origin"], json!(origin));
}
