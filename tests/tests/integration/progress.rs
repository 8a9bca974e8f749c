//! `offboardingProgress`: a removal's side effects streamed over WebSocket as they happen.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tests::{Answer, PROGRESS, TestApp, backend_tests, data};

use crate::support::{give_all_contacts_to_the_owner, no_worker, user_id};

async fn remove_mia(app: &TestApp) -> String {
    give_all_contacts_to_the_owner(app).await;
    let mia = user_id(app, "mia.member@acme.test").await;
    let answer = app
        .as_owner("mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id } userErrors { code } } }", json!({ "input": { "workspaceId": app.demo.workspace_id, "userIds": [mia], "revokeApiKeys": true } }))
        .await;
    data(&answer)["removeMembers"]["offboarding"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The progress events streamed: `next` messages with data (an error's `next` has none).
fn events(messages: &[Answer]) -> Vec<&Answer> {
    messages
        .iter()
        .filter(|m| m["type"] == "next")
        .filter_map(|m| m["payload"].get("data").filter(|data| !data.is_null()))
        .map(|data| &data["offboardingProgress"])
        .collect()
}

/// The code of the error that ended a subscription: a request error comes as an `error`
/// message, a resolver's as a `next` whose payload has `errors`, then `complete`.
fn error_code(messages: &[Answer]) -> &str {
    let errors = messages
        .iter()
        .find_map(|m| match m["type"].as_str() {
            Some("error") => Some(&m["payload"]),
            Some("next") if m["payload"].has_errors() => Some(&m["payload"]["errors"]),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected an error: {messages:?}"));
    errors[0]["extensions"]["code"].as_str().unwrap()
}

backend_tests! {
    every_state_of_every_job_is_streamed_until_all_are_done,
    the_subscription_needs_a_token_and_an_offboarding_of_ones_own,
}

async fn every_state_of_every_job_is_streamed_until_all_are_done(app: TestApp) {
    let offboarding_id = remove_mia(&app).await;
    let messages = app
        .follow_progress(Some(app.owner_token()), &offboarding_id, 60)
        .await;
    assert_eq!(
        messages.last().unwrap()["type"],
        "complete",
        "the stream ends by itself: {messages:?}"
    );
    let events = events(&messages);
    let mut by_job: HashMap<&str, Vec<&str>> = HashMap::new();
    for event in &events {
        assert_eq!(event["offboardingId"], offboarding_id.as_str());
        by_job
            .entry(event["jobId"].as_str().unwrap())
            .or_default()
            .push(event["status"].as_str().unwrap());
    }
    let offboarding = app
        .wait_for_offboarding(&offboarding_id, Duration::ZERO)
        .await;
    let jobs = offboarding["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4, "sessions, campaigns, keys and the email");
    assert_eq!(by_job.len(), jobs.len(), "every job is streamed");
    for job in jobs {
        let states = &by_job[job["id"].as_str().unwrap()];
        assert_eq!(states.first(), Some(&"PENDING"), "{states:?}");
        assert!(states.contains(&"QUEUED"), "{states:?}");
        assert_eq!(states.last(), Some(&"SUCCEEDED"), "{states:?}");
    }
    assert_eq!(events.last().unwrap()["offboardingStatus"], "SUCCEEDED");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e["offboardingStatus"] == "IN_PROGRESS")
    );

    // Subscribing after the fact replays the same history of each job and ends at once. Jobs
    // run side by side, and the live stream gives their events in the order they committed,
    // the replay in the order they were numbered: across jobs the two may differ.
    let replay = app
        .follow_progress(Some(app.owner_token()), &offboarding_id, 10)
        .await;
    let per_job = |events: &[&Answer]| {
        let mut by_job: HashMap<String, Vec<String>> = HashMap::new();
        for event in events {
            by_job
                .entry(event["jobId"].as_str().unwrap().to_owned())
                .or_default()
                .push(event["status"].as_str().unwrap().to_owned());
        }
        by_job
    };
    let replayed = self::events(&replay);
    assert_eq!(replayed.len(), events.len(), "{replay:?}");
    assert_eq!(per_job(&replayed), per_job(&events));
    assert_eq!(replay.last().unwrap()["type"], "complete");
}

async fn the_subscription_needs_a_token_and_an_offboarding_of_ones_own(app: TestApp) {
    let offboarding_id = remove_mia(&app).await;
    let messages = app.follow_progress(None, &offboarding_id, 10).await;
    assert_eq!(error_code(&messages), "UNAUTHENTICATED");
    assert!(
        events(&messages).is_empty(),
        "nothing streamed: {messages:?}"
    );
    let messages = app
        .follow_progress(Some("ofs_not-a-real-token"), &offboarding_id, 10)
        .await;
    assert_eq!(error_code(&messages), "UNAUTHENTICATED");
    let messages = app
        .follow_progress(Some(app.owner_token()), uuid::Uuid::now_v7(), 10)
        .await;
    assert_eq!(error_code(&messages), "NOT_FOUND");
    let max = app.sign_in("max.member@acme.test").await;
    let messages = app.follow_progress(Some(&max), &offboarding_id, 10).await;
    assert_eq!(error_code(&messages), "FORBIDDEN");
    let messages = app
        .follow_progress(Some(app.owner_token()), "not-a-uuid", 10)
        .await;
    assert_eq!(error_code(&messages), "BAD_USER_INPUT");
}

backend_tests! {
    signing_out_ends_ones_subscription => no_worker,
    a_subscriber_cut_off_mid_stream_stops_receiving => no_worker,
    queries_over_the_socket_are_refused,
}

/// Signing out ends the session a subscription was opened with: the stream ends too.
async fn signing_out_ends_ones_subscription(app: TestApp) {
    let offboarding_id = remove_mia(&app).await;
    let ada = app.sign_in("ada.admin@acme.test").await;
    let (streaming, started) = tokio::sync::oneshot::channel();
    let subscription = app.subscribe(
        Some(&ada),
        PROGRESS,
        json!({ "id": offboarding_id }),
        Duration::from_secs(20),
        Some(streaming),
    );
    let sign_out = async {
        started.await.expect("the subscription streams its history");
        let answer = app
            .graphql(
                Some(&ada),
                "mutation { signOut { signedOut } }",
                Value::Null,
            )
            .await;
        assert_eq!(data(&answer)["signOut"]["signedOut"], true);
    };
    let (messages, ()) = tokio::join!(subscription, sign_out);
    assert!(
        events(&messages).iter().any(|e| e["status"] == "PENDING"),
        "it was streaming: {messages:?}"
    );
    assert_eq!(error_code(&messages), "UNAUTHENTICATED", "{messages:?}");
}

/// A socket outlives any one check: the subscriber's token is checked before every read, so
/// a subscriber deactivated mid-stream stops receiving at once.
async fn a_subscriber_cut_off_mid_stream_stops_receiving(app: TestApp) {
    let offboarding_id = remove_mia(&app).await;
    let ada = app.sign_in("ada.admin@acme.test").await;
    let ada_id = user_id(&app, "ada.admin@acme.test").await;
    let (streaming, started) = tokio::sync::oneshot::channel();
    let subscription = {
        let offboarding_id = offboarding_id.clone();
        let ada = ada.clone();
        let app = &app;
        async move {
            app.subscribe(
                Some(&ada),
                PROGRESS,
                json!({ "id": offboarding_id }),
                Duration::from_secs(20),
                Some(streaming),
            )
            .await
        }
    };
    let deactivate = async {
        // No worker runs: the jobs stay PENDING and the stream stays open until Ada is cut
        // off. Cut her off once her subscription is streaming.
        started.await.expect("the subscription streams its history");
        let answer = app
            .as_owner("mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { userErrors { code } } }", json!({ "input": { "workspaceId": app.demo.workspace_id, "userId": ada_id } }))
            .await;
        assert_eq!(data(&answer)["deactivateUser"]["userErrors"], json!([]));
    };
    let (messages, ()) = tokio::join!(subscription, deactivate);
    let received = events(&messages);
    assert!(
        received.iter().any(|e| e["status"] == "PENDING"),
        "the history came first: {messages:?}"
    );
    assert_eq!(error_code(&messages), "UNAUTHENTICATED", "{messages:?}");
}

/// The socket is for subscriptions: queries and mutations sent over it are not let in
/// (they go to `POST /graphql`, where every request is authenticated).
async fn queries_over_the_socket_are_refused(app: TestApp) {
    let messages = app
        .subscribe(
            Some(app.owner_token()),
            "{ viewer { role } }",
            Value::Null,
            Duration::from_secs(10),
            None,
        )
        .await;
    assert_eq!(error_code(&messages), "UNAUTHENTICATED");
}
