//! The guard against late jobs: a job must not undo what came after its change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{MembershipStatus, UserId, WorkspaceId, membership, offboarding};
use platform::locks::lock_workspace;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, QueryFilter, QuerySelect};

/// The people a job acts for, and up to when. Someone who has regained access since the
/// change (restored, reactivated, or a member again) is acted on only for what they had before
/// that moment — the membership's `sessions_valid_after` (set by restore and reactivation) or
/// the new membership's creation. Everyone else is acted on for everything, so nothing made
/// while the change was committing escapes it.
pub(super) struct Scope {
    still_out: Vec<UserId>,
    returned: Vec<(UserId, DateTime<Utc>)>,
}

impl Scope {
    /// The scope, read once the workspace is locked: the lock order (the workspace before its
    /// sessions and keys) is the API's changes', and nothing in it changes while the job runs.
    pub(super) async fn in_locked_workspace<C: ConnectionTrait>(
        db: &C,
        change: &offboarding::Model,
        workspace_id: WorkspaceId,
        user_ids: &[UserId],
    ) -> Result<Scope, DbErr> {
        lock_workspace(db, workspace_id).await?;
        Scope::of(db, change, workspace_id, user_ids).await
    }

    pub(super) async fn of<C: ConnectionTrait>(
        db: &C,
        change: &offboarding::Model,
        workspace_id: WorkspaceId,
        user_ids: &[UserId],
    ) -> Result<Scope, DbErr> {
        let back: Vec<(UserId, DateTime<Utc>, Option<DateTime<Utc>>)> =
            membership::Entity::find_live(workspace_id, user_ids.iter().copied())
                .select_only()
                .column(membership::Column::UserId)
                .column(membership::Column::CreatedAt)
                .column(membership::Column::SessionsValidAfter)
                .filter(membership::Column::Status.ne(MembershipStatus::Deactivated))
                .into_tuple()
                .all(db)
                .await?;
        let returned: HashMap<UserId, DateTime<Utc>> = back
            .into_iter()
            .map(|(user_id, created_at, valid_after)| {
                (
                    user_id,
                    valid_after.map_or(created_at, |at| Ord::max(at, created_at)),
                )
            })
            .filter(|(_, regained)| *regained > change.created_at)
            .collect();
        Ok(Scope {
            still_out: user_ids
                .iter()
                .copied()
                .filter(|id| !returned.contains_key(id))
                .collect(),
            returned: returned.into_iter().collect(),
        })
    }

    /// The rows this job may act on: `person` names whose row it is, `created` when it was made.
    pub(super) fn rows<Column: ColumnTrait>(&self, person: Column, created: Column) -> Condition {
        let mut rows = Condition::any();
        if !self.still_out.is_empty() {
            rows = rows.add(person.is_in(self.still_out.iter().copied()));
        }
        for (user_id, regained) in &self.returned {
            rows = rows.add(
                Condition::all()
                    .add(person.eq(*user_id))
                    .add(created.lt(*regained)),
            );
        }
        rows
    }
}
