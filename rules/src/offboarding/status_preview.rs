//! What deactivating or reactivating a member would do, and what would refuse it, before
//! anyone confirms: the dialog states what the API says, so the two can't disagree.

use entities::{UserId, WorkspaceId, api_key, workspace};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::access::{Permission, Principal};
use crate::error::{RuleError, UserError};
use crate::offboarding::deactivate::{deactivation_refusal, reactivation_refusal};
use crate::people::guards::{Candidate, check_target, last_owner_errors, load_candidates};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Deactivate,
    Reactivate,
}

pub struct StatusChangePreview {
    pub workspace: workspace::Model,
    /// The member, when the id is one of the workspace's (else `blockers` says so).
    pub candidate: Option<Candidate>,
    /// Their API keys in the workspace not revoked: they keep acting through a deactivation
    /// unless revoked with it.
    pub api_keys: u64,
    /// Why the change would be refused; empty when it would go through.
    pub blockers: Vec<UserError>,
}

/// The preview of `deactivateUser` or `reactivateUser` for this member, judged by the same
/// guards; it changes nothing.
pub async fn status_change_preview<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_id: UserId,
    change: StatusChange,
) -> Result<StatusChangePreview, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let workspace = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    let verb = match change {
        StatusChange::Deactivate => "deactivate",
        StatusChange::Reactivate => "reactivate",
    };
    let (mut candidates, removed) = load_candidates(db, workspace.id, &[user_id]).await?;
    let mut blockers: Vec<UserError> =
        check_target(principal, user_id, &candidates, &removed, verb)
            .into_iter()
            .collect();
    let candidate = candidates.remove(&user_id);
    if let Some(candidate) = candidate.as_ref().filter(|_| blockers.is_empty()) {
        match change {
            StatusChange::Deactivate => {
                blockers.extend(deactivation_refusal(candidate));
                if blockers.is_empty() {
                    blockers.extend(last_owner_errors(db, workspace.id, &[candidate]).await?);
                }
            }
            StatusChange::Reactivate => blockers.extend(reactivation_refusal(candidate)),
        }
    }
    let api_keys = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace.id))
        .filter(api_key::Column::CreatedBy.eq(user_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .count(db)
        .await?;
    Ok(StatusChangePreview {
        workspace,
        candidate,
        api_keys,
        blockers,
    })
}
