//! Rules of deactivation, reactivation and invitation that no other test would catch breaking.

use chrono::{Duration, Utc};
use entities::{UserId, invitation, membership};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tests::{TestApp, backend_tests, error_code, ok, user_error_codes};
use uuid::Uuid;

use crate::support::{
    ADA, DANA, DEACTIVATE, GUS, MAX, MIA, OLIVIA, OMAR, REACTIVATE, RESTORE, count_of,
    create_api_key, expire_invitation, give_all_contacts_to_the_owner, live_memberships,
    owner_invites, people, the_row, where_eq,
};

backend_tests! {
    deactivation_and_reactivation_refuse_who_they_may_not_touch,
    a_removed_member_is_already_removed_to_deactivation_and_reactivation,
    an_idempotency_key_is_refused_with_another_input_on_every_mutation_and_scoped_to_a_key,
    a_removed_person_can_be_invited_again_and_an_expired_invitation_is_refused,
}

async fn deactivation_and_reactivation_refuse_who_they_may_not_touch(app: TestApp) {
    let [olivia, omar, ada, dana] = people(&app, [OLIVIA, OMAR, ADA, DANA]).await;
    let admin = app.sign_in(ADA).await;
    let member = app.sign_in(MIA).await;
    let before = live_memberships(&app).await;
    let deactivate = |token: String, user: UserId| {
        let app = &app;
        async move {
            app.mutate(&token, DEACTIVATE, json!({ "userId": user }))
                .await
        }
    };
    let owner = app.owner_token().to_owned();
    // Yourself, as an owner or an admin.
    assert_eq!(
        user_error_codes(&deactivate(owner.clone(), olivia).await),
        ["CANNOT_REMOVE_SELF"]
    );
    assert_eq!(
        user_error_codes(&deactivate(admin.clone(), ada).await),
        ["CANNOT_REMOVE_SELF"]
    );
    // An admin on an owner.
    assert_eq!(
        user_error_codes(&deactivate(admin.clone(), omar).await),
        ["ROLE_NOT_MANAGEABLE"]
    );
    // Someone who isn't there.
    assert_eq!(
        user_error_codes(&deactivate(owner.clone(), UserId::fresh()).await),
        ["MEMBER_NOT_FOUND"]
    );
    // A member can't deactivate anyone.
    let answer = app
        .call(&member, DEACTIVATE, json!({ "userId": dana }))
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    // Reactivating yourself: Dana can't sign in while deactivated, so an admin tries on
    // themselves, and an admin on a deactivated owner.
    let payload = app
        .mutate(&admin, REACTIVATE, json!({ "userId": ada }))
        .await;
    assert_eq!(user_error_codes(&payload), ["CANNOT_REMOVE_SELF"]);
    ok(&app
        .mutate(&owner, DEACTIVATE, json!({ "userId": omar }))
        .await);
    let payload = app
        .mutate(&admin, REACTIVATE, json!({ "userId": omar }))
        .await;
    assert_eq!(user_error_codes(&payload), ["ROLE_NOT_MANAGEABLE"]);
    assert_eq!(
        live_memberships(&app).await,
        before,
        "nothing removed or added"
    );
}

async fn a_removed_member_is_already_removed_to_deactivation_and_reactivation(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let gus = people(&app, [GUS]).await[0];
    app.remove_members(&[gus]).await;
    let payload = app
        .owner_mutates(DEACTIVATE, json!({ "userId": gus }))
        .await;
    assert_eq!(user_error_codes(&payload), ["ALREADY_REMOVED"]);
    let payload = app
        .owner_mutates(REACTIVATE, json!({ "userId": gus }))
        .await;
    assert_eq!(user_error_codes(&payload), ["ALREADY_REMOVED"]);
}

async fn an_idempotency_key_is_refused_with_another_input_on_every_mutation_and_scoped_to_a_key(
    app: TestApp,
) {
    let [mia, gus] = people(&app, [MIA, GUS]).await;
    let first = app
        .owner_mutates(DEACTIVATE, json!({ "userId": mia, "idempotencyKey": "k1" }))
        .await;
    ok(&first);
    let other = app
        .owner_mutates(DEACTIVATE, json!({ "userId": gus, "idempotencyKey": "k1" }))
        .await;
    assert_eq!(user_error_codes(&other), ["IDEMPOTENCY_KEY_REUSED"]);
    // The same key from an API key is its own: it runs.
    let ada = app.sign_in(ADA).await;
    let key = create_api_key(&app, &ada, "Automation", "ADMIN").await;
    let by_key = app
        .mutate(
            &key,
            DEACTIVATE,
            json!({ "userId": gus, "idempotencyKey": "k1" }),
        )
        .await;
    ok(&by_key);
    assert_eq!(by_key["member"]["status"], "DEACTIVATED");
}

async fn a_removed_person_can_be_invited_again_and_an_expired_invitation_is_refused(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let gus = people(&app, [GUS]).await[0];
    app.remove_members(&[gus]).await;
    let invited = owner_invites(&app, GUS, "MEMBER").await;
    assert_eq!(
        invited["member"]["user"]["id"],
        json!(gus),
        "the same person, not a new account"
    );
    assert_eq!(invited["member"]["status"], "INVITED");
    // The invitation expires after its TTL.
    expire_invitation(&app, GUS).await;
    let token = invited["invitationToken"].as_str().unwrap();
    let answer = app.graphql(None, "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { token userErrors { code } } }",
        json!({ "i": { "token": token, "password": "demo-password" } })).await;
    assert_eq!(
        user_error_codes(&answer["data"]["acceptInvitation"]),
        ["INVITATION_INVALID"]
    );
}

backend_tests! {
    deactivation_runs_its_own_side_effects_and_sends_no_email,
}

/// Deactivation cuts access at commit and then, as side effects: ends sessions, revokes the
/// API keys when asked, and sends no email (the person may come back).
async fn deactivation_runs_its_own_side_effects_and_sends_no_email(app: TestApp) {
    let ada = people(&app, [ADA]).await[0];
    let session = app.sign_in(ADA).await;
    let answer = app.graphql(Some(&session), "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { token apiKey { id } } }",
        json!({ "i": { "workspaceId": app.demo.workspace_id, "name": "Ada's sync", "role": "MEMBER" } })).await;
    let key = answer["data"]["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_id: Uuid = answer["data"]["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let payload = app
        .owner_mutates(DEACTIVATE, json!({ "userId": ada, "revokeApiKeys": true }))
        .await;
    ok(&payload);
    assert_eq!(payload["offboarding"]["kind"], "DEACTIVATE_USER");
    for token in [&session, &key] {
        let answer = app
            .graphql(Some(token), "{ viewer { role } }", serde_json::Value::Null)
            .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "cut at commit");
    }
    let id = payload["offboarding"]["id"].as_str().unwrap();
    let finished = app
        .wait_for_offboarding(id, std::time::Duration::from_secs(30))
        .await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished}");
    let kinds = tests::job_kinds(&finished);
    assert!(
        kinds.contains(&"END_SESSIONS") && kinds.contains(&"REVOKE_API_KEYS"),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&"SEND_REMOVAL_EMAIL"),
        "no email on deactivation: {kinds:?}"
    );
    let stored = entities::api_key::Entity::find_by_id(key_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some(), "the key is revoked for good");
}

backend_tests! {
    a_revoked_invitation_cannot_be_accepted,
}

async fn a_revoked_invitation_cannot_be_accepted(app: TestApp) {
    let invited = owner_invites(&app, "revoked@acme.test", "MEMBER").await;
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Some(Utc::now()).into())
        .filter(invitation::Column::Email.eq("revoked@acme.test"))
        .exec(app.db())
        .await
        .unwrap();
    let answer = app.graphql(None, "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { token userErrors { code message } } }",
        json!({ "i": { "token": invited["invitationToken"], "password": "a long password" } })).await;
    let payload = &answer["data"]["acceptInvitation"];
    assert_eq!(user_error_codes(payload), ["INVITATION_INVALID"]);
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{payload}"
    );
    assert!(payload["token"].is_null());
    let still_invited = count_of(
        &app,
        where_eq(
            membership::Column::Status,
            entities::MembershipStatus::Invited,
        ),
    )
    .await;
    assert_eq!(still_invited, 2, "Ivy and the revoked one: nobody joined");
}

backend_tests! {
    a_restore_brings_back_the_removals_groups_only,
}

/// A restore brings back the groups the removal took the person out of, not a group they
/// had left before it.
async fn a_restore_brings_back_the_removals_groups_only(app: TestApp) {
    use entities::{group_membership, user_group};
    give_all_contacts_to_the_owner(&app).await;
    let max = people(&app, [MAX]).await[0];
    let analysts = the_row(&app, where_eq(user_group::Column::Name, "Analysts")).await;
    let left = group_membership::Entity::update_many()
        .col_expr(
            group_membership::Column::DeletedAt,
            Some(Utc::now() - Duration::days(1)).into(),
        )
        .filter(group_membership::Column::UserId.eq(max))
        .filter(group_membership::Column::GroupId.eq(analysts.id))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(left.rows_affected, 1, "Max left Analysts yesterday");
    app.remove_members(&[max]).await;
    let restored = app.owner_mutates(RESTORE, json!({ "userId": max })).await;
    ok(&restored);
    assert_eq!(
        restored["member"]["groups"],
        json!([{ "name": "Designers" }]),
        "{restored}"
    );
}
