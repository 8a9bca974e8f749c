//! What provisioning over SCIM writes beyond the people themselves:
//! - `actor_scim_token_id` on audit entries and offboardings: a change an identity provider made
//!   is recorded as its token's, as a session's is its person's and a key's is its key's.
//! - `membership.idp_removal_requested_at`/`idp_removal_blocked_by`: the identity provider
//!   removed this person, a rule kept the membership (open contact duties), so the person is
//!   deactivated instead and the removal waits for an admin, with the reason.
//! - `organization.deprovision_revokes_api_keys`: whether a removal by the identity provider also
//!   refuses the keys the person created (on unless an owner turns it off).
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
                &mut boolean("deprovision_revokes_api_keys").default(true),
            ),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in [
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
