//! The configuration a user gets: the API built from `Settings::from_vars` of nothing but the
//! service addresses an operator sets (as docker-compose does), a worker as its own process on
//! Redis, and every other setting at its default. Other tests keep what they need fast; this one
//! runs the production shape end to end.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use tests::{Backend, Settings, TestApp, data};
use worker::settings::{MailTransport, QueueBackend};

/// The environment an operator writes for this test's database, Redis and SMTP server.
fn operator_environment(harness: &Settings) -> HashMap<String, String> {
    let QueueBackend::Redis(redis) = &harness.worker.queue.backend else {
        unreachable!("PostgreSQL tests run on Redis")
    };
    let MailTransport::Smtp { port, .. } = &harness.worker.mail.transport else {
        unreachable!("PostgreSQL tests send mail over SMTP")
    };
    [
        (
            "DATABASE_URL",
            harness.worker.database.url.expose_secret().to_owned(),
        ),
        ("REDIS_URL", redis.expose_secret().to_owned()),
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", port.to_string()),
        // SMTP_TLS is left to its default, STARTTLS; the sink's certificate is from a private
        // authority, as an operator's relay might be.
        (
            "SMTP_CA_CERT",
            tests::smtp_sink::test_ca_certificate()
                .display()
                .to_string(),
        ),
        ("BIND_ADDRESS", "127.0.0.1:0".into()),
        ("DEMO_DATA", "true".into()),
        // Each test has a queue of its own; a deployment has one.
        ("QUEUE_NAME", harness.worker.queue.name.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn the_production_shape_with_default_settings_removes_a_member_end_to_end() {
    let app: TestApp = tests::spawn_app_with(Backend::Postgres, |config| {
        *config = Settings::from_vars(operator_environment(config)).expect("a valid environment");
    })
    .await;
    // What the operator didn't set is the product's default.
    let defaults = Settings::from_vars(HashMap::new()).unwrap();
    assert!(
        !app.config.in_process_worker,
        "with Redis, workers run as their own processes"
    );
    assert_eq!(app.config.limits.body_bytes, 1024 * 1024);
    assert_eq!(app.config.limits.query_depth, 12);
    assert_eq!(
        app.config.limits.query_complexity,
        defaults.limits.query_complexity
    );
    assert_eq!(app.config.worker.job_timeout, defaults.worker.job_timeout);
    assert_eq!(
        app.config.worker.retry.max_attempts,
        defaults.worker.retry.max_attempts
    );

    let mut worker = app
        .worker_process(env!("CARGO_BIN_EXE_worker").as_ref(), app.smtp_port())
        .spawn()
        .expect("the worker binary starts");
    let gus = tests::add_members(&app, 1).await[0];
    let offboarding = app.remove_members(&[gus]).await;
    let finished = app
        .wait_for_offboarding(&offboarding.to_string(), Duration::from_secs(30))
        .await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(finished["status"], "SUCCEEDED", "{finished}");
    let email_job = tests::job_of(&finished, "SEND_REMOVAL_EMAIL")["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        app.sent_email(email_job).is_some(),
        "delivered once, over SMTP with STARTTLS (sent_email checks each copy came encrypted)"
    );

    // The default body limit takes a 10,000-id call and refuses what is over 1 MiB.
    let ids: Vec<uuid::Uuid> = (0..10_000).map(|_| uuid::Uuid::now_v7()).collect();
    let answer = app
        .as_owner("query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) { canRemove } }", json!({ "ws": app.demo.workspace_id, "ids": ids }))
        .await;
    assert_eq!(data(&answer)["removalPreview"]["canRemove"], false);
    let too_large = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body(format!(
            "{{\"query\": \"{{ __typename }}\", \"operationName\": \"{}\"}}",
            "x".repeat(1024 * 1024)
        ))
        .send()
        .await;
    // The server may answer 413 before reading the whole body, and close the connection.
    if let Ok(response) = too_large {
        assert_eq!(response.status(), 413);
    }
}
