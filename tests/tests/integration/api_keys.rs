//! `apiKeys` and `revokeApiKey`: who sees which keys (never a secret), revoking one at once, and
//! the keys that outlive their creator's membership.

use std::time::Duration;

use entities::UserId;
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok, user_error_codes};

use crate::support::{
    ADA, MIA, OMAR, REMOVE, VIEWER, audit_entries, can_act, create_api_key, create_api_key_in,
    people, snapshot,
};

const API_KEYS: &str =
    "query($ws: UUID!, $filter: ApiKeyFilterInput, $first: Int, $after: String) {
    apiKeys(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { apiKey { id name prefix role revokedAt revokedReason }
                creator { email } creatorIsActiveMember lastUsedAt } } }";
const REVOKE: &str = "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) {
    apiKey { id name revokedAt revokedReason } userErrors { code message } } }";

async fn api_keys(app: &TestApp, token: &str, filter: Value) -> Answer {
    let answer = app
        .graphql(
            Some(token),
            API_KEYS,
            json!({ "ws": app.demo.workspace_id, "filter": filter }),
        )
        .await;
    data(&answer)["apiKeys"].clone()
}

/// The names of a list's keys, in its order.
fn names(connection: &Answer) -> Vec<String> {
    connection["nodes"]
        .items()
        .iter()
        .map(|node| node["apiKey"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn node<'a>(connection: &'a Answer, name: &str) -> &'a Answer {
    connection["nodes"]
        .items()
        .iter()
        .find(|node| node["apiKey"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed: {connection}"))
}

async fn revoke(app: &TestApp, token: &str, input: Value) -> Answer {
    let answer = app
        .graphql(Some(token), REVOKE, json!({ "input": input }))
        .await;
    data(&answer)["revokeApiKey"].clone()
}

/// Omar and Ada sign in and each create a key, "Omar's bot" (OWNER) and "Ada's sync" (MEMBER);
/// Mia signs in. (Omar's key, Ada's session, her key, Mia's session)
async fn signed_in_with_keys(app: &TestApp) -> (String, String, String, String) {
    let omar_session = app.sign_in(OMAR).await;
    let omar_key = create_api_key(app, &omar_session, "Omar's bot", "OWNER").await;
    let ada = app.sign_in(ADA).await;
    let ada_key = create_api_key(app, &ada, "Ada's sync", "MEMBER").await;
    let mia = app.sign_in(MIA).await;
    (omar_key, ada, ada_key, mia)
}

backend_tests! {
    each_caller_sees_the_keys_they_may_manage_and_never_a_secret,
    a_revoked_key_is_refused_at_once_and_only_whom_may_revoke_it_can,
    a_key_that_outlives_its_creator_is_marked_and_the_preview_names_it,
}

async fn each_caller_sees_the_keys_they_may_manage_and_never_a_secret(app: TestApp) {
    let (omar_key, ada, ada_key, mia) = signed_in_with_keys(&app).await;

    let all = api_keys(&app, app.owner_token(), Value::Null).await;
    assert_eq!(
        names(&all),
        ["Ada's sync", "Omar's bot", "Reporting", "CI deploy"],
        "an owner sees every key, newest first"
    );
    assert_eq!(all["totalCount"], 4);
    let text = all.to_string();
    assert!(
        !text.contains(&omar_key[4..]) && !text.contains(&ada_key[4..]),
        "never a secret"
    );
    assert_eq!(
        node(&all, "Omar's bot")["apiKey"]["prefix"],
        &omar_key[..12]
    );
    assert_eq!(node(&all, "Omar's bot")["creator"]["email"], OMAR);
    assert!(
        all["nodes"]
            .items()
            .iter()
            .all(|node| node["creatorIsActiveMember"] == true)
    );
    // An admin sees their own keys and those of roles below theirs; a member only their own.
    assert_eq!(
        names(&api_keys(&app, &ada, Value::Null).await),
        ["Ada's sync", "Reporting", "CI deploy"]
    );
    assert_eq!(
        names(&api_keys(&app, &mia, Value::Null).await),
        ["Reporting"]
    );
    // Filters.
    let [ada_id] = people(&app, [ADA]).await;
    assert_eq!(
        names(&api_keys(&app, app.owner_token(), json!({ "createdBy": ada_id })).await),
        ["Ada's sync", "CI deploy"]
    );
    assert_eq!(
        names(&api_keys(&app, app.owner_token(), json!({ "revoked": true })).await),
        Vec::<String>::new()
    );
    // Pages of two follow each other.
    let first = data(
        &app.as_owner(API_KEYS, json!({ "ws": app.demo.workspace_id, "first": 2 }))
            .await,
    )["apiKeys"]
        .clone();
    let second = data(
        &app.as_owner(API_KEYS, json!({ "ws": app.demo.workspace_id, "first": 2, "after": first["pageInfo"]["endCursor"] }))
        .await,
    )["apiKeys"]
        .clone();
    assert_eq!(
        [names(&first), names(&second)].concat(),
        names(&all),
        "no gap, no repeat"
    );
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // A key's use shows as lastUsedAt shortly after (written beside the request).
    assert!(node(&all, "Ada's sync")["lastUsedAt"].is_null());
    assert!(can_act(&app, &ada_key).await);
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let listed = api_keys(&app, app.owner_token(), Value::Null).await;
        last_used = node(&listed, "Ada's sync")["lastUsedAt"]
            .clone()
            .into_value();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_used.is_string(), "the key's use is recorded");

    // Another workspace's list is not found.
    let research = crate::access::research_workspace(&app).await;
    let answer = app.as_owner(API_KEYS, json!({ "ws": research })).await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
}

async fn a_revoked_key_is_refused_at_once_and_only_whom_may_revoke_it_can(app: TestApp) {
    let (omar_key, ada, ada_key, mia) = signed_in_with_keys(&app).await;
    let all = api_keys(&app, app.owner_token(), Value::Null).await;
    let id_of = |name: &str| node(&all, name)["apiKey"]["id"].clone().into_value();
    let [mia_id] = people(&app, [MIA]).await;

    let before = snapshot(&app).await;
    // An admin can't revoke an owner's key; a member can't revoke someone else's.
    let refused = revoke(&app, &ada, json!({ "apiKeyId": id_of("Omar's bot") })).await;
    assert_eq!(user_error_codes(&refused), ["ROLE_NOT_MANAGEABLE"]);
    assert!(refused["apiKey"].is_null());
    let answer = app
        .graphql(
            Some(&mia),
            REVOKE,
            json!({ "input": { "apiKeyId": id_of("Ada's sync") } }),
        )
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    assert_eq!(snapshot(&app).await, before, "nothing revoked");
    // Unknown, or of another workspace: not found.
    let research = crate::access::research_workspace(&app).await;
    let olivia_in_research = app.sign_in_to(research, crate::support::OLIVIA).await;
    let lab = create_api_key_in(&app, &olivia_in_research, research, "Lab", "MEMBER").await;
    let lab_key = lab["apiKey"]["id"].clone().into_value();
    let before_unknown = snapshot(&app).await;
    for id in [json!(uuid::Uuid::now_v7()), lab_key] {
        let answer = app
            .as_owner(REVOKE, json!({ "input": { "apiKeyId": id } }))
            .await;
        assert_eq!(error_code(&answer), "NOT_FOUND");
    }
    assert_eq!(snapshot(&app).await, before_unknown);
    assert!(can_act(&app, &omar_key).await && can_act(&app, &ada_key).await);

    // The admin revokes Mia's key, with a reason: refused at once, recorded.
    let reporting = id_of("Reporting");
    let input =
        json!({ "apiKeyId": reporting, "reason": "Leaked in a log", "idempotencyKey": "rk-1" });
    let revoked = revoke(&app, &ada, input.clone()).await;
    ok(&revoked);
    assert_eq!(revoked["apiKey"]["revokedReason"], "Leaked in a log");
    assert!(revoked["apiKey"]["revokedAt"].is_string());
    let listed = api_keys(&app, app.owner_token(), json!({ "revoked": true })).await;
    assert_eq!(names(&listed), ["Reporting"]);
    let entries = audit_entries(&app, "api_key_revoke").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_user_id, Some(mia_id));
    assert_eq!(entries[0].metadata["reason"], "Leaked in a log");
    assert_eq!(entries[0].metadata["api_key_id"], reporting);
    // A retry answers the first answer; revoking it again is refused.
    let replay = revoke(&app, &ada, input).await;
    assert_eq!(
        replay["apiKey"]["revokedAt"],
        revoked["apiKey"]["revokedAt"]
    );
    let again = revoke(&app, app.owner_token(), json!({ "apiKeyId": reporting })).await;
    assert_eq!(user_error_codes(&again), ["ALREADY_REVOKED"]);

    // Anyone revokes their own: Ada's key, through itself.
    ok(&revoke(&app, &ada_key, json!({ "apiKeyId": id_of("Ada's sync") })).await);
    assert!(!can_act(&app, &ada_key).await);
    assert!(can_act(&app, &omar_key).await, "other keys keep working");
}

async fn a_key_that_outlives_its_creator_is_marked_and_the_preview_names_it(app: TestApp) {
    let omar_session = app.sign_in(OMAR).await;
    let omar_key = create_api_key(&app, &omar_session, "Omar's bot", "OWNER").await;
    let [omar] = people(&app, [OMAR]).await;
    let answer = app
        .as_owner(
            "query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) {
                members { apiKeysToRevoke apiKeys { name role } } } }",
            json!({ "ws": app.demo.workspace_id, "ids": [omar] }),
        )
        .await;
    let previewed = &data(&answer)["removalPreview"]["members"][0];
    assert_eq!(previewed["apiKeysToRevoke"], 1);
    assert_eq!(
        previewed["apiKeys"],
        json!([{ "name": "Omar's bot", "role": "OWNER" }])
    );

    // Removed without revokeApiKeys: the key keeps acting as OWNER, and the list says why.
    let payload = app
        .owner_mutates(REMOVE, json!({ "userIds": [omar as UserId] }))
        .await;
    ok(&payload);
    let viewer = app.graphql(Some(&omar_key), VIEWER, Value::Null).await;
    assert_eq!(data(&viewer)["viewer"]["role"], "OWNER");
    let listed = api_keys(&app, app.owner_token(), json!({ "revoked": false })).await;
    let outlived = node(&listed, "Omar's bot");
    assert_eq!(outlived["creatorIsActiveMember"], false);
    assert_eq!(node(&listed, "CI deploy")["creatorIsActiveMember"], true);

    let revoked = revoke(
        &app,
        app.owner_token(),
        json!({ "apiKeyId": outlived["apiKey"]["id"] }),
    )
    .await;
    ok(&revoked);
    assert!(!can_act(&app, &omar_key).await);
}
