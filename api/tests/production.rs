//! The README's "Running in production", run as written: the day-one walkthrough's shell
//! blocks, in order, against a database that doesn't exist yet (PostgreSQL) and Redis, then its
//! last step, signing in to the People page, in Chromium; and the block that writes the compose
//! stack's `.env`, whose file must start the api with a bootstrap. The only changes made to the
//! commands: the test's own database name, port and queue name.

#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const README: &str = include_str!("../../README.md");

/// The text between `<!-- name -->` and `<!-- /name -->`.
fn section(name: &str) -> &'static str {
    let open = format!("<!-- {name} -->");
    let close = format!("<!-- /{name} -->");
    let start = README
        .find(&open)
        .unwrap_or_else(|| panic!("{open} in README.md"))
        + open.len();
    let length = README[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("{close} in README.md"));
    &README[start..start + length]
}

/// The `sh` code blocks of a section, as a shell reads them (a list item's indent removed).
fn shell_blocks(section: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for line in section.lines() {
        let trimmed = line.trim_start();
        match &mut block {
            None if trimmed == "```sh" => block = Some((line.len() - trimmed.len(), Vec::new())),
            Some(_) if trimmed == "```" => {
                let (_, lines) = block.take().unwrap();
                blocks.push(lines.join("\n"));
            }
            Some((indent, lines)) => lines.push(line.get(*indent..).unwrap_or_default()),
            None => {}
        }
    }
    blocks
}

/// `text` with `from` replaced by `to`, which must occur in it.
fn substituted(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the README's commands no longer say {from:?}"
    );
    text.replace(from, to)
}

/// Where the binaries are: the api's, and the worker built beside it (by this command if the
/// test runs alone).
fn binaries() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_api"))
        .parent()
        .unwrap()
        .to_owned();
    if !dir.join("worker").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(cargo)
            .args(["build", "-p", "worker", "--bin", "worker"])
            .status()
            .unwrap();
        assert!(built.success(), "building the worker binary");
    }
    dir
}

/// What the walkthrough leaves running and made: stopped and dropped however the test ends.
struct Walkthrough {
    process_group: u32,
    database: String,
}

impl Drop for Walkthrough {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.process_group)])
            .status();
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("dropdb")
            .args(["--host", "127.0.0.1", "--username", "postgres", "--force"])
            .args(["--if-exists", &self.database])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(offboarding_no_browser, offboarding_sqlite_only),
    ignore = "OFFBOARDING_TESTS"
)]
async fn day_one_runs_as_the_readme_writes_it() {
    let blocks = shell_blocks(section("day-one"));
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    let database = format!("offboarding_readme_{}", uuid::Uuid::now_v7().simple());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = blocks.join("\n");
    let script = substituted(
        &script,
        "127.0.0.1:5432/offboarding",
        &format!("127.0.0.1:5432/{database}"),
    );
    let script = substituted(
        &script,
        "--username postgres offboarding",
        &format!("--username postgres {database}"),
    );
    let script = substituted(&script, "127.0.0.1:8080", &format!("127.0.0.1:{port}"));

    let dir = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        binaries().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::fs::File::create(dir.path().join("walkthrough.log")).unwrap();
    let mut shell = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("QUEUE_NAME", format!("readme-{database}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        // Its own process group, with the api and worker it leaves running: stopped together.
        .process_group(0)
        .spawn()
        .unwrap();
    let walkthrough = Walkthrough {
        process_group: shell.id(),
        database,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = shell.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the walkthrough never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let log = std::fs::read_to_string(dir.path().join("walkthrough.log")).unwrap();
    assert!(status.success(), "the walkthrough failed:\n{log}");
    assert!(
        log.lines().any(|line| line.starts_with(
            "bootstrapped: organization \"Initech\", workspace \"People Ops\" (slug people-ops), owner peter@initech.test"
        )),
        "{log}"
    );
    let password = std::fs::read_to_string(dir.path().join("owner-password")).unwrap();
    let password = password.trim_end_matches('\n');
    assert!(password.len() >= 20, "a generated password: {password:?}");

    // Step 4: the owner signs in to the People page and finds themself alone, with the next
    // step.
    let seen = tests::browser::run(
        "first-day.mjs",
        json!({ "url": format!("http://127.0.0.1:{port}"), "workspaceSlug": "people-ops",
                "email": "peter@initech.test", "password": password }),
    )
    .await;
    assert!(seen["error"].is_null(), "{seen}");
    assert_eq!(seen["members"], json!(["peter@initech.test"]), "{seen}");
    assert_eq!(seen["nextStepShown"], true, "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    drop(walkthrough);
}

/// The compose stack's `.env`, written by the README's block: its passwords are generated (the
/// database's fit in a URL as it is), it is for its owner's eyes only, and the api reads a
/// bootstrap from it.
#[test]
fn the_compose_env_file_bootstraps_the_api() {
    let blocks = shell_blocks(section("compose-env"));
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &blocks[0]])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let file = dir.path().join(".env");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "only its owner reads it");
    let text = std::fs::read_to_string(file).unwrap();
    let mut variables: std::collections::HashMap<String, String> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let database_password = variables.remove("POSTGRES_PASSWORD").unwrap();
    assert!(
        database_password.len() >= 16
            && database_password.chars().all(|c| c.is_ascii_alphanumeric()),
        "{database_password:?}"
    );
    // As docker-compose.yml hands them to the api.
    variables.insert(
        "DATABASE_URL".into(),
        format!("postgres://postgres:{database_password}@postgres:5432/offboarding"),
    );
    variables.insert("REDIS_URL".into(), "redis://redis:6379".into());
    let config = api::Settings::from_vars(variables).expect("the api starts with it");
    let bootstrap = config.bootstrap.expect("a bootstrap");
    assert_eq!(bootstrap.organization.as_str(), "Initech");
    assert_eq!(bootstrap.workspace_slug.as_str(), "people-ops");
    assert_eq!(bootstrap.owner_email.as_str(), "peter@initech.test");
    assert!(!config.demo_data);
}
