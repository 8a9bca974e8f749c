//! The job queue: Redis in production, an SQLite file in the embedded default. It carries only
//! outbox ids; see `relay` for how nothing is lost when it fails.
//!
//! Two things about how apalis is driven here (docs/DECISIONS.md, "The job pipeline"):
//! - apalis-redis 1.0 puts every pushed task in its scheduled set, and its fetch script promotes
//!   all due ids with one Lua `unpack`, which fails above ~8,000 ids. So the queue is never
//!   handed more than [`WINDOW`] waiting jobs: the outbox holds the rest as PENDING and the
//!   relay feeds them in as the queue drains.
//! - An idle apalis worker fetches only when its heartbeat fires. Every push therefore wakes
//!   the workers: in this process directly, in other processes through a Redis channel.

use std::sync::{Arc, Mutex};

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::RedisStorage;
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use secrecy::ExposeSecret;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::str::FromStr;
use uuid::Uuid;

use crate::WorkerError;
use crate::settings::{QueueBackend, QueueSettings};

/// The queue message: which outbox row to run. Everything else is read from the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxJob {
    pub outbox_id: Uuid,
}

/// The most jobs waiting in the queue at once. Well under apalis-redis's ~8,000 limit even when
/// several processes hand over a chunk at the same moment, and a few seconds of work for a
/// worker, so the outbox (not the queue) holds a large removal's backlog.
pub const WINDOW: u64 = 2_000;
/// Ids per push: one Lua call (Redis) or one statement (SQLite) each.
pub const PUSH_CHUNK: usize = 500;

#[derive(Clone)]
pub struct JobQueue {
    storage: Storage,
    name: String,
    wakeups: Wakeups,
}

#[derive(Clone)]
pub enum Storage {
    Redis {
        /// Boxed: it is twice the size of the SQLite storage.
        storage: Box<RedisStorage<OutboxJob>>,
        client: redis::Client,
    },
    Sqlite(SqliteStorage<OutboxJob>),
}

impl JobQueue {
    pub async fn connect(config: &QueueSettings) -> Result<JobQueue, WorkerError> {
        let storage = match &config.backend {
            QueueBackend::Redis(url) => {
                let client = redis::Client::open(url.expose_secret())
                    .map_err(|e| WorkerError::queue("connecting to redis (REDIS_URL)", e))?;
                let connection = client
                    .get_connection_manager()
                    .await
                    .map_err(|e| WorkerError::queue("connecting to redis (REDIS_URL)", e))?;
                let storage = RedisStorage::new(connection).with_config(
                    apalis_redis::Config::default()
                        .queue(&config.name)
                        .batch_size(config.fetch_batch)
                        .heartbeat_interval(config.heartbeat_interval)
                        .missed_heartbeats(config.missed_heartbeats),
                );
                Storage::Redis {
                    storage: Box::new(storage),
                    client,
                }
            }
            QueueBackend::Sqlite(url) => {
                platform::db::ensure_sqlite_directory(url)
                    .map_err(|e| WorkerError::queue(format!("opening {url}"), e))?;
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| WorkerError::queue(format!("opening {url}"), e))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal);
                let pool = SqlitePool::connect_with(options)
                    .await
                    .map_err(|e| WorkerError::queue(format!("opening {url}"), e))?;
                let lock = platform::db::lock_sqlite_migrations(url)
                    .await
                    .map_err(|e| WorkerError::queue(format!("locking {url}'s migrations"), e))?;
                SqliteStorage::setup(&pool)
                    .await
                    .map_err(|e| WorkerError::queue(format!("opening {url}"), e))?;
                drop(lock);
                Storage::Sqlite(
                    SqliteStorage::new(&pool).with_config(
                        apalis_sqlite::Config::default()
                            .queue(&config.name)
                            .batch_size(config.fetch_batch)
                            .heartbeat_interval(config.heartbeat_interval)
                            .missed_heartbeats(config.missed_heartbeats),
                    ),
                )
            }
        };
        Ok(JobQueue {
            storage,
            name: config.name.clone(),
            wakeups: Wakeups::default(),
        })
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The wake-ups of this process: every push, here or (Redis) in another process.
    pub fn wakeups(&self) -> &Wakeups {
        &self.wakeups
    }

    /// Asks a worker to run these outbox rows, in a few round trips whatever their number, and
    /// wakes the workers.
    pub async fn push(&self, outbox_ids: &[Uuid]) -> Result<(), WorkerError> {
        if outbox_ids.is_empty() {
            return Ok(());
        }
        match &self.storage {
            Storage::Redis { storage, .. } => {
                let mut storage = storage.as_ref().clone();
                let config = storage.get_config().clone();
                for chunk in outbox_ids.chunks(PUSH_CHUNK) {
                    let tasks = chunk
                        .iter()
                        .map(|&outbox_id| {
                            serde_json::to_vec(&OutboxJob { outbox_id })
                                .map(|bytes| TaskBuilder::new(bytes).build())
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    apalis_redis::queries::push_tasks(storage.get_connection(), &config, &tasks)
                        .await
                        .map_err(|e| WorkerError::queue("pushing jobs", e))?;
                }
                redis::cmd("PUBLISH")
                    .arg(self.wake_channel())
                    .arg(1)
                    .query_async::<i64>(storage.get_connection())
                    .await
                    .map_err(|e| WorkerError::queue("pushing jobs", e))?;
            }
            Storage::Sqlite(storage) => {
                let mut storage = storage.clone();
                for chunk in outbox_ids.chunks(PUSH_CHUNK) {
                    let jobs = chunk
                        .iter()
                        .map(|&outbox_id| OutboxJob { outbox_id })
                        .collect();
                    storage
                        .push_bulk(jobs)
                        .await
                        .map_err(|e| WorkerError::queue("pushing jobs", e))?;
                }
            }
        }
        self.wakeups.wake();
        Ok(())
    }

    /// How many jobs wait in the queue, not yet taken by a worker.
    pub async fn waiting(&self) -> Result<u64, WorkerError> {
        match &self.storage {
            Storage::Redis { storage, .. } => {
                let mut storage = storage.as_ref().clone();
                let config = storage.get_config().clone();
                let (scheduled, active): (u64, u64) = redis::pipe()
                    .cmd("ZCARD")
                    .arg(config.scheduled_jobs_set())
                    .cmd("LLEN")
                    .arg(config.active_jobs_list())
                    .query_async(storage.get_connection())
                    .await
                    .map_err(|e| WorkerError::queue("counting waiting jobs", e))?;
                Ok(scheduled + active)
            }
            Storage::Sqlite(storage) => {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM Jobs WHERE job_type = ? AND status = 'Pending'",
                )
                .bind(&self.name)
                .fetch_one(storage.pool())
                .await
                .map_err(|e| WorkerError::queue("counting waiting jobs", e))?;
                Ok(waiting.max(0) as u64)
            }
        }
    }

    /// Whether the queue answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), WorkerError> {
        match &self.storage {
            Storage::Redis { storage, .. } => {
                let mut connection = storage.as_ref().clone().get_connection().clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(|e| WorkerError::queue("pinging", e))
            }
            Storage::Sqlite(storage) => sqlx::query("SELECT 1")
                .execute(storage.pool())
                .await
                .map(|_| ())
                .map_err(|e| WorkerError::queue("pinging", e)),
        }
    }

    fn wake_channel(&self) -> String {
        format!("offboarding:{}:wake", self.name)
    }

    /// Relays the pushes of other processes (Redis) to this process's wake-ups, until the
    /// process ends. A lost subscription is made again after a short pause; the worker's
    /// fallback poll covers the gap.
    pub async fn listen_for_pushes(&self) {
        let Storage::Redis { client, .. } = &self.storage else {
            return;
        };
        let mut pause = Backoff::default();
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(self.wake_channel()).await {
                    Ok(()) => {
                        pause.reset();
                        // Anything pushed while the subscription was down is fetched now.
                        self.wakeups.wake();
                        let mut messages = pubsub.on_message();
                        while messages.next().await.is_some() {
                            self.wakeups.wake();
                        }
                        tracing::warn!("lost the queue's wake-up channel; subscribing again");
                    }
                    Err(error) => tracing::warn!(%error, "cannot subscribe to wake-ups"),
                },
                Err(error) => tracing::warn!(%error, "cannot subscribe to wake-ups"),
            }
            tokio::time::sleep(pause.next_delay()).await;
        }
    }
}

/// Wakes whoever waits for work in this process: each worker registration and the relay get
/// their own stream. Wake-ups are hints; nothing is lost if one is missed.
#[derive(Clone, Default)]
pub struct Wakeups(Arc<Mutex<Vec<UnboundedSender<()>>>>);

impl Wakeups {
    pub fn subscribe(&self) -> UnboundedReceiver<()> {
        let (sender, receiver) = unbounded();
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(sender);
        receiver
    }

    pub fn wake(&self) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|sender| sender.unbounded_send(()).is_ok());
    }
}

/// Pauses between attempts at something that keeps failing (a queue that is down): 100 ms,
/// doubling to 5 s, so a failure never turns into a hot loop and recovery is quick once the
/// fault ends.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: std::time::Duration,
}

impl Backoff {
    pub const FIRST: std::time::Duration = std::time::Duration::from_millis(100);
    pub const MAX: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_100_ms_to_5_s_and_starts_again_after_a_reset() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..9).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays[0], Duration::from_millis(100));
        assert_eq!(delays[1], Duration::from_millis(200));
        assert_eq!(delays[5], Duration::from_millis(3_200));
        assert_eq!(delays[6], Duration::from_secs(5));
        assert_eq!(delays[8], Duration::from_secs(5));
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn every_subscriber_is_woken_and_closed_ones_are_dropped() {
        let wakeups = Wakeups::default();
        let mut first = wakeups.subscribe();
        let second = wakeups.subscribe();
        drop(second);
        wakeups.wake();
        assert_eq!(first.try_recv().ok(), Some(()));
        assert_eq!(wakeups.0.lock().unwrap().len(), 1);
    }
}
