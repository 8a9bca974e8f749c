//! `workspace.access_version`: a number that grows, in the same transaction, with every change
//! that may change what a token of the workspace is allowed or shows — a membership changed or
//! deleted, a session or an API key changed or deleted, a person renamed, the workspace renamed.
//! The api keeps the principals of recent tokens with the version they were read at, and uses
//! one only while the version is unchanged: reading one number is cheaper than the
//! authentication statement, and access is still cut at commit. Kept by triggers, so writes
//! from the worker and an operator's SQL count too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows name their workspace and bear on a token's access.
const ACCESS_TABLES: [&str; 3] = ["membership", "session", "api_key"];

fn postgres_up() -> Vec<String> {
    let mut statements = vec![
        // Statement-level: one update per statement and workspace, however many rows changed.
        // Workspaces are locked in id order, so two statements raising the same ones can't
        // deadlock; FOR NO KEY UPDATE, as the update itself, so inserts checking their foreign
        // key to the workspace don't wait.
        "CREATE FUNCTION bump_access_version() RETURNS trigger AS $$ \
         BEGIN \
           UPDATE workspace SET access_version = access_version + 1 WHERE id IN ( \
             SELECT id FROM workspace WHERE id IN (SELECT workspace_id FROM old_rows) \
             ORDER BY id FOR NO KEY UPDATE); \
           RETURN NULL; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        "CREATE FUNCTION bump_access_version_of_people() RETURNS trigger AS $$ \
         BEGIN \
           UPDATE workspace SET access_version = access_version + 1 WHERE id IN ( \
             SELECT id FROM workspace WHERE id IN ( \
               SELECT workspace_id FROM membership WHERE user_id IN (SELECT id FROM old_rows)) \
             ORDER BY id FOR NO KEY UPDATE); \
           RETURN NULL; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        "CREATE FUNCTION bump_own_access_version() RETURNS trigger AS $$ \
         BEGIN \
           NEW.access_version := OLD.access_version + 1; \
           RETURN NEW; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        "CREATE TRIGGER workspace_access_version BEFORE UPDATE ON workspace FOR EACH ROW \
         WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug \
               OR OLD.organization_id IS DISTINCT FROM NEW.organization_id) \
         EXECUTE FUNCTION bump_own_access_version()"
            .to_owned(),
    ];
    for (table, function) in ACCESS_TABLES
        .iter()
        .map(|table| (format!("\"{table}\""), "bump_access_version"))
        .chain([("\"user\"".to_owned(), "bump_access_version_of_people")])
    {
        let name = table.trim_matches('"');
        for event in ["UPDATE", "DELETE"] {
            statements.push(format!(
                "CREATE TRIGGER {name}_access_version_{} AFTER {event} ON {table} \
                 REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
                event.to_lowercase()
            ));
        }
    }
    statements
}

fn postgres_down() -> Vec<String> {
    let mut statements =
        vec!["DROP TRIGGER IF EXISTS workspace_access_version ON workspace".to_owned()];
    for name in ACCESS_TABLES.iter().chain(&["user"]) {
        for event in ["update", "delete"] {
            statements.push(format!(
                "DROP TRIGGER IF EXISTS {name}_access_version_{event} ON \"{name}\""
            ));
        }
    }
    for function in [
        "bump_access_version",
        "bump_access_version_of_people",
        "bump_own_access_version",
    ] {
        statements.push(format!("DROP FUNCTION IF EXISTS {function}()"));
    }
    statements
}

// SQLite runs triggers once per row; recursive triggers are off, so the workspace's own trigger
// doesn't fire again on the update it makes.
fn sqlite_up() -> Vec<String> {
    let mut statements = vec![
        "CREATE TRIGGER workspace_access_version AFTER UPDATE OF name, slug, organization_id \
         ON workspace BEGIN \
           UPDATE workspace SET access_version = access_version + 1 WHERE id = NEW.id; \
         END"
        .to_owned(),
    ];
    for table in ACCESS_TABLES {
        for event in ["UPDATE", "DELETE"] {
            statements.push(format!(
                "CREATE TRIGGER {table}_access_version_{} AFTER {event} ON {table} BEGIN \
                   UPDATE workspace SET access_version = access_version + 1 WHERE id = OLD.workspace_id; \
                 END",
                event.to_lowercase()
            ));
        }
    }
    // Before a person's deletion, while their memberships still name the workspaces.
    for (event, when) in [("UPDATE", "AFTER"), ("DELETE", "BEFORE")] {
        statements.push(format!(
            "CREATE TRIGGER user_access_version_{} {when} {event} ON \"user\" BEGIN \
               UPDATE workspace SET access_version = access_version + 1 \
               WHERE id IN (SELECT workspace_id FROM membership WHERE user_id = OLD.id); \
             END",
            event.to_lowercase()
        ));
    }
    statements
}

fn sqlite_down() -> Vec<String> {
    let mut statements = vec!["DROP TRIGGER IF EXISTS workspace_access_version".to_owned()];
    for name in ACCESS_TABLES.iter().chain(&["user"]) {
        for event in ["update", "delete"] {
            statements.push(format!(
                "DROP TRIGGER IF EXISTS {name}_access_version_{event}"
            ));
        }
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("workspace")
                    .add_column(big_integer("access_version").default(0))
                    .take(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_up(),
            _ => sqlite_up(),
        };
        crate::execute_all(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_down(),
            _ => sqlite_down(),
        };
        crate::execute_all(manager, &statements).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("workspace")
                    .drop_column("access_version")
                    .take(),
            )
            .await
    }
}
