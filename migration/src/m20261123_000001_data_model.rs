//! The whole data model of DESIGN §2, with the indexes its queries need.
//!
//! Column names are plain strings so this file stays a frozen record of the schema, independent
//! of later changes to the entity structs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Enum-like columns (role, status, kind) hold short upper-case words.
fn word(col: &'static str) -> ColumnDef {
    string_len(col, 16)
}

fn fk(
    table: &'static str,
    col: &'static str,
    to: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table, col)
        .to(to, "id")
        .on_delete(on_delete)
        .take()
}

fn table(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).col(pk_uuid("id")).take()
}

const CASCADE: ForeignKeyAction = ForeignKeyAction::Cascade;
const RESTRICT: ForeignKeyAction = ForeignKeyAction::Restrict;
const SET_NULL: ForeignKeyAction = ForeignKeyAction::SetNull;

/// Tables in creation order; `down` drops them in reverse.
const TABLES: [&str; 17] = [
    "organization",
    "user",
    "workspace",
    "membership",
    "invitation",
    "user_group",
    "group_membership",
    "session",
    "api_key",
    "application",
    "campaign",
    "rule",
    "creative",
    "audit_entry",
    "offboarding",
    "outbox",
    "idempotency_key",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(
        clippy::too_many_lines,
        reason = "a migration is the schema written out, read from top to bottom"
    )]
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let now = || timestamp_with_time_zone("created_at");

        let statements = [
            table("organization")
                .col(string("name"))
                .col(integer_null("seat_limit"))
                .col(now())
                .take(),
            table("user")
                .col(string_uniq("email"))
                .col(string("name"))
                .col(string_null("password_hash"))
                .col(word("kind"))
                .col(timestamp_with_time_zone_null("erased_at"))
                .col(now())
                .take(),
            table("workspace")
                .col(uuid("organization_id"))
                .col(string("name"))
                .col(string_uniq("slug"))
                .col(uuid_null("administrative_contact_id"))
                .col(uuid_null("technical_contact_id"))
                .col(uuid("system_user_id"))
                .col(now())
                .foreign_key(&mut fk(
                    "workspace",
                    "organization_id",
                    "organization",
                    CASCADE,
                ))
                .foreign_key(&mut fk(
                    "workspace",
                    "administrative_contact_id",
                    "user",
                    SET_NULL,
                ))
                .foreign_key(&mut fk(
                    "workspace",
                    "technical_contact_id",
                    "user",
                    SET_NULL,
                ))
                .foreign_key(&mut fk("workspace", "system_user_id", "user", RESTRICT))
                .take(),
            table("membership")
                .col(uuid("workspace_id"))
                .col(uuid("user_id"))
                .col(word("role"))
                .col(word("status"))
                .col(timestamp_with_time_zone_null("joined_at"))
                .col(timestamp_with_time_zone_null("deactivated_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .col(uuid_null("removed_by"))
                .col(text_null("removal_reason"))
                .col(timestamp_with_time_zone_null("sessions_valid_after"))
                .col(now())
                .foreign_key(&mut fk("membership", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk("membership", "user_id", "user", CASCADE))
                .take(),
            table("invitation")
                .col(uuid("workspace_id"))
                .col(uuid("membership_id"))
                .col(string("email"))
                .col(word("role"))
                .col(string_uniq("token_hash"))
                .col(uuid_null("invited_by"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .col(now())
                .foreign_key(&mut fk("invitation", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk(
                    "invitation",
                    "membership_id",
                    "membership",
                    CASCADE,
                ))
                .take(),
            table("user_group")
                .col(uuid("workspace_id"))
                .col(string("name"))
                .col(now())
                .foreign_key(&mut fk("user_group", "workspace_id", "workspace", CASCADE))
                .take(),
            table("group_membership")
                .col(uuid("group_id"))
                .col(uuid("user_id"))
                .col(now())
                .col(timestamp_with_time_zone_null("deleted_at"))
                .foreign_key(&mut fk(
                    "group_membership",
                    "group_id",
                    "user_group",
                    CASCADE,
                ))
                .foreign_key(&mut fk("group_membership", "user_id", "user", CASCADE))
                .take(),
            table("session")
                .col(uuid("user_id"))
                .col(uuid("workspace_id"))
                .col(string_uniq("token_hash"))
                .col(now())
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("session", "user_id", "user", CASCADE))
                .foreign_key(&mut fk("session", "workspace_id", "workspace", CASCADE))
                .take(),
            table("api_key")
                .col(uuid("workspace_id"))
                .col(uuid("created_by"))
                .col(string("name"))
                .col(string("prefix"))
                .col(string_uniq("token_hash"))
                .col(word("role"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(text_null("revoked_reason"))
                .col(now())
                .foreign_key(&mut fk("api_key", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk("api_key", "created_by", "user", RESTRICT))
                .take(),
            table("application")
                .col(uuid("workspace_id"))
                .col(string("name"))
                .col(uuid_null("technical_contact_id"))
                .col(now())
                .foreign_key(&mut fk("application", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk(
                    "application",
                    "technical_contact_id",
                    "user",
                    SET_NULL,
                ))
                .take(),
            table("campaign")
                .col(uuid("workspace_id"))
                .col(string("name"))
                .col(uuid("created_by"))
                .col(uuid("owner_id"))
                .col(now())
                .foreign_key(&mut fk("campaign", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk("campaign", "created_by", "user", RESTRICT))
                .foreign_key(&mut fk("campaign", "owner_id", "user", RESTRICT))
                .take(),
            table("rule")
                .col(uuid("workspace_id"))
                .col(string("name"))
                .col(uuid("creator_id"))
                .col(boolean("enabled"))
                .col(now())
                .foreign_key(&mut fk("rule", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk("rule", "creator_id", "user", RESTRICT))
                .take(),
            table("creative")
                .col(uuid("workspace_id"))
                .col(string("name"))
                .col(uuid("uploaded_by"))
                .col(now())
                .foreign_key(&mut fk("creative", "workspace_id", "workspace", CASCADE))
                .foreign_key(&mut fk("creative", "uploaded_by", "user", RESTRICT))
                .take(),
            // No foreign keys on the audit trail: it must outlive whatever it describes, and a
            // cascading delete would be refused by its append-only trigger anyway.
            table("audit_entry")
                .col(uuid("workspace_id"))
                .col(uuid_null("actor_user_id"))
                .col(uuid_null("actor_api_key_id"))
                .col(string("action"))
                .col(uuid_null("target_user_id"))
                .col(json_binary("metadata"))
                .col(string_null("request_id"))
                .col(now())
                .take(),
            table("offboarding")
                .col(uuid("workspace_id"))
                .col(uuid_null("actor_user_id"))
                .col(uuid_null("actor_api_key_id"))
                .col(string("kind"))
                .col(now())
                .foreign_key(&mut fk("offboarding", "workspace_id", "workspace", CASCADE))
                .take(),
            table("outbox")
                .col(uuid("offboarding_id"))
                .col(string("kind"))
                .col(json_binary("payload"))
                .col(word("status"))
                .col(integer("attempts"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("available_at"))
                .col(now())
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .foreign_key(&mut fk("outbox", "offboarding_id", "offboarding", CASCADE))
                .take(),
            table("idempotency_key")
                .col(string("actor"))
                .col(string("key"))
                .col(string("operation"))
                .col(string("request_hash"))
                .col(json_binary("response"))
                .col(now())
                .take(),
        ];
        for statement in statements {
            manager.create_table(statement).await?;
        }

        let indexes: [(&str, &str, &[&str]); 15] = [
            (
                "ix_workspace_organization",
                "workspace",
                &["organization_id"],
            ),
            ("ix_membership_user", "membership", &["user_id"]),
            ("ix_invitation_workspace", "invitation", &["workspace_id"]),
            (
                "ix_user_group_workspace_name",
                "user_group",
                &["workspace_id", "name"],
            ),
            ("ix_group_membership_user", "group_membership", &["user_id"]),
            (
                "ix_session_user_workspace",
                "session",
                &["user_id", "workspace_id"],
            ),
            (
                "ix_api_key_workspace_creator",
                "api_key",
                &["workspace_id", "created_by"],
            ),
            (
                "ix_application_workspace_contact",
                "application",
                &["workspace_id", "technical_contact_id"],
            ),
            (
                "ix_campaign_workspace_owner",
                "campaign",
                &["workspace_id", "owner_id"],
            ),
            (
                "ix_rule_workspace_creator",
                "rule",
                &["workspace_id", "creator_id"],
            ),
            (
                "ix_creative_workspace_uploader",
                "creative",
                &["workspace_id", "uploaded_by"],
            ),
            (
                "ix_audit_entry_workspace_created",
                "audit_entry",
                &["workspace_id", "created_at"],
            ),
            ("ix_offboarding_workspace", "offboarding", &["workspace_id"]),
            (
                "ix_outbox_status_available",
                "outbox",
                &["status", "available_at"],
            ),
            ("ix_outbox_offboarding", "outbox", &["offboarding_id"]),
        ];
        for (name, table, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index).await?;
        }

        let db = manager.get_connection();
        // Partial unique indexes: one live membership per person and workspace, one live entry
        // per person and group, and one answer per actor and idempotency key. The syntax is the
        // same on PostgreSQL and SQLite.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_membership_live ON membership (workspace_id, user_id) \
             WHERE deleted_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_group_membership_live ON group_membership (group_id, user_id) \
             WHERE deleted_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_idempotency_key_actor_key ON idempotency_key (actor, key)",
        )
        .await?;

        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END; \
                     $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry \
                     FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry \
                     BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry \
                     BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
                )
                .await?;
            }
            other => {
                return Err(DbErr::Migration(format!(
                    "unsupported database backend {other:?}: use PostgreSQL or SQLite"
                )));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(*name).if_exists().take())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_entry_append_only()")
                .await?;
        }
        Ok(())
    }
}
