//! idempotencyKey: a retried mutation answers what it answered first and applies nothing again.

use entities::{api_key, idempotency_key, invitation, offboarding, outbox};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use tests::{Answer, TestApp, backend_tests, error_code, ok, user_error_codes};
use uuid::Uuid;

use crate::support::{
    ADA, DEACTIVATE, GUS, INVITE, MAX, MIA, OMAR, REASSIGN, REMOVE, RESTORE, TRANSFER, audit_count,
    count_of, error_pairs, expected_pairs, give_all_contacts_to_the_owner, marketing_membership,
    no_worker, people, snapshot, where_eq,
};

const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  apiKey { id name role } token userErrors { code message field userId } } }";

fn assert_key_reused(payload: &Answer) {
    assert_eq!(
        user_error_codes(payload),
        ["IDEMPOTENCY_KEY_REUSED"],
        "{payload}"
    );
    assert_eq!(payload["userErrors"][0]["field"], "idempotencyKey");
}

async fn outbox_rows(app: &TestApp) -> u64 {
    outbox::Entity::find().count(app.db()).await.unwrap()
}

backend_tests! {
    a_removal_sent_twice_with_one_key_is_applied_once => no_worker,
    deactivation_invitation_and_key_replays_answer_as_the_first_time => no_worker,
    replays_of_handovers_and_restores_are_not_judged_again => no_worker,
    a_refused_call_is_not_kept_so_its_retry_is_judged_afresh => no_worker,
    a_key_is_one_to_two_hundred_characters => no_worker,
}

async fn a_removal_sent_twice_with_one_key_is_applied_once(app: TestApp) {
    let [gus, max] = people(&app, [GUS, MAX]).await;
    let omar_session = app.sign_in(OMAR).await;
    let input = json!({ "userIds": [gus], "reason": "contract ended", "idempotencyKey": "k1" });
    let first = app.owner_mutates(REMOVE, input.clone()).await;
    ok(&first);
    let offboarding_id: Uuid = first["offboarding"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let jobs = count_of(
        &app,
        where_eq(outbox::Column::OffboardingId, offboarding_id),
    )
    .await;
    assert!(jobs > 0);
    let after_first = snapshot(&app).await;

    let second = app.owner_mutates(REMOVE, input).await;
    assert_eq!(
        second, first,
        "the same answer: same offboarding, same removed members"
    );
    assert_eq!(snapshot(&app).await, after_first, "nothing applied again");
    assert_eq!(audit_count(&app, "team_membership_remove").await, 1);
    assert_eq!(
        offboarding::Entity::find().count(app.db()).await.unwrap(),
        1
    );
    assert_eq!(outbox_rows(&app).await, jobs, "one set of side effects");

    // The same key with another input is refused, whatever the difference.
    for other in [
        json!({ "userIds": [gus], "reason": "another reason", "idempotencyKey": "k1" }),
        json!({ "userIds": [max], "reason": "contract ended", "idempotencyKey": "k1" }),
    ] {
        let payload = app.owner_mutates(REMOVE, other).await;
        assert_key_reused(&payload);
        assert!(payload["offboarding"].is_null());
        assert_eq!(snapshot(&app).await, after_first);
    }
    assert!(marketing_membership(&app, max).await.deleted_at.is_none());

    // Keys belong to whoever sends them: Omar's "k1" is another request.
    let omars = app
        .mutate(
            &omar_session,
            REMOVE,
            json!({ "userIds": [max], "idempotencyKey": "k1" }),
        )
        .await;
    ok(&omars);
    assert_ne!(omars["offboarding"]["id"], first["offboarding"]["id"]);
    assert_eq!(omars["removedMembers"][0]["email"], MAX);
    assert!(marketing_membership(&app, max).await.deleted_at.is_some());
    assert_eq!(audit_count(&app, "team_membership_remove").await, 2);
}

async fn deactivation_invitation_and_key_replays_answer_as_the_first_time(app: TestApp) {
    let gus = crate::support::user_id(&app, GUS).await;
    let input = json!({ "userId": gus, "reason": "on leave", "idempotencyKey": "d1" });
    let first = app.owner_mutates(DEACTIVATE, input.clone()).await;
    ok(&first);
    assert_eq!(first["member"]["status"], "DEACTIVATED");
    let after = snapshot(&app).await;
    let second = app.owner_mutates(DEACTIVATE, input).await;
    assert_eq!(
        second, first,
        "not ALREADY_DEACTIVATED: the first answer again"
    );
    assert_eq!(snapshot(&app).await, after);
    assert_eq!(audit_count(&app, "team_membership_deactivate").await, 1);
    // Without a key the same call is judged afresh.
    let fresh = app
        .owner_mutates(DEACTIVATE, json!({ "userId": gus, "reason": "on leave" }))
        .await;
    assert_eq!(user_error_codes(&fresh), ["ALREADY_DEACTIVATED"]);

    // An invitation's secret is never stored: the replay answers it as null.
    let input =
        json!({ "email": "replayed@example.com", "role": "MEMBER", "idempotencyKey": "i1" });
    let first = app.owner_mutates(INVITE, input.clone()).await;
    ok(&first);
    assert!(first["invitationToken"].is_string());
    let after = snapshot(&app).await;
    let second = app.owner_mutates(INVITE, input).await;
    ok(&second);
    assert_eq!(second["member"], first["member"], "the same member id");
    assert!(second["invitationToken"].is_null(), "{second}");
    assert_eq!(snapshot(&app).await, after);
    let invitations = count_of(
        &app,
        where_eq(invitation::Column::Email, "replayed@example.com"),
    )
    .await;
    assert_eq!(invitations, 1);
    assert_eq!(audit_count(&app, "team_membership_invite").await, 1);

    // Same for an API key's token.
    let input = json!({ "name": "Replayed key", "role": "MEMBER", "idempotencyKey": "c1" });
    let first = app.owner_mutates(CREATE_KEY, input.clone()).await;
    ok(&first);
    assert!(first["token"].is_string());
    let second = app.owner_mutates(CREATE_KEY, input).await;
    ok(&second);
    assert_eq!(second["apiKey"]["id"], first["apiKey"]["id"]);
    assert!(second["token"].is_null(), "{second}");
    let keys = count_of(&app, where_eq(api_key::Column::Name, "Replayed key")).await;
    assert_eq!(keys, 1);
}

async fn replays_of_handovers_and_restores_are_not_judged_again(app: TestApp) {
    let [mia, max, ada, gus] = people(&app, [MIA, MAX, ADA, GUS]).await;
    // Judged again, these would be NOT_A_CONTACT, ROLE_NOT_MANAGEABLE and ALREADY_MEMBER.
    let reassign = json!({ "fromUserId": mia, "assignments": [{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max }], "idempotencyKey": "a1" });
    let transfer = json!({ "toUserId": ada, "demoteSelfTo": "ADMIN", "idempotencyKey": "t1" });
    ok(&app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await);
    let restore = json!({ "userId": gus, "idempotencyKey": "s1" });
    for (document, field, input, action) in [
        (REASSIGN, "reassignContacts", reassign, "contacts_reassign"),
        (RESTORE, "restoreMember", restore, "team_membership_restore"),
        (
            TRANSFER,
            "transferOwnership",
            transfer,
            "ownership_transfer",
        ),
    ] {
        let first = app.owner_mutates(document, input.clone()).await;
        ok(&first);
        let after = snapshot(&app).await;
        let second = app.owner_mutates(document, input).await;
        assert_eq!(second, first, "{field}");
        assert_eq!(snapshot(&app).await, after, "{field}");
        assert_eq!(audit_count(&app, action).await, 1, "{action}");
    }
    assert_eq!(
        marketing_membership(&app, ada).await.role,
        entities::Role::Owner
    );
}

async fn a_refused_call_is_not_kept_so_its_retry_is_judged_afresh(app: TestApp) {
    let mia = crate::support::user_id(&app, MIA).await;
    let input = json!({ "userIds": [mia], "idempotencyKey": "r1" });
    let before = snapshot(&app).await;
    let refused = app.owner_mutates(REMOVE, input.clone()).await;
    assert_eq!(
        error_pairs(&refused),
        expected_pairs(&[("CONTACT_REASSIGNMENT_REQUIRED", mia)])
    );
    assert_eq!(snapshot(&app).await, before, "not even the key was kept");
    assert_eq!(
        idempotency_key::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        0
    );

    give_all_contacts_to_the_owner(&app).await;
    let retried = app.owner_mutates(REMOVE, input.clone()).await;
    ok(&retried);
    assert_eq!(retried["removedMembers"][0]["userId"], mia.to_string());
    assert!(marketing_membership(&app, mia).await.deleted_at.is_some());
    assert_eq!(
        idempotency_key::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        1
    );
    let replay = app.owner_mutates(REMOVE, input).await;
    assert_eq!(
        replay, retried,
        "now the success is kept, not ALREADY_REMOVED"
    );
}

async fn a_key_is_one_to_two_hundred_characters(app: TestApp) {
    let gus = crate::support::user_id(&app, GUS).await;
    let before = snapshot(&app).await;
    for key in ["k".repeat(201), String::new()] {
        for (document, input) in [
            (REMOVE, json!({ "userIds": [gus], "idempotencyKey": key })),
            (DEACTIVATE, json!({ "userId": gus, "idempotencyKey": key })),
            (
                INVITE,
                json!({ "email": "long.key@example.com", "role": "GUEST", "idempotencyKey": key }),
            ),
        ] {
            let answer = app.call(app.owner_token(), document, input).await;
            assert_eq!(
                error_code(&answer),
                "BAD_USER_INPUT",
                "a key of {} characters: {answer}",
                key.len()
            );
        }
    }
    assert_eq!(snapshot(&app).await, before);
    let payload = app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": [gus], "idempotencyKey": "k".repeat(200) }),
        )
        .await;
    ok(&payload);
    assert!(marketing_membership(&app, gus).await.deleted_at.is_some());
}

backend_tests! {
    two_concurrent_calls_with_one_key_apply_once => no_worker,
}

/// The race the key exists for: a client times out and retries while the first call is
/// still running. Both answers are the first answer; the removal happens once.
async fn two_concurrent_calls_with_one_key_apply_once(app: TestApp) {
    let [gus, max] = people(&app, [GUS, MAX]).await;
    let input = json!({ "userIds": [gus, max], "reason": "left", "idempotencyKey": "race" });
    let (first, second) = tokio::join!(
        app.owner_mutates(REMOVE, input.clone()),
        app.owner_mutates(REMOVE, input),
    );
    ok(&first);
    assert_eq!(first, second, "one answer for both");
    assert_eq!(
        audit_count(&app, "team_membership_remove").await,
        2,
        "one entry per member, once"
    );
    assert_eq!(
        offboarding::Entity::find().count(app.db()).await.unwrap(),
        1
    );
    assert_eq!(
        idempotency_key::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        1
    );
}
