//! A search text under three characters matches the start of a name or an email (issue 13):
//! no trigram holds it, and "anywhere" would read every member. The email's start is a range
//! of its unique index; this index makes the lower-cased name's start one too, on both
//! backends.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(
            manager,
            &["CREATE INDEX ix_user_name_lower ON \"user\" (lower(name))"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, &["DROP INDEX IF EXISTS ix_user_name_lower"]).await
    }
}
