//! What browsers, SPA clients and tooling expect of the HTTP surface: introspection at the
//! default limits, GraphiQL from the binary, GraphQL over HTTP (GET, media types), persisted
//! queries, CORS and the WebSocket's Origin check, and cache-friendly mutation answers.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{
    Answer, Backend, Fetch, TestApp, assert_http_refused, backend_tests, data, error_code, ok,
};

use crate::support::{REMOVE, give_all_contacts_to_the_owner, people};

const GRAPHIQL_INTROSPECTION: &str = include_str!("../../fixtures/introspection-graphiql.graphql");
const FULL_INTROSPECTION: &str = include_str!("../../fixtures/introspection-full.graphql");

async fn sqlite() -> TestApp {
    tests::spawn_app(Backend::Sqlite).await
}

async fn post(app: &TestApp, body: Value, accept: &str) -> reqwest::Response {
    app.client
        .post(app.graphql_url())
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn introspection_works_at_the_default_limits_and_ordinary_queries_keep_them() {
    let app = sqlite().await;
    assert_eq!(app.config.limits.query_depth, 12, "the product's default");
    // The exact queries GraphiQL 4 and codegen tools send (graphql-js getIntrospectionQuery).
    for query in [GRAPHIQL_INTROSPECTION, FULL_INTROSPECTION] {
        let answer: Answer = post(
            &app,
            json!({ "query": query, "operationName": "IntrospectionQuery" }),
            "application/json",
        )
        .await
        .json()
        .await
        .unwrap();
        assert!(!answer.has_errors(), "{answer}");
        let types = data(&answer)["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "Member"));
    }
    // A query for data as deep as that is still refused, even with introspection beside it.
    let deep = "{ __schema { description } viewer { user { id } workspace { id } } members(workspaceId: \"00000000-0000-0000-0000-000000000000\") { edges { node { user { id } } } } }";
    let nested = (0..14).fold(String::from("id"), |inner, _| format!("user {{ {inner} }}"));
    let too_deep = format!("{{ __schema {{ description }} viewer {{ {nested} }} }}");
    let answer = app.as_owner(&too_deep, Value::Null).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_DEEP", "{answer}");
    let answer = app.as_owner(deep, Value::Null).await;
    assert!(answer["errors"].as_array().is_none_or(|e| {
        e.iter()
            .all(|e| e["extensions"]["code"] != "QUERY_TOO_DEEP")
    }));
    // Introspection switched off stays off, on both paths.
    let closed =
        tests::spawn_app_with(Backend::Sqlite, |config| config.introspection = false).await;
    let answer: Answer = post(
        &closed,
        json!({ "query": GRAPHIQL_INTROSPECTION }),
        "application/json",
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(answer.did_not_run("__schema"), "{answer}");
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_under_a_content_security_policy() {
    let app = sqlite().await;
    let page = app.open_in_a_browser().await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("unpkg") && !html.contains("https://"),
        "no asset from another host"
    );
    // The demo owner's token and the demo workspace are prefilled for a newcomer.
    assert!(html.contains(&app.demo.token) && html.contains(&app.demo.workspace_id.to_string()));
    for (asset, kind) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("start.js", "text/javascript"),
        ("LICENSE.graphiql", "text/plain"),
    ] {
        assert!(html.contains(asset) || asset.starts_with("LICENSE"));
        let response = app.get(&format!("/graphiql/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    // React's production build, not its development one.
    let react = app
        .client
        .get(format!("{}/graphiql/react.production.min.js", app.address))
        .body_text()
        .await;
    assert!(react.contains("production.min.js"));
    let missing = app.get("/graphiql/..%2FCargo.toml").await;
    assert_eq!(missing.status(), 404);
    // Switched off, neither the page nor its assets are served.
    let closed = tests::spawn_app_with(Backend::Sqlite, |config| config.graphiql = false).await;
    let page = closed.open_in_a_browser().await;
    let kind = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(!kind.contains("text/html"), "{kind}");
    let asset = closed.get("/graphiql/start.js").await;
    assert_eq!(asset.status(), 404);
}

/// The People page: one HTML page at `/` and at `/accept-invitation` (where invitation emails
/// link), its modules under `/people/`, all from the binary, under a policy that allows this
/// origin only and no inline code; first load well under 300 KB.
#[tokio::test]
async fn the_people_page_is_served_from_the_binary_under_a_content_security_policy() {
    let app = sqlite().await;
    let mut first_load = 0;
    for path in ["/", "/accept-invitation"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && csp.contains("style-src 'self';")
                && csp.contains("connect-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains("people/app.js") && !html.contains("https://"));
        first_load = html.len();
    }
    for (asset, kind) in [
        ("app.js", "text/javascript"),
        ("api.js", "text/javascript"),
        ("ui.js", "text/javascript"),
        ("people.js", "text/javascript"),
        ("removal.js", "text/javascript"),
        ("history.js", "text/javascript"),
        ("invitations.js", "text/javascript"),
        ("member.js", "text/javascript"),
        ("app.css", "text/css"),
    ] {
        let response = app.get(&format!("/people/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty());
        assert!(
            !String::from_utf8_lossy(&body).contains("https://"),
            "{asset} loads nothing from another host"
        );
        first_load += body.len();
    }
    assert!(
        first_load < 300_000,
        "the first load, uncompressed, is {first_load} bytes"
    );
    let missing = app.get("/people/..%2FCargo.toml").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = sqlite().await;
    let get = |query: &str, accept: &'static str| {
        app.client
            .get(app.graphql_url())
            .query(&[("query", query)])
            .bearer_auth(app.owner_token())
            .header("accept", accept)
            .send()
    };
    let response = get("{ viewer { role } }", "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Answer = response.json().await.unwrap();
    assert_eq!(data(&answer)["viewer"]["role"], "OWNER");
    let signed_out = "mutation { signOut { signedOut } }";
    let response = get(signed_out, "application/json").await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "METHOD_NOT_ALLOWED"
    );
    // The token still works: the GET changed nothing.
    let answer = app.as_owner("{ viewer { role } }", Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "OWNER");
    // application/graphql-response+json: that media type, and 400 for a request that can't run.
    let response = get("{ viewer { role } }", "application/graphql-response+json")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let response = get("{ viewer { role ", "application/graphql-response+json")
        .await
        .unwrap();
    assert_http_refused(response, 400, "BAD_USER_INPUT").await;
    let response = get("{ viewer { role ", "application/json").await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "application/json keeps 200, as GraphQL over HTTP says"
    );
}

/// POSTs a GraphQL body as `token`, with the persisted-query extension as is.
async fn send(app: &TestApp, token: &str, body: &Value) -> Answer {
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(token)
        .json(body);
    response.send().await.unwrap().json().await.unwrap()
}

/// The `extensions` that name `query` by its SHA-256 hash.
fn persisted(query: &str) -> Value {
    let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// The owner's `GET /graphql` of the operation these `extensions` name by its hash alone.
async fn get_by_hash(app: &TestApp, extensions: &Value) -> reqwest::Response {
    app.client
        .get(app.graphql_url())
        .bearer_auth(app.owner_token())
        .query(&[("extensions", extensions.to_string())])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn automatic_persisted_queries_are_registered_then_served_by_hash() {
    let app = sqlite().await;
    let query = "query Role { viewer { role } }";
    let extensions = persisted(query);
    let by_hash = json!({ "extensions": extensions });
    let answer = send(&app, app.owner_token(), &by_hash).await;
    assert_eq!(error_code(&answer), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(answer["errors"][0]["message"], "PersistedQueryNotFound");
    let answer = send(
        &app,
        app.owner_token(),
        &json!({ "query": query, "extensions": extensions }),
    )
    .await;
    assert_eq!(data(&answer)["viewer"]["role"], "OWNER");
    // Now by its hash alone, also as a GET a CDN can cache.
    let answer = send(&app, app.owner_token(), &by_hash).await;
    assert_eq!(data(&answer)["viewer"]["role"], "OWNER");
    let response = get_by_hash(&app, &extensions).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        data(&response.json().await.unwrap())["viewer"]["role"],
        "OWNER"
    );
    // A mutation registered by POST still can't run by GET through its hash.
    let mutation = "mutation { signOut { signedOut } }";
    let mutation_extensions = persisted(mutation);
    let throwaway = app.sign_in("mia.member@acme.test").await;
    let registered = send(
        &app,
        &throwaway,
        &json!({ "query": mutation, "extensions": mutation_extensions }),
    )
    .await;
    assert_eq!(data(&registered)["signOut"]["signedOut"], true);
    let response = get_by_hash(&app, &mutation_extensions).await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let app = tests::spawn_app_with(Backend::Sqlite, |config| {
        config.cors = api::settings::CorsOrigins::Exactly(vec!["https://app.example.com".into()]);
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.graphql_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allow_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allow_headers.contains("authorization") && allow_headers.contains("content-type"));
    assert_eq!(headers["access-control-max-age"], "7200");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // The actual request carries the header too, and exposes x-request-id.
    let response = app
        .client
        .post(app.graphql_url())
        .header("origin", "https://app.example.com")
        .bearer_auth(app.owner_token())
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-request-id")
    );
}

#[tokio::test]
async fn the_websocket_checks_origin_against_the_same_list() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = tests::spawn_app_with(Backend::Sqlite, |config| {
        config.cors = api::settings::CorsOrigins::Exactly(vec!["https://app.example.com".into()]);
    })
    .await;
    let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
    let open = |origin: Option<String>| {
        let mut request = url.clone().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    assert!(open(Some("https://app.example.com".into())).await.is_ok());
    assert!(
        open(Some(app.address.clone())).await.is_ok(),
        "the API's own origin (GraphiQL)"
    );
    assert!(
        open(None).await.is_ok(),
        "clients that aren't browsers send no Origin"
    );
    match open(Some("https://evil.example.com".into())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!(
            "refused with 403, not {:?}",
            other.map(|(_, response)| response.status())
        ),
    }
}

backend_tests! {
    remove_members_answers_the_removed_members_for_a_client_cache,
}

async fn remove_members_answers_the_removed_members_for_a_client_cache(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = people(&app, ["mia.member@acme.test"]).await[0];
    let listed = app.as_owner("query($ws: UUID!) { members(workspaceId: $ws, first: 100) { nodes { id user { id } } } }", json!({ "ws": app.demo.workspace_id })).await;
    let member_id = data(&listed)["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["user"]["id"] == json!(mia))
        .unwrap()["id"]
        .clone();
    let document = REMOVE.replace(
        "removedMembers { userId",
        "removedMembers { member { id status removedAt user { id } } userId",
    );
    let payload = app
        .owner_mutates(&document, json!({ "userIds": [mia] }))
        .await;
    ok(&payload);
    let removed = &payload["removedMembers"][0]["member"];
    assert_eq!(
        removed["id"], member_id,
        "the same Member id the list showed: evict Member:{member_id}"
    );
    assert!(removed["removedAt"].is_string());
    assert_eq!(removed["user"]["id"], json!(mia));
}

/// One static file as the server sends it: (bytes uncompressed, bytes as brotli). Each is
/// checked on the way: br and gzip as asked (`Vary: Accept-Encoding`), an entity tag that
/// answers a revalidation with a 304 and no body, `no-cache` so an upgrade is seen at once.
async fn served_sizes(app: &TestApp, path: &str) -> (usize, usize) {
    let get = |encoding: Option<&'static str>, tag: Option<String>| {
        let mut request = app.client.get(format!("{}{path}", app.address));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        if let Some(tag) = tag {
            request = request.header("if-none-match", tag);
        }
        request.send()
    };
    let plain = get(None, None).await.unwrap();
    assert_eq!(plain.status(), 200, "{path}");
    assert_eq!(plain.headers()["cache-control"], "no-cache", "{path}");
    assert!(plain.headers().get("content-encoding").is_none(), "{path}");
    let tag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let raw = plain.bytes().await.unwrap().len();
    let mut brotli = 0;
    for encoding in ["br", "gzip"] {
        let response = get(Some(encoding), None).await.unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding, "{path}");
        assert_eq!(response.headers()["etag"], tag.as_str(), "{path}");
        let vary: Vec<_> = response.headers().get_all("vary").iter().collect();
        assert!(
            vary.iter()
                .any(|value| value.to_str().unwrap().contains("accept-encoding")),
            "{path}: {vary:?}"
        );
        let length = response.bytes().await.unwrap().len();
        assert!(length < raw, "{path}: {encoding} {length} of {raw}");
        if encoding == "br" {
            brotli = length;
        }
    }
    let revalidated = get(Some("br"), Some(tag.clone())).await.unwrap();
    assert_eq!(revalidated.status(), 304, "{path}");
    assert!(revalidated.bytes().await.unwrap().is_empty());
    let changed = get(None, Some("W/\"an-older-release\"".into()))
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "{path}");
    (raw, brotli)
}

/// A page's first load, (uncompressed, as brotli): the page and its files under `folder`.
async fn first_load(app: &TestApp, page: usize, folder: &str, files: &[&str]) -> (usize, usize) {
    let (mut raw, mut brotli) = (page, page);
    for file in files {
        let (file_raw, file_brotli) = served_sizes(app, &format!("{folder}/{file}")).await;
        raw += file_raw;
        brotli += file_brotli;
    }
    (raw, brotli)
}

/// The People page's and GraphiQL's files go out compressed and revalidated, and the sizes the
/// README quotes for their first load are the ones measured here (update the README when this
/// fails: the message says what to write).
#[tokio::test]
async fn static_files_are_compressed_and_revalidated_and_the_readme_says_how_large() {
    let app = sqlite().await;
    let readme = include_str!("../../../README.md");
    let kb = |bytes: usize| (bytes as f64 / 1000.0).round() as usize;
    let page = app.get("/").await.text().await.unwrap().len();
    let people_files = [
        "app.js",
        "api.js",
        "ui.js",
        "people.js",
        "removal.js",
        "history.js",
        "invitations.js",
        "member.js",
        "app.css",
    ];
    let (raw, brotli) = first_load(&app, page, "/people", &people_files).await;
    let people = format!("{} KB, {} KB compressed", kb(raw), kb(brotli));
    assert!(readme.contains(&people), "the README should say: {people}");
    let graphiql_page = app.open_in_a_browser().await.text().await.unwrap().len();
    let graphiql_files = [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "start.js",
    ];
    let (raw, brotli) = first_load(&app, graphiql_page, "/graphiql", &graphiql_files).await;
    let graphiql = format!(
        "{:.1} MB, {} KB compressed",
        raw as f64 / 1_000_000.0,
        kb(brotli)
    );
    assert!(
        readme.contains(&graphiql),
        "the README should say: {graphiql}"
    );
}

/// A workspace id the token can't reach (a GraphiQL tab kept from a recreated database) is a
/// NOT_FOUND that names the id, the same for an id that was never there and for another
/// workspace of the caller's own organization (the token is for one workspace).
#[tokio::test]
async fn a_workspace_not_found_names_the_id() {
    let app = sqlite().await;
    let made = app
        .as_owner(
            "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { workspace { id } } }",
            json!({ "input": { "organizationId": app.demo.organization_id, "name": "Sales" } }),
        )
        .await;
    let sales = data(&made)["createWorkspace"]["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = uuid::Uuid::now_v7().to_string();
    let members = "query($ws: UUID!) { members(workspaceId: $ws) { totalCount } }";
    for id in [gone, sales] {
        let answer = app.as_owner(members, json!({ "ws": id })).await;
        assert_eq!(error_code(&answer), "NOT_FOUND", "{answer}");
        assert_eq!(
            answer["errors"][0]["message"],
            format!(
                "workspace {id} not found: it isn't one your token can reach (a recreated \
                 database has new ids)"
            ),
        );
    }
}
