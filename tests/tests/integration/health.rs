use serde_json::Value;
use tests::{Backend, backend_tests};

backend_tests! {
    async fn health_and_readiness_report_the_database_and_the_queue(app: TestApp) {
        let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
        assert_eq!(health.status(), 200);

        let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["database"], "ok");
        let expected_queue = match app.backend {
            Backend::Postgres => "ok",
            Backend::Sqlite => "embedded",
        };
        assert_eq!(body["queue"], expected_queue);
    }

    async fn graphiql_is_served_and_responses_carry_a_request_id(app: TestApp) {
        let page = app.client.get(app.graphql_url()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("graphiql"));

        let answer = app
            .client
            .post(app.graphql_url())
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert!(answer.headers().get("x-request-id").is_some());
    }
}

#[tokio::test]
async fn readiness_fails_when_redis_is_unreachable() {
    let app = tests::spawn_app_with(Backend::Sqlite, |config| {
        // Nothing listens on port 1: the queue is configured but unreachable.
        config.redis_url = Some("redis://127.0.0.1:1".into());
    })
    .await
    .unwrap();
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_ne!(body["queue"], "ok");
}

#[tokio::test]
async fn graphiql_and_introspection_can_be_switched_off() {
    let app = tests::spawn_app_with(Backend::Sqlite, |config| {
        config.graphiql = false;
        config.introspection = false;
    })
    .await
    .unwrap();
    let page = app.client.get(app.graphql_url()).send().await.unwrap();
    assert_eq!(page.status(), 405, "GET /graphql no longer serves GraphiQL");
    let answer = app
        .graphql(
            Some(app.owner_token()),
            "{ __schema { types { name } } }",
            Value::Null,
        )
        .await;
    assert!(
        answer["data"]["__schema"].is_null(),
        "introspection answers nothing: {answer}"
    );
    let answer = app
        .graphql(
            Some(app.owner_token()),
            "{ __type(name: \"Member\") { fields { name } } }",
            Value::Null,
        )
        .await;
    assert!(
        answer["data"]["__type"].is_null(),
        "types are hidden too: {answer}"
    );
    // Ordinary queries still work.
    let answer = app
        .graphql(Some(app.owner_token()), "{ viewer { role } }", Value::Null)
        .await;
    assert_eq!(tests::data(&answer)["viewer"]["role"], "OWNER");
}
