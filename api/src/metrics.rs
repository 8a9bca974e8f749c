//! `GET /metrics`: what the process recorded (requests, jobs, offboardings), and, read at each
//! scrape, the state of the pipeline (outbox rows by status, the age of the oldest unfinished
//! one), the database pool and the queue. README.md ("Operating it") lists every metric.

use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entities::{OutboxStatus, outbox};
use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect,
};
use worker::JobQueue;

/// The statuses of rows still to run, and DEAD ones: the counts a scrape reads (SUCCEEDED rows
/// grow without bound; `jobs_total` counts them instead).
const WATCHED: [OutboxStatus; 4] = [
    OutboxStatus::Pending,
    OutboxStatus::Queued,
    OutboxStatus::Failed,
    OutboxStatus::Dead,
];

pub async fn render(
    handle: &PrometheusHandle,
    db: &DatabaseConnection,
    queue: &JobQueue,
) -> Response {
    if let Err(error) = record_pipeline(db, Utc::now()).await {
        tracing::warn!(%error, "metrics: the outbox could not be read");
    }
    record_pool(db);
    let queue_up = matches!(
        tokio::time::timeout(Duration::from_secs(2), queue.ping()).await,
        Ok(Ok(()))
    );
    metrics::gauge!("queue_up").set(if queue_up { 1.0 } else { 0.0 });
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// `outbox_jobs{status}` and `outbox_oldest_unfinished_age_seconds`, the one number that says
/// the pipeline is stuck (0 when nothing waits).
async fn record_pipeline<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<(), DbErr> {
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
    let mut oldest: Option<DateTime<Utc>> = None;
    for status in WATCHED {
        let (jobs, first) = rows
            .iter()
            .find(|(of, _, _)| *of == status)
            .map_or((0, None), |(_, jobs, first)| (*jobs, *first));
        metrics::gauge!("outbox_jobs", "status" => status_label(status)).set(jobs as f64);
        if status != OutboxStatus::Dead {
            oldest = match (oldest, first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let age = oldest.map_or(0.0, |oldest| {
        (now - oldest).num_milliseconds().max(0) as f64 / 1_000.0
    });
    metrics::gauge!("outbox_oldest_unfinished_age_seconds").set(age);
    Ok(())
}

fn status_label(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Pending => "PENDING",
        OutboxStatus::Queued => "QUEUED",
        OutboxStatus::Succeeded => "SUCCEEDED",
        OutboxStatus::Failed => "FAILED",
        OutboxStatus::Dead => "DEAD",
    }
}

/// `db_pool_connections{state}`: the pool's connections in use and idle.
fn record_pool(db: &DatabaseConnection) {
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
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
}
