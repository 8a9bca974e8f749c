//! The audit trail: one append-only entry per thing done to a person, and reading it back.

use chrono::{DateTime, Utc};
use entities::audit_entry;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::access::{Actor, Permission, Principal};
use crate::error::ApiError;
use crate::people::{Page, decode_cursor, keep_page, not_a_cursor};
use crate::text::{AuditAction, CursorText};

pub struct AuditEvent<'a> {
    pub workspace_id: Uuid,
    pub actor: Option<Actor>,
    pub action: &'a str,
    pub target_user_id: Option<Uuid>,
    pub metadata: serde_json::Value,
    pub request_id: Option<&'a str>,
}

impl AuditEvent<'_> {
    fn into_model(self, now: DateTime<Utc>) -> audit_entry::ActiveModel {
        let (actor_user_id, actor_api_key_id) = self.actor.map_or((None, None), Actor::columns);
        audit_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(self.workspace_id),
            actor_user_id: Set(actor_user_id),
            actor_api_key_id: Set(actor_api_key_id),
            action: Set(self.action.to_owned()),
            target_user_id: Set(self.target_user_id),
            metadata: Set(self.metadata),
            request_id: Set(self.request_id.map(str::to_owned)),
            created_at: Set(now),
        }
    }
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    event: AuditEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    event.into_model(now).insert(db).await?;
    Ok(())
}

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters (9 columns a row).
const INSERT_CHUNK: usize = 1_000;

/// Many entries in one statement per 1,000, for calls that act on many people.
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    events: Vec<AuditEvent<'_>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let models: Vec<audit_entry::ActiveModel> = events
        .into_iter()
        .map(|event| event.into_model(now))
        .collect();
    for chunk in models.chunks(INSERT_CHUNK) {
        audit_entry::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_user_id: Option<Uuid>,
    /// A user or an API key.
    pub actor_id: Option<Uuid>,
}

/// One page of the workspace's audit trail, newest first, keyset-paginated by entry id (UUID v7,
/// so in creation order): the page and the total, two statements.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: Uuid,
    filter: &AuditFilter,
    first: u64,
    after: Option<&CursorText>,
) -> Result<Page<audit_entry::Model>, ApiError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let after = decode_cursor(after)?
        .map(|after| after.parse::<Uuid>().map_err(|_| not_a_cursor()))
        .transpose()?;
    let mut query =
        audit_entry::Entity::find().filter(audit_entry::Column::WorkspaceId.eq(workspace_id));
    if let Some(action) = &filter.action {
        query = query.filter(audit_entry::Column::Action.eq(action.as_str()));
    }
    if let Some(target) = filter.target_user_id {
        query = query.filter(audit_entry::Column::TargetUserId.eq(target));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(
            Condition::any()
                .add(audit_entry::Column::ActorUserId.eq(actor))
                .add(audit_entry::Column::ActorApiKeyId.eq(actor)),
        );
    }
    let total_count = query.clone().count(db).await?;
    if let Some(after) = after {
        query = query.filter(audit_entry::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(audit_entry::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let (items, has_next_page) = keep_page(rows, first);
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
