//! `restoreMember`: undoing a removal within 30 days, with what was revoked staying revoked.

use std::time::Duration;

use chrono::Utc;
use entities::{UserId, membership, organization};
use rules::demo::DEMO_PASSWORD;
use rules::people::removed::RemovedFilter;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok, user_error_codes};

use crate::support::{
    ADA, DANA, GUS, INVITE, IVY, MAX, MIA, OMAR, REMOVE, RESTORE, VIEWER, assert_list_guarded,
    audit_entries, can_act, give_all_contacts_to_the_owner, key_created_by, marketing_membership,
    member_emails, no_worker, owner_invites, people, role_and_status, seats_used, snapshot,
    user_id,
};

fn group_names(member: &Value) -> Vec<String> {
    let mut names: Vec<String> = member["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("groups: {member}"))
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn set_removed_at(app: &TestApp, user: UserId, days_ago: i64) {
    let updated = membership::Entity::update_many()
        .col_expr(
            membership::Column::DeletedAt,
            Some(Utc::now() - chrono::Duration::days(days_ago)).into(),
        )
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::UserId.eq(user))
        .filter(membership::Column::DeletedAt.is_not_null())
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, 1);
}

backend_tests! {
    a_restored_member_is_back_with_role_and_groups_but_keys_and_old_sessions_stay_dead,
    a_restore_brings_back_the_status_and_says_whether_it_took_a_seat => no_worker,
    a_removal_older_than_thirty_days_cannot_be_undone => no_worker,
    a_restore_needs_a_free_seat_unless_the_person_still_holds_one => no_worker,
    only_a_recent_removal_of_a_manageable_member_can_be_restored => no_worker,
}

async fn a_restored_member_is_back_with_role_and_groups_but_keys_and_old_sessions_stay_dead(
    app: TestApp,
) {
    give_all_contacts_to_the_owner(&app).await;
    let mia_session = app.sign_in(MIA).await;
    let mia = user_id(&app, MIA).await;
    let payload = app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": [mia], "reason": "moved team", "revokeApiKeys": true }),
        )
        .await;
    ok(&payload);
    assert_eq!(payload["removedMembers"][0]["apiKeysRevoked"], 1);
    app.wait_until_succeeded(
        payload["offboarding"]["id"].as_str().unwrap(),
        Duration::from_secs(30),
    )
    .await;
    assert!(!member_emails(&app).await.iter().any(|e| e == MIA));
    let seats = seats_used(&app).await;

    let payload = app.owner_mutates(RESTORE, json!({ "userId": mia })).await;
    ok(&payload);
    assert_eq!(payload["member"]["user"]["email"], MIA);
    assert_eq!(
        role_and_status(&payload["member"]),
        (Some("MEMBER"), Some("ACTIVE"))
    );
    assert_eq!(group_names(&payload["member"]), ["Designers"]);
    assert_eq!(payload["seatTaken"], true, "her seat had been freed");
    assert_eq!(seats_used(&app).await, seats + 1);
    assert!(member_emails(&app).await.iter().any(|e| e == MIA));
    let restored = marketing_membership(&app, mia).await;
    assert!(
        restored.deleted_at.is_none()
            && restored.removed_by.is_none()
            && restored.removal_reason.is_none(),
        "{restored:?}"
    );

    // What the removal revoked stays revoked.
    let key = key_created_by(&app, mia).await;
    assert!(key.revoked_at.is_some(), "the Reporting key stays revoked");
    assert!(
        !can_act(&app, &mia_session).await,
        "the old session stays refused"
    );
    let fresh = app.sign_in(MIA).await;
    let answer = app.graphql(Some(&fresh), VIEWER, Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "MEMBER");

    let entries = audit_entries(&app, "team_membership_restore").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_user_id, Some(mia));
}

async fn a_restore_brings_back_the_status_and_says_whether_it_took_a_seat(app: TestApp) {
    let [dana, max] = people(&app, [DANA, MAX]).await;
    app.remove_members(&[dana, max]).await;
    let seats = seats_used(&app).await;

    let payload = app.owner_mutates(RESTORE, json!({ "userId": dana })).await;
    ok(&payload);
    assert_eq!(
        role_and_status(&payload["member"]),
        (Some("MEMBER"), Some("DEACTIVATED"))
    );
    assert_eq!(group_names(&payload["member"]), ["Designers"]);
    assert_eq!(payload["seatTaken"], true);
    assert_eq!(
        marketing_membership(&app, dana).await.status,
        entities::MembershipStatus::Deactivated
    );
    let answer = app.graphql(None, "mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code } } }",
        json!({ "input": { "workspaceId": app.demo.workspace_id, "email": DANA, "password": "demo-password" } })).await;
    assert_eq!(
        user_error_codes(&data(&answer)["signIn"]),
        ["MEMBERSHIP_DEACTIVATED"],
        "still deactivated"
    );

    // Max kept his seat through Research.
    let payload = app.owner_mutates(RESTORE, json!({ "userId": max })).await;
    ok(&payload);
    assert_eq!(payload["member"]["status"], "ACTIVE");
    assert_eq!(group_names(&payload["member"]), ["Analysts", "Designers"]);
    assert_eq!(payload["seatTaken"], false);
    assert_eq!(seats_used(&app).await, seats + 1, "only Dana took a seat");

    // Twice: nothing left to restore.
    let before = snapshot(&app).await;
    let payload = app.owner_mutates(RESTORE, json!({ "userId": max })).await;
    assert_eq!(user_error_codes(&payload), ["ALREADY_MEMBER"]);
    assert!(payload["member"].is_null());
    assert_eq!(snapshot(&app).await, before);
}

async fn a_removal_older_than_thirty_days_cannot_be_undone(app: TestApp) {
    let gus = user_id(&app, GUS).await;
    app.remove_members(&[gus]).await;
    set_removed_at(&app, gus, 31).await;
    let before = snapshot(&app).await;
    let payload = app.owner_mutates(RESTORE, json!({ "userId": gus })).await;
    assert_eq!(user_error_codes(&payload), ["RESTORE_WINDOW_EXPIRED"]);
    assert_eq!(snapshot(&app).await, before);
    assert!(marketing_membership(&app, gus).await.deleted_at.is_some());

    set_removed_at(&app, gus, 29).await;
    let payload = app.owner_mutates(RESTORE, json!({ "userId": gus })).await;
    ok(&payload);
    assert_eq!(payload["member"]["role"], "GUEST");
    assert!(marketing_membership(&app, gus).await.deleted_at.is_none());
}

async fn a_restore_needs_a_free_seat_unless_the_person_still_holds_one(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let [mia, max] = people(&app, [MIA, MAX]).await;
    app.remove_members(&[mia, max]).await;
    // Someone new takes Mia's freed seat; then the limit is what is used.
    owner_invites(&app, "filler@example.com", "GUEST").await;
    let used = seats_used(&app).await;
    organization::Entity::update_many()
        .col_expr(organization::Column::SeatLimit, Some(used as i32).into())
        .filter(organization::Column::Id.eq(app.demo.organization_id))
        .exec(app.db())
        .await
        .unwrap();

    let before = snapshot(&app).await;
    let payload = app.owner_mutates(RESTORE, json!({ "userId": mia })).await;
    assert_eq!(user_error_codes(&payload), ["SEAT_LIMIT_REACHED"]);
    assert!(payload["member"].is_null());
    assert_eq!(snapshot(&app).await, before);
    assert!(!member_emails(&app).await.iter().any(|e| e == MIA));

    let payload = app.owner_mutates(RESTORE, json!({ "userId": max })).await;
    ok(&payload);
    assert_eq!(payload["seatTaken"], false);
    assert_eq!(seats_used(&app).await, used, "no seat taken");
}

async fn only_a_recent_removal_of_a_manageable_member_can_be_restored(app: TestApp) {
    let [ivy, omar] = people(&app, [IVY, OMAR]).await;
    // Someone who has only ever been in Research.
    let research = crate::access::research_workspace(&app).await;
    let olivia_in_research = app.sign_in_to(research, crate::support::OLIVIA).await;
    let answer = app.graphql(Some(&olivia_in_research), INVITE,
        json!({ "input": { "workspaceId": research, "email": "lab.only@acme.test", "role": "MEMBER" } })).await;
    ok(&data(&answer)["inviteMember"]);
    let lab_only = user_id(&app, "lab.only@acme.test").await;
    app.remove_members(&[ivy, omar]).await;
    let admin = app.sign_in(ADA).await;
    let before = snapshot(&app).await;

    for (token, user, code) in [
        (app.owner_token(), UserId::fresh(), "MEMBER_NOT_FOUND"),
        (app.owner_token(), lab_only, "MEMBER_NOT_FOUND"),
        (app.owner_token(), ivy, "INVITATION_PENDING"),
        (admin.as_str(), omar, "ROLE_NOT_MANAGEABLE"),
    ] {
        let payload = app.mutate(token, RESTORE, json!({ "userId": user })).await;
        assert_eq!(user_error_codes(&payload), [code], "{payload}");
        assert!(
            payload["member"].is_null() && payload["seatTaken"].is_null(),
            "{payload}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

backend_tests! {
    nobody_restores_themself_not_even_through_their_key => no_worker,
    the_removed_are_listed_newest_first_with_whether_and_until_when_they_can_be_restored => no_worker,
    the_removed_are_found_by_name_or_email => no_worker,
    a_page_of_the_removed_is_three_statements_whatever_its_size => no_worker,
}

/// A removed owner's key keeps working (without `revokeApiKeys`), but it can't undo its
/// creator's own removal.
async fn nobody_restores_themself_not_even_through_their_key(app: TestApp) {
    let omar_session = app.sign_in(OMAR).await;
    let omar_key = crate::support::create_api_key(&app, &omar_session, "Omar's bot", "OWNER").await;
    let omar = user_id(&app, OMAR).await;
    app.remove_members(&[omar]).await;
    let before = snapshot(&app).await;
    // His key outlives him but gives no access back, to him or anyone.
    let answer = app
        .call(&omar_key, RESTORE, json!({ "userId": omar }))
        .await;
    assert_eq!(tests::error_code(&answer), "FORBIDDEN", "{answer}");
    assert_eq!(snapshot(&app).await, before, "still removed");
    // Another owner can.
    let payload = app.owner_mutates(RESTORE, json!({ "userId": omar })).await;
    ok(&payload);
    assert_eq!(payload["member"]["role"], "OWNER");
}

const REMOVED_MEMBERS: &str = "query($ws: UUID!, $first: Int, $after: String) {
    removedMembers(workspaceId: $ws, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { user { email } role status removedAt removedBy { email } reason
                restorableUntil canRestore } } }";

const REMOVED_SEARCH: &str =
    "query($ws: UUID!, $filter: RemovedMemberFilterInput, $first: Int, $after: String) {
    removedMembers(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { user { email } canRestore } } }";

async fn removed_members(app: &TestApp, token: &str, first: i64, after: Option<&str>) -> Answer {
    let answer = app
        .graphql(
            Some(token),
            REMOVED_MEMBERS,
            json!({ "ws": app.demo.workspace_id, "first": first, "after": after }),
        )
        .await;
    data(&answer)["removedMembers"].clone()
}

/// (email, canRestore) of a page, in its order.
fn who_and_whether(connection: &Answer) -> Vec<(String, bool)> {
    connection["nodes"]
        .items()
        .iter()
        .map(|node| {
            (
                node["user"]["email"].as_str().unwrap().to_owned(),
                node["canRestore"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Gus removed 31 days ago, Mia with a reason, Dana removed and restored, Ivy (only invited)
/// and Omar, and Max removed, invited back as a guest, joined and removed again.
async fn remove_in_every_way_the_list_tells_apart(app: &TestApp, owner: &str) {
    let [mia, gus, ivy, omar, dana, max] = people(app, [MIA, GUS, IVY, OMAR, DANA, MAX]).await;
    app.remove_members(&[gus]).await;
    set_removed_at(app, gus, 31).await;
    let payload = app
        .mutate(
            owner,
            REMOVE,
            json!({ "userIds": [mia], "reason": "moved team" }),
        )
        .await;
    ok(&payload);
    // Dana is removed and restored: back, so not listed.
    app.remove_members(&[dana]).await;
    ok(&app.mutate(owner, RESTORE, json!({ "userId": dana })).await);
    // Ivy was only invited: her removal revokes an invitation, not listed either.
    app.remove_members(&[ivy, omar]).await;
    // Max is removed, invited back as a guest, joins, and is removed again: listed once, by his
    // latest removal.
    app.remove_members(&[max]).await;
    let invited = app
        .mutate(owner, INVITE, json!({ "email": MAX, "role": "GUEST" }))
        .await;
    ok(&invited);
    let accepted = app
        .graphql(
            None,
            "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { token } }",
            json!({ "input": { "token": invited["invitationToken"], "password": DEMO_PASSWORD } }),
        )
        .await;
    assert!(data(&accepted)["acceptInvitation"]["token"].is_string());
    app.remove_members(&[max]).await;
}

/// What the People page's "Undo" lists: each person out of the workspace once, by their latest
/// removal; not those back (restored) nor a revoked invitation; whether the caller can restore
/// them and until when.
async fn the_removed_are_listed_newest_first_with_whether_and_until_when_they_can_be_restored(
    app: TestApp,
) {
    give_all_contacts_to_the_owner(&app).await;
    let [mia] = people(&app, [MIA]).await;
    let owner = app.owner_token().to_owned();
    let none = removed_members(&app, &owner, 10, None).await;
    assert_eq!(
        (none["totalCount"].as_u64(), none["nodes"].items().len()),
        (Some(0), 0)
    );

    remove_in_every_way_the_list_tells_apart(&app, &owner).await;

    let all = removed_members(&app, &owner, 10, None).await;
    assert_eq!(all["totalCount"], 4);
    assert_eq!(
        who_and_whether(&all),
        [
            (MAX.to_owned(), true),
            (OMAR.to_owned(), true),
            (MIA.to_owned(), true),
            (GUS.to_owned(), false)
        ],
        "newest removal first, each person once; Gus's is past the window"
    );
    let nodes = all["nodes"].items();
    assert_eq!(nodes[0]["role"], "GUEST", "Max's latest membership");
    let mia_node = &nodes[2];
    assert_eq!(role_and_status(mia_node), (Some("MEMBER"), Some("ACTIVE")));
    assert_eq!(mia_node["reason"], "moved team");
    assert!(nodes[1]["reason"].is_null());
    let owner_email = data(&app.graphql(Some(&owner), VIEWER, Value::Null).await)["viewer"]["user"]
        ["email"]
        .clone();
    assert_eq!(mia_node["removedBy"]["email"], owner_email);
    let instant = |node: &Answer, field: &str| {
        chrono::DateTime::parse_from_rfc3339(node[field].as_str().unwrap()).unwrap()
    };
    for node in nodes {
        assert_eq!(
            instant(node, "restorableUntil") - instant(node, "removedAt"),
            chrono::Duration::days(30)
        );
    }
    let stored = marketing_membership(&app, mia).await.deleted_at.unwrap();
    assert_eq!(instant(mia_node, "removedAt"), stored);

    // An admin sees the same people, and can't restore an owner.
    let admin = app.sign_in(ADA).await;
    assert_eq!(
        who_and_whether(&removed_members(&app, &admin, 10, None).await),
        [
            (MAX.to_owned(), true),
            (OMAR.to_owned(), false),
            (MIA.to_owned(), true),
            (GUS.to_owned(), false)
        ]
    );

    // Pages follow one another without a gap or a repeat.
    let first = removed_members(&app, &owner, 3, None).await;
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let cursor = first["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let second = removed_members(&app, &owner, 3, Some(&cursor)).await;
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    let paged: Vec<_> = who_and_whether(&first)
        .into_iter()
        .chain(who_and_whether(&second))
        .collect();
    assert_eq!(paged, who_and_whether(&all));

    // Restored, Mia leaves the list; invited again, so does Gus.
    ok(&app.mutate(&owner, RESTORE, json!({ "userId": mia })).await);
    ok(&app
        .mutate(&owner, INVITE, json!({ "email": GUS, "role": "GUEST" }))
        .await);
    let now_removed = removed_members(&app, &owner, 10, None).await;
    assert_eq!(now_removed["totalCount"], 2);
    assert_eq!(
        who_and_whether(&now_removed),
        [(MAX.to_owned(), true), (OMAR.to_owned(), true)]
    );

    // Garbage for a cursor is bad input; a member may not look; another workspace is not found.
    let member = crate::support::create_api_key(&app, &admin, "Reader", "MEMBER").await;
    let before = snapshot(&app).await;
    let answer = app
        .graphql(
            Some(&owner),
            REMOVED_MEMBERS,
            json!({ "ws": app.demo.workspace_id, "after": "bm90IGEgY3Vyc29y" }),
        )
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    assert_list_guarded(&app, REMOVED_MEMBERS, &member).await;
    assert_eq!(snapshot(&app).await, before);
}

/// The audit log's "About" picker finds a removed person among thousands the way the members
/// list finds a member: by a part of the name or email, newest removal first, paged; a short
/// text matches the start only. A search too long or with a control character is refused.
async fn the_removed_are_found_by_name_or_email(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let owner = app.owner_token().to_owned();
    remove_in_every_way_the_list_tells_apart(&app, &owner).await;
    let search = |text: &str, first: i64, after: Option<String>| {
        let variables = json!({
            "ws": app.demo.workspace_id,
            "filter": { "search": text },
            "first": first,
            "after": after,
        });
        let owner = owner.clone();
        let app = &app;
        async move { app.graphql(Some(&owner), REMOVED_SEARCH, variables).await }
    };
    let found = async |text: &str| {
        let answer = search(text, 10, None).await;
        let connection = &data(&answer)["removedMembers"];
        let emails: Vec<String> = who_and_whether(connection)
            .into_iter()
            .map(|(email, _)| email)
            .collect();
        assert_eq!(connection["totalCount"], emails.len(), "{text}");
        emails
    };
    assert_eq!(found("omar").await, [OMAR]);
    assert_eq!(found("Omar Owner").await, [OMAR], "in the name only");
    assert_eq!(found("gus.guest@").await, [GUS], "in the email only");
    assert_eq!(found("MEMBER").await, [MAX, MIA], "ignoring case");
    assert_eq!(found("mi").await, [MIA], "a short text: the start only");
    assert_eq!(found("dana").await, Vec::<String>::new(), "Dana is back");
    assert_eq!(
        found("  ").await,
        [MAX, OMAR, MIA, GUS],
        "a blank search is none"
    );

    let first = search("member", 1, None).await;
    let first = &data(&first)["removedMembers"];
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let cursor = first["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let second = search("member", 1, Some(cursor)).await;
    assert_eq!(
        [first, &data(&second)["removedMembers"]].map(|page| who_and_whether(page)[0].0.clone()),
        [MAX, MIA]
    );

    let before = snapshot(&app).await;
    for bad in ["x".repeat(101), "mia\u{7}".to_owned()] {
        let answer = search(&bad, 10, None).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{bad:?}: {answer}");
    }
    assert_eq!(snapshot(&app).await, before);
}

/// No N+1: the total, the page, and the people on it with those who removed them.
async fn a_page_of_the_removed_is_three_statements_whatever_its_size(app: TestApp) {
    let bench = tests::add_members(&app, 120).await;
    app.remove_members(&bench).await;
    let principal = app.owner_principal().await;
    let (db, statements) = tests::counting_connection(&app);
    let every_one = RemovedFilter::default();
    let searched = RemovedFilter {
        search: Some(crate::support::search_text("bench")),
    };
    for (filter, first) in [&every_one, &searched]
        .into_iter()
        .flat_map(|filter| [1_u64, 50, 100].map(|first| (filter, first)))
    {
        let (page, sent) = tests::count_statements(
            &statements,
            rules::people::removed::list_removed(
                &db,
                &principal,
                app.demo.workspace_id,
                filter,
                rules::lists::Paging { first, after: None },
                Utc::now(),
            ),
        )
        .await;
        let page = page.unwrap();
        assert_eq!((page.items.len() as u64, page.total_count), (first, 120));
        assert!(
            page.items
                .iter()
                .all(|row| row.removed_by.is_some() && row.can_restore)
        );
        assert_eq!(sent, 3, "a page of {first}, {filter:?}");
    }
}
