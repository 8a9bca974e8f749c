use chrono::{Duration, Utc};
use entities::{MembershipStatus, WorkspaceId, api_key, session};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok, user_error_codes};
use uuid::Uuid;

use rules::demo::DEMO_PASSWORD;

use crate::support::{
    INVITE, MIA, SIGN_OUT, create_api_key_in, expire, set_status, soft_delete_membership, the_row,
    where_eq,
};

const VIEWER: &str =
    "{ viewer { user { email } workspace { id name } role permissions apiKey { name role } } }";
const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { token expiresAt userErrors { code message field } } }";

async fn sign_in(app: &TestApp, workspace_id: WorkspaceId, email: &str, password: &str) -> Answer {
    app.mutate_signed_out(
        SIGN_IN,
        json!({ "workspaceId": workspace_id, "email": email, "password": password }),
    )
    .await
}

async fn viewer_code(app: &TestApp, token: &str) -> String {
    error_code(&app.graphql(Some(token), VIEWER, Value::Null).await).to_owned()
}

backend_tests! {
    the_viewer_is_the_token_holder_in_their_workspace,
    missing_malformed_and_unknown_tokens_are_unauthenticated,
    sign_in_gives_a_working_session_and_sign_out_ends_it,
    sign_in_does_not_reveal_whether_an_email_exists,
    sign_in_explains_why_a_proven_person_cannot_enter,
    membership_status_is_checked_on_every_request,
    expired_and_revoked_sessions_are_refused,
    api_keys_act_with_their_role_until_revoked,
    authenticating_a_token_is_one_statement,
    a_known_token_costs_one_read_and_any_change_to_its_access_shows_at_once,
    a_person_signs_in_by_slug_and_sees_every_workspace_they_belong_to,
}

async fn the_viewer_is_the_token_holder_in_their_workspace(app: TestApp) {
    let answer = app.as_owner(VIEWER, Value::Null).await;
    let viewer = &data(&answer)["viewer"];
    assert_eq!(viewer["user"]["email"], "olivia.owner@acme.test");
    assert_eq!(viewer["workspace"]["id"], app.demo.workspace_id.to_string());
    assert_eq!(viewer["role"], "OWNER");
    assert_eq!(
        viewer["permissions"],
        json!(["VIEW_MEMBERS", "USER_MANAGEMENT", "API_KEY_MANAGEMENT"])
    );
    assert!(viewer["apiKey"].is_null());

    let mia = app.sign_in("mia.member@acme.test").await;
    let answer = app.graphql(Some(&mia), VIEWER, Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "MEMBER");
    assert_eq!(
        data(&answer)["viewer"]["permissions"],
        json!(["VIEW_MEMBERS"])
    );
}

async fn missing_malformed_and_unknown_tokens_are_unauthenticated(app: TestApp) {
    let answer = app.graphql(None, VIEWER, Value::Null).await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    assert_eq!(
        viewer_code(&app, "ofs_not-a-real-token").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(viewer_code(&app, "garbage").await, "UNAUTHENTICATED");
    let response = app
        .client
        .post(app.graphql_url())
        .header("Authorization", format!("Basic {}", app.owner_token()))
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap();
    let answer: Answer = response.json().await.unwrap();
    assert_eq!(
        error_code(&answer),
        "UNAUTHENTICATED",
        "only the Bearer scheme is read"
    );
}

async fn sign_in_gives_a_working_session_and_sign_out_ends_it(app: TestApp) {
    let ws = app.demo.workspace_id;
    let signed_in = sign_in(&app, ws, "  Ada.Admin@ACME.test ", DEMO_PASSWORD).await;
    ok(&signed_in);
    let token = signed_in["token"].as_str().unwrap().to_owned();
    // The default session lasts 14 days.
    let expires: chrono::DateTime<chrono::Utc> =
        signed_in["expiresAt"].as_str().unwrap().parse().unwrap();
    let lasts = expires - chrono::Utc::now();
    assert!(
        lasts > chrono::Duration::days(14) - chrono::Duration::minutes(5)
            && lasts <= chrono::Duration::days(14),
        "{lasts:?}"
    );
    let answer = app.graphql(Some(&token), VIEWER, Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "ADMIN");

    let answer = app.graphql(Some(&token), SIGN_OUT, Value::Null).await;
    assert_eq!(data(&answer)["signOut"]["signedOut"], true);
    assert_eq!(viewer_code(&app, &token).await, "UNAUTHENTICATED");
    // The owner's own session is untouched by Ada signing out.
    data(&app.as_owner(VIEWER, Value::Null).await);
}

async fn sign_in_does_not_reveal_whether_an_email_exists(app: TestApp) {
    let ws = app.demo.workspace_id;
    let wrong_password = sign_in(&app, ws, "ada.admin@acme.test", "wrong-password").await;
    let unknown_email = sign_in(&app, ws, "nobody@acme.test", DEMO_PASSWORD).await;
    assert_eq!(user_error_codes(&wrong_password), ["INVALID_CREDENTIALS"]);
    assert_eq!(wrong_password["userErrors"], unknown_email["userErrors"]);
    assert!(wrong_password["token"].is_null() && unknown_email["token"].is_null());
    // Someone invited who never chose a password can't sign in with any password.
    let invited = sign_in(&app, ws, "ivy.invited@acme.test", "").await;
    assert_eq!(user_error_codes(&invited), ["INVALID_CREDENTIALS"]);
    // A system principal is not a person and never signs in.
    let system = sign_in(&app, ws, "system+acme-marketing@offboarding.invalid", "").await;
    assert_eq!(user_error_codes(&system), ["INVALID_CREDENTIALS"]);
    let sessions = session::Entity::find().count(app.db()).await.unwrap();
    assert_eq!(
        sessions, 1,
        "only the demo owner's session exists: nothing was created"
    );
}

async fn sign_in_explains_why_a_proven_person_cannot_enter(app: TestApp) {
    let ws = app.demo.workspace_id;
    let deactivated = sign_in(&app, ws, "dana.deactivated@acme.test", DEMO_PASSWORD).await;
    assert_eq!(user_error_codes(&deactivated), ["MEMBERSHIP_DEACTIVATED"]);

    soft_delete_membership(&app, "gus.guest@acme.test").await;
    let removed = sign_in(&app, ws, "gus.guest@acme.test", DEMO_PASSWORD).await;
    assert_eq!(user_error_codes(&removed), ["NOT_A_MEMBER"]);

    let unknown_workspace = sign_in(
        &app,
        WorkspaceId::fresh(),
        "ada.admin@acme.test",
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(user_error_codes(&unknown_workspace), ["NOT_A_MEMBER"]);

    // Mia is invited to Research but has not accepted yet.
    let research = research_workspace(&app).await;
    let olivia_in_research = app.sign_in_to(research, "olivia.owner@acme.test").await;
    let invitation = json!({ "workspaceId": research, "email": MIA, "role": "MEMBER" });
    ok(&app.mutate(&olivia_in_research, INVITE, invitation).await);
    let pending = sign_in(&app, research, "mia.member@acme.test", DEMO_PASSWORD).await;
    assert_eq!(user_error_codes(&pending), ["INVITATION_PENDING"]);
}

async fn membership_status_is_checked_on_every_request(app: TestApp) {
    let gus = app.sign_in("gus.guest@acme.test").await;
    let mia = app.sign_in("mia.member@acme.test").await;
    data(&app.graphql(Some(&gus), VIEWER, Value::Null).await);
    data(&app.graphql(Some(&mia), VIEWER, Value::Null).await);

    soft_delete_membership(&app, "gus.guest@acme.test").await;
    set_status(&app, "mia.member@acme.test", MembershipStatus::Deactivated).await;
    assert_eq!(viewer_code(&app, &gus).await, "UNAUTHENTICATED");
    assert_eq!(viewer_code(&app, &mia).await, "UNAUTHENTICATED");

    // Sessions made before a membership's cut-off instant are refused even once active again.
    set_status(&app, "mia.member@acme.test", MembershipStatus::Active).await;
    data(&app.graphql(Some(&mia), VIEWER, Value::Null).await);
    entities::membership::Entity::update_many()
        .col_expr(
            entities::membership::Column::SessionsValidAfter,
            Some(Utc::now()).into(),
        )
        .filter(
            entities::membership::Column::UserId.eq(crate::support::user_id(
                &app,
                "mia.member@acme.test",
            )
            .await),
        )
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(viewer_code(&app, &mia).await, "UNAUTHENTICATED");
    let fresh = app.sign_in("mia.member@acme.test").await;
    data(&app.graphql(Some(&fresh), VIEWER, Value::Null).await);
}

async fn expired_and_revoked_sessions_are_refused(app: TestApp) {
    let ada = app.sign_in("ada.admin@acme.test").await;
    let max = app.sign_in("max.member@acme.test").await;
    // Used once first, so the api keeps their principals: the change must reach it anyway.
    data(&app.graphql(Some(&ada), VIEWER, Value::Null).await);
    data(&app.graphql(Some(&max), VIEWER, Value::Null).await);
    let ada_id = crate::support::user_id(&app, "ada.admin@acme.test").await;
    let max_id = crate::support::user_id(&app, "max.member@acme.test").await;
    let adas = session::Column::UserId.eq(ada_id);
    expire(&app, session::Column::ExpiresAt, adas).await;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(Utc::now()).into())
        .filter(session::Column::UserId.eq(max_id))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(viewer_code(&app, &ada).await, "UNAUTHENTICATED");
    assert_eq!(viewer_code(&app, &max).await, "UNAUTHENTICATED");
}

async fn api_keys_act_with_their_role_until_revoked(app: TestApp) {
    let ada = app.sign_in("ada.admin@acme.test").await;
    let create = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id name prefix role } userErrors { code field } } }";
    let answer = app
        .graphql(Some(&ada), create, json!({ "input": { "workspaceId": app.demo.workspace_id, "name": "Sync job", "role": "MEMBER" } }))
        .await;
    let payload = &data(&answer)["createApiKey"];
    let token = payload["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with(payload["apiKey"]["prefix"].as_str().unwrap()));
    let stored = the_row(&app, where_eq(api_key::Column::Name, "Sync job")).await;
    assert!(
        !stored.token_hash.contains(&token[4..]),
        "only a hash of the key is stored"
    );

    let answer = app.graphql(Some(&token), VIEWER, Value::Null).await;
    let viewer = &data(&answer)["viewer"];
    assert_eq!(viewer["role"], "MEMBER");
    assert_eq!(viewer["user"]["email"], "ada.admin@acme.test");
    assert_eq!(viewer["apiKey"]["name"], "Sync job");

    // A key above its creator's role is refused, and nothing is created.
    let answer = app
        .graphql(Some(&ada), create, json!({ "input": { "workspaceId": app.demo.workspace_id, "name": "Too strong", "role": "OWNER" } }))
        .await;
    assert_eq!(
        user_error_codes(&data(&answer)["createApiKey"]),
        ["ROLE_NOT_MANAGEABLE"]
    );
    assert!(data(&answer)["createApiKey"]["token"].is_null());
    // Members can't create keys at all; another workspace is not found.
    let mia = app.sign_in("mia.member@acme.test").await;
    let answer = app
        .graphql(Some(&mia), create, json!({ "input": { "workspaceId": app.demo.workspace_id, "name": "Mine", "role": "GUEST" } }))
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let answer = app
        .graphql(Some(&ada), create, json!({ "input": { "workspaceId": Uuid::now_v7(), "name": "Elsewhere", "role": "GUEST" } }))
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let answer = app
        .graphql(Some(&ada), create, json!({ "input": { "workspaceId": app.demo.workspace_id, "name": "  ", "role": "GUEST" } }))
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let keys = api_key::Entity::find().count(app.db()).await.unwrap();
    assert_eq!(keys, 3, "two demo keys and the one created");

    // An API key has no session to sign out of.
    let answer = app.graphql(Some(&token), SIGN_OUT, Value::Null).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");

    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Some(Utc::now()).into())
        .filter(api_key::Column::Id.eq(stored.id))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(viewer_code(&app, &token).await, "UNAUTHENTICATED");
}

pub async fn research_workspace(app: &TestApp) -> WorkspaceId {
    entities::workspace::Entity::find()
        .filter(entities::workspace::Column::Slug.eq("acme-research"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Every request authenticates its token: one statement reads the session (or key) with the
/// membership, the workspace and the person, and `viewer` answers from what it read.
async fn authenticating_a_token_is_one_statement(app: TestApp) {
    let (db, statements) = tests::counting_connection(&app);
    let session = app.sign_in("ada.admin@acme.test").await;
    let key = crate::support::create_api_key(&app, &session, "counted", "MEMBER").await;
    for (token, kind) in [(session.as_str(), "session"), (key.as_str(), "API key")] {
        let authenticating = rules::access::authenticate(&db, token, chrono::Utc::now());
        let (principal, sent) = tests::count_statements(&statements, authenticating).await;
        let principal = principal
            .unwrap()
            .unwrap_or_else(|| panic!("the {kind} authenticates"));
        assert_eq!(sent, 1, "a {kind} is authenticated in one statement");
        assert_eq!(principal.identity.email, "ada.admin@acme.test");
        assert_eq!(principal.identity.workspace_slug, "acme-marketing");
        assert_eq!(principal.workspace_id, app.demo.workspace_id);
        assert_eq!(principal.api_key.is_some(), kind == "API key");
    }
    let authenticating = rules::access::authenticate(&db, "ofs_unknown", chrono::Utc::now());
    let (unknown, sent) = tests::count_statements(&statements, authenticating).await;
    assert!(unknown.unwrap().is_none());
    assert_eq!(sent, 1);
}

/// The api keeps the principals of tokens it saw, with their workspace's access version: a
/// known token costs one single-row read, and any change that bears on it — by the API or by
/// SQL, to the membership, the session, the key, the person or the workspace — shows at the
/// next request.
async fn a_known_token_costs_one_read_and_any_change_to_its_access_shows_at_once(app: TestApp) {
    use entities::{membership, user, workspace};
    use sea_orm::sea_query::Expr;

    let cache = rules::access::PrincipalCache::default();
    let (db, statements) = tests::counting_connection(&app);
    let now = Utc::now();
    let ada = app.sign_in("ada.admin@acme.test").await;
    let key = crate::support::create_api_key(&app, &ada, "cached", "MEMBER").await;
    let ada_id = crate::support::user_id(&app, "ada.admin@acme.test").await;
    let read = async |token: &str, at: chrono::DateTime<Utc>| {
        let (principal, sent) =
            tests::count_statements(&statements, cache.authenticate(&db, token, at)).await;
        (principal.unwrap(), sent)
    };

    for token in [ada.as_str(), key.as_str()] {
        let (first, statements) = read(token, now).await;
        assert!(first.is_some());
        assert_eq!(
            statements, 1,
            "unknown to the cache: the authentication statement"
        );
        let (again, statements) = read(token, now).await;
        assert_eq!(again.unwrap().role, first.unwrap().role);
        assert_eq!(statements, 1, "known: one read of the access version");
    }

    // Time passes past the session's expiry: no update, so no new version, yet refused.
    let (expired, _) = read(&ada, now + Duration::days(400)).await;
    assert!(
        expired.is_none(),
        "an expired session is refused even when kept"
    );
    assert!(read(&ada, now).await.0.is_some());

    // Each change alone, read after each: every trigger must raise the version by itself.
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value("MEMBER"))
        .filter(membership::Column::UserId.eq(ada_id))
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .exec(app.db())
        .await
        .unwrap();
    let (changed, statements) = read(&ada, now).await;
    assert_eq!(statements, 2, "the version moved: read again");
    assert_eq!(changed.unwrap().role, entities::Role::Member);
    user::Entity::update_many()
        .col_expr(user::Column::Name, Expr::value("Ada Renamed"))
        .filter(user::Column::Id.eq(ada_id))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(
        read(&ada, now).await.0.unwrap().identity.name,
        "Ada Renamed"
    );
    workspace::Entity::update_many()
        .col_expr(workspace::Column::Name, Expr::value("Renamed"))
        .filter(workspace::Column::Id.eq(app.demo.workspace_id))
        .exec(app.db())
        .await
        .unwrap();
    let (renamed, _) = read(&ada, now).await;
    assert_eq!(renamed.unwrap().identity.workspace_name, "Renamed");
    let (by_key, _) = read(&key, now).await;
    assert_eq!(by_key.unwrap().identity.name, "Ada Renamed");

    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(api_key::Column::CreatedBy.eq(ada_id))
        .exec(app.db())
        .await
        .unwrap();
    assert!(read(&key, now).await.0.is_none(), "a revoked key");
    let mia = app.sign_in("mia.member@acme.test").await;
    assert!(read(&mia, now).await.0.is_some());
    session::Entity::delete_many()
        .filter(
            session::Column::UserId.eq(crate::support::user_id(&app, "mia.member@acme.test").await),
        )
        .exec(app.db())
        .await
        .unwrap();
    assert!(
        read(&mia, now).await.0.is_none(),
        "a session deleted by SQL"
    );
    let signed_out = app
        .graphql(
            Some(&ada),
            "mutation { signOut { userErrors { code } } }",
            Value::Null,
        )
        .await;
    assert_eq!(data(&signed_out)["signOut"]["userErrors"], json!([]));
    assert!(read(&ada, now).await.0.is_none(), "a signed-out session");
}

const MEMBERSHIPS: &str = "{ viewer { workspace { slug } memberships {
    workspace { name slug } role status current } } }";

/// (slug, role, status, current) of each of the caller's workspaces, in the answer's order.
async fn memberships(app: &TestApp, token: &str) -> Vec<(String, String, String, bool)> {
    let answer = app.graphql(Some(token), MEMBERSHIPS, Value::Null).await;
    data(&answer)["viewer"]["memberships"]
        .items()
        .iter()
        .map(|m| {
            (
                m["workspace"]["slug"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
                m["current"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn membership(
    slug: &str,
    role: &str,
    status: &str,
    current: bool,
) -> (String, String, String, bool) {
    (slug.to_owned(), role.to_owned(), status.to_owned(), current)
}

/// The workspace switcher: `viewer.memberships` names the caller's workspaces by slug, and
/// `signIn` takes a slug as well as an id.
async fn a_person_signs_in_by_slug_and_sees_every_workspace_they_belong_to(app: TestApp) {
    let by_slug = |slug: Value, id: Value, password: &str| {
        let app = &app;
        let password = password.to_owned();
        async move {
            app.graphql(
                None,
                SIGN_IN,
                json!({ "input": { "workspaceSlug": slug, "workspaceId": id,
                                   "email": "ada.admin@acme.test", "password": password } }),
            )
            .await
        }
    };
    let answer = by_slug(json!(" acme-research "), Value::Null, DEMO_PASSWORD).await;
    let research_token = data(&answer)["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        memberships(&app, &research_token).await,
        [
            membership("acme-marketing", "ADMIN", "ACTIVE", false),
            membership("acme-research", "ADMIN", "ACTIVE", true),
        ],
        "by workspace name; this request's marked"
    );
    // An unknown slug is "not a member" once the password is proven, and before it nothing.
    let answer = by_slug(json!("acme-nowhere"), Value::Null, DEMO_PASSWORD).await;
    assert_eq!(user_error_codes(&data(&answer)["signIn"]), ["NOT_A_MEMBER"]);
    let answer = by_slug(json!("acme-nowhere"), Value::Null, "not-the-password").await;
    assert_eq!(
        user_error_codes(&data(&answer)["signIn"]),
        ["INVALID_CREDENTIALS"]
    );
    // Exactly one of id and slug.
    let research = research_workspace(&app).await;
    for (slug, id) in [
        (Value::Null, Value::Null),
        (json!("acme-research"), json!(research)),
    ] {
        let answer = by_slug(slug, id, DEMO_PASSWORD).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    }

    // Invited to Research, Mia sees it pending beside Marketing.
    let invitation = json!({ "workspaceId": research, "email": MIA, "role": "GUEST" });
    ok(&app.mutate(&research_token, INVITE, invitation).await);
    let mia = app.sign_in("mia.member@acme.test").await;
    assert_eq!(
        memberships(&app, &mia).await,
        [
            membership("acme-marketing", "MEMBER", "ACTIVE", true),
            membership("acme-research", "GUEST", "INVITED", false),
        ]
    );
    // An API key acts in its own workspace only, and sees only that one.
    let lab_bot = create_api_key_in(&app, &research_token, research, "Lab bot", "MEMBER").await;
    let key = lab_bot["token"].as_str().unwrap().to_owned();
    assert_eq!(
        memberships(&app, &key).await,
        [membership("acme-research", "ADMIN", "ACTIVE", true)]
    );
}
