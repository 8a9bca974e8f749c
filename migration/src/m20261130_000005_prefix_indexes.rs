//! A search text under three characters matches the start of a name or an email:
//! no trigram holds it, and "anywhere" would read every member. These indexes make the start a
//! range. On PostgreSQL, `text_pattern_ops` (they compare characters, not the database's
//! collation, so the planner turns `LIKE 'text%'` into a range under any collation; migration
//! 000003 had dropped them for the trigram indexes). On SQLite the email's unique index already
//! serves its range; the lower-cased name gets one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE INDEX ix_user_email_prefix ON \"user\" (email text_pattern_ops)",
    "CREATE INDEX ix_user_name_prefix ON \"user\" (lower(name) text_pattern_ops)",
];
const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ix_user_email_prefix",
    "DROP INDEX IF EXISTS ix_user_name_prefix",
];
const SQLITE_UP: &[&str] = &["CREATE INDEX ix_user_name_lower ON \"user\" (lower(name))"];
const SQLITE_DOWN: &[&str] = &["DROP INDEX IF EXISTS ix_user_name_lower"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::execute_all(manager, POSTGRES_UP).await,
            _ => crate::execute_all(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::execute_all(manager, POSTGRES_DOWN).await,
            _ => crate::execute_all(manager, SQLITE_DOWN).await,
        }
    }
}
