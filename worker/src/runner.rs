//! Running one job: [`process`] claims its outbox row, carries it out and records how it ended.
//! A plain function of the row's id and the dependencies, so a test calls it directly;
//! `service` feeds it from the queue.

use chrono::Utc;
use entities::{offboarding, outbox as outbox_entity};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, TransactionTrait};
use tracing::Instrument;
use uuid::Uuid;

use crate::WorkerError;
use crate::mail::Mailer;
use crate::settings::WorkerSettings;
use platform::outbox::{self, AfterFailure, Retry};
use rules::jobs::{Job, JobError, Run, Runs};

/// What a job handler needs.
#[derive(Clone)]
pub struct Dependencies {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    pub config: WorkerSettings,
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
    // Read outside the job's transaction: nothing a job reads of it ever changes. A row this
    // release can't read (written by an older one still running) never will be: the job is
    // DEAD, named as such, instead of claimed again and again.
    let offboarding = match offboarding::Entity::find_by_id(row.offboarding_id)
        .one(&deps.db)
        .await
    {
        Ok(offboarding) => offboarding,
        Err(error @ (DbErr::Type(_) | DbErr::TryIntoErr { .. })) => {
            let unreadable = JobError::Payload(format!("its offboarding row: {error}"));
            return fail(deps, &row, &unreadable.into()).await;
        }
        Err(error) => return Err(error.into()),
    };
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
    if row.attempts > deps.config.retry.max_attempts {
        // Every earlier run was killed or timed out before it could record anything.
        return fail(deps, row, &WorkerError::GaveUp(row.attempts - 1)).await;
    }
    let job: Job = match serde_json::from_value(row.payload.clone()) {
        Ok(job) => job,
        Err(error) => return fail(deps, row, &WorkerError::Payload(error)).await,
    };
    let Some(offboarding) = offboarding else {
        let missing = JobError::Payload("its offboarding row is missing".into());
        return fail(deps, row, &missing.into()).await;
    };
    let done = match job.kind().options().runs {
        // A transaction the database aborted for a conflict (a deadlock) is run again at
        // once rather than spending one of the job's attempts.
        Runs::InTransaction => {
            platform::db::retrying(
                job.kind().as_str(),
                WorkerError::is_transient_conflict,
                || perform_in_transaction(deps, row.id, offboarding, &job),
            )
            .await
        }
        Runs::Alone => {
            let run = run(deps, row.id, offboarding, &deps.db);
            job.perform(&run).await.map(|()| None).map_err(Into::into)
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

/// Performs a database job and marks its row SUCCEEDED in one transaction, with the row locked
/// (on PostgreSQL) so that a delivery that outlived its claim can't apply it twice. `Some`: the
/// row turned out to be finished or gone, and nothing was done.
async fn perform_in_transaction(
    deps: &Dependencies,
    outbox_id: Uuid,
    offboarding: &offboarding::Model,
    job: &Job,
) -> Result<Option<Outcome>, WorkerError> {
    let txn = deps.db.begin().await?;
    let Some(row) = outbox::lock(&txn, outbox_id).await? else {
        return Ok(Some(Outcome::Missing));
    };
    if outbox::is_finished(&row) {
        return Ok(Some(Outcome::AlreadyFinished));
    }
    job.perform(&run(deps, outbox_id, offboarding, &txn))
        .await?;
    outbox::mark_succeeded(&txn, &row, Utc::now()).await?;
    txn.commit().await?;
    Ok(Some(Outcome::Succeeded))
}

/// What the job `job_id` runs with, on `db`: the pool, or its transaction.
fn run<'a, C>(
    deps: &'a Dependencies,
    job_id: Uuid,
    offboarding: &'a offboarding::Model,
    db: &'a C,
) -> Run<'a, C, Mailer> {
    Run {
        db,
        job_id,
        offboarding,
        mail: &deps.mailer,
        public_url: &deps.config.public_url,
        now: Utc::now(),
    }
}

pub(crate) async fn fail(
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
