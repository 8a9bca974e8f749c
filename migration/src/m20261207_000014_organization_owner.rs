//! Organization owners: the people who may create and rename the organization's workspaces.
//! Ownership of an organization is its own fact, apart from any workspace's OWNER role: an OWNER
//! of one workspace is not thereby an owner of the organization. The first owner is made by the
//! bootstrap (`BOOTSTRAP_*` or `api bootstrap`).
//!
//! A database made before this migration has no such fact: every active OWNER of one of an
//! organization's workspaces becomes an owner of the organization, as before it was they who
//! could change its seat limit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization_owner")
                    .col(uuid("organization_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .name("pk_organization_owner")
                            .col("organization_id")
                            .col("user_id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_owner_organization_id")
                            .from("organization_owner", "organization_id")
                            .to("organization", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_owner_user_id")
                            .from("organization_owner", "user_id")
                            .to("user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_owner_user")
                    .table("organization_owner")
                    .col("user_id")
                    .take(),
            )
            .await?;
        execute_all(
            manager,
            &[
                "INSERT INTO organization_owner (organization_id, user_id, created_at) \
               SELECT w.organization_id, m.user_id, MIN(w.created_at) \
               FROM membership m JOIN workspace w ON w.id = m.workspace_id \
               WHERE m.role = 'OWNER' AND m.status = 'ACTIVE' AND m.deleted_at IS NULL \
               GROUP BY w.organization_id, m.user_id",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("organization_owner").take())
            .await
    }
}
