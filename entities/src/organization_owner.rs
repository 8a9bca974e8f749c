use crate::{OrganizationId, UserId};
use sea_orm::entity::prelude::*;

/// A person who owns an organization: they create and rename its workspaces. Apart from any
/// workspace role: an OWNER of a workspace is not an owner of its organization unless a row
/// here says so.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_owner")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: OrganizationId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
