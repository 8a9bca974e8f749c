use serde_json::{Value, json};
use tests::{Answer, Backend, TestApp, assert_http_refused, backend_tests, data, error_code};

backend_tests! {
    too_complex_queries_are_refused_before_they_run,
    too_many_directives_on_a_field_are_refused,
    batches_are_capped_and_answered_in_order,
    a_batch_shares_one_complexity_limit,
    an_answer_over_the_response_limit_is_refused => |config: &mut tests::Settings| {
        config.limits.response_bytes = 4 * 1024;
    },
    bodies_over_the_limit_and_malformed_bodies_are_refused => |config: &mut tests::Settings| {
        config.limits.body_bytes = 16 * 1024;
    },
    syntax_errors_and_unknown_fields_are_bad_input,
    internal_errors_reach_clients_only_as_internal,
}

async fn too_complex_queries_are_refused_before_they_run(app: TestApp) {
    let fields: String = (0..600)
        .map(|i| format!("a{i}: viewer {{ role }} "))
        .collect();
    let answer = app.as_owner(&format!("{{ {fields} }}"), Value::Null).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX");
}

/// The complexity limit (1,000 by default) bounds a whole batch, not each of its operations: six
/// operations of 100 aliased `members(first: 100) { totalCount }` (200 points each) are one
/// operation too many. Five are answered; the sixth is QUERY_TOO_COMPLEX and runs nothing.
async fn a_batch_shares_one_complexity_limit(app: TestApp) {
    let aliases: String = (0..100)
        .map(|i| format!("m{i}: members(workspaceId: $ws, first: 100) {{ totalCount }} "))
        .collect();
    let operation = json!({
        "query": format!("query($ws: UUID!) {{ {aliases} }}"),
        "variables": { "ws": app.demo.workspace_id },
    });
    let one = app
        .graphql(
            Some(app.owner_token()),
            operation["query"].as_str().unwrap(),
            operation["variables"].clone(),
        )
        .await;
    assert!(!one.has_errors(), "one operation fits: {one}");
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .json(&json!(vec![operation; 6]))
        .send()
        .await
        .unwrap();
    let answers: Answer = response.json().await.unwrap();
    let answers = answers.items();
    assert_eq!(answers.len(), 6);
    let refused: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.has_errors())
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "one operation over the batch's limit: {answers:?}"
    );
    assert_eq!(error_code(refused[0]), "QUERY_TOO_COMPLEX");
    assert!(
        refused[0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("together cost 1200, over the limit of 1000"),
        "{}",
        refused[0]
    );
    assert!(refused[0].did_not_run("m0"), "{}", refused[0]);
}

/// An answer longer than the response limit (4 KiB here; 16 MiB by default) is replaced by
/// RESPONSE_TOO_LARGE, saying how long it would have been; a short one goes out as usual.
async fn an_answer_over_the_response_limit_is_refused(app: TestApp) {
    let aliases: String = (0..30)
        .map(|i| format!("m{i}: members(workspaceId: $ws, first: 100) {{ nodes {{ user {{ name email }} }} }} "))
        .collect();
    let answer = app
        .as_owner(
            &format!("query($ws: UUID!) {{ {aliases} }}"),
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert_eq!(error_code(&answer), "RESPONSE_TOO_LARGE", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 4096"),
        "{answer}"
    );
    let short = app.as_owner("{ viewer { role } }", Value::Null).await;
    assert_eq!(data(&short)["viewer"]["role"], "OWNER");
    // A mutation's answer goes out whole, however long: refusing it would hide what was done.
    let aliases: String = (0..30)
        .map(|i| format!("k{i}: createApiKey(input: {{ workspaceId: $ws, name: \"Key {i} with a long name to make the answer longer\", role: GUEST }}) {{ apiKey {{ id name role createdAt }} token }} "))
        .collect();
    let created = app
        .as_owner(
            &format!("mutation($ws: UUID!) {{ {aliases} }}"),
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert!(
        serde_json::to_vec(&created).unwrap().len() > 4 * 1024,
        "{created}"
    );
    assert!(data(&created)["k29"]["token"].is_string(), "{created}");
}

async fn too_many_directives_on_a_field_are_refused(app: TestApp) {
    let query = "{ viewer @include(if: true) @include(if: true) @include(if: true) @include(if: true) @include(if: true) { role } }";
    let answer = app.as_owner(query, Value::Null).await;
    assert_eq!(error_code(&answer), "TOO_MANY_DIRECTIVES");
}

async fn batches_are_capped_and_answered_in_order(app: TestApp) {
    let operation = json!({ "query": "{ viewer { role } }" });
    let two = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .json(&json!([operation, operation]))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 200);
    let answers: Answer = two.json().await.unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 2);
    assert_eq!(answers[1]["data"]["viewer"]["role"], "OWNER");

    let eleven: Vec<Value> = (0..11).map(|_| operation.clone()).collect();
    let refused = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .json(&eleven)
        .send()
        .await
        .unwrap();
    assert_http_refused(refused, 400, "BATCH_TOO_LARGE").await;

    // An empty list reads as one request with no query.
    let empty = app
        .client
        .post(app.graphql_url())
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&empty.json().await.unwrap()), "BAD_USER_INPUT");
}

// A body of 4 MiB against a limit of 16 KiB, more than the sockets' buffers hold: the client is
// still writing when the server decides, and must read the 413, not a broken pipe (which it got
// when the server answered without reading the body).
async fn bodies_over_the_limit_and_malformed_bodies_are_refused(app: TestApp) {
    let huge = "x".repeat(4 * 1024 * 1024);
    let response = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body(format!(
            "{{\"query\": \"{{ __typename }}\", \"operationName\": \"{huge}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_http_refused(response, 413, "PAYLOAD_TOO_LARGE").await;

    // A client that asks before sending (`Expect: 100-continue`) is told 413 at once, without
    // being invited to send what would be thrown away.
    let mut socket = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        huge.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut socket, head.as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::io::AsyncReadExt::read(&mut socket, &mut answer)
        .await
        .unwrap();
    let status_line = String::from_utf8_lossy(&answer[..read]);
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    let response = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body("{ this is not json")
        .send()
        .await
        .unwrap();
    assert_http_refused(response, 400, "BAD_USER_INPUT").await;
}

async fn syntax_errors_and_unknown_fields_are_bad_input(app: TestApp) {
    let answer = app.as_owner("{ viewer { role ", Value::Null).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let answer = app.as_owner("{ viewer { password } }", Value::Null).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

async fn internal_errors_reach_clients_only_as_internal(app: TestApp) {
    // Break the database under the running service: the members list now fails inside.
    use sea_orm::ConnectionTrait;
    app.db()
        .execute_unprepared("DROP TABLE group_membership")
        .await
        .unwrap();
    let answer = app
        .as_owner("query($ws: UUID!) { members(workspaceId: $ws) { edges { node { groups { name } } } } }", json!({ "ws": app.demo.workspace_id }))
        .await;
    assert_eq!(error_code(&answer), "INTERNAL");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "internal error; the details are in the server's log"
    );
    assert!(
        !answer.to_string().contains("group_membership"),
        "no database detail leaks: {answer}"
    );
}

#[tokio::test]
async fn queries_deeper_than_the_limit_are_refused() {
    let app = tests::spawn_app_with(Backend::Sqlite, |config| config.limits.query_depth = 3).await;
    let shallow = app
        .as_owner("{ viewer { user { email } } }", Value::Null)
        .await;
    data(&shallow);
    let deep = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws) { edges { node { user { email } } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert_eq!(error_code(&deep), "QUERY_TOO_DEEP");
}
