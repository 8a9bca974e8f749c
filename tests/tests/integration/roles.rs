//! `updateMemberRole`: the removal's guards, access that follows the new role at once, and API
//! keys that never act above their creator.

use entities::Role;
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok, user_error_codes};

use crate::support::{
    ADA, IVY, MIA, OLIVIA, OMAR, REMOVE, audit_count, audit_entries, create_api_key, people,
    role_and_status, snapshot, stored_invitation,
};

const UPDATE_ROLE: &str = "mutation($input: UpdateMemberRoleInput!) {
    updateMemberRole(input: $input) {
        member { role status user { email } } apiKeysLowered userErrors { code field userId } } }";
const PERMISSIONS: &str = "{ viewer { role permissions } }";

async fn update_role(app: &TestApp, token: &str, user: entities::UserId, role: &str) -> Answer {
    let answer = role_change_answer(app, token, user, role).await;
    data(&answer)["updateMemberRole"].clone()
}

/// The whole answer to a role change, for one refused outright.
async fn role_change_answer(
    app: &TestApp,
    token: &str,
    user: entities::UserId,
    role: &str,
) -> Answer {
    let input = json!({ "userId": user, "role": role });
    app.call(token, UPDATE_ROLE, input).await
}

async fn role_changes(app: &TestApp) -> Vec<(String, String)> {
    audit_entries(app, "team_membership_role_change")
        .await
        .into_iter()
        .map(|entry| {
            (
                entry.metadata["from"].as_str().unwrap().to_owned(),
                entry.metadata["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

backend_tests! {
    a_new_role_takes_effect_at_once_and_keys_never_act_above_it,
    role_changes_refuse_who_the_caller_may_not_touch,
}

async fn a_new_role_takes_effect_at_once_and_keys_never_act_above_it(app: TestApp) {
    let [mia, ada, ivy] = people(&app, [MIA, ADA, IVY]).await;
    let mia_session = app.sign_in(MIA).await;
    let ada_session = app.sign_in(ADA).await;
    let ada_key = create_api_key(&app, &ada_session, "Ada's admin bot", "ADMIN").await;

    // Mia is promoted: her open session has the new permissions on its next request.
    let promoted = update_role(&app, app.owner_token(), mia, "ADMIN").await;
    ok(&promoted);
    assert_eq!(promoted["member"]["role"], "ADMIN");
    assert_eq!(promoted["apiKeysLowered"], 0);
    let viewer = app
        .graphql(Some(&mia_session), PERMISSIONS, Value::Null)
        .await;
    assert_eq!(data(&viewer)["viewer"]["role"], "ADMIN");
    assert!(
        data(&viewer)["viewer"]["permissions"]
            .items()
            .iter()
            .any(|p| *p == "USER_MANAGEMENT")
    );

    // Ada is demoted: her two ADMIN keys (the demo's and her new one) now act as MEMBER.
    let demoted = update_role(&app, app.owner_token(), ada, "MEMBER").await;
    ok(&demoted);
    assert_eq!(demoted["apiKeysLowered"], 2);
    let viewer = app.graphql(Some(&ada_key), PERMISSIONS, Value::Null).await;
    assert_eq!(data(&viewer)["viewer"]["role"], "MEMBER");
    let answer = role_change_answer(&app, &ada_session, mia, "MEMBER").await;
    assert_eq!(error_code(&answer), "FORBIDDEN", "no longer an admin");

    // The same role again records nothing; an invited person's pending invitation follows.
    ok(&update_role(&app, app.owner_token(), ada, "MEMBER").await);
    let invited = update_role(&app, app.owner_token(), ivy, "GUEST").await;
    ok(&invited);
    assert_eq!(
        role_and_status(&invited["member"]),
        (Some("GUEST"), Some("INVITED"))
    );
    let pending = stored_invitation(&app, IVY).await;
    assert_eq!(pending.role, Role::Guest);
    assert_eq!(
        role_changes(&app).await,
        [
            ("MEMBER".to_owned(), "ADMIN".to_owned()),
            ("ADMIN".to_owned(), "MEMBER".to_owned()),
            ("MEMBER".to_owned(), "GUEST".to_owned()),
        ]
    );
}

async fn role_changes_refuse_who_the_caller_may_not_touch(app: TestApp) {
    let [olivia, omar, ada, mia] = people(&app, [OLIVIA, OMAR, ADA, MIA]).await;
    let admin = app.sign_in(ADA).await;
    let member = app.sign_in(MIA).await;
    let omar_session = app.sign_in(OMAR).await;
    let omar_key = create_api_key(&app, &omar_session, "Omar's bot", "OWNER").await;
    let before = snapshot(&app).await;
    let codes = |payload: &Answer| {
        user_error_codes(payload)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    for (token, user, role, code) in [
        (app.owner_token(), olivia, "ADMIN", "CANNOT_REMOVE_SELF"),
        (admin.as_str(), omar, "MEMBER", "ROLE_NOT_MANAGEABLE"),
        (admin.as_str(), mia, "ADMIN", "ROLE_NOT_MANAGEABLE"),
        (
            app.owner_token(),
            entities::UserId::fresh(),
            "GUEST",
            "MEMBER_NOT_FOUND",
        ),
    ] {
        let payload = update_role(&app, token, user, role).await;
        assert_eq!(codes(&payload), [code], "{payload}");
        assert!(payload["member"].is_null());
    }
    let granting = update_role(&app, &admin, mia, "ADMIN").await;
    assert_eq!(granting["userErrors"][0]["field"], "role");
    // A member may not; another workspace is not found.
    let answer = role_change_answer(&app, &member, ada, "GUEST").await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let research = crate::access::research_workspace(&app).await;
    let answer = app
        .call(
            app.owner_token(),
            UPDATE_ROLE,
            json!({ "workspaceId": research, "userId": ada, "role": "GUEST" }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    assert_eq!(snapshot(&app).await, before, "nothing changed");
    assert_eq!(audit_count(&app, "team_membership_role_change").await, 0);

    // Omar is removed, his OWNER key kept: through it, Olivia — now the only active owner —
    // can't be made anything else: a key whose creator is gone changes no role at all.
    ok(&app
        .owner_mutates(REMOVE, json!({ "userIds": [omar] }))
        .await);
    let answer = role_change_answer(&app, &omar_key, olivia, "ADMIN").await;
    assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
}
