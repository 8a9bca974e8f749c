//! `reassignContacts`, and "Reassign and Remove" through `removeMembers`' contactReassignments.

use entities::{UserId, application};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, error_code, ok};
use uuid::Uuid;

use crate::support::{
    ADA, DANA, GUS, IVY, MAX, MIA, OLIVIA, OMAR, REASSIGN, REMOVE, application_contact,
    application_id, audit_count, audit_entries, error_pairs, expected_pairs, marketing,
    marketing_membership, no_worker, people, preview, snapshot, sorted_rows,
};

type MoveRow = (String, Option<String>, Option<String>, String, String);

/// `moved` as sorted (duty, applicationId, applicationName, fromUserId, toUserId).
fn moves(payload: &Value) -> Vec<MoveRow> {
    sorted_rows(payload, "moved", |m| {
        (
            m["duty"].as_str().unwrap().to_owned(),
            m["applicationId"].as_str().map(str::to_owned),
            m["applicationName"].as_str().map(str::to_owned),
            m["fromUserId"].as_str().unwrap().to_owned(),
            m["toUserId"].as_str().unwrap().to_owned(),
        )
    })
}

fn moved(duty: &str, application: Option<(Uuid, &str)>, from: UserId, to: UserId) -> MoveRow {
    (
        duty.to_owned(),
        application.map(|(id, _)| id.to_string()),
        application.map(|(_, name)| name.to_owned()),
        from.to_string(),
        to.to_string(),
    )
}

async fn reassign(app: &TestApp, token: &str, from: UserId, assignments: Value) -> Answer {
    let input = json!({ "fromUserId": from, "assignments": assignments });
    app.mutate(token, REASSIGN, input).await
}

/// Checks a refusal: exactly these (code, userId) errors on the `assignments` field, nothing moved.
fn assert_refused(payload: &Value, expected: &[(&str, UserId)]) {
    assert_eq!(error_pairs(payload), expected_pairs(expected), "{payload}");
    for error in payload["userErrors"].as_array().unwrap() {
        assert_eq!(error["field"], "assignments", "{payload}");
    }
    assert_eq!(payload["moved"], json!([]), "{payload}");
}

backend_tests! {
    all_of_a_persons_duties_move_and_then_they_can_be_removed => no_worker,
    one_application_moves_and_the_others_stay => no_worker,
    duties_only_go_to_another_active_member_and_only_by_a_manager => no_worker,
    reassign_and_remove_happens_in_one_call_or_not_at_all => no_worker,
}

async fn all_of_a_persons_duties_move_and_then_they_can_be_removed(app: TestApp) {
    let [olivia, omar, ada, mia] = people(&app, [OLIVIA, OMAR, ADA, MIA]).await;
    let crm = application_id(&app, "CRM sync").await;
    // No applicationIds: all of her applications.
    let payload = reassign(
        &app,
        app.owner_token(),
        ada,
        json!([
            { "duty": "TECHNICAL_CONTACT", "toUserId": omar },
            { "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": omar },
        ]),
    )
    .await;
    ok(&payload);
    let mut expected = vec![
        moved("TECHNICAL_CONTACT", None, ada, omar),
        moved(
            "APPLICATION_TECHNICAL_CONTACT",
            Some((crm, "CRM sync")),
            ada,
            omar,
        ),
    ];
    expected.sort();
    assert_eq!(moves(&payload), expected);
    assert_eq!(payload["remaining"], json!([]));

    let workspace = marketing(&app).await;
    assert_eq!(workspace.technical_contact_id, Some(omar));
    assert_eq!(
        workspace.administrative_contact_id,
        Some(olivia),
        "not asked for: unchanged"
    );
    assert_eq!(application_contact(&app, "CRM sync").await, Some(omar));
    assert_eq!(application_contact(&app, "Ad server").await, Some(mia));

    let entries = audit_entries(&app, "contacts_reassign").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].target_user_id, entries[0].actor_user_id),
        (Some(ada), Some(olivia))
    );
    assert_eq!(
        entries[0].metadata["moves"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        entries[0].metadata
    );

    // Nothing blocks her removal anymore, in the preview and in the mutation.
    let previewed = preview(&app, app.owner_token(), &[ada]).await;
    assert_eq!(previewed["canRemove"], true, "{previewed}");
    assert_eq!(previewed["members"][0]["contactDuties"], json!([]));
    app.remove_members(&[ada]).await;
    assert!(marketing_membership(&app, ada).await.deleted_at.is_some());
}

async fn one_application_moves_and_the_others_stay(app: TestApp) {
    let [mia, max, omar, gus] = people(&app, [MIA, MAX, OMAR, GUS]).await;
    let (crm, ad_server) = (
        application_id(&app, "CRM sync").await,
        application_id(&app, "Ad server").await,
    );
    application::Entity::update_many()
        .col_expr(application::Column::TechnicalContactId, Some(mia).into())
        .filter(application::Column::Id.eq(crm))
        .exec(app.db())
        .await
        .unwrap();

    let payload = reassign(
        &app,
        app.owner_token(),
        mia,
        json!([
            { "duty": "APPLICATION_TECHNICAL_CONTACT", "applicationIds": [crm], "toUserId": max },
        ]),
    )
    .await;
    ok(&payload);
    assert_eq!(
        moves(&payload),
        [moved(
            "APPLICATION_TECHNICAL_CONTACT",
            Some((crm, "CRM sync")),
            mia,
            max
        )]
    );
    assert_eq!(
        payload["remaining"],
        json!([{ "duty": "APPLICATION_TECHNICAL_CONTACT", "applicationId": ad_server.to_string(), "applicationName": "Ad server" }])
    );
    assert_eq!(application_contact(&app, "CRM sync").await, Some(max));
    assert_eq!(application_contact(&app, "Ad server").await, Some(mia));

    // Duties the person doesn't hold: NOT_A_CONTACT naming them, and nothing moves, not even
    // the valid part of the same call.
    let before = snapshot(&app).await;
    for (from, assignments) in [
        (
            mia,
            json!([{ "duty": "APPLICATION_TECHNICAL_CONTACT", "applicationIds": [crm], "toUserId": max }]),
        ),
        (
            mia,
            json!([{ "duty": "ADMINISTRATIVE_CONTACT", "toUserId": max }]),
        ),
        (
            max,
            json!([{ "duty": "TECHNICAL_CONTACT", "toUserId": omar }]),
        ),
        (
            gus,
            json!([{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": omar }]),
        ),
        (
            mia,
            json!([
                { "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max },
                { "duty": "TECHNICAL_CONTACT", "toUserId": max },
            ]),
        ),
    ] {
        let payload = reassign(&app, app.owner_token(), from, assignments.clone()).await;
        assert_refused(&payload, &[("NOT_A_CONTACT", from)]);
        assert_eq!(
            snapshot(&app).await,
            before,
            "refused {assignments} changed something"
        );
    }
    assert_eq!(application_contact(&app, "Ad server").await, Some(mia));
    assert_eq!(audit_count(&app, "contacts_reassign").await, 1);
}

async fn duties_only_go_to_another_active_member_and_only_by_a_manager(app: TestApp) {
    let [ada, dana, ivy, gus, omar] = people(&app, [ADA, DANA, IVY, GUS, OMAR]).await;
    app.remove_members(&[gus]).await;
    let before = snapshot(&app).await;

    // Deactivated, invited, removed, unknown, and the person giving the duty up.
    for assignee in [dana, ivy, gus, UserId::fresh(), ada] {
        let payload = reassign(
            &app,
            app.owner_token(),
            ada,
            json!([{ "duty": "TECHNICAL_CONTACT", "toUserId": assignee }]),
        )
        .await;
        assert_refused(&payload, &[("INVALID_ASSIGNEE", assignee)]);
        assert_eq!(snapshot(&app).await, before);
    }
    assert_eq!(marketing(&app).await.technical_contact_id, Some(ada));

    let member = app.sign_in(MIA).await;
    let answer = app.call(&member, REASSIGN, json!({ "fromUserId": ada, "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": omar }] })).await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let answer = app
        .call(
            app.owner_token(),
            REASSIGN,
            json!({ "fromUserId": ada, "assignments": [] }),
        )
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let assignments = json!([
        { "duty": "APPLICATION_TECHNICAL_CONTACT", "applicationIds": [], "toUserId": omar }
    ]);
    let input = json!({ "fromUserId": ada, "assignments": assignments });
    let answer = app.call(app.owner_token(), REASSIGN, input).await;
    assert_eq!(
        error_code(&answer),
        "BAD_USER_INPUT",
        "an empty applicationIds list means nothing"
    );
    assert_eq!(snapshot(&app).await, before);
}

async fn reassign_and_remove_happens_in_one_call_or_not_at_all(app: TestApp) {
    let [olivia, omar, ada, mia, max] = people(&app, [OLIVIA, OMAR, ADA, MIA, MAX]).await;
    let before = snapshot(&app).await;

    // The assignee leaves in the same call.
    let payload = app.owner_mutates(REMOVE, json!({
        "userIds": [mia, max],
        "contactReassignments": [{ "fromUserId": mia, "assignments": [{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max }] }],
    })).await;
    let invalid: Vec<&Answer> = payload["userErrors"]
        .items()
        .iter()
        .filter(|e| e["code"] == "INVALID_ASSIGNEE")
        .collect();
    assert_eq!(invalid.len(), 1, "{payload}");
    assert_eq!(
        (invalid[0]["userId"].as_str(), invalid[0]["field"].as_str()),
        (Some(max.to_string().as_str()), Some("assignments"))
    );
    assert!(payload["offboarding"].is_null() && payload["removedMembers"] == json!([]));
    assert_eq!(snapshot(&app).await, before);

    // A duty left unassigned: Ada hands over the workspace, not CRM sync.
    let payload = app.owner_mutates(REMOVE, json!({
        "userIds": [ada],
        "contactReassignments": [{ "fromUserId": ada, "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": omar }] }],
    })).await;
    assert_eq!(
        error_pairs(&payload),
        expected_pairs(&[("CONTACT_REASSIGNMENT_REQUIRED", ada)])
    );
    assert_eq!(
        snapshot(&app).await,
        before,
        "the partial handover was not kept either"
    );
    assert_eq!(marketing(&app).await.technical_contact_id, Some(ada));

    // Everything handed over: both leave, their duties with Max and Omar.
    let payload = app.owner_mutates(REMOVE, json!({
        "userIds": [mia, ada],
        "reason": "reorganisation",
        "contactReassignments": [
            { "fromUserId": mia, "assignments": [{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max }] },
            { "fromUserId": ada, "assignments": [
                { "duty": "TECHNICAL_CONTACT", "toUserId": omar },
                { "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": omar },
            ] },
        ],
    })).await;
    ok(&payload);
    let mut removed: Vec<&str> = payload["removedMembers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    removed.sort_unstable();
    assert_eq!(removed, [ADA, MIA]);
    assert_eq!(application_contact(&app, "Ad server").await, Some(max));
    assert_eq!(application_contact(&app, "CRM sync").await, Some(omar));
    let workspace = marketing(&app).await;
    assert_eq!(
        (
            workspace.technical_contact_id,
            workspace.administrative_contact_id
        ),
        (Some(omar), Some(olivia))
    );
    assert!(marketing_membership(&app, mia).await.deleted_at.is_some());
    assert!(marketing_membership(&app, ada).await.deleted_at.is_some());
    let reassigned: Vec<Option<UserId>> = audit_entries(&app, "contacts_reassign")
        .await
        .into_iter()
        .map(|e| e.target_user_id)
        .collect();
    assert_eq!(
        reassigned.len(),
        2,
        "one contacts_reassign per person: {reassigned:?}"
    );
    assert!(reassigned.contains(&Some(mia)) && reassigned.contains(&Some(ada)));
    assert_eq!(audit_count(&app, "team_membership_remove").await, 2);
}
