//! GraphQL over HTTP as its spec reads: the independent conformance audit (graphql-http's
//! `serverAudits`, run by `tests/browser/graphql-audit.mjs`) on both backends, and the rules it
//! checks spelled out: JSON bodies only, no `data` for a request that never ran, the status
//! table of each media type, and a request without a query told how to send one.

use serde_json::{Value, json};
use tests::{Answer, Backend, Fetch, TestApp, assert_http_refused, data, error_code};

/// Every audit passes: MUST, SHOULD and MAY alike. A new audit that fails shows here with its
/// reason; one that is left failing on purpose would be listed here with why.
async fn the_conformance_audit_passes(backend: Backend) {
    let app = tests::spawn_app(backend).await;
    let seen = tests::browser::run("graphql-audit.mjs", json!({ "api": app.address })).await;
    let audits = seen["audits"].items();
    assert!(
        audits.len() >= 61,
        "graphql-http 1.23.1 runs 61 audits: {seen}"
    );
    let failed: Vec<String> = audits
        .iter()
        .filter(|audit| audit["status"] != "ok")
        .map(|audit| format!("{} {}: {}", audit["id"], audit["name"], audit["reason"]))
        .collect();
    assert_eq!(failed, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn the_conformance_audit_passes_on_postgres() {
    the_conformance_audit_passes(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn the_conformance_audit_passes_on_sqlite() {
    the_conformance_audit_passes(Backend::Sqlite).await;
}

async fn post(app: &TestApp, query: &str, accept: &str) -> reqwest::Response {
    app.client
        .post(app.graphql_url())
        .header("accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
}

/// A request that fails to parse, to validate or to coerce its variables never ran: no `data`
/// entry, and under `application/graphql-response+json` a 400. A field's error ran: `data` is
/// there (null when the field can't be), and the status is 200 in both media types.
#[tokio::test]
async fn only_a_request_that_ran_has_data() {
    let app = tests::spawn_app(Backend::Sqlite).await;
    let never_ran = [
        "{ viewer { role ",
        "{ viewer { noSuchField } }",
        "query($id: UUID!) { member(workspaceId: $id, userId: $id) { status } }",
    ];
    for query in never_ran {
        for (accept, status) in [
            ("application/graphql-response+json", 400),
            ("application/json", 200),
        ] {
            let response = post(&app, query, accept).await;
            assert_eq!(response.status(), status, "{query} as {accept}");
            let answer: Answer = response.json().await.unwrap();
            assert!(answer.has_errors(), "{answer}");
            assert!(answer.get("data").is_none(), "{query}: {answer}");
        }
    }
    // Signed out, `viewer` (non-null) fails as a field: data is null, and there.
    for accept in ["application/graphql-response+json", "application/json"] {
        let response = post(&app, "{ viewer { role } }", accept).await;
        assert_eq!(response.status(), 200, "{accept}");
        let answer: Answer = response.json().await.unwrap();
        assert_eq!(error_code(&answer), "UNAUTHENTICATED");
        assert_eq!(answer["errors"][0]["path"], json!(["viewer"]));
        assert_eq!(answer["data"], Value::Null, "{answer}");
    }
    // In a batch, each operation is shaped on its own.
    let answers = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .json(&json!([{ "query": "{ viewer { role } }" }, { "query": "{ viewer {" }]))
        .answer()
        .await;
    assert_eq!(data(&answers[0])["viewer"]["role"], "OWNER");
    assert!(answers[1].get("data").is_none(), "{}", answers[1]);
}

/// Only JSON bodies are read: a POST without `Content-Type`, as text, a form or multipart (what
/// a page on any origin may send without a preflight) is a 415 before anything runs.
#[tokio::test]
async fn only_json_bodies_run() {
    let app = tests::spawn_app(Backend::Sqlite).await;
    let sign_out = json!({ "query": "mutation { signOut { signedOut } }" }).to_string();
    for content_type in [
        None,
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
    ] {
        let mut request = app
            .client
            .post(app.graphql_url())
            .bearer_auth(app.owner_token())
            .body(sign_out.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let shown = format!("{content_type:?}");
        assert_eq!(response.status(), 415, "{shown}");
        let answer: Answer = response.json().await.unwrap();
        assert_eq!(error_code(&answer), "UNSUPPORTED_MEDIA_TYPE", "{shown}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Content-Type: application/json"),
            "{answer}"
        );
    }
    // The session is still open: none of them ran.
    let answer = app.as_owner("{ viewer { role } }", Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "OWNER");
    // `application/json` with a charset, in any case, is JSON.
    let response = app
        .client
        .post(app.graphql_url())
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(json!({ "query": "{ __typename }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// `curl http://host/graphql`, an empty JSON body or a misspelled `query` get a short error
/// saying how to send a query, not a parser's message.
#[tokio::test]
async fn a_request_without_a_query_is_told_how_to_send_one() {
    let app = tests::spawn_app(Backend::Sqlite).await;
    let curl = app
        .client
        .get(app.graphql_url())
        .header("accept", "*/*")
        .send()
        .await
        .unwrap();
    let posts = [json!({}), json!({ "qeury": "{ __typename }" }), json!([{}])];
    let mut responses = vec![curl];
    for body in posts {
        responses.push(
            app.client
                .post(app.graphql_url())
                .json(&body)
                .send()
                .await
                .unwrap(),
        );
    }
    for response in responses {
        assert_eq!(response.status(), 400);
        let answer: Answer = response.json().await.unwrap();
        assert_eq!(error_code(&answer), "BAD_USER_INPUT");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("no GraphQL query in this request: POST /graphql with")
                && message.contains("GraphiQL"),
            "{message}"
        );
    }
    assert_http_refused(
        app.client
            .get(format!("{}?query=%7B", app.graphql_url()))
            .header("accept", "application/graphql-response+json")
            .send()
            .await
            .unwrap(),
        400,
        "BAD_USER_INPUT",
    )
    .await;
}

/// An answer's fields come in the order the query asked for them (the GraphQL spec's ordered
/// map), single and batched: GraphiQL shows `totalCount` first because the query put it first.
#[tokio::test]
async fn fields_come_in_the_order_asked() {
    let app = tests::spawn_app(Backend::Sqlite).await;
    let query = "{ zebra: __typename apple: __typename mango: __typename }";
    for body in [json!({ "query": query }), json!([{ "query": query }])] {
        let text = app
            .client
            .post(app.graphql_url())
            .json(&body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = |name: &str| {
            text.find(name)
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        assert!(
            at("zebra") < at("apple") && at("apple") < at("mango"),
            "{text}"
        );
    }
}
