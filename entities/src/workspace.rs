use crate::{OrganizationId, UserId, WorkspaceId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: WorkspaceId,
    pub organization_id: OrganizationId,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub administrative_contact_id: Option<UserId>,
    pub technical_contact_id: Option<UserId>,
    /// The workspace's own principal (a `UserKind::System` user): what a removed member owned
    /// is reattributed to it by default.
    pub system_user_id: UserId,
    pub created_at: DateTimeUtc,
    /// Grows with every change that may change a token's access here; kept by database
    /// triggers, never written by application code (a cached principal is used only while it
    /// is unchanged).
    pub access_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
