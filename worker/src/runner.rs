//! Running jobs: the plain handler [`process`] (what a test calls directly), and the worker that
//! feeds it from the queue while the relay keeps the queue fed.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, Strategy, WorkerBuilder};
use chrono::Utc;
use entities::{offboarding, outbox as outbox_entity};
use futures::{FutureExt, StreamExt};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::WorkerConfig;
use crate::handlers::{self, JobContext};
use crate::mail::{InvitationEmail, Mailer, RemovalEmail, invitation_message, removal_message};
use crate::queue::{Backoff, JobQueue, Storage};
use crate::{WorkerError, relay};
use platform::jobs::{Job, OutboxJob};
use platform::outbox::{self, AfterFailure, Retry};

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

/// Runs one outbox row. It is claimed and read in one statement, so a second delivery of the
/// same job leaves it alone. Database jobs apply their effect and mark the row SUCCEEDED in one
/// transaction; an email is sent with no transaction open, then the row is marked. The run is a
/// span carrying the mutation's request id, continuing the mutation's trace.
pub async fn process(deps: &Dependencies, outbox_id: Uuid) -> Result<Outcome, WorkerError> {
    let now = Utc::now();
    let until =
        now + chrono::Duration::from_std(deps.config.job_timeout).unwrap_or(chrono::Duration::MAX);
    let Some(row) = outbox::claim(&deps.db, outbox_id, until, now).await? else {
        let outcome = why_not_claimed(deps, outbox_id).await;
        tracing::debug!(%outbox_id, ?outcome, "job not run");
        return outcome;
    };
    // Read outside the job's transaction: nothing a job reads of it ever changes.
    let offboarding = offboarding::Entity::find_by_id(row.offboarding_id)
        .one(&deps.db)
        .await?;
    let request_id = offboarding
        .as_ref()
        .and_then(|offboarding| offboarding.request_id.clone());
    let span = tracing::info_span!(
        "job",
        otel.name = format!("job {}", row.kind),
        otel.kind = "consumer",
        kind = %row.kind,
        outbox_id = %row.id,
        offboarding_id = %row.offboarding_id,
        request_id = request_id.as_deref(),
        attempt = row.attempts,
    );
    platform::trace::continue_trace(
        &span,
        offboarding
            .as_ref()
            .and_then(|offboarding| offboarding.trace_parent.as_deref()),
    );
    async {
        let started = std::time::Instant::now();
        let outcome = run_claimed(deps, &row, offboarding.as_ref()).await;
        let seconds = started.elapsed().as_secs_f64();
        let label = match &outcome {
            Ok(Outcome::Succeeded) => "succeeded",
            Ok(Outcome::Failed(AfterFailure::RetryAt(_))) => "failed",
            Ok(Outcome::Failed(AfterFailure::Dead)) => "dead",
            Ok(Outcome::AlreadyFinished) => "already_finished",
            Ok(Outcome::Missing) => "missing",
            Ok(Outcome::NotClaimed) => "not_claimed",
            Err(_) => "error",
        };
        metrics::counter!("jobs_total", "kind" => row.kind.clone(), "outcome" => label)
            .increment(1);
        metrics::histogram!("job_duration_seconds", "kind" => row.kind.clone()).record(seconds);
        // One line per run: what an operator follows a job by.
        tracing::info!(
            kind = %row.kind,
            outbox_id = %row.id,
            offboarding_id = %row.offboarding_id,
            request_id = request_id.as_deref(),
            attempt = row.attempts,
            outcome = label,
            duration_ms = seconds * 1_000.0,
            "job"
        );
        outcome
    }
    .instrument(span)
    .await
}

/// [`process`] once the row is claimed.
async fn run_claimed(
    deps: &Dependencies,
    row: &outbox_entity::Model,
    offboarding: Option<&offboarding::Model>,
) -> Result<Outcome, WorkerError> {
    let outbox_id = row.id;
    if row.attempts > deps.config.retry.max_attempts {
        // Every earlier run was killed or timed out before it could record anything.
        return fail(deps, row, &WorkerError::GaveUp(row.attempts - 1)).await;
    }
    let job: Job = match serde_json::from_value(row.payload.clone()) {
        Ok(job) => job,
        Err(error) => return fail(deps, row, &WorkerError::Payload(error)).await,
    };
    let done = match job {
        Job::SendRemovalEmail {
            email,
            name,
            workspace_name,
            groups,
            reason,
            ..
        } => {
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
            match message {
                Ok(message) => deps.mailer.send(row.id, message).await,
                Err(error) => Err(error),
            }
            .map(|()| None)
        }
        Job::SendInvitationEmail {
            invitation_id,
            token_hash,
            ..
        } => send_invitation_email(deps, row.id, invitation_id, &token_hash)
            .await
            .map(|()| None),
        // A transaction the database aborted for a conflict (a deadlock) is run again at
        // once rather than spending one of the job's attempts.
        job => {
            platform::db::retrying(job.kind(), WorkerError::is_transient_conflict, || {
                apply_in_transaction(&deps.db, outbox_id, offboarding, &job)
            })
            .await
        }
    };
    match done {
        Ok(None) => {
            outbox::mark_succeeded(&deps.db, row, Utc::now()).await?;
            Ok(Outcome::Succeeded)
        }
        Ok(Some(outcome)) => Ok(outcome),
        Err(error) => fail(deps, row, &error).await,
    }
}

/// Makes the invitation's email link and sends it; sends nothing for an invitation that no
/// longer waits on the job's link.
async fn send_invitation_email(
    deps: &Dependencies,
    job_id: Uuid,
    invitation_id: Uuid,
    token_hash: &str,
) -> Result<(), WorkerError> {
    let link =
        handlers::make_invitation_link(&deps.db, invitation_id, token_hash, Utc::now()).await?;
    let Some(invitation) = link else {
        tracing::info!(%invitation_id, "invitation resent, revoked, accepted or expired since: no email");
        return Ok(());
    };
    let message = invitation_message(
        deps.mailer.from(),
        &InvitationEmail {
            job_id,
            invitation: &invitation,
            public_url: &deps.config.public_url,
        },
    )?;
    deps.mailer.send(job_id, message).await
}

/// Why a row could not be claimed: the rare path, so it costs a second read.
async fn why_not_claimed(deps: &Dependencies, outbox_id: Uuid) -> Result<Outcome, WorkerError> {
    Ok(
        match outbox_entity::Entity::find_by_id(outbox_id)
            .one(&deps.db)
            .await?
        {
            None => Outcome::Missing,
            Some(row) if outbox::is_finished(&row) => Outcome::AlreadyFinished,
            Some(_) => Outcome::NotClaimed,
        },
    )
}

/// Applies a database job and marks its row SUCCEEDED in one transaction, with the row locked
/// (on PostgreSQL) so that a delivery that outlived its claim can't apply it twice. `Some`: the
/// row turned out to be finished or gone, and nothing was done.
async fn apply_in_transaction(
    db: &DatabaseConnection,
    outbox_id: Uuid,
    offboarding: Option<&offboarding::Model>,
    job: &Job,
) -> Result<Option<Outcome>, WorkerError> {
    let txn = db.begin().await?;
    let Some(row) = outbox::lock(&txn, outbox_id).await? else {
        return Ok(Some(Outcome::Missing));
    };
    if outbox::is_finished(&row) {
        return Ok(Some(Outcome::AlreadyFinished));
    }
    apply(&txn, offboarding, job).await?;
    outbox::mark_succeeded(&txn, &row, Utc::now()).await?;
    txn.commit().await?;
    Ok(Some(Outcome::Succeeded))
}

async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    offboarding: Option<&offboarding::Model>,
    job: &Job,
) -> Result<(), WorkerError> {
    let offboarding = offboarding
        .ok_or_else(|| WorkerError::Payload(serde::de::Error::custom("offboarding row missing")))?;
    let context = JobContext {
        offboarding,
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
        Job::SendRemovalEmail { .. } | Job::SendInvitationEmail { .. } => {
            unreachable!("emails are sent outside a transaction")
        }
    }
    Ok(())
}

async fn fail(
    deps: &Dependencies,
    row: &outbox_entity::Model,
    error: &WorkerError,
) -> Result<Outcome, WorkerError> {
    let retry = if error.can_never_succeed() {
        Retry::Never
    } else {
        Retry::By(&deps.config.retry)
    };
    let message = error.to_string();
    let after = outbox::record_failure(&deps.db, row, &message, retry, Utc::now()).await?;
    match after {
        AfterFailure::Dead => {
            tracing::error!(outbox_id = %row.id, kind = %row.kind, error = message, "job is DEAD")
        }
        AfterFailure::RetryAt(at) => {
            tracing::warn!(outbox_id = %row.id, kind = %row.kind, error = message, retry_at = %at, "job failed; will retry")
        }
    }
    Ok(Outcome::Failed(after))
}

/// The apalis handler. A job's own failure is recorded on its outbox row and the relay retries
/// it after the backoff, the same way on every queue backend; only an infrastructure error (the
/// database unreachable) is returned to apalis. A panic is caught and counted as a failed
/// attempt with its message, and so is a run that outlives the job timeout, so neither can
/// bring the worker down or come back forever.
async fn run_queued_job(job: OutboxJob, running: Data<Arc<Running>>) -> Result<(), BoxDynError> {
    let deps = &running.deps;
    running.started(job.outbox_id);
    let run = tokio::time::timeout(
        deps.config.job_timeout,
        catch_panic(process(deps, job.outbox_id)),
    );
    let recorded = match run.await {
        Ok(Ok(outcome)) => outcome.map(|_| ()),
        Ok(Err(message)) => {
            record_unfinished(deps, job.outbox_id, WorkerError::Panicked(message)).await
        }
        Err(_) => {
            let error = WorkerError::TimedOut(deps.config.job_timeout);
            record_unfinished(deps, job.outbox_id, error).await
        }
    };
    // Only a run cut off by shutdown (this future dropped) never gets here.
    running.finished(job.outbox_id);
    Ok(recorded?)
}

/// The worker's state shared with every job it runs.
struct Running {
    deps: Arc<Dependencies>,
    /// The outbox rows being run. A run cut off by shutdown never reaches `finished`: its row
    /// is still here when the worker stops, and is handed back.
    in_flight: Mutex<HashSet<Uuid>>,
}

impl Running {
    fn started(&self, outbox_id: Uuid) {
        self.in_flight().insert(outbox_id);
    }

    fn finished(&self, outbox_id: Uuid) {
        self.in_flight().remove(&outbox_id);
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Releases the claims of the runs that shutdown cut off, so that another worker takes
    /// their rows at once instead of after the claim expires.
    async fn hand_back_unfinished(&self) {
        let ids: Vec<Uuid> = self.in_flight().drain().collect();
        if ids.is_empty() {
            return;
        }
        match outbox::hand_back(&self.deps.db, &ids, Utc::now()).await {
            Ok(handed) => tracing::info!(handed, "handed unfinished jobs back to the queue"),
            Err(error) => {
                tracing::warn!(%error, "could not hand unfinished jobs back; their claims expire instead")
            }
        }
    }
}

/// Runs a future, turning a panic inside it into its message.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
}

/// Records the outcome of a run that ended without one (a panic, a timeout) as a failed
/// attempt, unless the row finished meanwhile.
async fn record_unfinished(
    deps: &Dependencies,
    outbox_id: Uuid,
    error: WorkerError,
) -> Result<(), WorkerError> {
    if let Some(row) = outbox_entity::Entity::find_by_id(outbox_id)
        .one(&deps.db)
        .await?
        && !outbox::is_finished(&row)
    {
        fail(deps, &row, &error).await?;
    }
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
    let running = Arc::new(Running {
        deps: deps.clone(),
        in_flight: Default::default(),
    });
    let relay = tokio::spawn(relay_loop(deps.clone(), queue.clone(), stopped.clone()));
    let listener = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.listen_for_pushes().await })
    };
    let name = format!(
        "offboarding-worker-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    );
    let config = &deps.config;
    // A queue outage (Redis restarting) ends a worker's stream with an error; start it again,
    // after a pause that grows while the failures go on, rather than leave the process idle or
    // restart it in a hot loop. The relay re-queues what was pending meanwhile.
    let monitor = Monitor::new()
        .shutdown_timeout(config.shutdown_timeout)
        .should_restart(|_, error| {
            tracing::warn!(%error, "worker stopped; restarting it");
            true
        });
    let restarts = Arc::new(Mutex::new(Restarts::default()));
    // The two storages are different types behind the same worker: one registration, written
    // once (apalis's backend bounds make a generic function longer than the worker itself).
    // apalis's own timeout is only a backstop: the handler times the job out itself first, so
    // that the attempt is recorded.
    let (concurrency, timeout) = (
        config.concurrency,
        config.job_timeout + APALIS_TIMEOUT_MARGIN,
    );
    macro_rules! register {
        ($storage:expr) => {{
            let (storage, running, queue) = ($storage, running.clone(), queue.clone());
            monitor.register(move |_| {
                let pause = restarts
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .pause_before_start();
                // Woken by every push (here or, through Redis, elsewhere), with a slow poll in
                // case a wake-up is missed; apalis alone would fetch only on its heartbeat.
                let wake = Strategy::new()
                    .stream(queue.wakeups().subscribe())
                    .interval(FALLBACK_POLL);
                let backend =
                    storage
                        .clone()
                        .poll_with_strategy(wake)
                        .before_start(move |_| async move {
                            tokio::time::sleep(pause).await;
                            Ok(())
                        });
                WorkerBuilder::new(name.clone())
                    .backend(backend)
                    .concurrency(concurrency)
                    .timeout(timeout)
                    .data(running.clone())
                    .build(run_queued_job)
            })
        }};
    }
    let monitor = match queue.storage().clone() {
        Storage::Redis { storage, .. } => register!(*storage),
        Storage::Sqlite(storage) => register!(storage),
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
    running.hand_back_unfinished().await;
    listener.abort();
    let _ = relay.await;
}

/// How much longer than the job timeout apalis lets a handler run.
const APALIS_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);
/// How often an idle worker looks at the queue even without a wake-up.
const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// How soon the relay comes back while rows wait for room in the queue.
const RELAY_BUSY_PAUSE: Duration = Duration::from_millis(50);

/// The pause before each start of the apalis worker: none the first time; after a failure,
/// [`Backoff`]'s growing pause, which starts small again once the worker has run for a while.
#[derive(Default)]
struct Restarts {
    backoff: Backoff,
    last_start: Option<Instant>,
}

impl Restarts {
    fn pause_before_start(&mut self) -> Duration {
        let now = Instant::now();
        let pause = match self.last_start {
            None => Duration::ZERO,
            Some(last) => {
                if now.duration_since(last) > Backoff::MAX * 6 {
                    self.backoff.reset();
                }
                self.backoff.next_delay()
            }
        };
        self.last_start = Some(now + pause);
        pause
    }
}

async fn relay_loop(deps: Arc<Dependencies>, queue: JobQueue, stopped: watch::Receiver<bool>) {
    let mut wakeups = queue.wakeups().subscribe();
    let mut failures = Backoff::default();
    loop {
        let relayed = relay::relay_once(&deps.db, &queue, &deps.config).await;
        // The sweep's own push woke this loop too: that is no news.
        while wakeups.try_recv().is_ok() {}
        let pause = match relayed {
            Ok(relayed) => {
                failures.reset();
                if relayed.more_due {
                    RELAY_BUSY_PAUSE
                } else {
                    deps.config.relay_interval
                }
            }
            Err(error) => {
                tracing::warn!(%error, "relay sweep failed; will try again");
                failures
                    .next_delay()
                    .min(deps.config.relay_interval.max(Backoff::FIRST))
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = wakeups.next() => {
                while wakeups.try_recv().is_ok() {}
            }
            () = wait_for(stopped.clone()) => return,
        }
    }
}

/// SIGTERM or Ctrl-C: how the API and the worker processes are asked to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_inside_a_job_comes_back_as_its_message() {
        let id = Uuid::nil();
        let panicked = catch_panic(async move {
            if id.is_nil() {
                panic!("a Display implementation returned an error unexpectedly");
            }
        })
        .await;
        assert_eq!(
            panicked.unwrap_err(),
            "a Display implementation returned an error unexpectedly"
        );
        let formatted = catch_panic(async move { panic!("job {id} failed") }).await;
        assert_eq!(formatted.unwrap_err(), format!("job {id} failed"));
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
    }

    #[test]
    fn the_first_start_is_immediate_and_restarts_back_off() {
        let mut restarts = Restarts::default();
        assert_eq!(restarts.pause_before_start(), Duration::ZERO);
        assert_eq!(restarts.pause_before_start(), Backoff::FIRST);
        assert_eq!(restarts.pause_before_start(), Backoff::FIRST * 2);
    }
}
