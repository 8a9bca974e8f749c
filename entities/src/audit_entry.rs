use crate::{AuditAction, UserId, WorkspaceId};
use sea_orm::entity::prelude::*;

/// Append-only: the database refuses UPDATE and DELETE on this table (a trigger on both backends).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub actor_user_id: Option<UserId>,
    pub actor_api_key_id: Option<Uuid>,
    /// The SCIM token that acted, when an identity provider did.
    pub actor_scim_token_id: Option<Uuid>,
    pub action: AuditAction,
    pub target_user_id: Option<UserId>,
    pub metadata: Json,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// The offboarding this entry belongs to: its mutation's entries and its jobs'.
    pub offboarding_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
