//! The embedded default as a person runs it (`cargo run -p api`, no settings): killed with
//! SIGKILL while jobs are being retried, then started again, it finishes every side effect
//! within 30 s.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Api {
    process: Child,
    url: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Starts the api binary in `dir` with nothing configured but the port; returns it once it
/// listens, with the owner token it prints on its first start.
fn start_api(dir: &Path, port: u16, first_start: bool) -> (Api, Option<String>) {
    let mut process = Command::new(env!("CARGO_BIN_EXE_api"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the api binary starts");
    let (lines, printed) = std::sync::mpsc::channel();
    let stdout = process.stdout.take().unwrap();
    // Read everything it prints, so that a full pipe never blocks it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut token = None;
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(60)) {
        if let Some((_, rest)) = line.split_once("\"Bearer ") {
            token = rest.split('"').next().map(str::to_owned);
        }
        let last = if first_start {
            "Every demo person"
        } else {
            "GraphiQL"
        };
        if line.starts_with(last) {
            break;
        }
    }
    let api = Api {
        process,
        url: format!("http://127.0.0.1:{port}/graphql"),
    };
    (api, token)
}

async fn graphql(api: &Api, token: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(&api.url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the api answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_killed_mid_run_finishes_its_jobs_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The fault: where the emails go is a file, not a folder, so every email fails and is
    // retried until it is removed.
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/mail"), "not a folder").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let (api, token) = start_api(dir.path(), port, true);
    let token = token.expect("the first start prints the owner's token");
    let viewer = graphql(&api, &token, "{ viewer { workspace { id } } }", Value::Null).await;
    let workspace = viewer["data"]["viewer"]["workspace"]["id"].clone();
    let members = graphql(
        &api,
        &token,
        "query($ws: UUID!) { members(workspaceId: $ws, filter: { search: \"gus\" }) { edges { node { user { id } } } } }",
        json!({ "ws": workspace }),
    )
    .await;
    let gus = members["data"]["members"]["edges"][0]["node"]["user"]["id"].clone();
    let removed = graphql(
        &api,
        &token,
        "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id } userErrors { code } } }",
        json!({ "input": { "workspaceId": workspace, "userIds": [gus] } }),
    )
    .await;
    let offboarding = removed["data"]["removeMembers"]["offboarding"]["id"].clone();
    assert!(offboarding.is_string(), "{removed}");

    let status_query =
        "query($id: UUID!) { offboarding(id: $id) { status jobs { kind status attempts } } }";
    let failing = Instant::now();
    loop {
        let answer = graphql(&api, &token, status_query, json!({ "id": offboarding })).await;
        let jobs = answer["data"]["offboarding"]["jobs"]
            .as_array()
            .unwrap()
            .clone();
        if jobs
            .iter()
            .any(|job| job["kind"] == "send_removal_email" && job["attempts"].as_i64() > Some(0))
        {
            break;
        }
        assert!(
            failing.elapsed() < Duration::from_secs(10),
            "the email is attempted: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(api); // SIGKILL, with the email being retried
    std::fs::remove_file(dir.path().join("data/mail")).unwrap();

    let (api, _) = start_api(dir.path(), port, false);
    let restarted = Instant::now();
    loop {
        let answer = graphql(&api, &token, status_query, json!({ "id": offboarding })).await;
        if answer["data"]["offboarding"]["status"] == "SUCCEEDED" {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "every job finished within 30 s of the restart: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = std::fs::read_dir(dir.path().join("data/mail"))
        .unwrap()
        .count();
    assert_eq!(sent, 1, "one email");
}
