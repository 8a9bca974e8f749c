//! `job_event`: every state an outbox row goes through (recorded by a trigger on `outbox` until
//! migration 000013), so
//! a client can follow an offboarding live whichever process runs its jobs (the
//! `offboardingProgress` subscription reads it), and no state is missed between two reads.
//! Also the indexes the audit log's and the members list's queries need.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(
        clippy::too_many_lines,
        reason = "a migration is the schema written out, read from top to bottom"
    )]
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite counts only on an INTEGER PRIMARY KEY (64-bit there); PostgreSQL gets a bigint.
        let id = match manager.get_database_backend() {
            DbBackend::Sqlite => integer("id").auto_increment().primary_key().take(),
            _ => big_integer("id").auto_increment().primary_key().take(),
        };
        manager
            .create_table(
                Table::create()
                    .table("job_event")
                    .col(id)
                    .col(uuid("outbox_id"))
                    .col(uuid("offboarding_id"))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_job_event_offboarding_id")
                            .from("job_event", "offboarding_id")
                            .to("offboarding", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_job_event_offboarding")
                    .table("job_event")
                    .col("offboarding_id")
                    .col("id")
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_entry_workspace_id")
                    .table("audit_entry")
                    .col("workspace_id")
                    .col("id")
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            // The members list searches by the start of an email or a lower-cased name
            // (`LIKE 'text%'`), which a default-collation index can't serve on PostgreSQL.
            db.execute_unprepared(
                "CREATE INDEX ix_user_email_prefix ON \"user\" (email text_pattern_ops)",
            )
            .await?;
            db.execute_unprepared(
                "CREATE INDEX ix_user_name_prefix ON \"user\" (lower(name) text_pattern_ops)",
            )
            .await?;
        }
        // Jobs written before this migration start their history with their current state.
        db.execute_unprepared(
            "INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at) \
             SELECT id, offboarding_id, status, attempts, last_error, updated_at FROM outbox ORDER BY id",
        )
        .await?;
        // A row is recorded when a job is written and whenever its status or attempt count
        // changes (by a trigger until migration 000013 moved this into the outbox's code).
        crate::execute_all(manager, recorder(manager.get_database_backend())).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP INDEX IF EXISTS ix_user_email_prefix")
                .await?;
            db.execute_unprepared("DROP INDEX IF EXISTS ix_user_name_prefix")
                .await?;
        }
        crate::execute_all(manager, recorder_dropped(manager.get_database_backend())).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_audit_entry_workspace_id")
                    .table("audit_entry")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("job_event").take())
            .await
    }
}

/// The triggers that recorded each state of an outbox row in `job_event`, the row's own
/// `updated_at` dating it so both backends store the same format. Migration 000013 drops them
/// (the outbox's code records the events now) and its `down` puts them back.
pub(crate) fn recorder(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => &[
            "CREATE FUNCTION record_job_event() RETURNS trigger AS $$ \
             BEGIN \
               IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status \
                  OR NEW.attempts IS DISTINCT FROM OLD.attempts THEN \
                 INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at) \
                 VALUES (NEW.id, NEW.offboarding_id, NEW.status, NEW.attempts, NEW.last_error, NEW.updated_at); \
               END IF; \
               RETURN NEW; \
             END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER outbox_job_event AFTER INSERT OR UPDATE ON outbox \
             FOR EACH ROW EXECUTE FUNCTION record_job_event()",
        ],
        _ => &[
            "CREATE TRIGGER outbox_job_event_insert AFTER INSERT ON outbox BEGIN \
             INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at) \
             VALUES (NEW.id, NEW.offboarding_id, NEW.status, NEW.attempts, NEW.last_error, NEW.updated_at); END",
            "CREATE TRIGGER outbox_job_event_update AFTER UPDATE ON outbox \
             WHEN NEW.status IS NOT OLD.status OR NEW.attempts IS NOT OLD.attempts BEGIN \
             INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at) \
             VALUES (NEW.id, NEW.offboarding_id, NEW.status, NEW.attempts, NEW.last_error, NEW.updated_at); END",
        ],
    }
}

/// [`recorder`] undone.
pub(crate) fn recorder_dropped(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => &[
            "DROP TRIGGER IF EXISTS outbox_job_event ON outbox",
            "DROP FUNCTION IF EXISTS record_job_event()",
        ],
        _ => &[
            "DROP TRIGGER IF EXISTS outbox_job_event_insert",
            "DROP TRIGGER IF EXISTS outbox_job_event_update",
        ],
    }
}
