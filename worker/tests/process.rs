//! The worker as a process: killed with SIGKILL mid-job, or stopped with SIGTERM, its job is
//! carried out by the next worker. Runs against PostgreSQL and Redis, the production shape.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

use std::net::TcpListener;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tests::{Backend, Fetch, TestApp, data};

/// An SMTP "server" that accepts connections and never says a word: a job sending email to it
/// hangs mid-conversation, which is where these tests stop the worker.
fn tarpit() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, accepted)
}

fn start_worker(app: &TestApp, smtp_port: u16) -> Child {
    start_worker_with(app, smtp_port, &[])
}

/// A worker process on the test's database and queue, with the product's defaults but for
/// `settings`.
fn start_worker_with(app: &TestApp, smtp_port: u16, settings: &[(&str, &str)]) -> Child {
    app.worker_process(env!("CARGO_BIN_EXE_worker").as_ref(), smtp_port)
        .envs(settings.iter().copied())
        .spawn()
        .expect("the worker binary starts")
}

/// Removes Gus with no worker running and returns the offboarding id and the email job's id.
async fn remove_gus(app: &TestApp) -> (String, String) {
    let gus = entities_user_id(app, "gus.guest@acme.test").await;
    let answer = app
        .as_owner("mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id jobs { id kind } } userErrors { code } } }", json!({ "input": { "workspaceId": app.demo.workspace_id, "userIds": [gus] } }))
        .await;
    let offboarding = &data(&answer)["removeMembers"]["offboarding"];
    let email = tests::job_of(offboarding, "SEND_REMOVAL_EMAIL");
    (
        offboarding["id"].as_str().unwrap().to_owned(),
        email["id"].as_str().unwrap().to_owned(),
    )
}

async fn entities_user_id(app: &TestApp, email: &str) -> String {
    let answer = app
        .as_owner("query($ws: UUID!, $q: String) { members(workspaceId: $ws, filter: { search: $q }) { edges { node { user { id } } } } }", json!({ "ws": app.demo.workspace_id, "q": email }))
        .await;
    data(&answer)["members"]["edges"][0]["node"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_until(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The email job's outbox row, as stored.
async fn email_row(app: &TestApp, email_job: &str) -> entities::outbox::Model {
    use sea_orm::EntityTrait;
    entities::outbox::Entity::find_by_id(email_job.parse::<uuid::Uuid>().unwrap())
        .one(app.db())
        .await
        .unwrap()
        .expect("the email job's row")
}

/// A worker stuck mid-SMTP on the removal email of a fresh removal of Gus.
struct StalledWorker {
    app: TestApp,
    worker: Child,
    offboarding_id: String,
    email_job: String,
}

async fn stall_a_worker() -> StalledWorker {
    let app = tests::spawn_app_with(Backend::Postgres, tests::no_worker).await;
    let (tarpit_port, accepted) = tarpit();
    let (offboarding_id, email_job) = remove_gus(&app).await;
    let worker = start_worker(&app, tarpit_port);
    wait_until(
        "the email job to be mid-SMTP",
        Duration::from_secs(30),
        || accepted.load(Ordering::SeqCst) > 0,
    )
    .await;
    // Mid-job means claimed: one attempt counted and no other worker may take the row until
    // the claim expires.
    let row = email_row(&app, &email_job).await;
    assert_eq!(row.attempts, 1);
    assert!(row.available_at > chrono::Utc::now(), "claimed: {row:?}");
    StalledWorker {
        app,
        worker,
        offboarding_id,
        email_job,
    }
}

impl StalledWorker {
    /// A second worker, with a working SMTP server, finishes the job: the email arrives once.
    async fn finish_with_a_second_worker(self) {
        let mut second = start_worker(&self.app, self.app.smtp_port());
        let offboarding = self
            .app
            .wait_for_offboarding(&self.offboarding_id, Duration::from_secs(60))
            .await;
        second.kill().unwrap();
        second.wait().unwrap();
        assert_eq!(offboarding["status"], "SUCCEEDED", "{offboarding}");
        assert!(
            self.app
                .sent_email(self.email_job.parse().unwrap())
                .is_some(),
            "delivered once, by the second worker"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_worker_killed_mid_job_leaves_the_job_to_the_next_worker() {
    let mut stalled = stall_a_worker().await;
    stalled.worker.kill().unwrap(); // SIGKILL
    stalled.worker.wait().unwrap();
    // Killed, it could hand nothing back: the row stays claimed until its claim expires, and
    // only then can the next worker run it.
    let row = email_row(&stalled.app, &stalled.email_job).await;
    assert!(
        row.available_at > chrono::Utc::now(),
        "still claimed: {row:?}"
    );
    stalled.finish_with_a_second_worker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn sigterm_stops_a_worker_in_time_and_hands_its_job_back() {
    let mut stalled = stall_a_worker().await;
    let shutdown_timeout = stalled.app.config.worker.shutdown_timeout;
    let stopping = Instant::now();
    let pid = stalled.worker.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exited = loop {
        if let Some(status) = stalled.worker.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < shutdown_timeout + Duration::from_secs(3),
            "the worker overran its shutdown timeout ({shutdown_timeout:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exited.success(), "a clean exit: {exited:?}");
    // It handed its job back: due now, not claimed until the claim would have expired.
    let row = email_row(&stalled.app, &stalled.email_job).await;
    assert_eq!(row.status, entities::OutboxStatus::Pending, "{row:?}");
    assert!(row.available_at <= chrono::Utc::now(), "released: {row:?}");
    stalled.finish_with_a_second_worker().await;
}

/// The statuses each job went through, in the order the subscription delivered them.
fn statuses_by_job(messages: &[tests::Answer]) -> std::collections::HashMap<String, Vec<String>> {
    let mut by_job: std::collections::HashMap<String, Vec<String>> = Default::default();
    for message in messages.iter().filter(|m| m["type"] == "next") {
        let event = &message["payload"]["data"]["offboardingProgress"];
        by_job
            .entry(event["jobId"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["status"].as_str().unwrap().to_owned());
    }
    by_job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn the_subscription_streams_every_state_of_jobs_run_by_another_process() {
    let app = tests::spawn_app_with(Backend::Postgres, tests::no_worker).await;
    let (offboarding_id, _) = remove_gus(&app).await;
    // A worker whose SMTP server refuses every connection: the email fails each attempt.
    let closed_port = tests::free_port();
    let mut worker = start_worker_with(
        &app,
        closed_port,
        &[
            ("JOB_MAX_ATTEMPTS", "2"),
            ("JOB_RETRY_BASE_MS", "200"),
            ("JOB_RETRY_MAX_MS", "500"),
        ],
    );
    let messages = app
        .follow_progress(Some(app.owner_token()), &offboarding_id, 60)
        .await;
    worker.kill().unwrap();
    worker.wait().unwrap();

    assert_eq!(messages.last().unwrap()["type"], "complete", "{messages:?}");
    let offboarding = app
        .wait_for_offboarding(&offboarding_id, Duration::ZERO)
        .await;
    let by_job = statuses_by_job(&messages);
    for job in offboarding["jobs"].as_array().unwrap() {
        let states = &by_job[job["id"].as_str().unwrap()];
        if job["kind"] == "SEND_REMOVAL_EMAIL" {
            assert_eq!(job["status"], "DEAD", "{job}");
            // Written, queued, failed once and retried, then dead after the second attempt.
            assert_eq!(states.first().unwrap(), "PENDING", "{states:?}");
            assert!(states.contains(&"QUEUED".to_owned()), "{states:?}");
            assert!(states.contains(&"FAILED".to_owned()), "{states:?}");
            assert_eq!(states.last().unwrap(), "DEAD", "{states:?}");
        } else {
            assert_eq!(job["status"], "SUCCEEDED", "{job}");
            assert_eq!(states.first().unwrap(), "PENDING", "{states:?}");
            assert!(states.contains(&"QUEUED".to_owned()), "{states:?}");
            assert_eq!(states.last().unwrap(), "SUCCEEDED", "{states:?}");
        }
    }
    let events: Vec<_> = messages
        .iter()
        .filter(|m| m["type"] == "next")
        .map(|m| &m["payload"]["data"]["offboardingProgress"])
        .collect();
    let dead = events.iter().find(|e| e["status"] == "DEAD").unwrap();
    assert_eq!(dead["attempts"], 2);
    assert!(dead["lastError"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(events.last().unwrap()["offboardingStatus"], "FAILED");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e["offboardingStatus"] == "IN_PROGRESS"),
        "only the last event finishes the offboarding"
    );
}

/// A job that outlives the job timeout in a live worker (its SMTP server never answers) is cut
/// off, recorded as a failed attempt naming the timeout, and DEAD once its attempts are spent:
/// it never holds the worker or comes back forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_job_outliving_the_job_timeout_is_a_failed_attempt_then_dead() {
    let app = tests::spawn_app_with(Backend::Postgres, tests::no_worker).await;
    let (tarpit_port, _) = tarpit();
    let (offboarding_id, email_job) = remove_gus(&app).await;
    let mut worker = start_worker_with(
        &app,
        tarpit_port,
        &[
            ("JOB_TIMEOUT_MS", "1000"),
            ("JOB_MAX_ATTEMPTS", "2"),
            ("JOB_RETRY_BASE_MS", "100"),
            ("JOB_RETRY_MAX_MS", "200"),
        ],
    );
    let offboarding = app
        .wait_for_offboarding(&offboarding_id, Duration::from_secs(30))
        .await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(offboarding["status"], "FAILED", "{offboarding}");
    let row = email_row(&app, &email_job).await;
    assert_eq!(row.status, entities::OutboxStatus::Dead, "{row:?}");
    assert_eq!(row.attempts, 2, "{row:?}");
    let error = row.last_error.unwrap_or_default();
    assert!(
        error.contains("timed out") || error.contains("timeout"),
        "{error}"
    );
    // The other side effects ran meanwhile: the worker was never held up.
    let others_succeeded = offboarding["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["kind"] != "SEND_REMOVAL_EMAIL")
        .all(|job| job["status"] == "SUCCEEDED");
    assert!(others_succeeded, "{offboarding}");
}

/// A worker process with `METRICS_BIND_ADDRESS` answers Prometheus text there, with the job runs
/// it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_worker_serves_its_metrics_where_told() {
    let app = tests::spawn_app_with(Backend::Postgres, tests::no_worker).await;
    let (offboarding_id, _) = remove_gus(&app).await;
    let port = tests::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut worker = start_worker_with(
        &app,
        app.smtp_port(),
        &[("METRICS_BIND_ADDRESS", address.as_str())],
    );
    let finished = app
        .wait_for_offboarding(&offboarding_id, Duration::from_secs(30))
        .await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished}");
    let text = app
        .client
        .get(format!("http://{address}/metrics"))
        .body_text()
        .await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    for kind in [
        "end_sessions",
        "reattribute_campaigns",
        "send_removal_email",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with("jobs_total{")
                && line.contains(&format!("kind=\"{kind}\""))
                && line.contains("outcome=\"succeeded\"")),
            "{kind}: {text}"
        );
    }
    assert!(text.contains("job_duration_seconds_bucket"), "{text}");
}
