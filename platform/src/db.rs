use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, QueryTrait,
    Statement, Values,
};

/// Whether the database aborted the statement for a conflict with another transaction, which
/// the same transaction run again would likely not meet: PostgreSQL's deadlock (SQLSTATE
/// 40P01) and serialization failure (40001); SQLite's busy or locked database (result codes 5
/// and 6, and their extended codes), which its single writer connection makes rare.
pub fn is_transient_conflict(error: &DbErr) -> bool {
    let (DbErr::Query(runtime) | DbErr::Exec(runtime) | DbErr::Conn(runtime)) = error else {
        return false;
    };
    let sea_orm::RuntimeErr::SqlxError(error) = runtime else {
        return false;
    };
    let Some(code) = error
        .as_database_error()
        .and_then(|database| database.code())
    else {
        return false;
    };
    match code.as_ref() {
        "40P01" | "40001" => true,
        sqlite => sqlite
            .parse::<u32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6)),
    }
}

/// How many times a transaction that met a transient conflict is run in all.
pub const CONFLICT_ATTEMPTS: u32 = 5;

/// Runs `attempt` (one whole transaction, begun and committed inside it) until it doesn't fail
/// with a transient conflict ([`is_transient_conflict`], as `conflicted` finds it in the
/// error), at most [`CONFLICT_ATTEMPTS`] times, waiting a few milliseconds between tries, more
/// each time and at random, so that the transactions that met stop meeting. A transaction that
/// was aborted changed nothing, so running it again is safe. Counted in
/// `transaction_conflicts_total` by `operation` and outcome: `retried` for each run again,
/// `gave_up` when the last attempt still conflicted (its error is returned).
pub async fn retrying<T, E, Attempt>(
    operation: &str,
    conflicted: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<T, E>
where
    Attempt: Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        let result = attempt().await;
        match &result {
            Err(error) if conflicted(error) => {
                let outcome = if tries < CONFLICT_ATTEMPTS {
                    "retried"
                } else {
                    "gave_up"
                };
                metrics::counter!(
                    "transaction_conflicts_total",
                    "operation" => operation.to_owned(),
                    "outcome" => outcome,
                )
                .increment(1);
                tracing::warn!(
                    operation,
                    tries,
                    outcome,
                    "a transaction met a transient conflict"
                );
                if tries == CONFLICT_ATTEMPTS {
                    return result;
                }
                tokio::time::sleep(conflict_backoff(tries)).await;
                tries += 1;
            }
            _ => return result,
        }
    }
}

/// 5 ms after the first conflict, doubling after each, each between half and one and a half
/// times that: at most about 110 ms in all.
fn conflict_backoff(tries: u32) -> Duration {
    let base = 5.0 * f64::from(1u32 << (tries - 1).min(10));
    Duration::from_secs_f64(base * rand::random_range(0.5..1.5) / 1000.0)
}

/// Writes gathered while a mutation decides, then sent together. PostgreSQL receives them as
/// one statement, every write but the last a data-modifying `WITH`, so they cost one round trip
/// while the workspace lock is held, however many there are (one more per 65,535 bound values,
/// the most one statement takes). SQLite, in process, has no round trips: it runs them one
/// after another.
///
/// PostgreSQL runs a statement's parts on one snapshot and can't change a row twice in one
/// statement: the writes of one batch must not depend on each other's effects, and no two may
/// update the same row. Foreign keys are checked at the end of the statement, so a row may
/// reference one inserted by an earlier write of the batch.
pub struct Writes {
    backend: DbBackend,
    statements: Vec<Statement>,
}

/// The most values one PostgreSQL statement can bind: the protocol counts them in 16 bits.
const MAX_BOUND_VALUES: usize = 65_535;

impl Writes {
    pub fn new(backend: DbBackend) -> Writes {
        Writes {
            backend,
            statements: Vec::new(),
        }
    }

    pub fn push(&mut self, write: &impl QueryTrait) {
        self.statements.push(write.build(self.backend));
    }

    /// Sends them: as [`combined`] on PostgreSQL, one after another on SQLite.
    pub async fn execute<C: ConnectionTrait>(self, db: &C) -> Result<(), DbErr> {
        let statements = match self.backend {
            DbBackend::Postgres => combined(self.statements),
            _ => self.statements,
        };
        for statement in statements {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }
}

/// As few PostgreSQL statements as hold these, in order, each binding at most
/// [`MAX_BOUND_VALUES`].
fn combined(statements: Vec<Statement>) -> Vec<Statement> {
    let mut sent = Vec::new();
    let mut batch: Vec<Statement> = Vec::new();
    let mut bound = 0;
    for statement in statements {
        let values = statement.values.as_ref().map_or(0, |values| values.0.len());
        if !batch.is_empty() && bound + values > MAX_BOUND_VALUES {
            sent.push(one_statement(std::mem::take(&mut batch)));
            bound = 0;
        }
        bound += values;
        batch.push(statement);
    }
    if !batch.is_empty() {
        sent.push(one_statement(batch));
    }
    sent
}

/// `WITH w1 AS (first), w2 AS (second), … last`, the placeholders of each renumbered after the
/// values of those before it.
fn one_statement(mut statements: Vec<Statement>) -> Statement {
    if statements.len() == 1 {
        return statements.remove(0);
    }
    let last = statements.len() - 1;
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (index, statement) in statements.into_iter().enumerate() {
        let renumbered = renumber_placeholders(&statement.sql, values.len());
        if index == last {
            sql.push(' ');
            sql.push_str(&renumbered);
        } else {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("w{index} AS ({renumbered})"));
        }
        values.extend(statement.values.map_or_else(Vec::new, |values| values.0));
    }
    Statement::from_sql_and_values(DbBackend::Postgres, sql, Values(values))
}

/// PostgreSQL's `$n` placeholders moved up by `offset`; quoted names and strings left alone.
fn renumber_placeholders(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                let number: usize = digits.parse().expect("digits");
                out.push('$');
                out.push_str(&(number + offset).to_string());
            }
            None => out.push(c),
        }
    }
    out
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
    // An in-memory database lives as long as its one connection: it migrates on the pool.
    let in_memory = sqlite && sqlite_file(url).is_none();
    if !in_memory {
        migrate(url).await?;
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
    if in_memory {
        Migrator::up(&db, None).await?;
    }
    Ok(db)
}

/// The key of the migrations' advisory lock on PostgreSQL ("MIGR" in ASCII).
const MIGRATION_LOCK: i64 = 0x4D49_4752;

/// Brings the schema up to date, one process at a time: api replicas and workers starting at
/// once on an empty database would otherwise both find a migration not applied and both run it,
/// and the second would fail on tables the first made. On PostgreSQL an advisory lock held by
/// the one connection the migrations run on; on SQLite an exclusive lock on a file beside the
/// database (`<file>.migrate-lock`; not the database file itself, whose own locks a second
/// handle to it would release). Run without a statement timeout: an index build may be long.
async fn migrate(url: &str) -> Result<(), DbErr> {
    let mut options = options(url);
    // One connection, kept however long the migrations take: the lock is the connection's.
    let a_day = Duration::from_secs(24 * 60 * 60);
    options
        .max_connections(1)
        .min_connections(1)
        .max_lifetime(a_day)
        .idle_timeout(a_day);
    let db = Database::connect(options).await?;
    let migrated = if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
        Migrator::up(&db, None).await
    } else {
        let _lock = lock_sqlite_migrations(url)
            .await
            .map_err(|error| DbErr::Custom(format!("locking the migrations: {error}")))?;
        // A new file is made in WAL mode, as the pool then uses it.
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
        Migrator::up(&db, None).await
    };
    // Closing the connection also releases the advisory lock.
    db.close().await?;
    migrated
}

/// For the migrations of an SQLite database file (ours, or the embedded queue's): an exclusive
/// lock on `<file>.migrate-lock`, held until the returned file is dropped, so processes
/// starting at once on the same files migrate one after the other. `None` for another URL.
pub async fn lock_sqlite_migrations(url: &str) -> std::io::Result<Option<std::fs::File>> {
    let Some(path) = sqlite_file(url) else {
        return Ok(None);
    };
    let path = format!("{path}.migrate-lock");
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(Some(file))
    })
    .await
    .map_err(std::io::Error::other)?
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
    use super::{
        CONFLICT_ATTEMPTS, MAX_BOUND_VALUES, combined, renumber_placeholders, retrying, sqlite_file,
    };
    use std::cell::Cell;

    /// An attempt that conflicts `conflicts` times, then succeeds; what `retrying` answered and
    /// how many attempts it made.
    async fn run_conflicting(conflicts: u32) -> (Result<&'static str, &'static str>, u32) {
        let attempts = Cell::new(0);
        let result = retrying(
            "test",
            |error: &&str| *error == "conflict",
            || {
                attempts.set(attempts.get() + 1);
                let conflicted = attempts.get() <= conflicts;
                async move {
                    if conflicted {
                        Err("conflict")
                    } else {
                        Ok("done")
                    }
                }
            },
        )
        .await;
        (result, attempts.get())
    }

    #[tokio::test]
    async fn a_conflicting_attempt_is_run_again_up_to_the_limit() {
        assert_eq!(run_conflicting(0).await, (Ok("done"), 1));
        assert_eq!(
            run_conflicting(CONFLICT_ATTEMPTS - 1).await,
            (Ok("done"), CONFLICT_ATTEMPTS)
        );
        assert_eq!(
            run_conflicting(CONFLICT_ATTEMPTS).await,
            (Err("conflict"), CONFLICT_ATTEMPTS),
            "the last conflict is answered"
        );
    }

    #[tokio::test]
    async fn another_error_is_answered_at_once() {
        let attempts = Cell::new(0);
        let result: Result<(), &str> = retrying(
            "test",
            |error: &&str| *error == "conflict",
            || {
                attempts.set(attempts.get() + 1);
                async { Err("refused") }
            },
        )
        .await;
        assert_eq!((result, attempts.get()), (Err("refused"), 1));
    }
    use sea_orm::{DbBackend, Statement, Value, Values};

    fn binding(table: &str, count: usize) -> Statement {
        let placeholders: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                r#"DELETE FROM "{table}" WHERE "id" IN ({})"#,
                placeholders.join(", ")
            ),
            Values((0..count).map(|n| Value::from(n as i64)).collect()),
        )
    }

    #[test]
    fn writes_become_one_statement_until_their_values_overflow_it() {
        let one = combined(vec![binding("a", 2), binding("b", 1), binding("c", 2)]);
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].sql,
            r#"WITH w0 AS (DELETE FROM "a" WHERE "id" IN ($1, $2)), w1 AS (DELETE FROM "b" WHERE "id" IN ($3)) DELETE FROM "c" WHERE "id" IN ($4, $5)"#
        );
        let values = &one[0].values.as_ref().unwrap().0;
        assert_eq!(values, &[0i64, 1, 0, 0, 1].map(Value::from).to_vec());

        let many = combined(vec![
            binding("a", 30_000),
            binding("b", 30_000),
            binding("c", 30_000),
        ]);
        assert_eq!(
            many.len(),
            2,
            "60,000 values fit in one statement, 90,000 don't"
        );
        assert!(many[0].sql.starts_with("WITH w0 AS"));
        assert!(many[0].sql.ends_with("$60000)"));
        assert_eq!(many[1].sql, binding("c", 30_000).sql);
        assert!(
            many.iter()
                .all(|s| s.values.as_ref().unwrap().0.len() <= MAX_BOUND_VALUES)
        );
    }

    #[test]
    fn placeholders_are_renumbered_outside_quotes_only() {
        assert_eq!(
            renumber_placeholders(
                r#"UPDATE "t$1" SET "a" = $1, b = '$2' WHERE c IN ($2, $10)"#,
                5
            ),
            r#"UPDATE "t$1" SET "a" = $6, b = '$2' WHERE c IN ($7, $15)"#
        );
        assert_eq!(renumber_placeholders("SELECT 1", 3), "SELECT 1");
    }

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
