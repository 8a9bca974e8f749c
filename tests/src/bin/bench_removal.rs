//! Measures removal: one member per call, 10,000 members in one call, and the time from a
//! mutation's answer to its offboarding being SUCCEEDED. Runs the real application over HTTP.
//!
//!   cargo run --release -p tests --bin bench-removal -- postgres
//!   cargo run --release -p tests --bin bench-removal -- sqlite
//!
//! Results are written down in docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use serde_json::json;
use tests::{Backend, TestApp, add_members, data, spawn_app};

const REMOVE: &str = "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) {
  offboarding { id } userErrors { code } } }";

async fn remove(app: &TestApp, user_ids: &[entities::UserId]) -> (Duration, String) {
    let started = Instant::now();
    let answer = app
        .graphql(
            Some(app.owner_token()),
            REMOVE,
            json!({ "input": { "workspaceId": app.demo.workspace_id, "userIds": user_ids } }),
        )
        .await;
    let elapsed = started.elapsed();
    let payload = &data(&answer)["removeMembers"];
    assert_eq!(payload["userErrors"], json!([]), "{answer}");
    (
        elapsed,
        payload["offboarding"]["id"].as_str().unwrap().to_owned(),
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
}

#[tokio::main]
async fn main() {
    let backend = Backend::from_args("bench-removal");
    let app = spawn_app(backend).await;
    println!("backend: {backend:?}");

    let singles = add_members(&app, 20).await;
    let mut call = Vec::new();
    let mut settled = Vec::new();
    for id in singles {
        let (elapsed, offboarding) = remove(&app, &[id]).await;
        let returned = Instant::now();
        let result = app
            .wait_for_offboarding(&offboarding, Duration::from_secs(60))
            .await;
        assert_eq!(result["status"], "SUCCEEDED", "{result}");
        settled.push(returned.elapsed());
        call.push(elapsed);
    }
    println!(
        "remove 1 member, one call (median of 20): {}",
        ms(median(call))
    );
    println!(
        "answer -> offboarding SUCCEEDED, 1 member (median of 20, polled every 100 ms): {}",
        ms(median(settled))
    );

    let many = add_members(&app, 10_000).await;
    let (elapsed, offboarding) = remove(&app, &many).await;
    println!("remove 10,000 members, one call: {}", ms(elapsed));
    let returned = Instant::now();
    let result = app
        .wait_for_offboarding(&offboarding, Duration::from_secs(900))
        .await;
    println!(
        "answer -> offboarding SUCCEEDED, 10,000 members ({} jobs): {} ({})",
        result["summary"]["total"],
        ms(returned.elapsed()),
        result["status"]
    );
}
