use sea_orm::entity::prelude::*;

use crate::OutboxStatus;

/// One state an outbox row went through; written by `platform::outbox` in the transaction of
/// each change of the row, and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub outbox_id: Uuid,
    pub offboarding_id: Uuid,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
