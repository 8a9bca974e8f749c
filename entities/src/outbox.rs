use sea_orm::entity::prelude::*;

use crate::OutboxStatus;

/// One side effect to carry out, written in the same transaction as the change that needs it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub offboarding_id: Uuid,
    /// The job's kind (`rules::jobs::JobKind`, as text): the jobs' registry lives with the rules
    /// that write and run them, above this crate.
    pub kind: String,
    pub payload: Json,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Not to be run (or re-run, after a failure) before this instant.
    pub available_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::offboarding::Entity",
        from = "Column::OffboardingId",
        to = "super::offboarding::Column::Id"
    )]
    Offboarding,
}

impl Related<super::offboarding::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Offboarding.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
