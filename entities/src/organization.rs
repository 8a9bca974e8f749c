use crate::OrganizationId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrganizationId,
    pub name: String,
    /// `None` means unlimited seats.
    pub seat_limit: Option<i32>,
    pub created_at: DateTimeUtc,
    /// Whether a removal by the identity provider (SCIM) also refuses the API keys the person
    /// created.
    pub deprovision_revokes_api_keys: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
