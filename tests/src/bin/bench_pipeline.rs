//! Measures the job pipeline with the product's default settings: the time from a removal's
//! answer to its side effects being done, the side effects per second with one and two worker
//! processes, and the baselines they are judged against, measured in the same run.
//!
//!   cargo build --release -p worker --bin worker
//!   cargo run --release -p tests --bin bench-pipeline -- postgres   # PostgreSQL + Redis + SMTP sink
//!   cargo run --release -p tests --bin bench-pipeline -- sqlite     # the embedded default
//!
//! Results are written down in docs/BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap stops the run with its cause"
)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use entities::{OutboxStatus, outbox};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use tests::smtp_sink::SmtpSink;
use tests::{Backend, TestApp, add_members, spawn_app, spawn_app_with};
use uuid::Uuid;
use worker::settings::DEFAULT_CONCURRENCY;

/// Waits until every job of the offboarding has SUCCEEDED, looking every `every`.
async fn until_succeeded(app: &TestApp, offboarding: Uuid, every: Duration) {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let left = outbox::Entity::find()
            .filter(outbox::Column::OffboardingId.eq(offboarding))
            .filter(outbox::Column::Status.ne(OutboxStatus::Succeeded))
            .count(app.db())
            .await
            .unwrap();
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} jobs never finished");
        tokio::time::sleep(every).await;
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
}

/// Answer → SUCCEEDED for one member, `count` times, the database looked at every 2 ms.
async fn latency(app: &TestApp, count: usize) {
    let members = add_members(app, count).await;
    let mut samples = Vec::new();
    for member in members {
        let offboarding = app.remove_members(&[member]).await;
        let answered = Instant::now();
        until_succeeded(app, offboarding, Duration::from_millis(2)).await;
        samples.push(answered.elapsed());
        // An idle system between removals, as a person clicking "Remove" sees it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "answer -> SUCCEEDED, 1 member ({count} removals): p50 {} / p99 {} / max {}",
        ms(percentile(&mut samples, 0.50)),
        ms(percentile(&mut samples, 0.99)),
        ms(percentile(&mut samples, 1.0)),
    );
}

fn worker_binary() -> std::path::PathBuf {
    let path = std::env::current_exe().unwrap().with_file_name("worker");
    assert!(
        path.exists(),
        "build the worker first: cargo build --release -p worker --bin worker"
    );
    path
}

fn start_worker(app: &TestApp, sink: &SmtpSink) -> Child {
    app.worker_process(&worker_binary(), sink.port)
        .spawn()
        .unwrap()
}

/// Sends the in-process worker's email (when SMTP is what the backend uses) to `sink`.
fn send_to(config: &mut tests::Settings, sink: &SmtpSink) {
    if let worker::settings::MailTransport::Smtp { port, .. } = &mut config.worker.mail.transport {
        *port = sink.port;
    }
}

/// A removal of `members` made with no worker running, then `workers` worker processes
/// started, sending to `sink`: side effects per second, from their start to the last SUCCEEDED.
async fn throughput(sink: &SmtpSink, members: usize, workers: usize) -> f64 {
    let app = spawn_app_with(Backend::Postgres, |config| config.in_process_worker = false).await;
    let ids = add_members(&app, members).await;
    let offboarding = app.remove_members(&ids).await;
    let jobs = outbox::Entity::find()
        .filter(outbox::Column::OffboardingId.eq(offboarding))
        .count(app.db())
        .await
        .unwrap();
    let started = Instant::now();
    let mut processes: Vec<Child> = (0..workers).map(|_| start_worker(&app, sink)).collect();
    until_succeeded(&app, offboarding, Duration::from_millis(20)).await;
    let elapsed = started.elapsed();
    for process in &mut processes {
        let _ = process.kill();
        let _ = process.wait();
    }
    let rate = jobs as f64 / elapsed.as_secs_f64();
    println!(
        "{jobs} side effects ({members} emails over SMTP), {workers} worker process(es): {:.1} s, {rate:.0} jobs/s",
        elapsed.as_secs_f64()
    );
    rate
}

/// 50,000 members through five calls of 10,000 at once, with two worker processes already
/// running: every job SUCCEEDED and every email arrived (duplicates counted).
async fn five_removals_at_once(sink: &SmtpSink) {
    let app = spawn_app_with(Backend::Postgres, |config| config.in_process_worker = false).await;
    let mut processes: Vec<Child> = (0..2).map(|_| start_worker(&app, sink)).collect();
    let members = add_members(&app, 50_000).await;
    let started = Instant::now();
    let calls = members
        .chunks(10_000)
        .map(|chunk| app.remove_members(chunk));
    let offboardings = futures_util::future::join_all(calls).await;
    let answered = started.elapsed();
    for offboarding in &offboardings {
        until_succeeded(&app, *offboarding, Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    for process in &mut processes {
        let _ = process.kill();
        let _ = process.wait();
    }
    let jobs = app.email_job_ids(&offboardings).await;
    let copies = sink.copies();
    let copies_of = |id: Uuid| {
        copies
            .get(&format!("<{id}@offboarding>"))
            .copied()
            .unwrap_or(0)
    };
    let missing = jobs.iter().filter(|job| copies_of(**job) == 0).count();
    let duplicates: usize = jobs
        .iter()
        .map(|job| copies_of(*job).saturating_sub(1))
        .sum();
    println!(
        "50,000 members in five calls at once, 2 workers: answered in {:.1} s, all SUCCEEDED in {:.1} s; {} emails, {missing} missing, {duplicates} duplicates",
        answered.as_secs_f64(),
        elapsed.as_secs_f64(),
        jobs.len()
    );
    assert_eq!(missing, 0);
}

/// The SMTP sink's own rate: `count` messages sent straight to it with a pooled transport and
/// as many at once as a worker runs.
async fn smtp_sink_rate(sink: &SmtpSink, count: usize) -> f64 {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.port)
        .pool_config(PoolConfig::new().max_size(DEFAULT_CONCURRENCY as u32))
        .build();
    let started = Instant::now();
    let per_task = count / DEFAULT_CONCURRENCY;
    let tasks: Vec<_> = (0..DEFAULT_CONCURRENCY)
        .map(|_| {
            let transport = transport.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let message = Message::builder()
                        .from("bench@offboarding.invalid".parse().unwrap())
                        .to("sink@offboarding.invalid".parse().unwrap())
                        .subject("baseline")
                        .body("the SMTP sink's own rate".to_owned())
                        .unwrap();
                    transport.send(message).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = (per_task * DEFAULT_CONCURRENCY) as f64 / started.elapsed().as_secs_f64();
    println!(
        "baseline: the SMTP sink alone, pooled, {DEFAULT_CONCURRENCY} at once: {rate:.0} messages/s"
    );
    rate
}

/// PostgreSQL's own rate for an email job's SQL (claim-and-read, then mark), from pgbench on a
/// copy of the outbox table with 100,000 rows, over as many connections as a worker's pool.
async fn pgbench_rate(app: &TestApp) -> Option<f64> {
    use sea_orm::ConnectionTrait;
    app.db()
        .execute_unprepared(
            "CREATE TABLE bench_outbox (LIKE outbox INCLUDING DEFAULTS, seq integer PRIMARY KEY);
             INSERT INTO bench_outbox (id, offboarding_id, kind, payload, status, attempts, available_at,
                 created_at, updated_at, seq)
             SELECT gen_random_uuid(), gen_random_uuid(), 'send_removal_email', '{}'::jsonb, 'PENDING', 0,
                 now(), now(), now(), n FROM generate_series(1, 100000) n;
             ANALYZE bench_outbox;",
        )
        .await
        .ok()?;
    let script = tempfile::NamedTempFile::new().ok()?;
    std::fs::write(
        script.path(),
        "\\set n random(1, 100000)
UPDATE bench_outbox SET available_at = now() WHERE seq = :n AND available_at <= now() AND status NOT IN ('SUCCEEDED', 'DEAD') RETURNING *;
UPDATE bench_outbox SET status = 'PENDING', attempts = attempts + 1, last_error = NULL, updated_at = now(), completed_at = now() WHERE seq = :n AND status NOT IN ('SUCCEEDED', 'DEAD');
",
    )
    .ok()?;
    let database = app
        .config
        .worker
        .database
        .url
        .expose_secret()
        .rsplit_once('/')?
        .1
        .to_owned();
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-c",
            "10",
            "-j",
            "2",
            "-T",
            "10",
            "-f",
        ])
        .arg(script.path())
        .arg(&database)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let tps: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    println!("baseline: pgbench, an email job's two statements, 10 connections: {tps:.0} jobs/s");
    Some(tps)
}

/// Redis's own push/pop rate on this machine, from redis-benchmark.
fn redis_rate() -> Option<f64> {
    let output = Command::new("redis-benchmark")
        .args(["-t", "lpush,rpop", "-n", "100000", "-q"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let rates: Vec<f64> = text
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (_, rest) = line.split_once(": ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect();
    let rate = rates.iter().copied().fold(f64::INFINITY, f64::min);
    println!("baseline: redis-benchmark LPUSH/RPOP (the slower of the two): {rate:.0} ops/s");
    rate.is_finite().then_some(rate)
}

#[tokio::main]
async fn main() {
    let backend = Backend::from_args("bench-pipeline");
    println!("backend: {backend:?} (default settings)");
    let smtp = SmtpSink::start().await;
    {
        let app = spawn_app_with(backend, |config| send_to(config, &smtp)).await;
        latency(&app, 100).await;
        let members = add_members(&app, 10_000).await;
        let offboarding = app.remove_members(&members).await;
        let answered = Instant::now();
        until_succeeded(&app, offboarding, Duration::from_millis(20)).await;
        let elapsed = answered.elapsed();
        let jobs = outbox::Entity::find()
            .filter(outbox::Column::OffboardingId.eq(offboarding))
            .count(app.db())
            .await
            .unwrap();
        println!(
            "answer -> SUCCEEDED, 10,000 members, {jobs} jobs (in-process worker): {:.1} s, {:.0} jobs/s",
            elapsed.as_secs_f64(),
            jobs as f64 / elapsed.as_secs_f64()
        );
    }
    if backend == Backend::Postgres {
        let app_for_baselines = spawn_app(backend).await;
        let sink = smtp_sink_rate(&smtp, 10_000).await;
        let redis = redis_rate();
        let postgres = pgbench_rate(&app_for_baselines).await;
        let one = throughput(&smtp, 10_000, 1).await;
        let two = throughput(&smtp, 10_000, 2).await;
        five_removals_at_once(&smtp).await;
        println!("ratio: 1 worker / SMTP sink = {:.2}", one / sink);
        println!("ratio: 2 workers / SMTP sink = {:.2}", two / sink);
        println!("ratio: 2 workers / 1 worker = {:.2}", two / one);
        if let Some(redis) = redis {
            println!("ratio: 1 worker / Redis push+pop = {:.3}", one / redis);
        }
        if let Some(postgres) = postgres {
            println!(
                "ratio: 1 worker / pgbench of the job's SQL = {:.2}",
                one / postgres
            );
        }
    }
}
