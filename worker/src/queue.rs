//! The job queue: Redis in production, an SQLite file in the embedded default. It carries only
//! outbox ids; see `relay` for how nothing is lost when it fails.

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use apalis_sqlite::{SqlitePool, SqliteStorage};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::str::FromStr;
use uuid::Uuid;

use crate::WorkerError;
use crate::config::{QueueBackend, QueueConfig};
use crate::jobs::OutboxJob;

#[derive(Clone)]
pub enum JobQueue {
    Redis(RedisStorage<OutboxJob>),
    Sqlite(SqliteStorage<OutboxJob>),
}

impl JobQueue {
    pub async fn connect(config: &QueueConfig) -> Result<JobQueue, WorkerError> {
        match &config.backend {
            QueueBackend::Redis(url) => {
                let connection = apalis_redis::connect(url.as_str())
                    .await
                    .map_err(|e| WorkerError::Queue(format!("redis: {e}")))?;
                let storage = RedisStorage::new(connection).with_config(
                    apalis_redis::Config::default()
                        .queue(&config.name)
                        .heartbeat_interval(config.heartbeat_interval)
                        .missed_heartbeats(config.missed_heartbeats),
                );
                Ok(JobQueue::Redis(storage))
            }
            QueueBackend::Sqlite(url) => {
                crate::db::ensure_sqlite_directory(url).map_err(WorkerError::Queue)?;
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| WorkerError::Queue(format!("{url}: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal);
                let pool = SqlitePool::connect_with(options)
                    .await
                    .map_err(|e| WorkerError::Queue(format!("{url}: {e}")))?;
                SqliteStorage::setup(&pool)
                    .await
                    .map_err(|e| WorkerError::Queue(format!("{url}: {e}")))?;
                let storage = SqliteStorage::new(&pool).with_config(
                    apalis_sqlite::Config::default()
                        .queue(&config.name)
                        .heartbeat_interval(config.heartbeat_interval)
                        .missed_heartbeats(config.missed_heartbeats),
                );
                Ok(JobQueue::Sqlite(storage))
            }
        }
    }

    /// Asks a worker to run an outbox row.
    pub async fn push(&self, outbox_id: Uuid) -> Result<(), WorkerError> {
        let job = OutboxJob { outbox_id };
        match self {
            JobQueue::Redis(storage) => storage
                .clone()
                .push(job)
                .await
                .map_err(|e| WorkerError::Queue(e.to_string())),
            JobQueue::Sqlite(storage) => storage
                .clone()
                .push(job)
                .await
                .map_err(|e| WorkerError::Queue(e.to_string())),
        }
    }

    /// Whether the queue answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), WorkerError> {
        match self {
            JobQueue::Redis(storage) => {
                let mut connection = storage.clone().get_connection().clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(|e| WorkerError::Queue(e.to_string()))
            }
            JobQueue::Sqlite(storage) => sqlx::query("SELECT 1")
                .execute(storage.pool())
                .await
                .map(|_| ())
                .map_err(|e| WorkerError::Queue(e.to_string())),
        }
    }
}
