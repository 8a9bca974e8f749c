//! The api binary as a person runs it: started in a folder of its own, nothing configured but
//! what a test gives.

#![allow(
    clippy::unwrap_used,
    reason = "test support: a failed unwrap here is a failed test"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Api {
    process: Child,
    pub url: String,
    /// What it printed on stdout until its welcome was done.
    #[allow(
        dead_code,
        reason = "read by logs.rs only; each test crate compiles support anew"
    )]
    pub welcome: Vec<String>,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Starts the api binary in `dir` with nothing configured but the port and `variables`; returns
/// it once it listens, with the owner token it prints on its first start. What it logs goes to
/// `dir/api.log`.
pub fn start_api(
    dir: &Path,
    port: u16,
    first_start: bool,
    variables: &[(&str, &str)],
) -> (Api, Option<String>) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("api.log"))
        .expect("a log file");
    let mut process = Command::new(env!("CARGO_BIN_EXE_api"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .envs(variables.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
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
    let mut welcome = Vec::new();
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(60)) {
        if let Some((_, rest)) = line.split_once("\"Bearer ") {
            token = rest.split('"').next().map(str::to_owned);
        }
        // The welcome's last line, as text or (LOG_FORMAT=json) as an event.
        let last = if first_start {
            ["Every demo person", "\"message\":\"demo data loaded\""]
        } else {
            ["GraphiQL", "\"message\":\"listening\""]
        };
        let done = line.starts_with(last[0]) || line.contains(last[1]);
        welcome.push(line);
        if done {
            break;
        }
    }
    let api = Api {
        process,
        url: format!("http://127.0.0.1:{port}/graphql"),
        welcome,
    };
    (api, token)
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Looks with `look` every `every` until it finds what it looks for; once `seconds` have
/// passed, panics with what the last look saw.
pub async fn wait_for<T>(
    seconds: u64,
    every: Duration,
    mut look: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match look().await {
            Ok(found) => return found,
            Err(seen) => assert!(Instant::now() < deadline, "{seen}"),
        }
        tokio::time::sleep(every).await;
    }
}

pub async fn graphql(api: &Api, token: &str, query: &str, variables: Value) -> Value {
    graphql_as_request(api, token, None, query, variables).await
}

/// [`graphql`], sending `x-request-id` when given.
pub async fn graphql_as_request(
    api: &Api,
    token: &str,
    request_id: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new().post(&api.url).bearer_auth(token);
    if let Some(request_id) = request_id {
        request = request.header("x-request-id", request_id);
    }
    request
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the api answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// The demo workspace's id and Gus Guest's, a demo member a test can remove.
pub async fn workspace_and_gus(api: &Api, token: &str) -> (Value, Value) {
    let viewer = graphql(api, token, "{ viewer { workspace { id } } }", Value::Null).await;
    let workspace = viewer["data"]["viewer"]["workspace"]["id"].clone();
    let members = graphql(
        api,
        token,
        "query($ws: UUID!) { members(workspaceId: $ws, filter: { search: \"gus\" }) { edges { node { user { id } } } } }",
        json!({ "ws": workspace }),
    )
    .await;
    let gus = members["data"]["members"]["edges"][0]["node"]["user"]["id"].clone();
    (workspace, gus)
}
