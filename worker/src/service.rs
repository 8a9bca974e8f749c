//! The running worker: it feeds [`process`] from the queue, with at most its concurrency of
//! jobs at once, keeps the relay going, restarts either after a failure, and stops gracefully.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, Strategy, WorkerBuilder};
use chrono::Utc;
use entities::outbox as outbox_entity;
use futures::{FutureExt, StreamExt};
use sea_orm::EntityTrait;
use tokio::sync::watch;
use uuid::Uuid;

use crate::queue::OutboxJob;
use crate::queue::{Backoff, JobQueue, Storage};
use crate::runner::{Dependencies, fail, process};
use crate::{WorkerError, relay};
use platform::outbox::{self};

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
