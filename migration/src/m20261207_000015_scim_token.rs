//! SCIM tokens: what an identity provider authenticates with at `/scim/v2`. One organization's
//! people, provisioned into one of its workspaces; made by an owner of the organization, shown
//! once, kept as a hash, revocable. And `scim_identity`: the identity provider's own id of a
//! person of the organization (SCIM's `externalId`), one per organization and person.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn foreign_key(
    column: &'static str,
    table: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_scim_token_{column}"))
        .from("scim_token", column)
        .to(table, "id")
        .on_delete(on_delete)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(
        clippy::too_many_lines,
        reason = "a migration is the schema written out, read from top to bottom"
    )]
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scim_token")
                    .col(pk_uuid("id"))
                    .col(uuid("organization_id"))
                    .col(uuid("workspace_id"))
                    .col(string("name"))
                    .col(string("prefix"))
                    .col(string("token_hash").unique_key())
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut foreign_key(
                        "organization_id",
                        "organization",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        "workspace_id",
                        "workspace",
                        ForeignKeyAction::Cascade,
                    ))
                    // A token outlives the owner who made it: their row can't go while it is there.
                    .foreign_key(&mut foreign_key(
                        "created_by",
                        "user",
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_token_organization")
                    .table("scim_token")
                    .col("organization_id")
                    .col("id")
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_token_workspace")
                    .table("scim_token")
                    .col("workspace_id")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("scim_identity")
                    .col(uuid("organization_id"))
                    .col(uuid("user_id"))
                    .col(string("external_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .name("pk_scim_identity")
                            .col("organization_id")
                            .col("user_id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_identity_organization_id")
                            .from("scim_identity", "organization_id")
                            .to("organization", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_identity_user_id")
                            .from("scim_identity", "user_id")
                            .to("user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_scim_identity_external_id")
                    .table("scim_identity")
                    .col("organization_id")
                    .col("external_id")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_identity_user")
                    .table("scim_identity")
                    .col("user_id")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("scim_identity").take())
            .await?;
        manager
            .drop_table(Table::drop().table("scim_token").take())
            .await
    }
}
