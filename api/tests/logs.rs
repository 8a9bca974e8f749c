//! What an operator reads at `RUST_LOG=info` with `LOG_FORMAT=json`: one line per GraphQL
//! operation (operation, outcome, duration, request id, kind of principal; never a token) and
//! one per job run (kind, outbox row, offboarding, attempt, outcome, duration).

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Api, free_port, graphql_as_request, start_api, wait_for, workspace_and_gus};

async fn post(api: &Api, token: &str, request_id: &str, query: &str, variables: Value) -> Value {
    graphql_as_request(api, token, Some(request_id), query, variables).await
}

/// The JSON lines logged so far with this message.
fn lines(log: &str, message: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message)
        .collect()
}

/// A first start with demo data, logging JSON at `info`: its folder, port, process and the demo
/// owner's token, read from its welcome.
fn start_in_json_mode() -> (tempfile::TempDir, u16, Api, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (api, token) = start_api(
        dir.path(),
        port,
        true,
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    let token = token.expect("the first start prints the owner's token");
    (dir, port, api, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_and_every_job_run_is_one_json_line() {
    let (dir, _, api, token) = start_in_json_mode();
    let (workspace, gus) = workspace_and_gus(&api, &token).await;
    let remove = "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id } userErrors { code } } }";
    let gus_out = json!({ "input": { "workspaceId": workspace, "userIds": [gus] } });
    let removed = post(&api, &token, "req-remove-gus", remove, gus_out.clone()).await;
    let offboarding = removed["data"]["removeMembers"]["offboarding"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{removed}"))
        .to_owned();
    // Refused (gus is out now), and malformed.
    post(&api, &token, "req-again", remove, gus_out).await;
    post(&api, &token, "req-garbage", "{ nothing }", Value::Null).await;

    let log_path = dir.path().join("api.log");
    let jobs = wait_for(30, Duration::from_millis(100), async || {
        let log = std::fs::read_to_string(&log_path).unwrap();
        let jobs: Vec<Value> = lines(&log, "job")
            .into_iter()
            .filter(|line| line["fields"]["offboarding_id"] == offboarding.as_str())
            .collect();
        // Sessions, campaigns, and gus's email.
        if jobs.len() >= 3 {
            Ok(jobs)
        } else {
            Err(format!("a line per job run: {log}"))
        }
    })
    .await;
    drop(api);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains(&token), "no token is ever logged");

    let kinds: Vec<&str> = jobs
        .iter()
        .map(|job| job["fields"]["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "end_sessions",
        "reattribute_campaigns",
        "send_removal_email",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for job in &jobs {
        let fields = &job["fields"];
        assert_eq!(fields["outcome"], "succeeded", "{job}");
        assert_eq!(fields["attempt"], 1, "{job}");
        assert!(fields["outbox_id"].is_string(), "{job}");
        assert!(fields["duration_ms"].is_number(), "{job}");
        assert_eq!(job["level"], "INFO");
    }

    let requests = lines(&log, "graphql request");
    let line = |request_id: &str| {
        requests
            .iter()
            .find(|line| line["fields"]["request_id"] == request_id)
            .unwrap_or_else(|| panic!("a line for {request_id}: {requests:?}"))["fields"]
            .clone()
    };
    let removal = line("req-remove-gus");
    assert_eq!(removal["operation"], "mutation removeMembers");
    assert_eq!(removal["outcome"], "ok");
    assert_eq!(removal["principal"], "session");
    assert!(removal["duration_ms"].is_number());
    assert_eq!(line("req-again")["outcome"], "user_errors");
    assert_eq!(line("req-garbage")["outcome"], "BAD_USER_INPUT");
    // Requests without an x-request-id get one of the api's.
    assert!(
        requests
            .iter()
            .all(|line| line["fields"]["request_id"].is_string()),
        "{requests:?}"
    );
}

/// With `LOG_FORMAT=json`, everything the api writes is a JSON event per line: its welcome on
/// stdout (`target: welcome`: where things are, then the demo owner's token), its logs on
/// stderr without any token, and a failure to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_json_mode_the_welcome_and_a_failure_are_json_events_too() {
    let (dir, port, api, token) = start_in_json_mode();
    let events: Vec<Value> = api
        .welcome
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON event: {line}"))
        })
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .map(|event| event["fields"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["listening", "demo data loaded"]);
    for event in &events {
        assert_eq!(event["target"], "welcome", "{event}");
        assert_eq!(event["level"], "INFO", "{event}");
    }
    let listening = &events[0]["fields"];
    assert_eq!(
        listening["graphql"],
        format!("http://127.0.0.1:{port}/graphql")
    );
    assert_eq!(listening["sign_in_workspace"], "acme-marketing");
    let demo = &events[1]["fields"];
    assert_eq!(demo["authorization"], format!("Bearer {token}"));
    assert_eq!(demo["owner"], "olivia.owner@acme.test");
    // The welcome works: its token answers.
    let (workspace, _) = workspace_and_gus(&api, &token).await;
    assert_eq!(demo["workspace_id"], workspace);
    drop(api);
    let log = std::fs::read_to_string(dir.path().join("api.log")).unwrap();
    assert!(!log.contains(&token), "the welcome is not in the logs");
    for line in log.lines() {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "{line}");
    }

    // Started on a port already taken: the reason is an event on stderr.
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let taken = holder.local_addr().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_api"))
        .current_dir(dir.path())
        .env_clear()
        .env("LOG_FORMAT", "json")
        .env("BIND_ADDRESS", taken.to_string())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failure: Value = serde_json::from_str(stderr.lines().last().unwrap())
        .unwrap_or_else(|_| panic!("a JSON event: {stderr}"));
    assert_eq!(failure["fields"]["message"], "failed to start", "{failure}");
    assert_eq!(failure["level"], "ERROR");
    assert!(
        failure["fields"]["error"]
            .as_str()
            .unwrap()
            .contains(&taken.to_string()),
        "{failure}"
    );
}
