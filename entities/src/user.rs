use sea_orm::entity::prelude::*;

use crate::{UserId, UserKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    /// Stored trimmed and lower-cased, which makes the unique index case-insensitive.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// `None` until the person accepts an invitation and chooses a password.
    pub password_hash: Option<String>,
    pub kind: UserKind,
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
