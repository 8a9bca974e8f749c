//! `api healthcheck`, docker-compose.yml's healthcheck: it passes against a running api and
//! fails, saying why, against a port nothing listens on; garbage on its command line is
//! refused with the usage.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

use std::net::SocketAddr;
use std::process::{Command, Output};

use api::{Application, Settings};
use worker::settings::{MailTransport, QueueBackend};

fn api_command(args: &[&str], bind_address: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_api"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND_ADDRESS", bind_address)
        .output()
        .expect("the api binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_tells_a_ready_api_from_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display();
    let mut config = Settings {
        bind_address: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Settings::default()
    };
    config.worker.database.url = format!("sqlite://{path}/app.db?mode=rwc").into();
    config.worker.queue.backend =
        QueueBackend::Sqlite(format!("sqlite://{path}/queue.db?mode=rwc"));
    config.worker.mail.transport = MailTransport::Folder(dir.path().join("mail"));
    let application = Application::build(config).await.expect("the api starts");
    let port = application.port();
    tokio::spawn(application.run_until_stopped());

    // As in the image: BIND_ADDRESS says every address, the check asks loopback.
    let ready = tokio::task::spawn_blocking(move || {
        api_command(&["healthcheck"], &format!("0.0.0.0:{port}"))
    })
    .await
    .unwrap();
    assert!(ready.status.success(), "{ready:?}");

    let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = nothing.local_addr().unwrap();
    drop(nothing);
    let down = api_command(&["healthcheck"], &closed.to_string());
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(said.contains("not ready: cannot connect"), "{said}");

    let garbage = api_command(&["healthcheck", "--now"], &closed.to_string());
    assert_eq!(garbage.status.code(), Some(2), "{garbage:?}");
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("Usage"));
    let unknown = api_command(&["frobnicate"], &closed.to_string());
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
}
