//! `transferOwnership`: another active member becomes an OWNER, so the last-owner rule can be met.

use entities::{MembershipStatus, Role, UserId};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, ok, user_error_codes};

use crate::support::{
    ADA, DANA, DEACTIVATE, GUS, IVY, MAX, OLIVIA, OMAR, REMOVE, TRANSFER, VIEWER, audit_entries,
    can_act, create_api_key, error_pairs, expected_pairs, marketing_membership, no_worker, people,
    role_and_status, snapshot,
};

async fn transfer(app: &TestApp, token: &str, to: UserId, demote_self_to: Option<&str>) -> Answer {
    let input = json!({ "toUserId": to, "demoteSelfTo": demote_self_to });
    app.mutate(token, TRANSFER, input).await
}

async fn role(app: &TestApp, user: UserId) -> Role {
    marketing_membership(app, user).await.role
}

backend_tests! {
    an_owner_hands_ownership_over_and_steps_down => no_worker,
    without_demotion_both_are_owners => no_worker,
    the_last_owner_rule_is_met_by_transferring_ownership_first => no_worker,
    only_an_owner_transfers_and_only_to_another_active_member => no_worker,
}

async fn an_owner_hands_ownership_over_and_steps_down(app: TestApp) {
    let [olivia, ada] = people(&app, [OLIVIA, ADA]).await;
    let payload = transfer(&app, app.owner_token(), ada, Some("ADMIN")).await;
    ok(&payload);
    assert_eq!(payload["newOwner"]["user"]["email"], ADA);
    assert_eq!(
        role_and_status(&payload["newOwner"]),
        (Some("OWNER"), Some("ACTIVE"))
    );
    assert_eq!(payload["previousOwner"]["user"]["email"], OLIVIA);
    assert_eq!(payload["previousOwner"]["role"], "ADMIN");
    assert_eq!(
        (role(&app, ada).await, role(&app, olivia).await),
        (Role::Owner, Role::Admin)
    );
    let answer = app.as_owner(VIEWER, Value::Null).await;
    assert_eq!(
        data(&answer)["viewer"]["role"],
        "ADMIN",
        "Olivia acts as an admin from now on"
    );
    let ada_session = app.sign_in(ADA).await;
    assert_eq!(
        data(&app.graphql(Some(&ada_session), VIEWER, Value::Null).await)["viewer"]["role"],
        "OWNER"
    );

    let entries = audit_entries(&app, "ownership_transfer").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].actor_user_id, entries[0].target_user_id),
        (Some(olivia), Some(ada))
    );

    // Now an admin, Olivia can't make owners anymore.
    let max = crate::support::user_id(&app, MAX).await;
    let before = snapshot(&app).await;
    let payload = transfer(&app, app.owner_token(), max, None).await;
    assert_eq!(user_error_codes(&payload), ["ROLE_NOT_MANAGEABLE"]);
    assert_eq!(snapshot(&app).await, before);
}

async fn without_demotion_both_are_owners(app: TestApp) {
    let [olivia, max] = people(&app, [OLIVIA, MAX]).await;
    let payload = transfer(&app, app.owner_token(), max, None).await;
    ok(&payload);
    assert_eq!(payload["newOwner"]["role"], "OWNER");
    assert_eq!(payload["previousOwner"]["role"], "OWNER");
    assert_eq!(
        (role(&app, max).await, role(&app, olivia).await),
        (Role::Owner, Role::Owner)
    );
    assert_eq!(
        marketing_membership(&app, max).await.status,
        MembershipStatus::Active
    );
}

async fn the_last_owner_rule_is_met_by_transferring_ownership_first(app: TestApp) {
    // Olivia's OWNER key keeps acting after Omar deactivates her: Omar is the last active owner.
    let key = create_api_key(&app, app.owner_token(), "Owner bot", "OWNER").await;
    let omar_session = app.sign_in(OMAR).await;
    let [olivia, omar, ada] = people(&app, [OLIVIA, OMAR, ADA]).await;
    ok(&app
        .mutate(&omar_session, DEACTIVATE, json!({ "userId": olivia }))
        .await);

    let before = snapshot(&app).await;
    let payload = app.mutate(&key, REMOVE, json!({ "userIds": [omar] })).await;
    assert_eq!(
        error_pairs(&payload),
        expected_pairs(&[("LAST_OWNER", omar)])
    );
    assert_eq!(snapshot(&app).await, before);

    // Omar makes Ada an owner; now he can be removed.
    ok(&transfer(&app, &omar_session, ada, None).await);
    ok(&app.mutate(&key, REMOVE, json!({ "userIds": [omar] })).await);
    assert!(marketing_membership(&app, omar).await.deleted_at.is_some());
    assert!(!can_act(&app, &omar_session).await);
    assert_eq!(role(&app, ada).await, Role::Owner);
}

async fn only_an_owner_transfers_and_only_to_another_active_member(app: TestApp) {
    let [olivia, max, dana, ivy, gus] = people(&app, [OLIVIA, MAX, DANA, IVY, GUS]).await;
    app.remove_members(&[gus]).await;
    let before = snapshot(&app).await;

    let admin = app.sign_in(ADA).await;
    let payload = transfer(&app, &admin, max, None).await;
    assert_eq!(user_error_codes(&payload), ["ROLE_NOT_MANAGEABLE"]);
    assert!(payload["newOwner"].is_null());
    let payload = transfer(
        &app,
        &admin,
        crate::support::user_id(&app, ADA).await,
        Some("MEMBER"),
    )
    .await;
    assert_eq!(user_error_codes(&payload), ["ROLE_NOT_MANAGEABLE"]);

    // Deactivated, invited, removed, unknown, and the caller herself.
    for to in [dana, ivy, gus, UserId::fresh(), olivia] {
        let payload = transfer(&app, app.owner_token(), to, Some("ADMIN")).await;
        assert_eq!(
            error_pairs(&payload),
            expected_pairs(&[("INVALID_ASSIGNEE", to)]),
            "to {to}"
        );
        assert!(payload["newOwner"].is_null() && payload["previousOwner"].is_null());
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "no role changed, nothing audited"
    );
    assert_eq!(role(&app, olivia).await, Role::Owner);
}

backend_tests! {
    stepping_down_lowers_the_callers_keys => no_worker,
    an_api_key_transfers_without_a_previous_owner => no_worker,
}

/// A key acts at most with its creator's role: stepping down lowers the caller's keys too,
/// so an OWNER key can't outlive its creator's ownership.
async fn stepping_down_lowers_the_callers_keys(app: TestApp) {
    let key = create_api_key(&app, app.owner_token(), "Owner automation", "OWNER").await;
    let [ada, max] = people(&app, [ADA, MAX]).await;
    ok(&transfer(&app, app.owner_token(), ada, Some("MEMBER")).await);
    let answer = app.graphql(Some(&key), VIEWER, Value::Null).await;
    assert_eq!(
        data(&answer)["viewer"]["role"],
        "MEMBER",
        "the key now acts as a MEMBER"
    );
    // So it can't make owners or remove anyone any more.
    let before = snapshot(&app).await;
    let answer = app.call(&key, TRANSFER, json!({ "toUserId": max })).await;
    assert_eq!(tests::error_code(&answer), "FORBIDDEN");
    let answer = app.call(&key, REMOVE, json!({ "userIds": [max] })).await;
    assert_eq!(tests::error_code(&answer), "FORBIDDEN");
    assert_eq!(snapshot(&app).await, before);
}

async fn an_api_key_transfers_without_a_previous_owner(app: TestApp) {
    let key = create_api_key(&app, app.owner_token(), "Owner automation", "OWNER").await;
    let max = crate::support::user_id(&app, MAX).await;
    let payload = transfer(&app, &key, max, None).await;
    ok(&payload);
    assert_eq!(payload["newOwner"]["role"], "OWNER");
    assert!(payload["previousOwner"].is_null(), "{payload}");
    assert_eq!(role(&app, max).await, Role::Owner);
}

backend_tests! {
    a_request_that_waited_out_a_demotion_is_refused => no_worker,
}

/// A request authenticated before the caller stepped down (it waited for the workspace
/// lock meanwhile) must not act with the role it was authenticated with.
async fn a_request_that_waited_out_a_demotion_is_refused(app: TestApp) {
    let principal = app.owner_principal().await;
    assert_eq!(principal.role, Role::Owner);
    let [olivia, max] = people(&app, [OLIVIA, MAX]).await;
    // The demotion commits while the request is in flight.
    let mut demoted: entities::membership::ActiveModel =
        marketing_membership(&app, olivia).await.into();
    demoted.role = sea_orm::Set(Role::Admin);
    sea_orm::ActiveModelTrait::update(demoted, app.db())
        .await
        .unwrap();

    let before = snapshot(&app).await;
    let result = tests::remove_in_process(&app, app.db(), &principal, vec![max], false).await;
    assert!(
        matches!(result, Err(rules::RuleError::Forbidden(_))),
        "refused, not acted on as an owner"
    );
    assert_eq!(snapshot(&app).await, before);
}
