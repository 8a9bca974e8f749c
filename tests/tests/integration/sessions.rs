//! `sessions` and `endSessions`: what an administrator sees of a person's sessions (never a
//! token) and "sign out everywhere", for yourself or a member you manage.

use std::time::Duration;

use entities::session;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, Fetch, TestApp, backend_tests, data, error_code, ok, user_error_codes};

use crate::support::{ADA, MAX, MIA, OMAR, audit_count, audit_entries, can_act, people, user_id};

const SESSIONS: &str = "query($ws: UUID!, $user: UUID!, $first: Int, $after: String) {
    sessions(workspaceId: $ws, userId: $user, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id createdAt lastSeenAt expiresAt userAgent current } } }";
const END_SESSIONS: &str = "mutation($input: EndSessionsInput!) {
    endSessions(input: $input) { sessionsEnded userErrors { code message userId } } }";

/// Signs a demo person in from a client that names itself.
async fn sign_in_as(app: &TestApp, email: &str, user_agent: &str) -> String {
    let answer: Answer = app
        .client
        .post(app.graphql_url())
        .header("user-agent", user_agent)
        .json(&json!({
            "query": "mutation($input: SignInInput!) { signIn(input: $input) { token } }",
            "variables": { "input": { "workspaceId": app.demo.workspace_id, "email": email,
                                      "password": rules::demo::DEMO_PASSWORD } }
        }))
        .answer()
        .await;
    data(&answer)["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn sessions_answer(app: &TestApp, token: &str, user: entities::UserId) -> Answer {
    let variables = json!({ "ws": app.demo.workspace_id, "user": user });
    app.graphql(Some(token), SESSIONS, variables).await
}

async fn sessions_of(app: &TestApp, token: &str, user: entities::UserId) -> Answer {
    data(&sessions_answer(app, token, user).await)["sessions"].clone()
}

async fn end_sessions(app: &TestApp, token: &str, user: entities::UserId) -> Answer {
    app.mutate(token, END_SESSIONS, json!({ "userId": user }))
        .await
}

async fn open_sessions(app: &TestApp, user: entities::UserId) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .count(app.db())
        .await
        .unwrap()
}

backend_tests! {
    a_person_sees_their_sessions_and_an_admin_signs_them_out_everywhere,
    a_person_signs_themself_out_everywhere_and_a_replay_ends_nothing_more,
    ending_sessions_refuses_who_the_caller_may_not_touch,
    one_session_ends_and_the_others_stay,
}

async fn a_person_sees_their_sessions_and_an_admin_signs_them_out_everywhere(app: TestApp) {
    let [mia, ada] = people(&app, [MIA, ADA]).await;
    let laptop = sign_in_as(&app, MIA, "Firefox/140 on a laptop").await;
    let phone = sign_in_as(&app, MIA, "Safari/26\ton a phone").await;

    let own = sessions_of(&app, &laptop, mia).await;
    assert_eq!(own["totalCount"], 2);
    let nodes = own["nodes"].items();
    let described: Vec<(Option<&str>, Option<bool>)> = nodes
        .iter()
        .map(|node| (node["userAgent"].as_str(), node["current"].as_bool()))
        .collect();
    assert_eq!(
        described,
        [
            (Some("Safari/26 on a phone"), Some(false)),
            (Some("Firefox/140 on a laptop"), Some(true)),
        ],
        "newest first, a tab made a space, this request's session marked"
    );
    let text = own.to_string();
    assert!(
        !text.contains(&laptop[4..]) && !text.contains(&phone[4..]),
        "never a token"
    );
    assert!(
        nodes[0]["lastSeenAt"].is_null(),
        "the phone's session was never used"
    );

    // Its last use is written beside the request: it shows shortly after.
    let mut last_seen = Value::Null;
    for _ in 0..50 {
        let listed = sessions_of(&app, &laptop, mia).await;
        last_seen = listed["nodes"][1]["lastSeenAt"].clone().into_value();
        if !last_seen.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_seen.is_string(), "the laptop's last use is recorded");

    // An administrator sees the same sessions, none of them theirs.
    let admin = app.sign_in(ADA).await;
    let seen_by_admin = sessions_of(&app, &admin, mia).await;
    assert_eq!(seen_by_admin["totalCount"], 2);
    assert!(
        seen_by_admin["nodes"]
            .items()
            .iter()
            .all(|node| node["current"] == false)
    );
    // Pages of one follow each other.
    let first = data(
        &app.graphql(
            Some(&admin),
            SESSIONS,
            json!({ "ws": app.demo.workspace_id, "user": mia, "first": 1 }),
        )
        .await,
    )["sessions"]
        .clone();
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = data(
        &app.graphql(
            Some(&admin),
            SESSIONS,
            json!({ "ws": app.demo.workspace_id, "user": mia, "first": 1,
                    "after": first["pageInfo"]["endCursor"] }),
        )
        .await,
    )["sessions"]
        .clone();
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["nodes"][0]["userAgent"], "Firefox/140 on a laptop");

    let ended = end_sessions(&app, &admin, mia).await;
    ok(&ended);
    assert_eq!(ended["sessionsEnded"], 2);
    assert!(!can_act(&app, &laptop).await && !can_act(&app, &phone).await);
    assert!(
        can_act(&app, &admin).await,
        "the admin's own session is untouched"
    );
    assert_eq!(open_sessions(&app, mia).await, 0);
    assert_eq!(sessions_of(&app, &admin, mia).await["totalCount"], 0);
    let entries = audit_entries(&app, "sessions_end").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_user_id, Some(mia));
    assert_eq!(entries[0].actor_user_id, Some(ada), "{:?}", entries[0]);
    assert_eq!(entries[0].metadata["sessions"], 2);
    // She can sign in again: it is not a deactivation.
    let again = app.sign_in(MIA).await;
    assert!(can_act(&app, &again).await);
}

async fn a_person_signs_themself_out_everywhere_and_a_replay_ends_nothing_more(app: TestApp) {
    let max = user_id(&app, MAX).await;
    let here = app.sign_in(MAX).await;
    let elsewhere = app.sign_in(MAX).await;
    let input = json!({ "userId": max, "idempotencyKey": "everywhere-1" });
    let ended = app.mutate(&here, END_SESSIONS, input.clone()).await;
    ok(&ended);
    assert_eq!(ended["sessionsEnded"], 2, "this request's session too");
    assert!(!can_act(&app, &here).await && !can_act(&app, &elsewhere).await);

    // Sent again (from a new session: the key belongs to the person), it answers its first
    // answer and ends nothing: a retry, not a second "sign out everywhere".
    let fresh = app.sign_in(MAX).await;
    let replay = app.mutate(&fresh, END_SESSIONS, input).await;
    ok(&replay);
    assert_eq!(replay["sessionsEnded"], 2);
    assert!(can_act(&app, &fresh).await);
}

async fn ending_sessions_refuses_who_the_caller_may_not_touch(app: TestApp) {
    let [omar, mia, max] = people(&app, [OMAR, MIA, MAX]).await;
    let omar_session = app.sign_in(OMAR).await;
    let mia_session = app.sign_in(MIA).await;
    let admin = app.sign_in(ADA).await;
    let audit_entries = || async { audit_count(&app, "sessions_end").await };

    let refused = end_sessions(&app, &admin, omar).await;
    assert_eq!(user_error_codes(&refused), ["ROLE_NOT_MANAGEABLE"]);
    assert!(refused["sessionsEnded"].is_null());
    let refused = end_sessions(&app, app.owner_token(), entities::UserId::fresh()).await;
    assert_eq!(user_error_codes(&refused), ["MEMBER_NOT_FOUND"]);
    // A member ends nobody else's, and sees nobody else's.
    let answer = app
        .graphql(
            Some(&mia_session),
            END_SESSIONS,
            json!({ "input": { "workspaceId": app.demo.workspace_id, "userId": max } }),
        )
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    assert_eq!(
        error_code(&sessions_answer(&app, &mia_session, max).await),
        "FORBIDDEN"
    );
    // Another workspace's ids are not found, even for yourself.
    let research = crate::access::research_workspace(&app).await;
    let answer = app
        .as_owner(
            END_SESSIONS,
            json!({ "input": { "workspaceId": research, "userId": mia } }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let answer = app
        .graphql(
            Some(&mia_session),
            SESSIONS,
            json!({ "ws": research, "user": mia }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");

    assert!(can_act(&app, &omar_session).await && can_act(&app, &mia_session).await);
    assert_eq!(audit_entries().await, 0, "nothing recorded");
}

/// `sessionId` ends that session only: its token stops working, the other session keeps
/// working, and ending it again is ALREADY_REVOKED and changes nothing.
async fn one_session_ends_and_the_others_stay(app: TestApp) {
    let mia = user_id(&app, MIA).await;
    let laptop = sign_in_as(&app, MIA, "Laptop").await;
    let phone = sign_in_as(&app, MIA, "Phone").await;
    let listed = sessions_of(&app, app.owner_token(), mia).await;
    let laptop_session = listed["nodes"]
        .items()
        .iter()
        .find(|node| node["userAgent"] == "Laptop")
        .unwrap()["id"]
        .clone()
        .into_value();
    let end_one = |session: Value| {
        let app = &app;
        async move {
            app.mutate(
                app.owner_token(),
                END_SESSIONS,
                json!({ "userId": mia, "sessionId": session }),
            )
            .await
        }
    };
    let ended = end_one(laptop_session.clone()).await;
    ok(&ended);
    assert_eq!(ended["sessionsEnded"], 1);
    assert!(
        !can_act(&app, &laptop).await,
        "the ended session is refused"
    );
    assert!(can_act(&app, &phone).await, "the other one still works");
    let entries = audit_count(&app, "sessions_end").await;
    let again = end_one(laptop_session).await;
    assert_eq!(user_error_codes(&again), ["ALREADY_REVOKED"]);
    assert_eq!(
        audit_count(&app, "sessions_end").await,
        entries,
        "nothing was written"
    );
    assert!(can_act(&app, &phone).await);
}
