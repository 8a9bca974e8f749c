use std::path::Path;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Connects and brings the schema up to date.
///
/// SQLite allows one writer at a time; rather than let concurrent transactions fail with
/// SQLITE_BUSY, the embedded backend uses a single connection, so requests queue for it.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    ensure_sqlite_directory(url).map_err(DbErr::Custom)?;
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(1).min_connections(1);
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Migrator::up(&db, None).await?;
    Ok(db)
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
