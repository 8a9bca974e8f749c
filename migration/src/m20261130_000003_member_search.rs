//! What keeps the members list fast on a large workspace:
//!
//! - `member_count`: live memberships per workspace and status, kept by triggers on
//!   `membership`, so the list's `totalCount` is a lookup instead of a count of every member.
//!   Triggers see every write, the api's, the worker's and an operator's SQL alike.
//! - Search anywhere in a name or an email (`LIKE '%text%'`): trigram indexes on PostgreSQL
//!   (`pg_trgm`, which replace the prefix-only `text_pattern_ops` ones), and on SQLite an FTS5
//!   table with the trigram tokenizer, `user_search`, also kept by triggers. FTS5 rows are
//!   numbered, people are not, so `user_search_key` gives each person a stable number (an
//!   implicit rowid would do, but `VACUUM` may renumber those).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "DROP INDEX IF EXISTS ix_user_email_prefix",
    "DROP INDEX IF EXISTS ix_user_name_prefix",
    "CREATE INDEX ix_user_email_trigram ON \"user\" USING gin (email gin_trgm_ops)",
    "CREATE INDEX ix_user_name_trigram ON \"user\" USING gin (lower(name) gin_trgm_ops)",
    // One function for the three triggers: each statement adds up its rows' changes per
    // workspace and status, and applies them in status order, so two transactions touching
    // the same counts lock them in the same order and can't deadlock. A deletion only lowers
    // counts that exist: when a workspace is deleted, its counts may be gone first.
    "CREATE FUNCTION count_members() RETURNS trigger AS $$ \
     BEGIN \
       IF TG_OP = 'INSERT' THEN \
         INSERT INTO member_count (workspace_id, status, members) \
         SELECT workspace_id, status, count(*) FROM new_rows WHERE deleted_at IS NULL \
         GROUP BY workspace_id, status ORDER BY workspace_id, status \
         ON CONFLICT (workspace_id, status) DO UPDATE SET members = member_count.members + EXCLUDED.members; \
       ELSIF TG_OP = 'UPDATE' THEN \
         INSERT INTO member_count (workspace_id, status, members) \
         SELECT workspace_id, status, sum(change) FROM ( \
           SELECT workspace_id, status, 1 AS change FROM new_rows WHERE deleted_at IS NULL \
           UNION ALL \
           SELECT workspace_id, status, -1 FROM old_rows WHERE deleted_at IS NULL \
         ) AS changes GROUP BY workspace_id, status HAVING sum(change) <> 0 \
         ORDER BY workspace_id, status \
         ON CONFLICT (workspace_id, status) DO UPDATE SET members = member_count.members + EXCLUDED.members; \
       ELSE \
         UPDATE member_count SET members = member_count.members - gone.members FROM ( \
           SELECT workspace_id, status, count(*) AS members FROM old_rows WHERE deleted_at IS NULL \
           GROUP BY workspace_id, status \
         ) AS gone \
         WHERE member_count.workspace_id = gone.workspace_id AND member_count.status = gone.status; \
       END IF; \
       RETURN NULL; \
     END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER membership_count_insert AFTER INSERT ON membership \
     REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_members()",
    "CREATE TRIGGER membership_count_update AFTER UPDATE ON membership \
     REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
     FOR EACH STATEMENT EXECUTE FUNCTION count_members()",
    "CREATE TRIGGER membership_count_delete AFTER DELETE ON membership \
     REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_members()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS membership_count_insert ON membership",
    "DROP TRIGGER IF EXISTS membership_count_update ON membership",
    "DROP TRIGGER IF EXISTS membership_count_delete ON membership",
    "DROP FUNCTION IF EXISTS count_members()",
    "DROP INDEX IF EXISTS ix_user_email_trigram",
    "DROP INDEX IF EXISTS ix_user_name_trigram",
    "CREATE INDEX ix_user_email_prefix ON \"user\" (email text_pattern_ops)",
    "CREATE INDEX ix_user_name_prefix ON \"user\" (lower(name) text_pattern_ops)",
];

// SQLite runs triggers once per row; with one writer at a time there is no lock order to keep.
const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER membership_count_insert AFTER INSERT ON membership \
     WHEN NEW.deleted_at IS NULL BEGIN \
       INSERT INTO member_count (workspace_id, status, members) VALUES (NEW.workspace_id, NEW.status, 1) \
       ON CONFLICT (workspace_id, status) DO UPDATE SET members = members + 1; \
     END",
    "CREATE TRIGGER membership_count_update AFTER UPDATE OF workspace_id, status, deleted_at ON membership BEGIN \
       UPDATE member_count SET members = members - 1 \
       WHERE OLD.deleted_at IS NULL AND workspace_id = OLD.workspace_id AND status = OLD.status; \
       INSERT INTO member_count (workspace_id, status, members) \
       SELECT NEW.workspace_id, NEW.status, 1 WHERE NEW.deleted_at IS NULL \
       ON CONFLICT (workspace_id, status) DO UPDATE SET members = members + 1; \
     END",
    "CREATE TRIGGER membership_count_delete AFTER DELETE ON membership \
     WHEN OLD.deleted_at IS NULL BEGIN \
       UPDATE member_count SET members = members - 1 \
       WHERE workspace_id = OLD.workspace_id AND status = OLD.status; \
     END",
    "CREATE TABLE user_search_key (id INTEGER PRIMARY KEY, user_id NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE user_search USING fts5(name, email, tokenize = 'trigram')",
    "INSERT INTO user_search_key (user_id) SELECT id FROM \"user\"",
    "INSERT INTO user_search (rowid, name, email) \
     SELECT k.id, u.name, u.email FROM user_search_key k JOIN \"user\" u ON u.id = k.user_id",
    "CREATE TRIGGER user_search_insert AFTER INSERT ON \"user\" BEGIN \
       INSERT INTO user_search_key (user_id) VALUES (NEW.id); \
       INSERT INTO user_search (rowid, name, email) VALUES (last_insert_rowid(), NEW.name, NEW.email); \
     END",
    "CREATE TRIGGER user_search_update AFTER UPDATE OF name, email ON \"user\" BEGIN \
       UPDATE user_search SET name = NEW.name, email = NEW.email \
       WHERE rowid = (SELECT id FROM user_search_key WHERE user_id = NEW.id); \
     END",
    "CREATE TRIGGER user_search_delete BEFORE DELETE ON \"user\" BEGIN \
       DELETE FROM user_search WHERE rowid = (SELECT id FROM user_search_key WHERE user_id = OLD.id); \
       DELETE FROM user_search_key WHERE user_id = OLD.id; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS membership_count_insert",
    "DROP TRIGGER IF EXISTS membership_count_update",
    "DROP TRIGGER IF EXISTS membership_count_delete",
    "DROP TRIGGER IF EXISTS user_search_insert",
    "DROP TRIGGER IF EXISTS user_search_update",
    "DROP TRIGGER IF EXISTS user_search_delete",
    "DROP TABLE IF EXISTS user_search",
    "DROP TABLE IF EXISTS user_search_key",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("member_count")
                    .col(uuid("workspace_id"))
                    .col(string_len("status", 16))
                    .col(big_integer("members"))
                    .primary_key(Index::create().col("workspace_id").col("status"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_count_workspace_id")
                            .from("member_count", "workspace_id")
                            .to("workspace", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            // No membership may change between the count below and its triggers (PostgreSQL
            // runs this migration in a transaction; the embedded default migrates before it
            // serves anything).
            db.execute_unprepared("LOCK TABLE membership IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        db.execute_unprepared(
            "INSERT INTO member_count (workspace_id, status, members) \
             SELECT workspace_id, status, count(*) FROM membership WHERE deleted_at IS NULL \
             GROUP BY workspace_id, status",
        )
        .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        crate::execute_all(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        crate::execute_all(manager, statements).await?;
        manager
            .drop_table(Table::drop().table("member_count").take())
            .await
    }
}
