//! What provisioning over SCIM writes beyond the people themselves:
//! - `actor_scim_token_id` on audit entries and offboardings: a change an identity provider made
//!   is recorded as its token's, as a session's is its person's and a key's is its key's.
//! - `membership.idp_removal_requested_at`/`idp_removal_blocked_by`: the identity provider
//!   removed this person, a rule kept the membership (open contact duties), so the person is
//!   deactivated instead and the removal waits for an admin, with the reason.
//! - `user_group.external_id`: the identity provider's id of a group it pushed.
//! - `organization.deprovision_revokes_api_keys`: whether a removal by the identity provider also
//!   refuses the keys the person created (on unless an owner turns it off).
//!
//! - `scim_account` replaces `scim_identity`: what the identity provider calls a person of the
//!   organization, its `userName` (its login name, which needn't be their email: Entra's UPN)
//!   as well as its `externalId`, each optional and unique in the organization (the userName
//!   regardless of case, by `user_name_key`), and the given and family names it sent (the
//!   service keeps one display name). Rows of `scim_identity` are copied over.
//!
//! One column per statement: SQLite alters a table one column at a time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn added(table: &'static str, column: &mut ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(column).take()
}

fn dropped(table: &'static str, column: &'static str) -> TableAlterStatement {
    Table::alter().table(table).drop_column(column).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in [
            added("audit_entry", &mut uuid_null("actor_scim_token_id")),
            added("offboarding", &mut uuid_null("actor_scim_token_id")),
            added(
                "membership",
                &mut timestamp_with_time_zone_null("idp_removal_requested_at"),
            ),
            added("membership", &mut string_null("idp_removal_blocked_by")),
            added(
                "organization",
                boolean("deprovision_revokes_api_keys").default(true),
            ),
            added("user_group", &mut string_null("external_id")),
        ] {
            manager.alter_table(statement).await?;
        }
        create_scim_account(manager).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO scim_account (organization_id, user_id, user_name, user_name_key, external_id, created_at) \
                 SELECT organization_id, user_id, NULL, NULL, external_id, created_at FROM scim_identity",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("scim_identity").take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_scim_identity(manager).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO scim_identity (organization_id, user_id, external_id, created_at) \
                 SELECT organization_id, user_id, external_id, created_at FROM scim_account \
                 WHERE external_id IS NOT NULL",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("scim_account").take())
            .await?;
        for statement in [
            dropped("user_group", "external_id"),
            dropped("organization", "deprovision_revokes_api_keys"),
            dropped("membership", "idp_removal_blocked_by"),
            dropped("membership", "idp_removal_requested_at"),
            dropped("offboarding", "actor_scim_token_id"),
            dropped("audit_entry", "actor_scim_token_id"),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }
}

fn owned_by(
    table: &'static str,
    column: &'static str,
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    name: &'static str,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).take();
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    index
}

async fn create_scim_account(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("scim_account")
                .col(uuid("organization_id"))
                .col(uuid("user_id"))
                .col(string_null("user_name"))
                .col(string_null("user_name_key"))
                .col(string_null("external_id"))
                .col(string_null("given_name"))
                .col(string_null("family_name"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(
                    Index::create()
                        .name("pk_scim_account")
                        .col("organization_id")
                        .col("user_id"),
                )
                .foreign_key(&mut owned_by(
                    "scim_account",
                    "organization_id",
                    "organization",
                ))
                .foreign_key(&mut owned_by("scim_account", "user_id", "user"))
                .take(),
        )
        .await?;
    for statement in [
        index(
            "ux_scim_account_user_name",
            "scim_account",
            &["organization_id", "user_name_key"],
            true,
        ),
        index(
            "ux_scim_account_external_id",
            "scim_account",
            &["organization_id", "external_id"],
            true,
        ),
        index("ix_scim_account_user", "scim_account", &["user_id"], false),
    ] {
        manager.create_index(statement).await?;
    }
    Ok(())
}

/// `scim_identity` as migration 15 made it, for `down`.
async fn create_scim_identity(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
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
                .foreign_key(&mut owned_by(
                    "scim_identity",
                    "organization_id",
                    "organization",
                ))
                .foreign_key(&mut owned_by("scim_identity", "user_id", "user"))
                .take(),
        )
        .await?;
    for statement in [
        index(
            "ux_scim_identity_external_id",
            "scim_identity",
            &["organization_id", "external_id"],
            true,
        ),
        index(
            "ix_scim_identity_user",
            "scim_identity",
            &["user_id"],
            false,
        ),
    ] {
        manager.create_index(statement).await?;
    }
    Ok(())
}
