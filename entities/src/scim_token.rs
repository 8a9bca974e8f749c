use sea_orm::entity::prelude::*;

use crate::{OrganizationId, UserId, WorkspaceId};

/// An identity provider's token for `/scim/v2`: the people of one organization, provisioned
/// into one of its workspaces. Made by an owner of the organization; only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: OrganizationId,
    /// Where the people it creates become members, and whose groups it manages.
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The first characters of the token, so a list tells tokens apart.
    pub prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_by: UserId,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
