use chrono::{Duration, Utc};
use entities::{audit_entry, invitation, membership, organization, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, user_error_codes};

const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  invitationToken invitationExpiresAt member { user { email } role status } userErrors { code message field } } }";
const ACCEPT: &str = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
  token workspaceId userErrors { code message field } } }";
const VIEWER: &str = "{ viewer { user { email name } role } }";

async fn invite(app: &TestApp, token: &str, email: &str, role: &str) -> Answer {
    app.graphql(
        Some(token),
        INVITE,
        json!({ "input": { "workspaceId": app.demo.workspace_id, "email": email, "role": role } }),
    )
    .await
}

async fn accept(app: &TestApp, token: &str, name: Option<&str>, password: &str) -> Answer {
    let answer = app
        .graphql(
            None,
            ACCEPT,
            json!({ "input": { "token": token, "name": name, "password": password } }),
        )
        .await;
    data(&answer)["acceptInvitation"].clone()
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        user::Entity::find().count(app.db()).await.unwrap(),
        membership::Entity::find().count(app.db()).await.unwrap(),
        invitation::Entity::find().count(app.db()).await.unwrap(),
    )
}

backend_tests! {
    an_invited_person_joins_and_signs_in,
    invitations_that_break_a_rule_change_nothing,
    the_seat_limit_refuses_new_people_but_not_people_already_seated,
    bad_acceptances_are_refused_and_leave_the_invitation_usable,
    someone_with_an_account_accepts_with_their_own_password,
    expired_invitations_are_refused,
}

async fn an_invited_person_joins_and_signs_in(app: TestApp) {
    let answer = invite(
        &app,
        app.owner_token(),
        " New.Person@Example.com ",
        "MEMBER",
    )
    .await;
    let payload = &data(&answer)["inviteMember"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new());
    assert_eq!(payload["member"]["user"]["email"], "new.person@example.com");
    assert_eq!(payload["member"]["status"], "INVITED");
    let token = payload["invitationToken"].as_str().unwrap().to_owned();

    let stored = invitation::Entity::find()
        .filter(invitation::Column::Email.eq("new.person@example.com"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.token_hash.contains(&token[4..]),
        "only the token's hash is stored"
    );
    let entry = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("team_membership_invite"))
        .one(app.db())
        .await
        .unwrap()
        .expect("the invitation is audited");
    assert_eq!(
        entry.target_user_id,
        Some(stored_user(&app, "new.person@example.com").await)
    );

    let accepted = accept(&app, &token, Some("New Person"), "a long password").await;
    assert_eq!(user_error_codes(&accepted), Vec::<&str>::new());
    assert_eq!(accepted["workspaceId"], app.demo.workspace_id.to_string());
    let session = accepted["token"].as_str().unwrap();
    let answer = app.graphql(Some(session), VIEWER, Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["user"]["name"], "New Person");
    assert_eq!(data(&answer)["viewer"]["role"], "MEMBER");
    // The new password works for signing in too.
    let answer = app
        .graphql(None, "mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code } } }",
            json!({ "input": { "workspaceId": app.demo.workspace_id, "email": "new.person@example.com", "password": "a long password" } }))
        .await;
    assert!(data(&answer)["signIn"]["token"].is_string());

    // The link works once.
    let again = accept(&app, &token, None, "a long password").await;
    assert_eq!(user_error_codes(&again), ["INVITATION_INVALID"]);
}

async fn invitations_that_break_a_rule_change_nothing(app: TestApp) {
    let before = counts(&app).await;
    let ada = app.sign_in("ada.admin@acme.test").await;
    let mia = app.sign_in("mia.member@acme.test").await;

    let answer = invite(&app, app.owner_token(), "mia.member@acme.test", "MEMBER").await;
    assert_eq!(
        user_error_codes(&data(&answer)["inviteMember"]),
        ["ALREADY_MEMBER"]
    );
    let answer = invite(&app, app.owner_token(), "ivy.invited@acme.test", "MEMBER").await;
    assert_eq!(
        user_error_codes(&data(&answer)["inviteMember"]),
        ["ALREADY_MEMBER"],
        "already invited"
    );
    let answer = invite(&app, &ada, "someone@example.com", "ADMIN").await;
    let payload = &data(&answer)["inviteMember"];
    assert_eq!(user_error_codes(payload), ["ROLE_NOT_MANAGEABLE"]);
    assert_eq!(payload["userErrors"][0]["field"], "role");
    assert!(payload["member"].is_null() && payload["invitationToken"].is_null());
    let answer = invite(&app, &mia, "someone@example.com", "GUEST").await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    for bad in ["", "not-an-email", "a@b", "two words@example.com"] {
        let answer = invite(&app, app.owner_token(), bad, "GUEST").await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{bad:?}");
    }
    let answer = invite(&app, app.owner_token(), "someone@example.com", "SUPERUSER").await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let answer = app
        .graphql(Some(app.owner_token()), INVITE, json!({ "input": { "workspaceId": uuid::Uuid::now_v7(), "email": "x@example.com", "role": "GUEST" } }))
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    assert_eq!(counts(&app).await, before, "nothing was written");

    // Admins may invite below their own role.
    let answer = invite(&app, &ada, "helper@example.com", "MEMBER").await;
    assert_eq!(
        user_error_codes(&data(&answer)["inviteMember"]),
        Vec::<&str>::new()
    );
}

async fn the_seat_limit_refuses_new_people_but_not_people_already_seated(app: TestApp) {
    organization::Entity::update_many()
        .col_expr(organization::Column::SeatLimit, Some(8).into())
        .filter(organization::Column::Id.eq(app.demo.organization_id))
        .exec(app.db())
        .await
        .unwrap();
    let before = counts(&app).await;
    let answer = invite(&app, app.owner_token(), "ninth@example.com", "MEMBER").await;
    assert_eq!(
        user_error_codes(&data(&answer)["inviteMember"]),
        ["SEAT_LIMIT_REACHED"]
    );
    assert_eq!(counts(&app).await, before, "nothing was written");

    // Mia holds a seat through Marketing: inviting her to Research takes no new seat.
    let research = crate::access::research_workspace(&app).await;
    let olivia = app.sign_in_to(research, "olivia.owner@acme.test").await;
    let answer = app
        .graphql(Some(&olivia), INVITE, json!({ "input": { "workspaceId": research, "email": "mia.member@acme.test", "role": "GUEST" } }))
        .await;
    assert_eq!(
        user_error_codes(&data(&answer)["inviteMember"]),
        Vec::<&str>::new()
    );
}

async fn bad_acceptances_are_refused_and_leave_the_invitation_usable(app: TestApp) {
    let answer = invite(&app, app.owner_token(), "careful@example.com", "GUEST").await;
    let token = data(&answer)["inviteMember"]["invitationToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let short = accept(&app, &token, Some("Careful"), "short").await;
    assert_eq!(user_error_codes(&short), ["PASSWORD_TOO_SHORT"]);
    assert_eq!(short["userErrors"][0]["field"], "password");
    assert!(short["token"].is_null());
    for wrong in ["ofi_unknown", "ofs_a-session-token", "nonsense"] {
        assert_eq!(
            user_error_codes(&accept(&app, wrong, None, "long enough").await),
            ["INVITATION_INVALID"]
        );
    }
    let ok = accept(&app, &token, Some("Careful"), "long enough").await;
    assert_eq!(user_error_codes(&ok), Vec::<&str>::new());
}

async fn someone_with_an_account_accepts_with_their_own_password(app: TestApp) {
    let research = crate::access::research_workspace(&app).await;
    let olivia = app.sign_in_to(research, "olivia.owner@acme.test").await;
    let answer = app
        .graphql(Some(&olivia), INVITE, json!({ "input": { "workspaceId": research, "email": "gus.guest@acme.test", "role": "GUEST" } }))
        .await;
    let token = data(&answer)["inviteMember"]["invitationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = accept(&app, &token, Some("Mallory"), "not gus's password").await;
    assert_eq!(user_error_codes(&wrong), ["PASSWORD_MISMATCH"]);
    let ok = accept(&app, &token, Some("Mallory"), "demo-password").await;
    assert_eq!(user_error_codes(&ok), Vec::<&str>::new());
    let answer = app
        .graphql(Some(ok["token"].as_str().unwrap()), VIEWER, Value::Null)
        .await;
    assert_eq!(
        data(&answer)["viewer"]["user"]["name"],
        "Gus Guest",
        "an invitation never renames an account"
    );
}

async fn expired_invitations_are_refused(app: TestApp) {
    let answer = invite(&app, app.owner_token(), "late@example.com", "GUEST").await;
    let token = data(&answer)["inviteMember"]["invitationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            (Utc::now() - Duration::minutes(1)).into(),
        )
        .filter(invitation::Column::Email.eq("late@example.com"))
        .exec(app.db())
        .await
        .unwrap();
    let expired = accept(&app, &token, Some("Late"), "long enough").await;
    assert_eq!(user_error_codes(&expired), ["INVITATION_INVALID"]);
    assert!(
        expired["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

async fn stored_user(app: &TestApp, email: &str) -> entities::UserId {
    crate::support::user_id(app, email).await
}
