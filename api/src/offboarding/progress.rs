//! Following an offboarding: the state of each of its side effects.

use entities::{OutboxStatus, offboarding, outbox};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::error::ApiError;

/// An offboarding of the caller's workspace; anyone else's is NOT_FOUND.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: Uuid,
) -> Result<offboarding::Model, ApiError> {
    if !principal.has(Permission::UserManagement) {
        return Err(ApiError::Forbidden(
            "following offboardings needs the USER_MANAGEMENT permission".into(),
        ));
    }
    offboarding::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|offboarding| offboarding.workspace_id == principal.workspace_id)
        .ok_or(ApiError::NotFound("offboarding"))
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

    /// Nothing left to run: every job succeeded or is dead.
    pub fn finished(&self) -> bool {
        self.succeeded + self.dead == self.total()
    }
}

pub async fn summary<C: ConnectionTrait>(db: &C, offboarding_id: Uuid) -> Result<Summary, DbErr> {
    let counts: Vec<(OutboxStatus, i64)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Status)
        .column_as(outbox::Column::Id.count(), "jobs")
        .filter(outbox::Column::OffboardingId.eq(offboarding_id))
        .group_by(outbox::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut summary = Summary::default();
    for (status, count) in counts {
        let count = u64::try_from(count).unwrap_or(0);
        match status {
            OutboxStatus::Pending => summary.pending = count,
            OutboxStatus::Queued => summary.queued = count,
            OutboxStatus::Succeeded => summary.succeeded = count,
            OutboxStatus::Failed => summary.failed = count,
            OutboxStatus::Dead => summary.dead = count,
        }
    }
    Ok(summary)
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
