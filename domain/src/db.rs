use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QuerySelect, Select,
};

/// The embedded default: an SQLite file beside the binary, for the API and its workers alike.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/offboarding.db?mode=rwc";

/// The row a query finds, locked until the transaction ends on PostgreSQL (`FOR UPDATE`).
/// SQLite has no row locks; its single writer connection serializes writes instead.
pub async fn one_locked<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    query: Select<E>,
) -> Result<Option<E::Model>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        query.lock_exclusive().one(db).await
    } else {
        query.one(db).await
    }
}

/// Connects and brings the schema up to date.
///
/// SQLite allows one writer at a time; rather than let concurrent transactions fail with
/// SQLITE_BUSY, the embedded backend uses a single connection, so requests queue for it.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, None).await
}

/// [`connect`], where PostgreSQL cancels any statement of the pool that runs longer than
/// `statement_timeout` (SQLite has no such setting: it is ignored there). The migrations run
/// first on a connection of their own, without the timeout: building an index may take longer.
pub async fn connect_with(
    url: &str,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    ensure_sqlite_directory(url).map_err(DbErr::Custom)?;
    let sqlite = url.starts_with("sqlite:");
    let timeout = statement_timeout.filter(|_| !sqlite);
    if timeout.is_some() {
        let migrating = Database::connect(options(url)).await?;
        Migrator::up(&migrating, None).await?;
        migrating.close().await?;
    }
    let mut pool = options(url);
    if let Some(timeout) = timeout {
        let setting = format!("{}ms", timeout.as_millis().max(1));
        pool.map_sqlx_postgres_opts(move |options| {
            options.options([("statement_timeout", setting.as_str())])
        });
    }
    let db = Database::connect(pool).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    if timeout.is_none() {
        Migrator::up(&db, None).await?;
    }
    Ok(db)
}

/// Connections that only read, beside [`connect`]'s. PostgreSQL's pool serves reads and writes
/// alike, so there it is the same pool. SQLite's single connection would queue every read
/// behind every other request and every write; in WAL mode read-only connections read beside
/// the one writer, each statement seeing what was committed when it began, so a removal still
/// cuts access at its commit.
pub async fn connect_reader(
    url: &str,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if writer.get_database_backend() != DbBackend::Sqlite || sqlite_file(url).is_none() {
        return Ok(writer.clone());
    }
    let mut readers = options(url);
    readers
        .max_connections(SQLITE_READERS)
        .map_sqlx_sqlite_opts(|options| options.read_only(true));
    Database::connect(readers).await
}

/// Read-only SQLite connections: enough for the cores of a small machine to read at once.
const SQLITE_READERS: u32 = 4;

fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(1).min_connections(1);
    }
    options
}

/// Creates the folder of an `sqlite://path?…` URL's file, so a fresh checkout just runs.
pub fn ensure_sqlite_directory(url: &str) -> Result<(), String> {
    if let Some(path) = sqlite_file(url)
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    Ok(())
}

/// The file behind an `sqlite://path?…` URL, if it names one.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn finds_the_file_of_an_sqlite_url() {
        assert_eq!(
            sqlite_file("sqlite://data/offboarding.db?mode=rwc"),
            Some("data/offboarding.db")
        );
        assert_eq!(sqlite_file("sqlite:///tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("postgres://localhost/db"), None);
    }
}
