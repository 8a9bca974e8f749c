use crate::support::{
    REMOVE, assert_list_guarded, audit_count, audit_entries, expire_invitation, people, seats_used,
    stored_invitation, the_row, undo_migrations_from, user_id, where_eq,
};
use chrono::{Duration, Utc};
use entities::{audit_entry, invitation, invitation_email_link, membership, organization, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{
    Answer, TestApp, accept_link_in, backend_tests, data, error_code, ok, user_error_codes,
};

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

/// The token of the link an `inviteMember` answer's invitation carries.
fn invitation_token(answer: &Answer) -> String {
    data(answer)["inviteMember"]["invitationToken"]
        .as_str()
        .unwrap_or_else(|| panic!("an invitation: {answer}"))
        .to_owned()
}

async fn accept(app: &TestApp, token: &str, name: Option<&str>, password: &str) -> Answer {
    app.mutate_signed_out(
        ACCEPT,
        json!({ "token": token, "name": name, "password": password }),
    )
    .await
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
    ok(payload);
    assert_eq!(payload["member"]["user"]["email"], "new.person@example.com");
    assert_eq!(payload["member"]["status"], "INVITED");
    let token = payload["invitationToken"].as_str().unwrap().to_owned();

    let stored = stored_invitation(&app, "new.person@example.com").await;
    assert!(
        !stored.token_hash.contains(&token[4..]),
        "only the token's hash is stored"
    );
    let entry = the_row(
        &app,
        where_eq(audit_entry::Column::Action, "team_membership_invite"),
    )
    .await;
    assert_eq!(
        entry.target_user_id,
        Some(user_id(&app, "new.person@example.com").await)
    );

    let accepted = accept(&app, &token, Some("New Person"), "a long password").await;
    ok(&accepted);
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
        .as_owner(INVITE, json!({ "input": { "workspaceId": uuid::Uuid::now_v7(), "email": "x@example.com", "role": "GUEST" } }))
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    assert_eq!(counts(&app).await, before, "nothing was written");

    // Admins may invite below their own role.
    let answer = invite(&app, &ada, "helper@example.com", "MEMBER").await;
    ok(&data(&answer)["inviteMember"]);
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
    ok(&data(&answer)["inviteMember"]);
}

async fn bad_acceptances_are_refused_and_leave_the_invitation_usable(app: TestApp) {
    let answer = invite(&app, app.owner_token(), "careful@example.com", "GUEST").await;
    let token = invitation_token(&answer);

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
    ok(&accept(&app, &token, Some("Careful"), "long enough").await);
}

async fn someone_with_an_account_accepts_with_their_own_password(app: TestApp) {
    let research = crate::access::research_workspace(&app).await;
    let olivia = app.sign_in_to(research, "olivia.owner@acme.test").await;
    let answer = app
        .graphql(Some(&olivia), INVITE, json!({ "input": { "workspaceId": research, "email": "gus.guest@acme.test", "role": "GUEST" } }))
        .await;
    let token = invitation_token(&answer);
    let wrong = accept(&app, &token, Some("Mallory"), "not gus's password").await;
    assert_eq!(user_error_codes(&wrong), ["PASSWORD_MISMATCH"]);
    let accepted = accept(&app, &token, Some("Mallory"), "demo-password").await;
    ok(&accepted);
    let answer = app
        .graphql(
            Some(accepted["token"].as_str().unwrap()),
            VIEWER,
            Value::Null,
        )
        .await;
    assert_eq!(
        data(&answer)["viewer"]["user"]["name"],
        "Gus Guest",
        "an invitation never renames an account"
    );
}

async fn expired_invitations_are_refused(app: TestApp) {
    let answer = invite(&app, app.owner_token(), "late@example.com", "GUEST").await;
    let token = invitation_token(&answer);
    expire_invitation(&app, "late@example.com").await;
    let expired = accept(&app, &token, Some("Late"), "long enough").await;
    assert_eq!(user_error_codes(&expired), ["INVITATION_INVALID"]);
    assert!(
        expired["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

const INVITATIONS: &str = "query($ws: UUID!, $filter: InvitationFilterInput) {
    invitations(workspaceId: $ws, filter: $filter, first: 50) {
        totalCount nodes { status invitedBy { email } invitation { id email role expiresAt } } } }";
const REVOKE_INVITATION: &str = "mutation($input: InvitationActionInput!) {
    revokeInvitation(input: $input) { invitation { id revokedAt } userErrors { code message } } }";
const RESEND_INVITATION: &str = "mutation($input: ResendInvitationInput!) {
    resendInvitation(input: $input) { invitation { id expiresAt } invitationToken
        userErrors { code message } } }";

/// (email, status) of the workspace's invitations in these statuses, newest first.
async fn invitations(app: &TestApp, token: &str, statuses: Value) -> Vec<(String, String)> {
    let filter = if statuses.is_null() {
        Value::Null
    } else {
        json!({ "statuses": statuses })
    };
    let answer = app
        .graphql(
            Some(token),
            INVITATIONS,
            json!({ "ws": app.demo.workspace_id, "filter": filter }),
        )
        .await;
    data(&answer)["invitations"]["nodes"]
        .items()
        .iter()
        .map(|node| {
            (
                node["invitation"]["email"].as_str().unwrap().to_owned(),
                node["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn invitation_id(app: &TestApp, email: &str) -> uuid::Uuid {
    stored_invitation(app, email).await.id
}

async fn act(app: &TestApp, token: &str, document: &str, field: &str, id: uuid::Uuid) -> Answer {
    let answer = app
        .graphql(
            Some(token),
            document,
            json!({ "input": { "invitationId": id } }),
        )
        .await;
    data(&answer)[field].clone()
}

/// Revokes an invitation: the payload.
async fn revoke(app: &TestApp, token: &str, id: uuid::Uuid) -> Answer {
    act(app, token, REVOKE_INVITATION, "revokeInvitation", id).await
}

/// Resends an invitation: the payload.
async fn resend(app: &TestApp, token: &str, id: uuid::Uuid) -> Answer {
    act(app, token, RESEND_INVITATION, "resendInvitation", id).await
}

backend_tests! {
    invitations_are_listed_by_status_with_who_sent_them,
    revoking_an_invitation_frees_its_seat_and_kills_its_link,
    resending_an_invitation_gives_a_new_link_and_the_old_one_stops,
    the_open_invitations_a_removed_person_sent_go_with_them,
    an_expired_invitation_holds_no_seat_until_it_is_resent,
    an_invitation_link_shows_what_it_opens_onto,
    an_invited_person_joins_the_groups_chosen,
}

async fn invitations_are_listed_by_status_with_who_sent_them(app: TestApp) {
    let owner = app.owner_token().to_owned();
    for email in ["late@example.com", "joins@example.com", "fresh@example.com"] {
        let answer = invite(&app, &owner, email, "MEMBER").await;
        ok(&data(&answer)["inviteMember"]);
    }
    expire_invitation(&app, "late@example.com").await;
    let answer = invite(&app, &owner, "gone@example.com", "GUEST").await;
    ok(&data(&answer)["inviteMember"]);
    let revoked = revoke(&app, &owner, invitation_id(&app, "gone@example.com").await).await;
    ok(&revoked);
    let listed = data(&app
        .graphql(
            Some(&owner),
            "query($ws: UUID!) { invitations(workspaceId: $ws) { nodes { invitation { email } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await)["invitations"]["nodes"]
        .items()
        .len();
    assert_eq!(listed, 5, "the demo's and these four");
    let joined_token = {
        let answer = app
            .graphql(
                Some(&owner),
                RESEND_INVITATION,
                json!({ "input": { "invitationId": invitation_id(&app, "joins@example.com").await } }),
            )
            .await;
        data(&answer)["resendInvitation"]["invitationToken"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    ok(&accept(&app, &joined_token, Some("Joins"), "a-long-password").await);

    assert_eq!(
        invitations(&app, &owner, Value::Null).await,
        [
            ("gone@example.com".to_owned(), "REVOKED".to_owned()),
            ("fresh@example.com".to_owned(), "PENDING".to_owned()),
            ("joins@example.com".to_owned(), "ACCEPTED".to_owned()),
            ("late@example.com".to_owned(), "EXPIRED".to_owned()),
            ("ivy.invited@acme.test".to_owned(), "PENDING".to_owned()),
        ],
        "newest first"
    );
    assert_eq!(
        invitations(&app, &owner, json!(["PENDING", "EXPIRED"])).await,
        [
            ("fresh@example.com".to_owned(), "PENDING".to_owned()),
            ("late@example.com".to_owned(), "EXPIRED".to_owned()),
            ("ivy.invited@acme.test".to_owned(), "PENDING".to_owned()),
        ]
    );
    let answer = app
        .graphql(
            Some(&owner),
            INVITATIONS,
            json!({ "ws": app.demo.workspace_id, "filter": { "statuses": ["ACCEPTED"] } }),
        )
        .await;
    let node = &data(&answer)["invitations"]["nodes"][0];
    assert_eq!(node["invitedBy"]["email"], "olivia.owner@acme.test");

    // A member may not look; another workspace's are not found.
    let mia = app.sign_in("mia.member@acme.test").await;
    assert_list_guarded(&app, INVITATIONS, &mia).await;
}

async fn revoking_an_invitation_frees_its_seat_and_kills_its_link(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let before_seats = seats_used(&app).await;
    let answer = invite(&app, &owner, "maybe@example.com", "MEMBER").await;
    let token = invitation_token(&answer);
    assert_eq!(seats_used(&app).await, before_seats + 1);
    let id = invitation_id(&app, "maybe@example.com").await;

    // Who may not: a member (FORBIDDEN), an admin on an OWNER invitation, unknown ids.
    let answer = invite(&app, &owner, "boss@example.com", "OWNER").await;
    ok(&data(&answer)["inviteMember"]);
    let admin = app.sign_in("ada.admin@acme.test").await;
    let refused = revoke(&app, &admin, invitation_id(&app, "boss@example.com").await).await;
    assert_eq!(user_error_codes(&refused), ["ROLE_NOT_MANAGEABLE"]);
    let mia = app.sign_in("mia.member@acme.test").await;
    let answer = app
        .graphql(
            Some(&mia),
            REVOKE_INVITATION,
            json!({ "input": { "invitationId": id } }),
        )
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let answer = app
        .graphql(
            Some(&owner),
            REVOKE_INVITATION,
            json!({ "input": { "invitationId": uuid::Uuid::now_v7() } }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");

    let revoked = revoke(&app, &admin, id).await;
    ok(&revoked);
    assert!(revoked["invitation"]["revokedAt"].is_string());
    assert_eq!(
        seats_used(&app).await,
        before_seats + 1,
        "only the OWNER invitation holds a seat now"
    );
    let refused = accept(&app, &token, Some("Maybe"), "a-long-password").await;
    assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
    assert_eq!(audit_count(&app, "invitation_revoke").await, 1);
    let again = revoke(&app, &owner, id).await;
    assert_eq!(user_error_codes(&again), ["ALREADY_REVOKED"]);
    // An accepted invitation is a member now: remove them instead.
    let accepted_id = invitation_id(&app, "boss@example.com").await;
    let resent = resend(&app, &owner, accepted_id).await;
    let boss_token = resent["invitationToken"].as_str().unwrap().to_owned();
    ok(&accept(&app, &boss_token, Some("Boss"), "a-long-password").await);
    let refused = revoke(&app, &owner, accepted_id).await;
    assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
}

async fn resending_an_invitation_gives_a_new_link_and_the_old_one_stops(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let answer = invite(&app, &owner, "slow@example.com", "GUEST").await;
    let old_token = invitation_token(&answer);
    expire_invitation(&app, "slow@example.com").await;
    let id = invitation_id(&app, "slow@example.com").await;
    let resent = resend(&app, &owner, id).await;
    ok(&resent);
    let new_token = resent["invitationToken"].as_str().unwrap().to_owned();
    assert_ne!(new_token, old_token);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(resent["invitation"]["expiresAt"].as_str().unwrap())
            .unwrap();
    assert!(
        expires_at > Utc::now() + Duration::days(6),
        "a full TTL again"
    );
    assert_eq!(
        invitations(&app, &owner, json!(["PENDING"])).await[0],
        ("slow@example.com".to_owned(), "PENDING".to_owned())
    );
    let refused = accept(&app, &old_token, Some("Slow"), "a-long-password").await;
    assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
    ok(&accept(&app, &new_token, Some("Slow"), "a-long-password").await);
    assert_eq!(audit_count(&app, "invitation_resend").await, 1);
}

/// As GitLab and Zulip do: removing someone revokes the invitations they sent that are still
/// open, freeing those seats, and the preview says how many.
async fn the_open_invitations_a_removed_person_sent_go_with_them(app: TestApp) {
    crate::support::give_all_contacts_to_the_owner(&app).await;
    let owner = app.owner_token().to_owned();
    let ada = app.sign_in("ada.admin@acme.test").await;
    let mut tokens = Vec::new();
    for email in [
        "friend@example.com",
        "colleague@example.com",
        "both@example.com",
    ] {
        let answer = invite(&app, &ada, email, "GUEST").await;
        tokens.push(invitation_token(&answer));
    }
    let answer = invite(&app, &owner, "other@example.com", "GUEST").await;
    ok(&data(&answer)["inviteMember"]);
    let [ada_id, both] = people(&app, ["ada.admin@acme.test", "both@example.com"]).await;
    let answer = app
        .graphql(
            Some(&owner),
            "query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) {
                members { email invitationsToRevoke } } }",
            json!({ "ws": app.demo.workspace_id, "ids": [ada_id, both] }),
        )
        .await;
    assert_eq!(
        data(&answer)["removalPreview"]["members"],
        json!([
            { "email": "ada.admin@acme.test", "invitationsToRevoke": 2 },
            { "email": "both@example.com", "invitationsToRevoke": 0 },
        ]),
        "the invitation of someone removed in the same call is theirs, not Ada's"
    );
    let seats_before = seats_used(&app).await;
    ok(&app
        .owner_mutates(REMOVE, json!({ "userIds": [ada_id, both] }))
        .await);
    assert_eq!(
        seats_used(&app).await,
        seats_before - 3,
        "the three invitees' seats (Ada keeps hers through Research)"
    );
    let mut revoked: Vec<String> = invitations(&app, &owner, json!(["REVOKED"]))
        .await
        .into_iter()
        .map(|(email, _)| email)
        .collect();
    revoked.sort();
    assert_eq!(
        revoked,
        [
            "both@example.com",
            "colleague@example.com",
            "friend@example.com"
        ]
    );
    assert!(
        invitations(&app, &owner, json!(["PENDING"]))
            .await
            .contains(&("other@example.com".to_owned(), "PENDING".to_owned())),
        "another sender's invitation stays"
    );
    let reasons: Vec<String> = audit_entries(&app, "invitation_revoke")
        .await
        .into_iter()
        .map(|entry| entry.metadata["reason"].as_str().unwrap().to_owned())
        .collect();
    let inviter_removed = reasons.iter().filter(|r| *r == "inviter removed").count();
    assert_eq!((reasons.len(), inviter_removed), (3, 2));
    let refused = accept(&app, &tokens[0], Some("Friend"), "a-long-password").await;
    assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
}

const INVITE_BY_EMAIL: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  invitationToken emailDelivery { id kind } userErrors { code } } }";

/// Invites `email` as the owner, with or without the email; returns the payload.
async fn invite_by_email(app: &TestApp, email: &str, send_email: Option<bool>) -> Answer {
    let mut input =
        json!({ "workspaceId": app.demo.workspace_id, "email": email, "role": "MEMBER" });
    if let Some(send_email) = send_email {
        input["sendEmail"] = json!(send_email);
    }
    let answer = app
        .as_owner(INVITE_BY_EMAIL, json!({ "input": input }))
        .await;
    let payload = data(&answer)["inviteMember"].clone();
    ok(&payload);
    payload
}

/// Waits for an invitation email's side effect to finish and returns the email, raw.
async fn delivered_invitation(app: &TestApp, email_delivery: &Answer) -> String {
    let (kind, email) = app
        .delivered_email(email_delivery["id"].as_str().unwrap())
        .await;
    assert_eq!(kind, "SEND_INVITATION_EMAIL");
    email
}

fn token_of(link: &str) -> &str {
    link.split_once("#token=")
        .expect("a token in the fragment")
        .1
}

backend_tests! {
    the_invitation_email_carries_a_link_of_its_own_under_the_public_url,
    a_resent_invitation_is_emailed_again_and_the_earlier_email_stops_working,
    a_retried_invitation_email_keeps_the_first_copys_link_until_a_resend,
    an_emailed_link_survives_the_upgrade_to_one_link_an_attempt_and_back,
    an_invitation_email_keeps_its_kind_across_the_upgrade_and_back,
    an_invitation_without_email_writes_no_job,
    no_email_goes_out_for_an_invitation_that_no_longer_waits_on_its_link,
}

async fn the_invitation_email_carries_a_link_of_its_own_under_the_public_url(app: TestApp) {
    let payload = invite_by_email(&app, "mailed@example.com", None).await;
    assert_eq!(payload["emailDelivery"]["kind"], "INVITATION_EMAIL");
    let caller_token = payload["invitationToken"].as_str().unwrap().to_owned();
    let raw = delivered_invitation(&app, &payload["emailDelivery"]).await;
    assert!(raw.contains("mailed@example.com"), "{raw}");
    assert!(
        raw.contains("Marketing") && raw.contains("as member"),
        "{raw}"
    );

    let link = accept_link_in(&raw);
    let public_url = app.config.worker.public_url.as_str();
    assert_eq!(
        link,
        format!("{public_url}accept-invitation#token={}", token_of(&link))
    );
    let emailed = token_of(&link).to_owned();
    assert_ne!(emailed, caller_token, "the email's link is its own");

    // Only its hash is stored, beside the invitation's token it was made for; not in the outbox.
    let id = invitation_id(&app, "mailed@example.com").await;
    let stored = invitation::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let links = where_eq(invitation_email_link::Column::InvitationId, id)
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(
        links
            .iter()
            .map(|link| (
                link.token_hash.as_str(),
                link.invitation_token_hash.as_str()
            ))
            .collect::<Vec<_>>(),
        [(
            platform::tokens::hash_token(&emailed).as_str(),
            stored.token_hash.as_str()
        )]
    );
    let payloads: Vec<serde_json::Value> = entities::outbox::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.payload)
        .collect();
    for token in [&emailed, &caller_token] {
        assert!(
            payloads
                .iter()
                .all(|payload| !payload.to_string().contains(&token[4..])),
            "{payloads:?}"
        );
    }

    // An operator finds the email among the workspace's side effects by its kind.
    let listed = app
        .as_owner("query($ws: UUID!) { offboardings(workspaceId: $ws, filter: { kind: INVITATION_EMAIL }) { nodes { id status } } }", json!({ "ws": app.demo.workspace_id }))
        .await;
    assert_eq!(
        data(&listed)["offboardings"]["nodes"],
        json!([{ "id": payload["emailDelivery"]["id"], "status": "SUCCEEDED" }])
    );

    let joined = accept(&app, &emailed, Some("Mailed"), "a-long-password").await;
    ok(&joined);
    let viewer = app
        .graphql(joined["token"].as_str(), VIEWER, json!({}))
        .await;
    assert_eq!(
        data(&viewer)["viewer"]["user"]["email"],
        "mailed@example.com"
    );
    let again = accept(&app, &caller_token, Some("Mailed"), "a-long-password").await;
    assert_eq!(
        user_error_codes(&again),
        ["INVITATION_INVALID"],
        "accepted through either link, the invitation is used"
    );
}

async fn a_resent_invitation_is_emailed_again_and_the_earlier_email_stops_working(app: TestApp) {
    let payload = invite_by_email(&app, "twice@example.com", None).await;
    let first = token_of(&accept_link_in(
        &delivered_invitation(&app, &payload["emailDelivery"]).await,
    ))
    .to_owned();
    let id = invitation_id(&app, "twice@example.com").await;
    let resent = app
        .as_owner(
            "mutation($input: ResendInvitationInput!) { resendInvitation(input: $input) {
                invitationToken emailDelivery { id kind } userErrors { code } } }",
            json!({ "input": { "invitationId": id } }),
        )
        .await;
    let resent = &data(&resent)["resendInvitation"];
    assert_eq!(resent["emailDelivery"]["kind"], "INVITATION_EMAIL");
    let second = token_of(&accept_link_in(
        &delivered_invitation(&app, &resent["emailDelivery"]).await,
    ))
    .to_owned();
    assert_ne!(first, second);

    let refused = accept(&app, &first, Some("Twice"), "a-long-password").await;
    assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
    ok(&accept(&app, &second, Some("Twice"), "a-long-password").await);
}

/// A send is retried after a failure, and the failure may come after the mail server took the
/// message: the person may hold only the first copy, so its link keeps working beside the
/// retry's own. A resend retires every email's link, the retried ones too.
async fn a_retried_invitation_email_keeps_the_first_copys_link_until_a_resend(app: TestApp) {
    let mut emailed = Vec::new();
    for email in [
        "kept@example.com",
        "retried@example.com",
        "resent@example.com",
    ] {
        let payload = invite_by_email(&app, email, None).await;
        let raw = delivered_invitation(&app, &payload["emailDelivery"]).await;
        let first = token_of(&accept_link_in(&raw)).to_owned();
        // The job's attempt once more, as the worker runs it again after such a failure.
        let stored = stored_invitation(&app, email).await;
        let retried = rules::jobs::send_invitation_email::make_invitation_link(
            app.db(),
            stored.id,
            &stored.token_hash,
            Utc::now(),
        )
        .await
        .unwrap()
        .expect("the invitation still waits: a link to send");
        emailed.push((stored.id, first, retried.token));
    }
    let [kept, retried, resent] = [&emailed[0], &emailed[1], &emailed[2]];

    // Either copy opens the invitation, the first one…
    ok(&accept(&app, &kept.1, Some("Kept"), "a-long-password").await);
    let used = accept(&app, &kept.2, Some("Kept"), "a-long-password").await;
    assert_eq!(user_error_codes(&used), ["INVITATION_INVALID"]);
    // …or the retry's.
    ok(&accept(&app, &retried.2, Some("Retried"), "a-long-password").await);

    let payload = resend(&app, app.owner_token(), resent.0).await;
    ok(&payload);
    for token in [&resent.1, &resent.2] {
        let refused = accept(&app, token, Some("Resent"), "a-long-password").await;
        assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
    }
    let token = payload["invitationToken"].as_str().unwrap();
    ok(&accept(&app, token, Some("Resent"), "a-long-password").await);
}

/// Migration 000011 moves the email link an invitation held in `invitation.email_token_hash` to
/// `invitation_email_link`, and its `down` moves it back: an invitation emailed before an upgrade
/// (or a rollback) is still accepted through its email.
async fn an_emailed_link_survives_the_upgrade_to_one_link_an_attempt_and_back(app: TestApp) {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{ConnectionTrait, TryGetable};

    let payload = invite_by_email(&app, "upgraded@example.com", None).await;
    let raw = delivered_invitation(&app, &payload["emailDelivery"]).await;
    let emailed = token_of(&accept_link_in(&raw)).to_owned();
    let id = invitation_id(&app, "upgraded@example.com").await;

    // Back to before 000011 (and every migration after it).
    undo_migrations_from(&app, "m20261201_000011_invitation_email_links").await;
    let backend = app.db().get_database_backend();
    let column = Query::select()
        .column(Alias::new("email_token_hash"))
        .from(invitation::Entity)
        .and_where(Expr::col(invitation::Column::Id).eq(id))
        .take();
    let row = app.db().query_one(&column).await.unwrap().unwrap();
    assert_eq!(
        Option::<String>::try_get(&row, "", "email_token_hash").unwrap(),
        Some(platform::tokens::hash_token(&emailed)),
        "back to one column on {backend:?}"
    );

    Migrator::up(app.db(), None).await.unwrap();
    ok(&accept(&app, &emailed, Some("Upgraded"), "a-long-password").await);
}

/// Migration 000012 names an invitation's email `invitation_email`, whichever mutation sent it;
/// its `down` gives the row a mutation's name again, which the older code reads.
async fn an_invitation_email_keeps_its_kind_across_the_upgrade_and_back(app: TestApp) {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::QuerySelect;

    let payload = invite_by_email(&app, "kind@example.com", None).await;
    assert_eq!(payload["emailDelivery"]["kind"], "INVITATION_EMAIL");
    // Its email sent first: no job runs while the schema is rolled back.
    delivered_invitation(&app, &payload["emailDelivery"]).await;
    let id: uuid::Uuid = payload["emailDelivery"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // As stored: the text, which the older code's names are too.
    let kind = async || -> String {
        entities::offboarding::Entity::find_by_id(id)
            .select_only()
            .column(entities::offboarding::Column::Kind)
            .into_tuple()
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(kind().await, "invitation_email");
    // Back to before 000012 (and every migration after it).
    undo_migrations_from(&app, "m20261207_000012_invitation_email_kind").await;
    assert_eq!(kind().await, "invite_member");
    Migrator::up(app.db(), None).await.unwrap();
    assert_eq!(kind().await, "invitation_email");
}

/// The relay takes the invitation email and hangs up before answering: the worker can't tell it
/// was taken and sends it again, so the person holds two copies, each with a link of its own
/// under the job's one Message-ID. The first copy opens the invitation. (On PostgreSQL, where
/// the mail goes through a real SMTP server; the embedded default writes files.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn the_first_copy_of_an_invitation_email_a_relay_hung_up_on_still_works() {
    let app = tests::spawn_app(tests::Backend::Postgres).await;
    app.smtp_sink().hang_up_after_taking(1);
    let payload = invite_by_email(&app, "twice.sent@example.com", None).await;
    app.wait_until_succeeded(
        payload["emailDelivery"]["id"].as_str().unwrap(),
        std::time::Duration::from_secs(30),
    )
    .await;
    let job: uuid::Uuid = where_eq(entities::outbox::Column::Kind, "send_invitation_email")
        .one(app.db())
        .await
        .unwrap()
        .expect("the email's job")
        .id;
    let copies = app.smtp_sink().job_messages(job);
    assert_eq!(copies.len(), 2, "taken, then sent again: {copies:?}");
    let [first, second] =
        [&copies[0], &copies[1]].map(|raw| token_of(&accept_link_in(raw)).to_owned());

    ok(&accept(&app, &first, Some("Twice Sent"), "a-long-password").await);
    let used = accept(&app, &second, Some("Twice Sent"), "a-long-password").await;
    assert_eq!(
        used["userErrors"][0]["message"], "This invitation has already been accepted.",
        "the second copy's link opens the same invitation: {used}"
    );
}

async fn an_invitation_without_email_writes_no_job(app: TestApp) {
    let payload = invite_by_email(&app, "quiet@example.com", Some(false)).await;
    assert_eq!(payload["emailDelivery"], Value::Null);
    assert!(payload["invitationToken"].as_str().is_some());
    let jobs = entities::outbox::Entity::find()
        .filter(entities::outbox::Column::Kind.eq("send_invitation_email"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(jobs, 0);
}

/// The link is made as the email goes out, for the invitation's link of the moment the job was
/// written: a job for a link since replaced, or an invitation revoked, sends nothing, and a
/// revocation stops every link an email carried.
async fn no_email_goes_out_for_an_invitation_that_no_longer_waits_on_its_link(app: TestApp) {
    invite_by_email(&app, "later@example.com", Some(false)).await;
    let id = invitation_id(&app, "later@example.com").await;
    let stored = invitation::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let db = app.db();
    let make = |hash: String| async move {
        rules::jobs::send_invitation_email::make_invitation_link(db, id, &hash, now)
            .await
            .unwrap()
    };
    assert!(make("a-replaced-link".into()).await.is_none());

    let first = make(stored.token_hash.clone())
        .await
        .expect("a link to send");
    let retried = make(stored.token_hash.clone())
        .await
        .expect("a link to send");
    assert_eq!(retried.email, "later@example.com");
    assert_eq!(retried.workspace_name, "Marketing");

    let revoked = revoke(&app, app.owner_token(), id).await;
    ok(&revoked);
    assert!(make(stored.token_hash.clone()).await.is_none());
    for token in [&first.token, &retried.token] {
        let refused = accept(&app, token, Some("Later"), "a-long-password").await;
        assert_eq!(user_error_codes(&refused), ["INVITATION_INVALID"]);
    }

    // Accepted (through the caller's link) or expired before the email went out: nothing either.
    for (email, end) in [
        ("taken@example.com", "accepted"),
        ("stale@example.com", "expired"),
    ] {
        let payload = invite_by_email(&app, email, Some(false)).await;
        if end == "accepted" {
            let token = payload["invitationToken"].as_str().unwrap();
            ok(&accept(&app, token, Some("Taken"), "a-long-password").await);
        } else {
            expire_invitation(&app, email).await;
        }
        let invitation = invitation::Entity::find_by_id(invitation_id(&app, email).await)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let link = rules::jobs::send_invitation_email::make_invitation_link(
            db,
            invitation.id,
            &invitation.token_hash,
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(link.is_none(), "{end}: no email");
    }
}

/// An expired invitation holds no seat: the count drops, the seat can go to someone else, and a
/// resend takes one again, refused (changing nothing) while every seat is taken.
async fn an_expired_invitation_holds_no_seat_until_it_is_resent(app: TestApp) {
    let before = seats_used(&app).await;
    organization::Entity::update_many()
        .col_expr(organization::Column::SeatLimit, Some(before + 1).into())
        .filter(organization::Column::Id.eq(app.demo.organization_id))
        .exec(app.db())
        .await
        .unwrap();
    ok(&data(&invite(&app, app.owner_token(), "late@example.com", "GUEST").await)["inviteMember"]);
    assert_eq!(
        seats_used(&app).await,
        before + 1,
        "an open invitation holds a seat"
    );
    let full = invite(&app, app.owner_token(), "next@example.com", "GUEST").await;
    assert_eq!(
        user_error_codes(&data(&full)["inviteMember"]),
        ["SEAT_LIMIT_REACHED"]
    );

    expire_invitation(&app, "late@example.com").await;
    assert_eq!(
        seats_used(&app).await,
        before,
        "the expired invitation gave its seat back"
    );
    ok(&data(&invite(&app, app.owner_token(), "next@example.com", "GUEST").await)["inviteMember"]);
    assert_eq!(seats_used(&app).await, before + 1);

    // Every seat is taken: the expired invitation can't be resent, and stays as it was.
    let late = stored_invitation(&app, "late@example.com").await;
    let refused = resend(&app, app.owner_token(), late.id).await;
    assert_eq!(
        user_error_codes(&refused),
        ["SEAT_LIMIT_REACHED"],
        "{refused}"
    );
    assert_eq!(stored_invitation(&app, "late@example.com").await, late);
    assert_eq!(seats_used(&app).await, before + 1);

    // A seat freed, the resend takes it.
    let next = invitation_id(&app, "next@example.com").await;
    ok(&revoke(&app, app.owner_token(), next).await);
    ok(&resend(&app, app.owner_token(), late.id).await);
    assert_eq!(seats_used(&app).await, before + 1);
    assert!(stored_invitation(&app, "late@example.com").await.expires_at > Utc::now());
}

const OPENING: &str = "query($t: String!) { invitationOpening(token: $t) {
    opening { workspaceName role invitedBy email expiresAt hasAccount } userErrors { code message } } }";

/// What the accept page shows before anyone types: the workspace, the role, who invited, and
/// whether the email already has an account; signed out, with only the link's token. A link
/// that opens nothing says why, as acceptInvitation would.
/// What a link opens onto, asked signed out: the payload.
async fn opening(app: &TestApp, token: String) -> Answer {
    let answer = app.graphql(None, OPENING, json!({ "t": token })).await;
    data(&answer)["invitationOpening"].clone()
}

async fn an_invitation_link_shows_what_it_opens_onto(app: TestApp) {
    let late =
        invitation_token(&invite(&app, app.owner_token(), "late@example.com", "GUEST").await);
    let seen = opening(&app, late.clone()).await;
    ok(&seen);
    let workspace = entities::workspace::Entity::find_by_id(app.demo.workspace_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen["opening"]["workspaceName"], workspace.name.as_str());
    assert_eq!(seen["opening"]["role"], "GUEST");
    assert_eq!(seen["opening"]["invitedBy"], "Olivia Owner");
    assert_eq!(seen["opening"]["email"], "late@example.com");
    assert_eq!(seen["opening"]["hasAccount"], false);

    // Mia has an account: joining Research takes her password.
    let research = crate::access::research_workspace(&app).await;
    let olivia = app.sign_in_to(research, "olivia.owner@acme.test").await;
    let answer = app
        .graphql(Some(&olivia), INVITE, json!({ "input": { "workspaceId": research, "email": "mia.member@acme.test", "role": "MEMBER" } }))
        .await;
    let mia = opening(&app, invitation_token(&answer)).await;
    assert_eq!(mia["opening"]["hasAccount"], true, "{mia}");

    let refused = |seen: &Answer, why: &str| {
        assert_eq!(seen["opening"], Value::Null, "{seen}");
        assert_eq!(user_error_codes(seen), ["INVITATION_INVALID"]);
        let message = seen["userErrors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message}");
    };
    refused(
        &opening(&app, "ofi_not-a-real-one".into()).await,
        "does not exist",
    );
    refused(
        &opening(&app, "garbage".into()).await,
        "not an invitation token",
    );
    let token =
        invitation_token(&invite(&app, app.owner_token(), "gone@example.com", "GUEST").await);
    ok(&revoke(
        &app,
        app.owner_token(),
        invitation_id(&app, "gone@example.com").await,
    )
    .await);
    refused(&opening(&app, token).await, "revoked");
    expire_invitation(&app, "late@example.com").await;
    refused(&opening(&app, late).await, "expired");
}

/// An invitation can put the person in groups of the workspace at once; a group of another
/// workspace, or an unknown one, refuses the whole invitation and writes nothing.
async fn an_invited_person_joins_the_groups_chosen(app: TestApp) {
    let groups = app
        .as_owner(
            "query($ws: UUID!) { groups(workspaceId: $ws) { id name } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    let groups = data(&groups)["groups"].items().to_vec();
    let chosen = [groups[0]["id"].clone(), groups[1]["id"].clone()];
    let input = |email: &str, group_ids: Value| json!({ "input": { "workspaceId": app.demo.workspace_id, "email": email, "role": "MEMBER", "groupIds": group_ids } });
    let answer = app
        .as_owner(INVITE, input("grouped@example.com", json!(chosen)))
        .await;
    ok(&data(&answer)["inviteMember"]);
    let listed = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws, filter: { search: \"grouped@\" }) { nodes { groups { id } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    let mut joined: Vec<String> = data(&listed)["members"]["nodes"][0]["groups"]
        .items()
        .iter()
        .map(|group| group["id"].as_str().unwrap().to_owned())
        .collect();
    joined.sort();
    let mut expected: Vec<String> = chosen
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(joined, expected);

    let before = counts(&app).await;
    let unknown = app
        .as_owner(
            INVITE,
            input("nowhere@example.com", json!([uuid::Uuid::now_v7()])),
        )
        .await;
    assert_eq!(error_code(&unknown), "BAD_USER_INPUT", "{unknown}");
    assert_eq!(counts(&app).await, before, "nothing was written");
}
