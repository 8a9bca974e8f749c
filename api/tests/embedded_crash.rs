//! The embedded default as a person runs it (`cargo run -p api`, no settings): killed with
//! SIGKILL while jobs are being retried, then started again, it finishes every side effect
//! within 30 s.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{free_port, graphql, start_api, wait_for, workspace_and_gus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_killed_mid_run_finishes_its_jobs_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The fault: where the emails go is a file, not a folder, so every email fails and is
    // retried until it is removed.
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/mail"), "not a folder").unwrap();
    let port = free_port();

    let (api, token) = start_api(dir.path(), port, true, &[]);
    let token = token.expect("the first start prints the owner's token");
    let (workspace, gus) = workspace_and_gus(&api, &token).await;
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
    wait_for(10, Duration::from_millis(50), async || {
        let answer = graphql(&api, &token, status_query, json!({ "id": offboarding })).await;
        let jobs = answer["data"]["offboarding"]["jobs"].as_array().unwrap();
        let attempted = jobs
            .iter()
            .any(|job| job["kind"] == "SEND_REMOVAL_EMAIL" && job["attempts"].as_i64() > Some(0));
        attempted
            .then_some(())
            .ok_or_else(|| format!("the email is attempted: {answer}"))
    })
    .await;
    drop(api); // SIGKILL, with the email being retried
    std::fs::remove_file(dir.path().join("data/mail")).unwrap();

    let (api, _) = start_api(dir.path(), port, false, &[]);
    wait_for(30, Duration::from_millis(100), async || {
        let answer = graphql(&api, &token, status_query, json!({ "id": offboarding })).await;
        let succeeded = answer["data"]["offboarding"]["status"] == "SUCCEEDED";
        succeeded
            .then_some(())
            .ok_or_else(|| format!("every job finished within 30 s of the restart: {answer}"))
    })
    .await;
    let sent = std::fs::read_dir(dir.path().join("data/mail"))
        .unwrap()
        .count();
    assert_eq!(sent, 1, "one email");
}
