//! `removalPreview`: what a removal would do, and that it never disagrees with `removeMembers`.

use entities::UserId;
use std::collections::BTreeSet;

use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, error_code};
use uuid::Uuid;

use crate::support::{
    ADA, DANA, GUS, IVY, MAX, MIA, OLIVIA, OMAR, REMOVE, application_id, create_api_key,
    error_pairs, expected_pairs, live_counts, no_worker, pair, people, preview, preview_answer,
    set_status, snapshot, sorted_rows, undo_removal,
};

/// A member's contact duties as sorted (duty, applicationId, applicationName).
fn duties(member: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    sorted_rows(member, "contactDuties", |d| {
        (
            d["duty"].as_str().unwrap().to_owned(),
            d["applicationId"].as_str().map(str::to_owned),
            d["applicationName"].as_str().map(str::to_owned),
        )
    })
}

fn blockers(member: &Value) -> Vec<(String, Option<String>)> {
    sorted_rows(member, "blockers", pair)
}

fn counts(member: &Value) -> (i64, i64, i64) {
    (
        member["campaignsToReattribute"].as_i64().unwrap(),
        member["apiKeysToRevoke"].as_i64().unwrap(),
        member["rulesKeepRunning"].as_i64().unwrap(),
    )
}

fn duty(duty: &str, application: Option<(Uuid, &str)>) -> (String, Option<String>, Option<String>) {
    (
        duty.to_owned(),
        application.map(|(id, _)| id.to_string()),
        application.map(|(_, name)| name.to_owned()),
    )
}

/// For every single id and every pair of `ids`: previews, then calls `removeMembers` with the
/// same ids as `token`, and checks that both agree: `canRemove` is whether the removal went
/// through, the preview's blockers are exactly the mutation's userErrors, and `seatFreed` matches
/// for each removed member. A removal that went through is undone in the database before the
/// next subset. Returns the blocker codes met and how many removals went through.
async fn check_agreement(
    app: &TestApp,
    token: &str,
    ids: &[UserId],
    caller: &str,
) -> (BTreeSet<String>, usize) {
    let mut subsets: Vec<Vec<UserId>> = ids.iter().map(|id| vec![*id]).collect();
    for (i, first) in ids.iter().enumerate() {
        for second in &ids[i + 1..] {
            subsets.push(vec![*first, *second]);
        }
    }
    let baseline = live_counts(app).await;
    let mut codes = BTreeSet::new();
    let mut removals = 0;
    for subset in subsets {
        let previewed = preview(app, token, &subset).await;
        let members = previewed["members"]
            .as_array()
            .unwrap_or_else(|| panic!("{previewed}"));
        let order: Vec<String> = members
            .iter()
            .map(|m| m["userId"].as_str().unwrap().to_owned())
            .collect();
        let asked: Vec<String> = subset.iter().map(UserId::to_string).collect();
        assert_eq!(order, asked, "{caller}: one preview per id, in order");
        let mut previewed_blockers: Vec<(String, Option<String>)> = Vec::new();
        for member in members {
            for blocker in blockers(member) {
                assert_eq!(
                    blocker.1.as_deref(),
                    member["userId"].as_str(),
                    "{caller}: a blocker names its member: {member}"
                );
                previewed_blockers.push(blocker);
            }
        }
        previewed_blockers.sort();

        let payload = app
            .mutate(token, REMOVE, json!({ "userIds": subset }))
            .await;
        let refused = error_pairs(&payload);
        let succeeded = refused.is_empty();
        assert_eq!(
            previewed["canRemove"].as_bool(),
            Some(succeeded),
            "{caller} removing {subset:?}: preview {previewed} vs removeMembers {payload}"
        );
        assert_eq!(
            previewed_blockers, refused,
            "{caller} removing {subset:?}: preview {previewed} vs removeMembers {payload}"
        );
        codes.extend(refused.into_iter().map(|(code, _)| code));
        if succeeded {
            removals += 1;
            let removed = payload["removedMembers"].as_array().unwrap();
            assert_eq!(removed.len(), subset.len(), "{payload}");
            let mut removed_ids = Vec::new();
            for member in removed {
                let id = member["userId"].as_str().unwrap();
                let previewed_member = members.iter().find(|m| m["userId"] == id).unwrap();
                assert_eq!(
                    member["seatFreed"], previewed_member["seatFreed"],
                    "{caller} removing {subset:?}: seatFreed of {id}"
                );
                removed_ids.push(UserId(id.parse().unwrap()));
            }
            undo_removal(app, &removed_ids).await;
            assert_eq!(
                live_counts(app).await,
                baseline,
                "the undo brought everyone back"
            );
        } else {
            assert!(
                payload["offboarding"].is_null() && payload["removedMembers"] == json!([]),
                "{payload}"
            );
        }
    }
    (codes, removals)
}

backend_tests! {
    the_preview_names_every_consequence_for_each_member => no_worker,
    a_preview_needs_user_management_in_the_callers_workspace_and_one_to_ten_thousand_ids => no_worker,
    the_preview_agrees_with_remove_members_for_every_pair_as_owner_and_as_admin => no_worker,
    the_preview_agrees_with_remove_members_when_owners_are_missing => no_worker,
}

async fn the_preview_names_every_consequence_for_each_member(app: TestApp) {
    let [olivia, ada, mia, max, dana, ivy] = people(&app, [OLIVIA, ADA, MIA, MAX, DANA, IVY]).await;
    let unknown = UserId::fresh();
    let (ad_server, crm_sync) = (
        application_id(&app, "Ad server").await,
        application_id(&app, "CRM sync").await,
    );
    let before = snapshot(&app).await;

    // Mia twice: one entry per distinct id, in the order first given.
    let previewed = preview(
        &app,
        app.owner_token(),
        &[mia, ada, olivia, unknown, ivy, dana, max, mia],
    )
    .await;
    assert_eq!(previewed["canRemove"], false);
    let members = previewed["members"].as_array().unwrap();
    let order: Vec<&str> = members
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = [mia, ada, olivia, unknown, ivy, dana, max]
        .iter()
        .map(UserId::to_string)
        .collect();
    assert_eq!(order, expected);
    let [mia_p, ada_p, olivia_p, unknown_p, ivy_p, dana_p, max_p] = members else {
        unreachable!()
    };

    mia_is_described(mia_p, mia, ad_server);

    assert_eq!(status_and_role(ada_p), ("ACTIVE", "ADMIN"));
    assert_eq!(ada_p["loses"], loses(&["Analysts"]));
    assert_eq!(ada_p["preserved"], kept(1), "she stays in Research");
    assert_eq!(ada_p["seatFreed"], false, "Research keeps her seat");
    let mut ada_duties = vec![
        duty("TECHNICAL_CONTACT", None),
        duty(
            "APPLICATION_TECHNICAL_CONTACT",
            Some((crm_sync, "CRM sync")),
        ),
    ];
    ada_duties.sort();
    assert_eq!(duties(ada_p), ada_duties);
    assert_eq!(
        counts(ada_p),
        (0, 1, 1),
        "no campaign, the CI deploy key, the Budget alert rule"
    );
    assert_eq!(
        blockers(ada_p),
        expected_pairs(&[("CONTACT_REASSIGNMENT_REQUIRED", ada)])
    );

    assert_eq!(
        (olivia_p["name"].as_str(), olivia_p["role"].as_str()),
        (Some("Olivia Owner"), Some("OWNER"))
    );
    assert!(duties(olivia_p).contains(&duty("ADMINISTRATIVE_CONTACT", None)));
    assert_eq!(
        blockers(olivia_p),
        expected_pairs(&[("CANNOT_REMOVE_SELF", olivia)])
    );

    an_unknown_id_and_the_removable_are_described(unknown_p, ivy_p, dana_p, max_p, unknown);

    // Nobody blocked: the removal could go ahead.
    let gus = crate::support::user_id(&app, GUS).await;
    let removable = preview(&app, app.owner_token(), &[max, dana, ivy, gus]).await;
    assert_eq!(removable["canRemove"], true, "{removable}");

    assert_eq!(snapshot(&app).await, before, "a preview writes nothing");
}

/// A previewed member's status and role.
fn status_and_role(member: &Answer) -> (&str, &str) {
    let status = member["status"].as_str();
    let role = member["role"].as_str();
    let missing = || panic!("a status and a role: {member}");
    (status.unwrap_or_else(missing), role.unwrap_or_else(missing))
}

/// What a member of these groups loses: Marketing and the groups.
fn loses(groups: &[&str]) -> Value {
    json!({ "workspaceName": "Marketing", "groups": groups })
}

/// What a member keeps: this many other workspaces of Acme, no other organization.
fn kept(other_workspaces: u64) -> Value {
    json!({ "otherWorkspaces": other_workspaces, "otherOrganizations": 0 })
}

/// Mia in `the_preview_names_every_consequence_for_each_member`: everything she loses, and the
/// contact duty that blocks her removal.
fn mia_is_described(mia_p: &Answer, mia: UserId, ad_server: Uuid) {
    assert_eq!(
        (mia_p["name"].as_str(), mia_p["email"].as_str()),
        (Some("Mia Member"), Some(MIA))
    );
    assert_eq!(status_and_role(mia_p), ("ACTIVE", "MEMBER"));
    assert_eq!(mia_p["loses"], loses(&["Designers"]));
    assert_eq!(mia_p["preserved"], kept(0));
    assert_eq!(mia_p["seatFreed"], true);
    assert_eq!(
        duties(mia_p),
        [duty(
            "APPLICATION_TECHNICAL_CONTACT",
            Some((ad_server, "Ad server"))
        )]
    );
    assert_eq!(
        counts(mia_p),
        (2, 1, 1),
        "Spring launch + Newsletter, the Reporting key, the CTR rule"
    );
    assert_eq!(
        blockers(mia_p),
        expected_pairs(&[("CONTACT_REASSIGNMENT_REQUIRED", mia)])
    );
}

/// The rest of `the_preview_names_every_consequence_for_each_member`: an id of no one, then an
/// invited, a deactivated and a member of two workspaces, none of them blocked.
fn an_unknown_id_and_the_removable_are_described(
    unknown_p: &Answer,
    ivy_p: &Answer,
    dana_p: &Answer,
    max_p: &Answer,
    unknown: UserId,
) {
    for field in ["name", "email", "status", "role", "loses", "preserved"] {
        assert!(
            unknown_p[field].is_null(),
            "{field} of an unknown id: {unknown_p}"
        );
    }
    assert_eq!(unknown_p["seatFreed"], false);
    assert_eq!(unknown_p["contactDuties"], json!([]));
    assert_eq!(counts(unknown_p), (0, 0, 0));
    assert_eq!(
        blockers(unknown_p),
        expected_pairs(&[("MEMBER_NOT_FOUND", unknown)])
    );

    assert_eq!(status_and_role(ivy_p), ("INVITED", "MEMBER"));
    assert_eq!(ivy_p["loses"]["groups"], json!([]));
    assert_eq!(ivy_p["seatFreed"], true, "an invitation holds a seat too");
    assert_eq!(ivy_p["blockers"], json!([]));

    assert_eq!(status_and_role(dana_p), ("DEACTIVATED", "MEMBER"));
    assert_eq!(dana_p["loses"]["groups"], json!(["Designers"]));
    assert_eq!(dana_p["seatFreed"], true);
    assert_eq!(dana_p["blockers"], json!([]));

    assert_eq!(
        max_p["loses"]["groups"],
        json!(["Analysts", "Designers"]),
        "sorted by name"
    );
    assert_eq!(max_p["preserved"], kept(1));
    assert_eq!(max_p["seatFreed"], false);
    assert_eq!(counts(max_p), (1, 0, 0), "Black Friday");
    assert_eq!(max_p["contactDuties"], json!([]));
    assert_eq!(max_p["blockers"], json!([]));
}

async fn a_preview_needs_user_management_in_the_callers_workspace_and_one_to_ten_thousand_ids(
    app: TestApp,
) {
    let before = snapshot(&app).await;
    let mia = crate::support::user_id(&app, MIA).await;
    let member = app.sign_in(MIA).await;
    assert_eq!(
        error_code(&preview_answer(&app, &member, &[mia]).await),
        "FORBIDDEN"
    );
    let research = crate::access::research_workspace(&app).await;
    let answer = app
        .as_owner(
            crate::support::PREVIEW,
            json!({ "ws": research, "ids": [mia] }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    assert_eq!(
        error_code(&preview_answer(&app, app.owner_token(), &[]).await),
        "BAD_USER_INPUT"
    );
    let too_many: Vec<UserId> = (0..10_001).map(|_| UserId::fresh()).collect();
    assert_eq!(
        error_code(&preview_answer(&app, app.owner_token(), &too_many).await),
        "BAD_USER_INPUT"
    );
    let answer = app
        .graphql(
            None,
            crate::support::PREVIEW,
            json!({ "ws": app.demo.workspace_id, "ids": [mia] }),
        )
        .await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    assert!(answer.did_not_run("removalPreview"), "{answer}");
    assert_eq!(snapshot(&app).await, before);
}

/// The ids of every demo person of the workspace, then an id of no one.
async fn everyone_and_a_stranger(app: &TestApp) -> Vec<UserId> {
    let everyone = people(app, [OLIVIA, OMAR, ADA, MIA, MAX, GUS, DANA, IVY]).await;
    let mut ids = everyone.to_vec();
    ids.push(UserId::fresh());
    ids
}

async fn the_preview_agrees_with_remove_members_for_every_pair_as_owner_and_as_admin(app: TestApp) {
    let ids = everyone_and_a_stranger(&app).await;
    let before = live_counts(&app).await;

    let (codes, removals) = check_agreement(&app, app.owner_token(), &ids, "the owner").await;
    let expected: BTreeSet<String> = [
        "CANNOT_REMOVE_SELF",
        "CONTACT_REASSIGNMENT_REQUIRED",
        "MEMBER_NOT_FOUND",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    assert!(expected.is_subset(&codes), "{codes:?}");
    assert!(
        !codes.contains("ROLE_NOT_MANAGEABLE") && !codes.contains("ALREADY_REMOVED"),
        "{codes:?}"
    );
    // Omar, Max, Gus, Dana, Ivy alone, and every pair of them.
    assert_eq!(removals, 5 + 10);

    let admin = app.sign_in(ADA).await;
    let (codes, removals) = check_agreement(&app, &admin, &ids, "an admin").await;
    assert!(codes.contains("ROLE_NOT_MANAGEABLE"), "{codes:?}");
    assert!(codes.contains("CANNOT_REMOVE_SELF"), "{codes:?}");
    // Max, Gus, Dana, Ivy alone, and every pair of them.
    assert_eq!(removals, 4 + 6);
    assert_eq!(live_counts(&app).await, before);
}

async fn the_preview_agrees_with_remove_members_when_owners_are_missing(app: TestApp) {
    let ids = everyone_and_a_stranger(&app).await;
    let omar = ids[1];

    // Olivia's OWNER key acts while she is deactivated: Omar is the last active owner.
    let key = create_api_key(&app, app.owner_token(), "Owner bot", "OWNER").await;
    set_status(&app, OLIVIA, entities::MembershipStatus::Deactivated).await;
    let (codes, _) =
        check_agreement(&app, &key, &ids, "an owner key, Omar the last active owner").await;
    assert!(codes.contains("LAST_OWNER"), "{codes:?}");
    set_status(&app, OLIVIA, entities::MembershipStatus::Active).await;

    // Omar removed for good: his id is now ALREADY_REMOVED in both.
    let payload = app
        .owner_mutates(REMOVE, json!({ "userIds": [omar] }))
        .await;
    assert_eq!(
        error_pairs(&payload),
        Vec::<(String, Option<String>)>::new()
    );
    let (codes, _) =
        check_agreement(&app, app.owner_token(), &ids, "the owner, Omar removed").await;
    assert!(codes.contains("ALREADY_REMOVED"), "{codes:?}");
    let previewed = preview(&app, app.owner_token(), &[omar]).await;
    assert!(previewed["members"][0]["name"].is_null(), "{previewed}");
    assert_eq!(
        blockers(&previewed["members"][0]),
        expected_pairs(&[("ALREADY_REMOVED", omar)])
    );
    assert_eq!(previewed["members"][0]["seatFreed"], false);
}
