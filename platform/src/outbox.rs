//! The outbox: one row per side effect, written in the transaction of the change that needs it,
//! and the bookkeeping of each row's life (PENDING → QUEUED → SUCCEEDED, or FAILED → … → DEAD).
//!
//! Every state a row goes through is also written to `job_event`, in the transaction that
//! changes the row: the history `offboardingProgress` follows, whichever process ran the job.
//! Every write of a row's status or attempts is in this module, and each records its events
//! ([`update_recorded`]); nothing else writes either table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::{OutboxStatus, job_event, outbox};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, PostgresQueryBuilder};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement, TransactionSession,
    TransactionTrait, UpdateMany, Value,
};
use uuid::Uuid;

use crate::db::Writes;

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters (11 columns a row).
const INSERT_CHUNK: usize = 1_000;

/// Exponential backoff: attempt n waits `base × 2^(n-1)`, at most `max_delay`; after
/// `max_attempts` failures the job is DEAD.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn delay_after(&self, attempts: i32) -> Duration {
        let exponent = attempts.clamp(1, 31) as u32 - 1;
        self.base_delay
            .checked_mul(2u32.saturating_pow(exponent))
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// What is kept of a failure's message.
const MAX_ERROR_LENGTH: usize = 2_000;

/// A job as the outbox keeps it: its kind's name and its payload. The kinds are the rules'
/// (`rules::jobs`); the outbox only carries them.
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

/// One PENDING row per job, in one INSERT per 1,000 jobs, sent with the other writes of the
/// caller's batch; returns the rows' ids.
pub fn add_jobs(
    writes: &mut Writes,
    offboarding_id: Uuid,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(jobs.len());
    let mut events = Vec::with_capacity(jobs.len());
    let rows: Vec<outbox::ActiveModel> = jobs
        .into_iter()
        .map(|job| {
            let id = Uuid::now_v7();
            ids.push(id);
            events.push(job_event::ActiveModel {
                outbox_id: Set(id),
                offboarding_id: Set(offboarding_id),
                status: Set(OutboxStatus::Pending),
                attempts: Set(0),
                last_error: Set(None),
                created_at: Set(now),
                ..Default::default()
            });
            outbox::ActiveModel {
                id: Set(id),
                offboarding_id: Set(offboarding_id),
                kind: Set(job.kind.to_owned()),
                payload: Set(job.payload),
                status: Set(OutboxStatus::Pending),
                attempts: Set(0),
                last_error: Set(None),
                available_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
                completed_at: Set(None),
            }
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        writes.push(&outbox::Entity::insert_many(chunk.to_vec()));
    }
    // Each row's first event, sent with the rows (the batch can't read rows it inserts).
    for chunk in events.chunks(INSERT_CHUNK) {
        writes.push(&job_event::Entity::insert_many(chunk.to_vec()));
    }
    ids
}

/// An UPDATE of outbox rows, carried out with the job events it makes so that no row changes
/// state without its event, even if the process dies: on PostgreSQL in one statement (the
/// UPDATE in a data-modifying `WITH`, one round trip as before), on SQLite in one transaction
/// (a savepoint inside the caller's), in process.
async fn update_recorded<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    update: UpdateMany<outbox::Entity>,
    events: Events,
) -> Result<Vec<outbox::Model>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let (sql, values) = update
            .into_query()
            .returning_all()
            .build(PostgresQueryBuilder);
        let sql = format!(
            "WITH changed AS ({sql}), recorded AS ({}) SELECT * FROM changed",
            events.of("changed")
        );
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values.0);
        return outbox::Model::find_by_statement(statement).all(db).await;
    }
    let txn = db.begin().await?;
    let rows = update.exec_with_returning(&txn).await?;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let changed = format!("(SELECT * FROM outbox WHERE id IN ({placeholders}))");
        let ids = chunk.iter().map(|row| Value::from(row.id));
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            events.of(&changed),
            ids,
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(rows)
}

/// Which rows of an UPDATE get an event: the trigger recorded a row when its status or attempts
/// changed, OLD against NEW.
#[derive(Debug, Clone, Copy)]
enum Events {
    /// The UPDATE changes the status or the attempts of every row it matches (a claim counts an
    /// attempt; a row marked SUCCEEDED was not): each gets an event, with nothing to look up.
    EveryRow,
    /// It may leave both as they were (a backoff moved, an error replaced, a lost row queued
    /// again): a row gets an event when they differ from its latest one, one step down
    /// `ix_job_event_outbox`. On PostgreSQL that event is read as of the statement's start: two
    /// such changes of one row at once (which a claim rules out for a running job) can both
    /// record the same state, which the progress follower takes as one.
    IfChanged,
}

impl Events {
    /// The INSERT of the `job_event`s of the outbox rows of `changed` (a name or a subquery),
    /// each dated by its row's `updated_at`.
    fn of(self, changed: &str) -> String {
        let insert = format!(
            "INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at) \
             SELECT c.id, c.offboarding_id, c.status, c.attempts, c.last_error, c.updated_at \
             FROM {changed} c"
        );
        match self {
            Events::EveryRow => format!("{insert} ORDER BY c.id"),
            Events::IfChanged => format!(
                "{insert} WHERE NOT EXISTS (\
                   SELECT 1 FROM (SELECT l.status, l.attempts FROM job_event l \
                     WHERE l.outbox_id = c.id ORDER BY l.id DESC LIMIT 1) latest \
                   WHERE latest.status = c.status AND latest.attempts = c.attempts) \
                 ORDER BY c.id"
            ),
        }
    }
}

fn unfinished() -> Condition {
    Condition::all()
        .add(outbox::Column::Status.is_not_in([OutboxStatus::Succeeded, OutboxStatus::Dead]))
}

/// Marks rows as handed to the queue. Done before the push, so that a worker finishing the job
/// at once can't be overwritten; a row whose push then fails goes back to PENDING.
pub async fn mark_queued<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    // A row queued already (the relay took it first) is queued and fresh: left as it is.
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Queued))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(unfinished())
        .filter(outbox::Column::Status.ne(OutboxStatus::Queued));
    update_recorded(db, update, Events::EveryRow).await?;
    Ok(())
}

/// Gives rows whose run was cut off (the worker stopping) back to the relay: PENDING and due
/// now, their claim released. Only rows still claimed are touched, so a row another worker
/// claimed since, or that finished, is left alone. The cut-off run still counts as an attempt.
pub async fn hand_back<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Pending))
        .col_expr(outbox::Column::AvailableAt, Expr::value(now))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox::Column::AvailableAt.gt(now))
        .filter(unfinished());
    Ok(update_recorded(db, update, Events::IfChanged).await?.len() as u64)
}

pub async fn mark_pending<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Pending))
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox::Column::Status.eq(OutboxStatus::Queued));
    update_recorded(db, update, Events::EveryRow).await?;
    Ok(())
}

/// Takes the rows the relay should push, at most `limit`, and marks them QUEUED in the same
/// statement, so that relays in several processes never take the same row: pending ones,
/// failed ones whose backoff is over, and (with `lost_queued`) queued ones that have waited
/// longer than `requeue_after` outside any run's claim (their queue entry may have been lost).
pub async fn take_due<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
    requeue_after: Duration,
    lost_queued: bool,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let stale = now - chrono::Duration::from_std(requeue_after).unwrap_or(chrono::Duration::MAX);
    let mut due = Condition::any()
        .add(outbox::Column::Status.eq(OutboxStatus::Pending))
        .add(
            Condition::all()
                .add(outbox::Column::Status.eq(OutboxStatus::Failed))
                .add(outbox::Column::AvailableAt.lte(now)),
        );
    if lost_queued {
        due = due.add(
            // A queued row under a run's claim is being run, not lost.
            Condition::all()
                .add(outbox::Column::Status.eq(OutboxStatus::Queued))
                .add(outbox::Column::UpdatedAt.lte(stale))
                .add(outbox::Column::AvailableAt.lte(now)),
        );
    }
    let mut select = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(due)
        .order_by_asc(outbox::Column::AvailableAt)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Queued))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.in_subquery(select.into_query()));
    let taken = update_recorded(db, update, Events::IfChanged).await?;
    Ok(taken.into_iter().map(|row| row.id).collect())
}

/// Reads a row for running, locking it on PostgreSQL until the transaction ends, so two
/// deliveries of the same job can't apply it twice: the second waits, then sees it done.
pub async fn lock<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<outbox::Model>, DbErr> {
    crate::locks::locked(db, outbox::Entity::find_by_id(id))
        .one(db)
        .await
}

/// Claims a row for one run and reads it, in one statement: its availability moves to `until`
/// (the end of the job's timeout), so a second delivery arriving meanwhile leaves it alone, and
/// the attempt is counted at once, so that a run that never reports back (killed, timed out)
/// still counts. A run that dies holds the row only until `until`. `None`: finished, missing,
/// or claimed by another run (or waiting for its backoff).
pub async fn claim<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: Uuid,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<outbox::Model>, DbErr> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::AvailableAt, Expr::value(until))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::AvailableAt.lte(now))
        .filter(unfinished());
    let mut claimed = update_recorded(db, update, Events::EveryRow).await?;
    Ok(claimed.pop())
}

pub fn is_finished(row: &outbox::Model) -> bool {
    matches!(row.status, OutboxStatus::Succeeded | OutboxStatus::Dead)
}

/// Marks a row SUCCEEDED; for database jobs this runs in the transaction of the job's effect.
pub async fn mark_succeeded<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    row: &outbox::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Succeeded))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .col_expr(outbox::Column::CompletedAt, Expr::value(Some(now)))
        .filter(outbox::Column::Id.eq(row.id))
        .filter(unfinished());
    update_recorded(db, update, Events::EveryRow).await?;
    Ok(())
}

/// Gives a DEAD row a fresh set of attempts: PENDING, due now, no attempt counted (its last
/// error stays until a run replaces or clears it). `None` when the row isn't DEAD, so of two
/// retries at once only one takes effect.
pub async fn retry_dead<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<outbox::Model>, DbErr> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Pending))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::AvailableAt, Expr::value(now))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Dead));
    let mut retried = update_recorded(db, update, Events::EveryRow).await?;
    Ok(retried.pop())
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(DateTime<Utc>),
    Dead,
}

/// Whether a failed job is tried again.
#[derive(Debug, Clone, Copy)]
pub enum Retry<'a> {
    /// It can never succeed (a message that can't be built, an address the server refuses for
    /// good, a payload that can't be read): DEAD at once.
    Never,
    /// After the policy's backoff, until its attempts are spent.
    By(&'a RetryPolicy),
}

/// Counts a failed attempt: FAILED with the next attempt after the backoff, or DEAD with its
/// last error once the attempts are spent. Never silently dropped.
pub async fn record_failure<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    row: &outbox::Model,
    error: &str,
    retry: Retry<'_>,
    now: DateTime<Utc>,
) -> Result<AfterFailure, DbErr> {
    // The claim counted this attempt already.
    let attempts = row.attempts;
    let policy = match retry {
        Retry::Never => None,
        Retry::By(policy) => Some(policy).filter(|policy| attempts < policy.max_attempts),
    };
    let (status, outcome, available_at) = if let Some(policy) = policy {
        let retry_at = now
            + chrono::Duration::from_std(policy.delay_after(attempts))
                .unwrap_or(chrono::Duration::MAX);
        (
            OutboxStatus::Failed,
            AfterFailure::RetryAt(retry_at),
            retry_at,
        )
    } else {
        (OutboxStatus::Dead, AfterFailure::Dead, now)
    };
    let error: String = error.chars().take(MAX_ERROR_LENGTH).collect();
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status))
        .col_expr(outbox::Column::LastError, Expr::value(Some(error)))
        .col_expr(outbox::Column::AvailableAt, Expr::value(available_at))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.eq(row.id))
        .filter(unfinished());
    update_recorded(db, update, Events::IfChanged).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        };
        assert_eq!(policy.delay_after(1), Duration::from_secs(2));
        assert_eq!(policy.delay_after(2), Duration::from_secs(4));
        assert_eq!(policy.delay_after(3), Duration::from_secs(8));
        assert_eq!(policy.delay_after(4), Duration::from_secs(10));
        assert_eq!(policy.delay_after(40), Duration::from_secs(10));
    }
}
