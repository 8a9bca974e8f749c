//! SCIM tokens, what an identity provider authenticates with at `/scim/v2`: an owner of the
//! organization makes them (the secret shown once, only its hash kept), lists and revokes them;
//! a workspace's OWNER or ADMIN who doesn't own the organization, and an API key, can't.

use entities::{AuditAction, audit_entry, scim_token};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, user_error_codes};

use crate::access::research_workspace;
use crate::support::{ADA, OLIVIA, OMAR, create_api_key, snapshot};

const CREATE: &str = "mutation($input: CreateScimTokenInput!) { createScimToken(input: $input) {
    secret scimToken { id name prefix revokedAt workspace { slug } } userErrors { code } } }";
const REVOKE: &str = "mutation($input: RevokeScimTokenInput!) { revokeScimToken(input: $input) {
    scimToken { id revokedAt } userErrors { code message } } }";
const LIST: &str = "query($org: UUID!) { scimTokens(organizationId: $org) { totalCount
    nodes { scimToken { id name prefix revokedAt workspace { slug } } creator { email } } } }";

async fn create(app: &TestApp, token: &str, input: Value) -> Answer {
    app.graphql(Some(token), CREATE, json!({ "input": input }))
        .await
}

async fn revoke(app: &TestApp, token: &str, id: &Value) -> Answer {
    app.graphql(
        Some(token),
        REVOKE,
        json!({ "input": { "scimTokenId": id } }),
    )
    .await
}

async fn list(app: &TestApp, token: &str, organization: Value) -> Answer {
    app.graphql(Some(token), LIST, json!({ "org": organization }))
        .await
}

async fn entries(app: &TestApp, action: AuditAction) -> Vec<audit_entry::Model> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .all(app.db())
        .await
        .unwrap()
}

backend_tests! {
    an_organization_owner_makes_lists_and_revokes_scim_tokens,
    only_an_organization_owner_handles_scim_tokens,
}

async fn an_organization_owner_makes_lists_and_revokes_scim_tokens(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let organization = json!(app.demo.organization_id);
    let okta = json!({ "organizationId": organization, "workspaceId": app.demo.workspace_id,
                       "name": " Okta ", "idempotencyKey": "okta-1" });
    let made = create(&app, &owner, okta.clone()).await;
    let payload = &data(&made)["createScimToken"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{made}");
    let secret = payload["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ofscim_"), "{secret}");
    let token = &payload["scimToken"];
    assert_eq!(token["name"], "Okta");
    assert_eq!(token["prefix"], &secret[..14]);
    assert_eq!(token["workspace"]["slug"], "acme-marketing");
    assert!(token["revokedAt"].is_null());
    let okta_id = token["id"].clone().into_value();

    // Only the hash is kept; a retry answers the first call without the secret.
    let stored = scim_token::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, platform::tokens::hash_token(&secret));
    assert!(!stored[0].token_hash.contains(&secret[7..]));
    let retried = create(&app, &owner, okta).await;
    assert!(
        data(&retried)["createScimToken"]["secret"].is_null(),
        "{retried}"
    );
    assert_eq!(
        data(&retried)["createScimToken"]["scimToken"]["id"],
        okta_id
    );
    assert_eq!(
        scim_token::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .len(),
        1
    );

    // The secret opens no GraphQL session: it is for /scim/v2 alone.
    let as_graphql = app
        .graphql(Some(&secret), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(error_code(&as_graphql), "UNAUTHENTICATED");

    let research = research_workspace(&app).await;
    let entra = create(
        &app,
        &owner,
        json!({ "organizationId": organization, "workspaceId": research, "name": "Entra ID" }),
    )
    .await;
    assert!(
        data(&entra)["createScimToken"]["secret"].is_string(),
        "{entra}"
    );
    let listed = list(&app, &owner, organization.clone()).await;
    let tokens = &data(&listed)["scimTokens"];
    assert_eq!(tokens["totalCount"], 2);
    let names: Vec<&str> = tokens["nodes"]
        .items()
        .iter()
        .map(|node| node["scimToken"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Entra ID", "Okta"], "newest first");
    assert_eq!(tokens["nodes"][1]["creator"]["email"], OLIVIA);
    assert_eq!(
        tokens["nodes"][0]["scimToken"]["workspace"]["slug"],
        "acme-research"
    );

    let revoked = revoke(&app, &owner, &okta_id).await;
    let payload = &data(&revoked)["revokeScimToken"];
    assert!(payload["scimToken"]["revokedAt"].is_string(), "{revoked}");
    let again = revoke(&app, &owner, &okta_id).await;
    assert_eq!(
        user_error_codes(&data(&again)["revokeScimToken"]),
        ["ALREADY_REVOKED"]
    );
    let listed = list(&app, &owner, organization).await;
    assert!(data(&listed)["scimTokens"]["nodes"][1]["scimToken"]["revokedAt"].is_string());

    let created = entries(&app, AuditAction::ScimTokenCreate).await;
    assert_eq!(created.len(), 2, "one each, the retry none");
    let owner_id = app.owner_principal().await.user_id;
    assert!(
        created
            .iter()
            .all(|entry| entry.actor_user_id == Some(owner_id))
    );
    assert_eq!(
        created
            .iter()
            .map(|entry| entry.workspace_id)
            .collect::<Vec<_>>(),
        [app.demo.workspace_id, research],
        "each in the workspace it provisions into"
    );
    let revokes = entries(&app, AuditAction::ScimTokenRevoke).await;
    assert_eq!(
        revokes.len(),
        1,
        "the refused second revoke records nothing"
    );
    assert_eq!(revokes[0].metadata["scim_token_id"], json!(okta_id));
}

async fn only_an_organization_owner_handles_scim_tokens(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let organization = json!(app.demo.organization_id);
    let made = create(
        &app,
        &owner,
        json!({ "organizationId": organization, "workspaceId": app.demo.workspace_id, "name": "Okta" }),
    )
    .await;
    let okta_id = data(&made)["createScimToken"]["scimToken"]["id"]
        .clone()
        .into_value();
    let globex_hq = crate::workspaces::globex(&app).await;
    let omar = app.sign_in(OMAR).await;
    let ada = app.sign_in(ADA).await;
    let key = create_api_key(&app, &owner, "Automation", "OWNER").await;
    let before = snapshot(&app).await;
    let here = json!({ "organizationId": organization, "workspaceId": app.demo.workspace_id, "name": "Mine" });
    for (who, token) in [
        ("a workspace OWNER", &omar),
        ("a workspace ADMIN", &ada),
        ("the owner's API key", &key),
    ] {
        assert_eq!(
            error_code(&create(&app, token, here.clone()).await),
            "FORBIDDEN",
            "{who}"
        );
        assert_eq!(
            error_code(&list(&app, token, organization.clone()).await),
            "FORBIDDEN",
            "{who}"
        );
        assert_eq!(
            error_code(&revoke(&app, token, &okta_id).await),
            "FORBIDDEN",
            "{who}"
        );
    }
    // The owner, with ids that aren't the organization's: nothing is there.
    let elsewhere = json!(uuid::Uuid::now_v7());
    let other_organization =
        json!({ "organizationId": elsewhere, "workspaceId": app.demo.workspace_id, "name": "X" });
    assert_eq!(
        error_code(&create(&app, &owner, other_organization).await),
        "NOT_FOUND"
    );
    let unknown_workspace =
        json!({ "organizationId": organization, "workspaceId": uuid::Uuid::now_v7(), "name": "X" });
    assert_eq!(
        error_code(&create(&app, &owner, unknown_workspace).await),
        "NOT_FOUND"
    );
    let theirs =
        json!({ "organizationId": organization, "workspaceId": globex_hq.id, "name": "X" });
    assert_eq!(
        error_code(&create(&app, &owner, theirs).await),
        "NOT_FOUND",
        "a workspace of another organization"
    );
    assert_eq!(
        error_code(&list(&app, &owner, elsewhere.clone()).await),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(&revoke(&app, &owner, &elsewhere).await),
        "NOT_FOUND"
    );
    let signed_out = app.graphql(None, CREATE, json!({ "input": here })).await;
    assert_eq!(error_code(&signed_out), "UNAUTHENTICATED");
    assert_eq!(
        snapshot(&app).await,
        before,
        "no refused call changed anything"
    );
}
