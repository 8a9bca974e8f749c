//! `GET /metrics`: what the process recorded (requests, jobs, offboardings), then what a scrape
//! reads of this api's own state: the outbox by status, the age of its oldest unfinished row,
//! the queue and the database pool. README.md ("Operating it") lists every metric.

use std::fmt::Write;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entities::{OutboxStatus, outbox};
use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QuerySelect,
};
use tokio::sync::Mutex;
use worker::JobQueue;

/// The statuses of rows still to run, and DEAD ones: the counts a scrape reads (SUCCEEDED rows
/// grow without bound; `jobs_total` counts them instead).
const WATCHED: [OutboxStatus; 4] = [
    OutboxStatus::Pending,
    OutboxStatus::Queued,
    OutboxStatus::Failed,
    OutboxStatus::Dead,
];

/// How long what a scrape read is answered again: however often `/metrics` is asked (it is on
/// the api's port), the outbox is read and the queue pinged at most once a second.
const FRESH_FOR: Duration = Duration::from_secs(1);

pub struct Metrics {
    recorder: PrometheusHandle,
    /// The last scrape's reading of the pipeline, and when it was made.
    read: Mutex<Option<(Instant, String)>>,
}

impl Metrics {
    pub fn new(recorder: PrometheusHandle) -> Metrics {
        Metrics {
            recorder,
            read: Mutex::new(None),
        }
    }

    pub async fn render(&self, db: &DatabaseConnection, queue: &JobQueue) -> Response {
        let mut read = self.read.lock().await;
        let state = match &*read {
            Some((at, state)) if at.elapsed() < FRESH_FOR => state.clone(),
            _ => {
                let state = read_state(db, queue).await;
                *read = Some((Instant::now(), state.clone()));
                state
            }
        };
        drop(read);
        self.recorder.run_upkeep();
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            self.recorder.render() + &state,
        )
            .into_response()
    }
}

/// This api's state, in the Prometheus text format.
async fn read_state(db: &DatabaseConnection, queue: &JobQueue) -> String {
    let mut text = String::new();
    match outbox_state(db, Utc::now()).await {
        Ok((jobs, oldest_age)) => {
            gauge_header(
                &mut text,
                "outbox_jobs",
                "Side effects in each state still to run, and DEAD ones.",
            );
            for (status, count) in jobs {
                let _ = writeln!(text, "outbox_jobs{{status=\"{status}\"}} {count}");
            }
            gauge_header(
                &mut text,
                "outbox_oldest_unfinished_age_seconds",
                "How long the oldest side effect not yet done has waited (0: none).",
            );
            let _ = writeln!(text, "outbox_oldest_unfinished_age_seconds {oldest_age}");
        }
        Err(error) => tracing::warn!(%error, "metrics: the outbox could not be read"),
    }
    let queue_up = matches!(
        tokio::time::timeout(Duration::from_secs(2), queue.ping()).await,
        Ok(Ok(()))
    );
    gauge_header(&mut text, "queue_up", "1 when the job queue answers.");
    let _ = writeln!(text, "queue_up {}", u8::from(queue_up));
    let (size, idle) = pool(db);
    gauge_header(
        &mut text,
        "db_pool_connections",
        "The api's read pool (on PostgreSQL, its one pool).",
    );
    let _ = writeln!(text, "db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(
        text,
        "db_pool_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    text
}

fn gauge_header(text: &mut String, name: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Rows by watched status, and the age in seconds of the oldest row not finished.
async fn outbox_state<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<(Vec<(String, i64)>, f64), DbErr> {
    let rows: Vec<(OutboxStatus, i64, Option<DateTime<Utc>>)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Status)
        .column_as(outbox::Column::Id.count(), "jobs")
        .column_as(outbox::Column::CreatedAt.min(), "oldest")
        .filter(outbox::Column::Status.is_in(WATCHED))
        .group_by(outbox::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let jobs = WATCHED
        .iter()
        .map(|status| {
            let count = rows
                .iter()
                .find(|(of, _, _)| of == status)
                .map_or(0, |(_, count, _)| *count);
            (status.to_value(), count)
        })
        .collect();
    let oldest = rows
        .iter()
        .filter(|(status, _, _)| *status != OutboxStatus::Dead)
        .filter_map(|(_, _, oldest)| *oldest)
        .min();
    let age = oldest.map_or(0.0, |oldest| {
        (now - oldest).num_milliseconds().max(0) as f64 / 1_000.0
    });
    Ok((jobs, age))
}

/// The read pool's size and idle connections.
fn pool(db: &DatabaseConnection) -> (u32, u32) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    (size, u32::try_from(idle).unwrap_or(u32::MAX))
}
