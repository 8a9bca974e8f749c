use sea_orm::entity::prelude::*;

use crate::{OrganizationId, UserId};

/// What the identity provider calls a person of the organization: its `userName` (its login
/// name, which needn't be their email) and its own id of them (`externalId`), each optional and
/// unique within the organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: OrganizationId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    /// As the provider wrote it.
    pub user_name: Option<String>,
    /// Lower-cased, for uniqueness and lookups regardless of case (RFC 7643's `caseExact: false`).
    pub user_name_key: Option<String>,
    pub external_id: Option<String>,
    /// SCIM's `name.givenName` and `name.familyName` as the provider sent them.
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
