//! Day one on the binary, as an operator runs it: `api bootstrap` from a shell (made, already
//! done, bad input; two at once), and `BOOTSTRAP_*` on the api's start (a bad password stops it
//! before anything is written; a second start says it was already done). On PostgreSQL and on
//! the embedded SQLite file.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

#[allow(
    dead_code,
    reason = "the binary tests' shared support: this file starts the api, it doesn't query it"
)]
mod support;

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use entities::{organization, user, workspace};
use sea_orm::{ColumnTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use tests::{Backend, Fresh};

const PASSWORD: &str = "a long enough password";

/// `api bootstrap` with these arguments against the fresh database, started (not waited for),
/// the password written to its standard input.
fn bootstrap(fresh: &Fresh, dir: &std::path::Path, args: &[&str], password: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
        .arg("bootstrap")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            fresh.config.worker.database.url.expose_secret(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the api binary runs");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{password}").unwrap();
    drop(stdin);
    child
}

fn finished(child: Child) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().expect("an exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn initech(organization: &str) -> Vec<&str> {
    vec![
        "--organization",
        organization,
        "--workspace",
        "People Ops",
        "--owner-email",
        "peter@initech.test",
        "--owner-name",
        "Peter Gibbons",
        "--password-stdin",
    ]
}

/// The organizations' names; none while the database has no schema yet (nothing was written,
/// not even the migrations), which is the only error this accepts.
async fn organizations(fresh: &Fresh) -> Vec<String> {
    let db = Database::connect(fresh.config.worker.database.url.expose_secret())
        .await
        .unwrap();
    let names = match organization::Entity::find().all(&db).await {
        Ok(organizations) => organizations
            .into_iter()
            .map(|organization| organization.name)
            .collect(),
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("no such table: organization")
                    || message.contains("relation \"organization\" does not exist"),
                "{message}"
            );
            Vec::new()
        }
    };
    db.close().await.unwrap();
    names
}

async fn the_command_line(backend: Backend) {
    let fresh = Fresh::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // Bad input: exit 2, a message naming what is wrong, nothing written.
    let refusals: [(Vec<&str>, &str, &str); 5] = [
        (
            initech("Initech"),
            "short",
            "the password (--password-stdin) must be at least 8 characters; nothing was changed",
        ),
        (
            vec![
                "--organization",
                "Initech",
                "--workspace",
                "People Ops",
                "--owner-email",
                "peter",
                "--password-stdin",
            ],
            PASSWORD,
            "--owner-email is not an email address; nothing was changed",
        ),
        (
            vec![
                "--organization",
                "Initech",
                "--workspace",
                "People Ops",
                "--workspace-slug",
                "admin",
                "--owner-email",
                "peter@initech.test",
                "--password-stdin",
            ],
            PASSWORD,
            "--workspace-slug \"admin\" is kept for the service itself: choose another; nothing was changed",
        ),
        (
            vec![
                "--organization",
                "Initech",
                "--workspace",
                "People Ops",
                "--owner-email",
                "peter@initech.test",
            ],
            PASSWORD,
            "--password-stdin",
        ),
        (
            vec![
                "--organization",
                "Initech",
                "--workspace",
                "API",
                "--owner-email",
                "peter@initech.test",
                "--password-stdin",
            ],
            PASSWORD,
            "--workspace makes the slug \"api\", which is kept for the service itself: give a slug too; nothing was changed",
        ),
    ];
    for (args, password, says) in refusals {
        let (code, stdout, stderr) = finished(bootstrap(&fresh, dir, &args, password));
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(password) && !stdout.contains(password),
            "the password is never echoed: {stdout}{stderr}"
        );
    }
    assert_eq!(
        organizations(&fresh).await,
        Vec::<String>::new(),
        "nothing was written"
    );

    // Made: exit 0 and one line; the owner can sign in (their password is the one given).
    let (code, stdout, stderr) = finished(bootstrap(&fresh, dir, &initech("Initech"), PASSWORD));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(
            "bootstrapped: organization \"Initech\", workspace \"People Ops\" (slug people-ops), owner peter@initech.test; sign in at http"
        ),
        "{stdout}"
    );
    let db = Database::connect(fresh.config.worker.database.url.expose_secret())
        .await
        .unwrap();
    let owner = user::Entity::find()
        .filter(user::Column::Email.eq("peter@initech.test"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.name, "Peter Gibbons");
    assert!(
        rules::security::verify_password(PASSWORD.into(), owner.password_hash)
            .await
            .unwrap(),
        "the password read from standard input, less its line ending"
    );
    db.close().await.unwrap();

    // Again: exit 0, already done, nothing more.
    let (code, stdout, _) = finished(bootstrap(&fresh, dir, &initech("Initrode"), PASSWORD));
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "already bootstrapped: the database holds an organization; nothing was changed\n"
    );
    assert_eq!(organizations(&fresh).await, ["Initech"]);
}

/// Two operators (or two Kubernetes Jobs) at once on an empty database: one makes the
/// organization, the other finds it made; both exit 0.
async fn two_at_once(backend: Backend) {
    let fresh = Fresh::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let first = bootstrap(&fresh, dir.path(), &initech("Initech"), PASSWORD);
    let second = bootstrap(&fresh, dir.path(), &initech("Initrode"), PASSWORD);
    let mut outcomes: Vec<(i32, String)> = [first, second]
        .map(finished)
        .into_iter()
        .map(|(code, stdout, stderr)| (code, format!("{stdout}{stderr}")))
        .collect();
    outcomes.sort();
    assert_eq!(outcomes[0].0, 0, "{outcomes:?}");
    assert_eq!(outcomes[1].0, 0, "{outcomes:?}");
    assert!(
        outcomes[0].1.starts_with("already bootstrapped"),
        "{outcomes:?}"
    );
    assert!(outcomes[1].1.starts_with("bootstrapped: "), "{outcomes:?}");
    assert_eq!(organizations(&fresh).await.len(), 1);
}

/// `BOOTSTRAP_*` on the api's start: a password below the minimum stops it at once, naming
/// the variable, with nothing written; right, it makes the organization, and a second start
/// logs that it was already done.
async fn on_start(backend: Backend) {
    let fresh = Fresh::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh.config.worker.database.url.expose_secret().to_owned();
    let variables = |password: &'static str| {
        vec![
            ("DATABASE_URL", url.clone()),
            ("QUEUE_NAME", fresh.config.worker.queue.name.clone()),
            ("BOOTSTRAP_ORGANIZATION", "Initech".to_owned()),
            ("BOOTSTRAP_WORKSPACE", "People Ops".to_owned()),
            ("BOOTSTRAP_OWNER_EMAIL", "peter@initech.test".to_owned()),
            ("BOOTSTRAP_OWNER_PASSWORD", password.to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ]
    };
    let mut queue = Vec::new();
    if let worker::settings::QueueBackend::Redis(redis) = &fresh.config.worker.queue.backend {
        queue.push(("REDIS_URL", redis.expose_secret().to_owned()));
        queue.push(("IN_PROCESS_WORKER", "true".to_owned()));
    }
    // Without a bootstrap, on an empty database: it starts, and says nobody can sign in yet.
    let unbootstrapped: Vec<(&str, String)> = variables(PASSWORD)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("BOOTSTRAP_"))
        .chain(queue.clone())
        .collect();
    let unbootstrapped: Vec<(&str, &str)> = unbootstrapped
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let (api, _) = support::start_api(dir.path(), support::free_port(), false, &unbootstrapped);
    drop(api);
    let said = std::fs::read_to_string(dir.path().join("api.log")).unwrap();
    assert!(
        said.contains("the database holds no organization, so nobody can sign in"),
        "{said}"
    );
    std::fs::remove_file(dir.path().join("api.log")).unwrap();

    let refused = Command::new(env!("CARGO_BIN_EXE_api"))
        .current_dir(dir.path())
        .env_clear()
        .env(
            "BIND_ADDRESS",
            format!("127.0.0.1:{}", support::free_port()),
        )
        .envs(variables("short").into_iter().chain(queue.clone()))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        said.trim(),
        "configuration error: BOOTSTRAP_OWNER_PASSWORD must be at least 8 characters"
    );
    assert_eq!(organizations(&fresh).await, Vec::<String>::new());

    let started = variables(PASSWORD)
        .into_iter()
        .chain(queue.clone())
        .collect::<Vec<_>>();
    let started: Vec<(&str, &str)> = started.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for start in ["first", "second"] {
        let port = support::free_port();
        let (api, _) = support::start_api(dir.path(), port, false, &started);
        let said = std::fs::read_to_string(dir.path().join("api.log")).unwrap();
        let expected = if start == "first" {
            "bootstrap: made the organization"
        } else {
            "bootstrap: already done"
        };
        assert!(said.contains(expected), "{start} start: {said}");
        drop(api);
        std::fs::remove_file(dir.path().join("api.log")).unwrap();
    }
    assert_eq!(organizations(&fresh).await, ["Initech"]);
    let db = Database::connect(url.as_str()).await.unwrap();
    let slugs: Vec<String> = workspace::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|workspace| workspace.slug)
        .collect();
    assert_eq!(slugs, ["people-ops"]);
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::Email.eq("peter@initech.test"))
            .count(&db)
            .await
            .unwrap(),
        1
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
                async fn postgres() {
                    super::$name(tests::Backend::Postgres).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(tests::Backend::Sqlite).await;
                }
            }
        )*
    };
}

on_both_backends!(the_command_line, two_at_once, on_start);
