//! Faults, with the product's default settings, on PostgreSQL + Redis + SMTP: each fault ends,
//! and within 30 s of its end every offboarding is SUCCEEDED. Each test prints its recovery
//! time (docs/BENCHMARKS.md, "Faults", lists them).

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

use std::process::Child;
use std::time::{Duration, Instant};

use entities::{OutboxStatus, outbox};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use tests::{Backend, PrivateRedis, PrivateSmtp, TestApp, add_members};
use uuid::Uuid;
use worker::settings::{MailTransport, QueueBackend};

/// What the design promises: recovery within 30 s of a fault's end.
const RECOVERY: Duration = Duration::from_secs(30);

/// Jobs of the offboarding that are not SUCCEEDED; `None` while the database can't be read.
async fn unfinished(app: &TestApp, offboarding_id: Uuid) -> Option<u64> {
    outbox::Entity::find()
        .filter(outbox::Column::OffboardingId.eq(offboarding_id))
        .filter(outbox::Column::Status.ne(OutboxStatus::Succeeded))
        .count(app.db())
        .await
        .ok()
}

/// Waits until every job of this offboarding is SUCCEEDED, at most [`RECOVERY`] after the
/// fault ended (now), and returns how long after it that was.
async fn recovered(app: &TestApp, offboarding: Uuid, fault: &str) -> Duration {
    let fault_ended = Instant::now();
    loop {
        let left = unfinished(app, offboarding).await.unwrap_or(u64::MAX / 4);
        if left == 0 {
            let recovery = fault_ended.elapsed();
            println!(
                "{fault}: every offboarding SUCCEEDED {:.1} s after the fault ended",
                recovery.as_secs_f64()
            );
            return recovery;
        }
        if fault_ended.elapsed() > RECOVERY {
            let stuck: Vec<_> = outbox::Entity::find()
                .filter(outbox::Column::OffboardingId.eq(offboarding))
                .filter(outbox::Column::Status.ne(OutboxStatus::Succeeded))
                .all(app.db())
                .await
                .unwrap()
                .into_iter()
                .take(5)
                .map(|job| {
                    (
                        job.kind,
                        job.status,
                        job.attempts,
                        job.available_at,
                        job.last_error,
                    )
                })
                .collect();
            panic!(
                "{fault}: {left} jobs still unfinished {RECOVERY:?} after the fault ended: {stuck:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn app_on(
    redis: Option<&PrivateRedis>,
    smtp: Option<&PrivateSmtp>,
    in_process_worker: bool,
) -> TestApp {
    let redis_url = redis.map(PrivateRedis::url);
    let smtp_port = smtp.map(|smtp| smtp.port);
    tests::spawn_app_with(Backend::Postgres, move |config| {
        config.in_process_worker = in_process_worker;
        if let Some(url) = redis_url {
            config.worker.queue.backend = QueueBackend::Redis(url.into());
        }
        if let Some(port) = smtp_port
            && let MailTransport::Smtp {
                port: configured, ..
            } = &mut config.worker.mail.transport
        {
            *configured = port;
        }
    })
    .await
}

/// A worker process on the test's database and queue, with the product's defaults.
fn start_worker(app: &TestApp) -> Child {
    app.worker_process(env!("CARGO_BIN_EXE_worker").as_ref(), app.smtp_port())
        .spawn()
        .expect("the worker binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn redis_down_for_20_seconds() {
    let mut redis = PrivateRedis::start();
    let app = app_on(Some(&redis), None, true).await;
    let members = add_members(&app, 40).await;
    let before = app.remove_members(&members[..20]).await;
    recovered(&app, before, "before the fault").await;

    redis.kill();
    // Committed while Redis is down: the rows wait in the outbox.
    let during = app.remove_members(&members[20..]).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    redis.resume();
    recovered(&app, during, "Redis down 20 s").await;
}

/// Also the state an api killed between marking its rows QUEUED and pushing them leaves: rows
/// QUEUED that no queue holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn redis_restarted_empty() {
    let mut redis = PrivateRedis::start();
    let app = app_on(Some(&redis), None, false).await;
    let members = add_members(&app, 20).await;
    let offboarding = app.remove_members(&members).await;
    // Handed to the queue (no worker runs yet)…
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox::Entity::find()
        .filter(outbox::Column::OffboardingId.eq(offboarding))
        .filter(outbox::Column::Status.eq(OutboxStatus::Queued))
        .count(app.db())
        .await
        .unwrap()
        < 20
    {
        assert!(Instant::now() < deadline, "the jobs are queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …and lost with it.
    redis.kill();
    redis.resume();
    let mut worker = start_worker(&app);
    recovered(&app, offboarding, "Redis restarted empty").await;
    worker.kill().unwrap();
    worker.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn smtp_down_for_30_seconds() {
    let mut smtp = PrivateSmtp::stopped();
    let app = app_on(None, Some(&smtp), true).await;
    let members = add_members(&app, 5).await;
    let offboarding = app.remove_members(&members).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        unfinished(&app, offboarding).await.unwrap() > 0,
        "no email could be sent yet"
    );
    smtp.resume().await;
    recovered(&app, offboarding, "SMTP down 30 s").await;
    assert_eq!(smtp.received(), 5, "one email each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn postgres_backends_terminated() {
    let app = app_on(None, None, true).await;
    let members = add_members(&app, 600).await;
    let offboarding = app.remove_members(&members).await;
    let (admin_url, database) = app
        .config
        .worker
        .database
        .url
        .expose_secret()
        .rsplit_once('/')
        .unwrap();
    let admin = Database::connect(format!("{admin_url}/postgres"))
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
    }
    recovered(&app, offboarding, "PostgreSQL backends terminated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_worker_killed_mid_batch() {
    let app = app_on(None, None, false).await;
    let members = add_members(&app, 1_000).await;
    let offboarding = app.remove_members(&members).await;
    let mut first = start_worker(&app);
    let deadline = Instant::now() + Duration::from_secs(60);
    while unfinished(&app, offboarding).await.unwrap() > 800 {
        assert!(Instant::now() < deadline, "the first worker makes progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL, mid-batch
    first.wait().unwrap();
    let mut second = start_worker(&app);
    recovered(&app, offboarding, "worker SIGKILLed mid-batch").await;
    second.kill().unwrap();
    second.wait().unwrap();

    let jobs = app.email_job_ids(&[offboarding]).await;
    let sent = app.sent_message_ids();
    assert!(
        jobs.iter().all(|id| sent.contains_key(id)),
        "every email was sent"
    );
    let duplicates: usize = jobs.iter().map(|id| sent[id] - 1).sum();
    // At-least-once: only a message in flight at the kill can be sent again, so at most as
    // many as the worker ran at once.
    println!(
        "worker SIGKILLed mid-batch: {duplicates} duplicate emails of {}",
        jobs.len()
    );
    assert!(
        duplicates <= worker::settings::DEFAULT_CONCURRENCY,
        "{duplicates} duplicates: more than the jobs one worker runs at once"
    );
}
