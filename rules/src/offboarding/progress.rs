//! Following an offboarding: the state of each of its side effects, now or as they change.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::Utc;
use entities::{
    AuditAction, OffboardingKind, OutboxStatus, WorkspaceId, job_event, offboarding, outbox,
};
use futures_util::stream::{self, Stream};
use platform::audit;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use crate::access::{Acting, Permission, Principal, authenticate};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::jobs::JobKind;
use crate::lists::{Page, Paging, newest_first};

/// An offboarding of the caller's workspace; anyone else's is NOT_FOUND.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: Uuid,
) -> Result<offboarding::Model, RuleError> {
    principal.require_permission(Permission::UserManagement)?;
    offboarding::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|offboarding| offboarding.workspace_id == principal.workspace_id)
        .ok_or(RuleError::NotFound("offboarding"))
}

/// `retryJob`: a DEAD job gets a fresh set of attempts (after the operator fixed what killed
/// it, SMTP for instance), with an audit entry; returns the job as retried and its
/// offboarding. A job of another workspace is NOT_FOUND; one that isn't DEAD is refused.
pub async fn retry_job<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    acting: Acting<'_>,
    job_id: Uuid,
) -> Result<(outbox::Model, offboarding::Model), RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    principal.require_permission(Permission::UserManagement)?;
    let (job, offboarding) = outbox::Entity::find_by_id(job_id)
        .find_also_related(offboarding::Entity)
        .one(db)
        .await?
        .and_then(|(job, offboarding)| Some((job, offboarding?)))
        .filter(|(_, offboarding)| offboarding.workspace_id == principal.workspace_id)
        .ok_or(RuleError::NotFound("job"))?;
    let Some(retried) = platform::outbox::retry_dead(db, job.id, now).await? else {
        // As it is now: a retry that ran meanwhile made it PENDING.
        let status = outbox::Entity::find_by_id(job.id)
            .one(db)
            .await?
            .map_or(job.status, |current| current.status);
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::JobNotDead,
                format!(
                    "Only a DEAD job can be retried; this one is {}.",
                    status.to_value()
                ),
            )
            .on_field("job_id"),
        ]));
    };
    audit::record(
        db,
        acting
            .event(
                offboarding.workspace_id,
                AuditAction::JobRetry,
                None,
                json!({
                    "job_id": job.id,
                    "kind": job.kind,
                    "offboarding_id": offboarding.id,
                    "attempts": job.attempts,
                    "last_error": job.last_error,
                }),
            )
            .of_offboarding(offboarding.id),
        now,
    )
    .await?;
    Ok((retried, offboarding))
}

/// Where an offboarding stands, from its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Some jobs are still to run (or to retry).
    InProgress,
    /// Every job succeeded.
    Succeeded,
    /// Every job ran, and some are DEAD.
    Failed,
}

#[derive(Debug, Default, Clone)]
pub struct OffboardingFilter {
    pub standing: Option<Standing>,
    /// What made it.
    pub kind: Option<OffboardingKind>,
}

/// The workspace's offboardings, newest first, keyset-paginated by id (UUID v7, so in creation
/// order): the page and the total, two statements. Their standing is judged in SQL from their
/// jobs, so a status filter pages like any other.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &OffboardingFilter,
    paging: Paging<'_>,
) -> Result<Page<offboarding::Model>, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let mut query =
        offboarding::Entity::find().filter(offboarding::Column::WorkspaceId.eq(workspace_id));
    if let Some(kind) = filter.kind {
        query = query.filter(offboarding::Column::Kind.eq(kind));
    }
    if let Some(standing) = filter.standing {
        let unfinished = jobs_of_each(
            outbox::Column::Status.is_not_in([OutboxStatus::Succeeded, OutboxStatus::Dead]),
        );
        let dead = jobs_of_each(outbox::Column::Status.eq(OutboxStatus::Dead));
        query = query.filter(match standing {
            Standing::InProgress => Condition::all().add(Expr::exists(unfinished)),
            Standing::Succeeded => Condition::all()
                .add(Expr::exists(unfinished).not())
                .add(Expr::exists(dead).not()),
            Standing::Failed => Condition::all()
                .add(Expr::exists(unfinished).not())
                .add(Expr::exists(dead)),
        });
    }
    newest_first(db, query, offboarding::Column::Id, paging).await
}

/// `SELECT 1 FROM outbox WHERE outbox.offboarding_id = offboarding.id AND <condition>`.
fn jobs_of_each(condition: SimpleExpr) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(outbox::Entity)
        .and_where(
            Expr::col((outbox::Entity, outbox::Column::OffboardingId))
                .equals((offboarding::Entity, offboarding::Column::Id)),
        )
        .and_where(condition)
        .take()
}

/// The summaries of these offboardings, in one statement.
pub async fn summaries<C: ConnectionTrait>(
    db: &C,
    offboarding_ids: &[Uuid],
) -> Result<HashMap<Uuid, Summary>, DbErr> {
    let mut summaries: HashMap<Uuid, Summary> = offboarding_ids
        .iter()
        .map(|id| (*id, Summary::default()))
        .collect();
    if offboarding_ids.is_empty() {
        return Ok(summaries);
    }
    let counts: Vec<(Uuid, OutboxStatus, i64)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::OffboardingId)
        .column(outbox::Column::Status)
        .column_as(outbox::Column::Id.count(), "jobs")
        .filter(outbox::Column::OffboardingId.is_in(offboarding_ids.iter().copied()))
        .group_by(outbox::Column::OffboardingId)
        .group_by(outbox::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (id, status, count) in counts {
        if let Some(summary) = summaries.get_mut(&id) {
            summary.add(status, count);
        }
    }
    Ok(summaries)
}

/// How many of an offboarding's jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub pending: u64,
    pub queued: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub dead: u64,
}

impl Summary {
    pub fn total(&self) -> u64 {
        self.pending + self.queued + self.succeeded + self.failed + self.dead
    }

    fn add(&mut self, status: OutboxStatus, count: i64) {
        let count = u64::try_from(count).unwrap_or(0);
        match status {
            OutboxStatus::Pending => self.pending += count,
            OutboxStatus::Queued => self.queued += count,
            OutboxStatus::Succeeded => self.succeeded += count,
            OutboxStatus::Failed => self.failed += count,
            OutboxStatus::Dead => self.dead += count,
        }
    }

    /// Where the offboarding stands: the judgement `list`'s status filter makes in SQL.
    pub fn standing(&self) -> Standing {
        if self.succeeded + self.dead != self.total() {
            Standing::InProgress
        } else if self.dead > 0 {
            Standing::Failed
        } else {
            Standing::Succeeded
        }
    }
}

pub async fn summary<C: ConnectionTrait>(db: &C, offboarding_id: Uuid) -> Result<Summary, DbErr> {
    Ok(summaries(db, &[offboarding_id])
        .await?
        .remove(&offboarding_id)
        .unwrap_or_default())
}

/// The jobs in the order they were written, `first` at a time after the job `after`.
pub async fn jobs<C: ConnectionTrait>(
    db: &C,
    offboarding_id: Uuid,
    first: u64,
    after: Option<Uuid>,
) -> Result<Vec<outbox::Model>, DbErr> {
    let mut query = outbox::Entity::find().filter(outbox::Column::OffboardingId.eq(offboarding_id));
    if let Some(after) = after {
        query = query.filter(outbox::Column::Id.gt(after));
    }
    query
        .order_by_asc(outbox::Column::Id)
        .limit(first)
        .all(db)
        .await
}

/// How often a live follower looks for new job events.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Event ids come from a sequence, and a transaction may commit a smaller id after a larger one
/// was read. Every read goes back to the largest id seen this long ago (longer than any job's
/// transaction), and skips the ids it has already seen.
const COMMIT_GRACE: Duration = Duration::from_secs(60);

/// Where an offboarding as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    InProgress,
    Succeeded,
    /// Every job ran; some are DEAD.
    Failed,
}

/// One state a job went through, with where the whole offboarding stood right after it.
#[derive(Debug, Clone)]
pub struct ProgressEvent {
    pub event: job_event::Model,
    pub kind: JobKind,
    pub overall: Overall,
}

struct Follower {
    db: DatabaseConnection,
    offboarding_id: Uuid,
    /// The subscriber's token, authenticated again before every read: a subscriber removed,
    /// deactivated or signed out meanwhile stops receiving at once.
    token: String,
    kinds: HashMap<Uuid, JobKind>,
    states: HashMap<Uuid, OutboxStatus>,
    unfinished: usize,
    dead: usize,
    seen: HashSet<i64>,
    /// (when, largest id seen by then), oldest first.
    marks: VecDeque<(Instant, i64)>,
    floor: i64,
    ready: VecDeque<ProgressEvent>,
    polled: bool,
    done: bool,
}

impl Follower {
    async fn poll(&mut self) -> Result<(), RuleError> {
        let still_allowed = authenticate(&self.db, &self.token, Utc::now())
            .await?
            .filter(|principal| principal.has(Permission::UserManagement));
        if still_allowed.is_none() {
            return Err(RuleError::Unauthenticated);
        }
        let now = Instant::now();
        while self
            .marks
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > COMMIT_GRACE)
        {
            if let Some((_, id)) = self.marks.pop_front() {
                self.floor = Ord::max(self.floor, id);
            }
        }
        self.seen.retain(|id| *id > self.floor);
        let events = job_event::Entity::find()
            .filter(job_event::Column::OffboardingId.eq(self.offboarding_id))
            .filter(job_event::Column::Id.gt(self.floor))
            .order_by_asc(job_event::Column::Id)
            .all(&self.db)
            .await?;
        if self.kinds.is_empty() {
            self.kinds = outbox::Entity::find()
                .select_only()
                .column(outbox::Column::Id)
                .column(outbox::Column::Kind)
                .filter(outbox::Column::OffboardingId.eq(self.offboarding_id))
                .into_tuple::<(Uuid, String)>()
                .all(&self.db)
                .await?
                .into_iter()
                .map(|(id, kind)| Ok((id, JobKind::stored(&kind)?)))
                .collect::<Result<_, RuleError>>()?;
            self.unfinished = self.kinds.len();
        }
        let mut largest = self.floor;
        for event in events {
            largest = Ord::max(largest, event.id);
            if !self.seen.insert(event.id) {
                continue;
            }
            self.take(event);
        }
        self.marks.push_back((now, largest));
        self.done = self.unfinished == 0;
        Ok(())
    }

    /// Follows one job event: the job's state, and how many jobs are unfinished or DEAD after
    /// it, then queues it to be sent with where the whole offboarding stands.
    fn take(&mut self, event: job_event::Model) {
        // Every job of the offboarding was written with it, before any of their events.
        let Some(kind) = self.kinds.get(&event.outbox_id).copied() else {
            tracing::warn!(outbox_id = %event.outbox_id, "an event of a job not in the offboarding");
            return;
        };
        let finished =
            |status: OutboxStatus| matches!(status, OutboxStatus::Succeeded | OutboxStatus::Dead);
        let before = self.states.insert(event.outbox_id, event.status);
        // A job finishes, or starts again after it finished (a DEAD job retried).
        match (before.is_some_and(finished), finished(event.status)) {
            (false, true) => self.unfinished = self.unfinished.saturating_sub(1),
            (true, false) => self.unfinished += 1,
            _ => {}
        }
        match (
            before == Some(OutboxStatus::Dead),
            event.status == OutboxStatus::Dead,
        ) {
            (false, true) => self.dead += 1,
            (true, false) => self.dead = self.dead.saturating_sub(1),
            _ => {}
        }
        let overall = if self.unfinished > 0 {
            Overall::InProgress
        } else if self.dead > 0 {
            Overall::Failed
        } else {
            Overall::Succeeded
        };
        self.ready.push_back(ProgressEvent {
            kind,
            event,
            overall,
        });
    }
}

/// Every state change of the offboarding's jobs, from the first, until all are finished. Reads
/// `job_event` (written with every change of an outbox row, `platform::outbox`), so it sees jobs run by any worker process.
/// Ends with UNAUTHENTICATED as soon as `token` no longer lets its holder manage people.
pub fn follow(
    db: DatabaseConnection,
    offboarding_id: Uuid,
    token: String,
    interval: Duration,
) -> impl Stream<Item = Result<ProgressEvent, RuleError>> + Send {
    let follower = Follower {
        db,
        offboarding_id,
        token,
        kinds: HashMap::new(),
        states: HashMap::new(),
        unfinished: 0,
        dead: 0,
        seen: HashSet::new(),
        marks: VecDeque::new(),
        floor: 0,
        ready: VecDeque::new(),
        polled: false,
        done: false,
    };
    stream::unfold(Some(follower), move |follower| async move {
        let mut follower = follower?;
        loop {
            if let Some(event) = follower.ready.pop_front() {
                return Some((Ok(event), Some(follower)));
            }
            if follower.done {
                return None;
            }
            if follower.polled {
                tokio::time::sleep(interval).await;
            }
            follower.polled = true;
            if let Err(error) = follower.poll().await {
                return Some((Err(error), None));
            }
        }
    })
}
