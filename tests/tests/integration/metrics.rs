//! `GET /metrics` in the Prometheus text format: a removal and its jobs move the counters, and
//! the pipeline's state is read at each scrape. (One recorder serves the whole test process,
//! so counters are compared with what they were before, never with an exact total.)

use std::time::Duration;

use serde_json::json;
use tests::{Backend, TestApp, backend_tests, data};

use crate::support::{GUS, REMOVE, no_worker, people};

backend_tests! {
    a_removal_and_its_jobs_move_the_metrics,
    a_stuck_pipeline_shows_in_the_metrics => no_worker,
    metrics_can_be_turned_off => |config: &mut tests::Settings| config.worker.metrics.enabled = false,
}

async fn remove_gus(app: &TestApp) -> tests::Answer {
    let [gus] = people(app, [GUS]).await;
    app.as_owner(
        REMOVE,
        json!({ "input": { "workspaceId": app.demo.workspace_id, "userIds": [gus] } }),
    )
    .await
}

async fn get_metrics(app: &TestApp) -> reqwest::Response {
    app.get("/metrics").await
}

async fn scrape(app: &TestApp) -> String {
    let response = get_metrics(app).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    response.text().await.unwrap()
}

/// The value of the sample named `name` with these labels (among others), if there is one.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

async fn a_removal_and_its_jobs_move_the_metrics(app: TestApp) {
    let before = scrape(&app).await;
    let count =
        |text: &str, name: &str, labels: &[(&str, &str)]| sample(text, name, labels).unwrap_or(0.0);
    let answer = remove_gus(&app).await;
    let id = data(&answer)["removeMembers"]["offboarding"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_until_succeeded(&id, Duration::from_secs(30)).await;
    let after = scrape(&app).await;

    let removals = [("operation", "mutation removeMembers"), ("outcome", "ok")];
    assert!(
        count(&after, "graphql_requests_total", &removals)
            > count(&before, "graphql_requests_total", &removals),
        "{after}"
    );
    assert!(
        sample(
            &after,
            "graphql_request_duration_seconds_count",
            &[("operation", "mutation removeMembers")]
        )
        .is_some(),
        "{after}"
    );
    for kind in [
        "end_sessions",
        "reattribute_campaigns",
        "send_removal_email",
    ] {
        let labels = [("kind", kind), ("outcome", "succeeded")];
        assert!(
            count(&after, "jobs_total", &labels) > count(&before, "jobs_total", &labels),
            "{kind}: {after}"
        );
        assert!(
            sample(&after, "job_duration_seconds_count", &[("kind", kind)]).is_some(),
            "{kind}: {after}"
        );
    }
    let offboardings = [("kind", "remove_members")];
    assert!(
        count(&after, "offboardings_total", &offboardings)
            > count(&before, "offboardings_total", &offboardings),
        "{after}"
    );
    assert!(sample(&after, "members_removed_per_call_count", &[]).is_some());
    for status in ["PENDING", "QUEUED", "FAILED", "DEAD"] {
        assert!(
            sample(&after, "outbox_jobs", &[("status", status)]).is_some(),
            "{status}: {after}"
        );
    }
    // Everything ran: nothing waits.
    assert_eq!(
        sample(&after, "outbox_oldest_unfinished_age_seconds", &[]),
        Some(0.0),
        "{after}"
    );
    assert_eq!(sample(&after, "queue_up", &[]), Some(1.0), "{after}");
    let ok = [("status", "200")];
    assert!(
        count(&after, "http_requests_total", &ok) > count(&before, "http_requests_total", &ok),
        "{after}"
    );
    let handed_over = [("by", "hand_over")];
    assert!(
        count(&after, "relay_jobs_queued_total", &handed_over)
            >= count(&before, "relay_jobs_queued_total", &handed_over) + 3.0,
        "the removal's three jobs went to the queue at once: {after}"
    );
    assert!(sample(&after, "relay_sweeps_total", &[]).is_some_and(|sweeps| sweeps > 0.0));
    assert!(sample(&after, "db_pool_connections", &[("state", "idle")]).is_some());

    // A document that fails validation names no series of its own.
    let invented = app.as_owner("{ inventedField }", json!(null)).await;
    assert!(invented.has_errors());
    let text = scrape(&app).await;
    assert!(!text.contains("inventedField"), "{text}");
    assert!(
        sample(
            &text,
            "graphql_requests_total",
            &[("operation", "-"), ("outcome", "BAD_USER_INPUT")]
        )
        .is_some(),
        "{text}"
    );
}

/// No worker runs: the removal's side effects wait, and the scrape says so.
async fn a_stuck_pipeline_shows_in_the_metrics(app: TestApp) {
    let answer = remove_gus(&app).await;
    assert!(data(&answer)["removeMembers"]["offboarding"]["id"].is_string());
    // Past the second a scrape's reading is answered again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let text = scrape(&app).await;
    let waiting = ["PENDING", "QUEUED"]
        .iter()
        .filter_map(|status| sample(&text, "outbox_jobs", &[("status", status)]))
        .sum::<f64>();
    assert_eq!(
        waiting, 3.0,
        "sessions, campaigns and an email wait: {text}"
    );
    assert!(
        sample(&text, "outbox_oldest_unfinished_age_seconds", &[]).is_some_and(|age| age >= 1.0),
        "{text}"
    );
}

async fn metrics_can_be_turned_off(app: TestApp) {
    assert_eq!(get_metrics(&app).await.status(), 404);
}

/// Redis is down when a removal commits: the failed pushes are counted and the queue shows
/// down; once it is back, a relay sweep queues the jobs that waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_queue_that_is_down_shows_in_the_metrics() {
    let mut redis = tests::PrivateRedis::start();
    let app = redis.app_on(Backend::Postgres).await;
    let before = scrape(&app).await;
    let count =
        |text: &str, name: &str, labels: &[(&str, &str)]| sample(text, name, labels).unwrap_or(0.0);
    redis.kill();
    let answer = remove_gus(&app).await;
    let id = data(&answer)["removeMembers"]["offboarding"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A push to a Redis that stopped answering fails at its timeout, not at once: the scrape
    // is read again (past the second its reading is kept) until it shows.
    let failures = |text: &str| count(text, "queue_push_failures_total", &[]);
    let mut down = String::new();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        down = scrape(&app).await;
        if failures(&down) > failures(&before) && sample(&down, "queue_up", &[]) == Some(0.0) {
            break;
        }
    }
    assert!(failures(&down) > failures(&before), "{down}");
    assert_eq!(sample(&down, "queue_up", &[]), Some(0.0), "{down}");

    redis.resume();
    app.wait_until_succeeded(&id, Duration::from_secs(60)).await;
    let after = scrape(&app).await;
    let swept = [("by", "sweep")];
    assert!(
        count(&after, "relay_jobs_queued_total", &swept)
            >= count(&before, "relay_jobs_queued_total", &swept) + 3.0,
        "the three jobs that waited were queued by a sweep: {after}"
    );
}
