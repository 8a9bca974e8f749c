use sea_orm::Set;
use sea_orm::entity::prelude::*;

use crate::{MembershipStatus, Role, UserId, WorkspaceId};

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
    /// When the identity provider removed this person and a rule kept the membership (they are
    /// deactivated instead): the removal waits for an admin.
    pub idp_removal_requested_at: Option<DateTimeUtc>,
    /// Why that removal waits, in words for the admin.
    pub idp_removal_blocked_by: Option<String>,
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

impl Entity {
    /// These people's memberships of the workspace that have not been removed (at most one
    /// each).
    pub fn find_live(
        workspace_id: WorkspaceId,
        user_ids: impl IntoIterator<Item = UserId>,
    ) -> Select<Entity> {
        Entity::find()
            .filter(Column::WorkspaceId.eq(workspace_id))
            .filter(Column::UserId.is_in(user_ids))
            .filter(Column::DeletedAt.is_null())
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// A new membership with this status as of `now`: joined unless invited, deactivated only
    /// if that is its status, not removed.
    pub fn new(
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: Role,
        status: MembershipStatus,
        now: DateTimeUtc,
    ) -> ActiveModel {
        ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(workspace_id),
            user_id: Set(user_id),
            role: Set(role),
            status: Set(status),
            joined_at: Set((status != MembershipStatus::Invited).then_some(now)),
            deactivated_at: Set((status == MembershipStatus::Deactivated).then_some(now)),
            deleted_at: Set(None),
            removed_by: Set(None),
            removal_reason: Set(None),
            sessions_valid_after: Set(None),
            created_at: Set(now),
            idp_removal_requested_at: Set(None),
            idp_removal_blocked_by: Set(None),
        }
    }
}
