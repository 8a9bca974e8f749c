//! Reading the audit trail back: the workspace's entries, newest first, filtered and paged. (The
//! entries are written by `platform::audit`, in the transaction of what they record.)

use chrono::{DateTime, Utc};
use entities::{AuditAction, UserId, WorkspaceId, audit_entry};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::lists::{Page, Paging, newest_first};

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_user_id: Option<UserId>,
    /// A user or an API key.
    pub actor_id: Option<Uuid>,
    /// The entries of one offboarding: its mutation's and its jobs'.
    pub offboarding_id: Option<Uuid>,
    /// Entries written at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Entries written before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// One page of the workspace's audit trail, newest first, keyset-paginated by entry id (UUID v7,
/// so in creation order): the page and the total, two statements.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &AuditFilter,
    paging: Paging<'_>,
) -> Result<Page<audit_entry::Model>, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let mut query =
        audit_entry::Entity::find().filter(audit_entry::Column::WorkspaceId.eq(workspace_id));
    if let Some(action) = filter.action {
        query = query.filter(audit_entry::Column::Action.eq(action));
    }
    if let Some(target) = filter.target_user_id {
        query = query.filter(audit_entry::Column::TargetUserId.eq(target));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(
            Condition::any()
                .add(audit_entry::Column::ActorUserId.eq(actor))
                .add(audit_entry::Column::ActorApiKeyId.eq(actor))
                .add(audit_entry::Column::ActorScimTokenId.eq(actor)),
        );
    }
    if let Some(offboarding) = filter.offboarding_id {
        query = query.filter(audit_entry::Column::OffboardingId.eq(offboarding));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_entry::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_entry::Column::CreatedAt.lt(until));
    }
    newest_first(db, query, audit_entry::Column::Id, paging).await
}
