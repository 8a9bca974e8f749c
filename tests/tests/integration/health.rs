use serde_json::Value;
use tests::{Answer, Backend, TestApp, backend_tests};
use worker::settings::QueueBackend;

backend_tests! {
    health_and_readiness_report_the_database_and_the_queue,
    graphiql_is_served_and_responses_carry_a_request_id,
}

async fn health_and_readiness_report_the_database_and_the_queue(app: TestApp) {
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Answer = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    // Redis on PostgreSQL, the embedded queue file on SQLite.
    assert_eq!(body["queue"], "ok");
}

async fn graphiql_is_served_and_responses_carry_a_request_id(app: TestApp) {
    let page = app.open_in_a_browser().await;
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

#[tokio::test]
async fn readiness_fails_while_redis_is_down() {
    let mut redis = tests::PrivateRedis::start();
    let app = redis.app_on(Backend::Sqlite).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    redis.kill();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Answer = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_ne!(body["queue"], "ok");
    redis.resume();
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again once Redis is back");
}

#[tokio::test]
async fn the_service_refuses_to_start_without_its_queue() {
    let mut config = api::Settings {
        bind_address: "127.0.0.1:0".parse().unwrap(),
        ..api::Settings::default()
    };
    let dir = tempfile::tempdir().unwrap();
    config.worker.database.url =
        format!("sqlite://{}/app.db?mode=rwc", dir.path().display()).into();
    // Nothing listens on port 1.
    config.worker.queue.backend = QueueBackend::Redis("redis://127.0.0.1:1".into());
    let error = api::Application::build(config)
        .await
        .err()
        .expect("no start without the queue");
    assert!(error.to_string().contains("redis"), "{error}");
}

#[tokio::test]
async fn graphiql_and_introspection_can_be_switched_off() {
    let app = tests::spawn_app_with(Backend::Sqlite, |config| {
        config.graphiql = false;
        config.introspection = false;
    })
    .await;
    let page = app.open_in_a_browser().await;
    // GET /graphql is only GraphQL over HTTP now, and this one sent no query.
    let answer: Answer = page.json().await.unwrap();
    assert_eq!(tests::error_code(&answer), "BAD_USER_INPUT", "{answer}");
    let answer = app
        .as_owner("{ __schema { types { name } } }", Value::Null)
        .await;
    assert!(
        answer.did_not_run("__schema"),
        "introspection answers nothing: {answer}"
    );
    let answer = app
        .as_owner(
            "{ __type(name: \"Member\") { fields { name } } }",
            Value::Null,
        )
        .await;
    assert!(
        answer.did_not_run("__type"),
        "types are hidden too: {answer}"
    );
    // Ordinary queries still work.
    let answer = app.as_owner("{ viewer { role } }", Value::Null).await;
    assert_eq!(tests::data(&answer)["viewer"]["role"], "OWNER");
}
