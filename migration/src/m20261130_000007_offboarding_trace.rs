//! Traces from a mutation to its jobs: the offboarding keeps the W3C `traceparent`
//! of the mutation that made it, when that mutation was traced, and each job's span continues
//! that trace, in whichever process runs it and however late.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("offboarding")
                    .add_column(string_null("trace_parent"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("offboarding")
                    .drop_column("trace_parent")
                    .take(),
            )
            .await
    }
}
