use sea_orm::entity::prelude::*;

use crate::{MembershipStatus, Role};
use crate::{UserId, WorkspaceId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub status: MembershipStatus,
    pub joined_at: Option<DateTimeUtc>,
    pub deactivated_at: Option<DateTimeUtc>,
    /// Soft delete: a removed membership keeps its role and status so it can be restored.
    pub deleted_at: Option<DateTimeUtc>,
    pub removed_by: Option<UserId>,
    pub removal_reason: Option<String>,
    /// Sessions created at or before this instant are refused: set when access is cut.
    pub sessions_valid_after: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::workspace::Entity",
        from = "Column::WorkspaceId",
        to = "super::workspace::Column::Id"
    )]
    Workspace,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
