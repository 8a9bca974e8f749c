//! One id finds a mutation, its jobs and their audit entries: the offboarding keeps
//! the `x-request-id` of the mutation that made it, and every audit entry written for an
//! offboarding (the mutation's own, and each job's) names it. Entries written before this
//! migration name none: the audit trail refuses UPDATE, so they are not filled in.

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
                    .add_column(string_null("request_id"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_entry")
                    .add_column(uuid_null("offboarding_id"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_entry_offboarding")
                    .table("audit_entry")
                    .col("offboarding_id")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_audit_entry_offboarding")
                    .table("audit_entry")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_entry")
                    .drop_column("offboarding_id")
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("offboarding")
                    .drop_column("request_id")
                    .take(),
            )
            .await
    }
}
