use sea_orm::entity::prelude::*;

use crate::{MembershipStatus, WorkspaceId};

/// How many live memberships a workspace has in each status; kept by database triggers on
/// `membership`, never written by application code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_count")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: WorkspaceId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: MembershipStatus,
    pub members: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
