use sea_orm::entity::prelude::*;

/// A mutation's stored answer, so a retried call with the same key is not applied twice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `user:<uuid>` or `api_key:<uuid>`: keys are scoped to whoever sent them.
    pub actor: String,
    pub key: String,
    pub operation: String,
    /// Hash of the mutation's input, to refuse the same key reused with another input.
    pub request_hash: String,
    pub response: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
