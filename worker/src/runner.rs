//! Running jobs: the plain handler [`process`] (what a test calls directly), and the worker that
//! feeds it from the queue while the relay keeps the queue fed.

use std::sync::Arc;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BoxDynError, Data, Monitor, WorkerBuilder};
use chrono::Utc;
use entities::{offboarding, outbox as outbox_entity};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::WorkerConfig;
use crate::handlers::{self, JobContext};
use crate::jobs::{Job, OutboxJob};
use crate::mail::{Mailer, RemovalEmail, removal_message};
use crate::outbox::{self, AfterFailure};
use crate::queue::JobQueue;
use crate::{WorkerError, relay};

/// What a job handler needs.
#[derive(Clone)]
pub struct Dependencies {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    pub config: WorkerConfig,
}

/// What running an outbox row came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Finished before (delivered twice): nothing was done again.
    AlreadyFinished,
    Failed(AfterFailure),
    /// No such row (e.g. its workspace was deleted): nothing to do.
    Missing,
    /// Another delivery is running it right now (or its backoff is not over): left alone.
    NotClaimed,
}

/// Runs one outbox row. Database jobs apply their effect and mark the row SUCCEEDED in one
/// transaction; an email is sent with no transaction open, then the row is marked.
pub async fn process(deps: &Dependencies, outbox_id: Uuid) -> Result<Outcome, WorkerError> {
    let Some(row) = outbox_entity::Entity::find_by_id(outbox_id)
        .one(&deps.db)
        .await?
    else {
        return Ok(Outcome::Missing);
    };
    if outbox::is_finished(&row) {
        return Ok(Outcome::AlreadyFinished);
    }
    let job: Job = match serde_json::from_value(row.payload.clone()) {
        Ok(job) => job,
        Err(error) => return fail(deps, &row, &format!("unreadable payload: {error}")).await,
    };
    match job {
        Job::SendRemovalEmail {
            email,
            name,
            workspace_name,
            groups,
            reason,
            ..
        } => {
            let now = Utc::now();
            let until = now
                + chrono::Duration::from_std(deps.config.job_timeout)
                    .unwrap_or(chrono::Duration::MAX);
            if !outbox::claim(&deps.db, row.id, until, now).await? {
                return Ok(Outcome::NotClaimed);
            }
            let message = removal_message(
                deps.mailer.from(),
                &RemovalEmail {
                    job_id: row.id,
                    to_email: &email,
                    to_name: &name,
                    workspace_name: &workspace_name,
                    groups: &groups,
                    reason: reason.as_deref(),
                },
            );
            let sent = match message {
                Ok(message) => deps.mailer.send(row.id, message).await,
                Err(error) => Err(error),
            };
            match sent {
                Ok(()) => {
                    outbox::mark_succeeded(&deps.db, &row, Utc::now()).await?;
                    Ok(Outcome::Succeeded)
                }
                Err(error) => fail(deps, &row, &error.to_string()).await,
            }
        }
        job => {
            let txn = deps.db.begin().await?;
            let Some(row) = outbox::lock(&txn, outbox_id).await? else {
                return Ok(Outcome::Missing);
            };
            if outbox::is_finished(&row) {
                return Ok(Outcome::AlreadyFinished);
            }
            let applied = apply(&txn, &row, &job).await;
            match applied {
                Ok(()) => {
                    outbox::mark_succeeded(&txn, &row, Utc::now()).await?;
                    txn.commit().await?;
                    Ok(Outcome::Succeeded)
                }
                Err(error) => {
                    txn.rollback().await?;
                    fail(deps, &row, &error.to_string()).await
                }
            }
        }
    }
}

async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    row: &outbox_entity::Model,
    job: &Job,
) -> Result<(), WorkerError> {
    let offboarding = offboarding::Entity::find_by_id(row.offboarding_id)
        .one(txn)
        .await?
        .ok_or_else(|| WorkerError::Payload(serde::de::Error::custom("offboarding row missing")))?;
    let context = JobContext {
        offboarding: &offboarding,
        now: Utc::now(),
    };
    match job {
        Job::EndSessions {
            workspace_id,
            user_ids,
        } => handlers::end_sessions(txn, &context, *workspace_id, user_ids).await?,
        Job::RevokeApiKeys {
            workspace_id,
            user_ids,
            reason,
        } => handlers::revoke_api_keys(txn, &context, *workspace_id, user_ids, reason).await?,
        Job::ReattributeCampaigns {
            workspace_id,
            user_ids,
            to_user_id,
        } => {
            handlers::reattribute_campaigns(txn, &context, *workspace_id, user_ids, *to_user_id)
                .await?
        }
        Job::SendRemovalEmail { .. } => unreachable!("emails are sent outside a transaction"),
    }
    Ok(())
}

async fn fail(
    deps: &Dependencies,
    row: &outbox_entity::Model,
    error: &str,
) -> Result<Outcome, WorkerError> {
    let after =
        outbox::record_failure(&deps.db, row, error, &deps.config.retry, Utc::now()).await?;
    match after {
        AfterFailure::Dead => {
            tracing::error!(outbox_id = %row.id, kind = %row.kind, error, "job is DEAD after its last attempt")
        }
        AfterFailure::RetryAt(at) => {
            tracing::warn!(outbox_id = %row.id, kind = %row.kind, error, retry_at = %at, "job failed; will retry")
        }
    }
    Ok(Outcome::Failed(after))
}

/// The apalis handler. A job's own failure is recorded on its outbox row and the relay retries
/// it after the backoff, the same way on every queue backend; only an infrastructure error (the
/// database unreachable) is returned to apalis.
async fn run_queued_job(job: OutboxJob, deps: Data<Arc<Dependencies>>) -> Result<(), BoxDynError> {
    process(&deps, job.outbox_id).await?;
    Ok(())
}

/// A running worker: the apalis worker plus the relay, until [`WorkerHandle::stop`].
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops taking jobs, lets in-flight ones finish (up to the shutdown timeout), and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the worker and the relay in the background.
pub fn spawn(deps: Dependencies, queue: JobQueue) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(deps, queue, stopped));
    WorkerHandle { stop, task }
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Runs until `stopped` turns true.
pub async fn run(deps: Dependencies, queue: JobQueue, stopped: watch::Receiver<bool>) {
    let deps = Arc::new(deps);
    let relay = tokio::spawn(relay_loop(deps.clone(), queue.clone(), stopped.clone()));
    let name = format!(
        "offboarding-worker-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    );
    let config = &deps.config;
    // A queue outage (Redis restarting) ends a worker's stream with an error; start it again
    // rather than leave the process idle. The relay re-queues what was pending meanwhile.
    let monitor = Monitor::new()
        .shutdown_timeout(config.shutdown_timeout)
        .should_restart(|_, error| {
            tracing::warn!(%error, "worker stopped; restarting it");
            true
        });
    // The two storages are different types behind the same worker: one registration, written
    // once (apalis's backend bounds make a generic function longer than the worker itself).
    let (concurrency, timeout) = (config.concurrency, config.job_timeout);
    macro_rules! register {
        ($storage:expr) => {{
            let (storage, deps) = ($storage, deps.clone());
            monitor.register(move |_| {
                WorkerBuilder::new(name.clone())
                    .backend(storage.clone())
                    .concurrency(concurrency)
                    .timeout(timeout)
                    .data(deps.clone())
                    .build(run_queued_job)
            })
        }};
    }
    let monitor = match queue {
        JobQueue::Redis(storage) => register!(storage),
        JobQueue::Sqlite(storage) => register!(storage),
    };
    let signal = {
        let stopped = stopped.clone();
        async move {
            wait_for(stopped).await;
            Ok(())
        }
    };
    if let Err(error) = monitor.run_with_signal(signal).await {
        tracing::error!(%error, "worker stopped with an error");
    }
    let _ = relay.await;
}

async fn relay_loop(deps: Arc<Dependencies>, queue: JobQueue, stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(deps.config.relay_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(error) = relay::relay_once(&deps.db, &queue, &deps.config).await {
                    tracing::warn!(%error, "relay sweep failed; will try again");
                }
            }
            () = wait_for(stopped.clone()) => return,
        }
    }
}
