use sea_orm::Set;
use sea_orm::entity::prelude::*;

use crate::{Role, UserId, WorkspaceId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub created_by: UserId,
    pub name: String,
    /// The first characters of the token, shown in lists so a person can tell keys apart.
    pub prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The role the key acts with.
    pub role: Role,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workspace::Entity",
        from = "Column::WorkspaceId",
        to = "super::workspace::Column::Id"
    )]
    Workspace,
    /// The person who created the key, and whom it acts for.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedBy",
        to = "super::user::Column::Id"
    )]
    Creator,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Creator.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// A new key, in use from `now`: `prefix` and `token_hash` are its token's first characters
    /// and its hash (the token itself is never stored).
    pub fn new(
        workspace_id: WorkspaceId,
        created_by: UserId,
        name: String,
        role: Role,
        prefix: String,
        token_hash: String,
        now: DateTimeUtc,
    ) -> ActiveModel {
        ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(workspace_id),
            created_by: Set(created_by),
            name: Set(name),
            prefix: Set(prefix),
            token_hash: Set(token_hash),
            role: Set(role),
            revoked_at: Set(None),
            revoked_reason: Set(None),
            created_at: Set(now),
        }
    }
}
