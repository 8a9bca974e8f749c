//! The recently removed: `removedMembers` reads a workspace's removed memberships
//! newest first. This partial index holds only those, in that order, so a page is a range read
//! however many members the workspace has, on PostgreSQL and SQLite alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &["CREATE INDEX ix_membership_removed ON membership \
     (workspace_id, deleted_at DESC, id DESC) WHERE deleted_at IS NOT NULL"];
const DOWN: &[&str] = &["DROP INDEX IF EXISTS ix_membership_removed"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
