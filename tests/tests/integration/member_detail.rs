//! `member`: one person in detail, before and after their removal — the drawer a People page
//! opens, and how anyone checks that a removal's reattribution happened.

use std::time::Duration;

use serde_json::json;
use tests::{Answer, TestApp, backend_tests, data, error_code};

use crate::support::{MAX, MIA, REMOVE, give_all_contacts_to_the_owner, people};

const MEMBER: &str = "query($ws: UUID!, $user: UUID!) { member(workspaceId: $ws, userId: $user) {
    member { role status removedAt user { email } groups { name } }
    contactDuties { duty applicationName }
    apiKeys { name role revokedAt }
    campaignsOwned { totalCount items { name } }
    campaignsCreated { totalCount items { name } }
    rulesCreated { totalCount items { name } }
    creativesUploaded { totalCount items { name } }
    statusHistory { action actor { email } reason } } }";

async fn member_answer(app: &TestApp, token: &str, user: entities::UserId) -> Answer {
    let variables = json!({ "ws": app.demo.workspace_id, "user": user });
    app.graphql(Some(token), MEMBER, variables).await
}

async fn member(app: &TestApp, token: &str, user: entities::UserId) -> Answer {
    data(&member_answer(app, token, user).await)["member"].clone()
}

fn names(work: &Answer) -> Vec<String> {
    let mut names: Vec<String> = work["items"]
        .items()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

backend_tests! {
    a_member_in_detail_before_and_after_their_removal,
}

async fn a_member_in_detail_before_and_after_their_removal(app: TestApp) {
    let [mia, max] = people(&app, [MIA, MAX]).await;
    let owner = app.owner_token().to_owned();
    let detail = member(&app, &owner, mia).await;
    assert_eq!(detail["member"]["role"], "MEMBER");
    assert!(detail["member"]["removedAt"].is_null());
    assert_eq!(detail["member"]["groups"], json!([{ "name": "Designers" }]));
    assert_eq!(
        detail["contactDuties"],
        json!([{ "duty": "APPLICATION_TECHNICAL_CONTACT", "applicationName": "Ad server" }])
    );
    assert_eq!(
        detail["apiKeys"],
        json!([{ "name": "Reporting", "role": "MEMBER", "revokedAt": null }])
    );
    assert_eq!(detail["campaignsOwned"]["totalCount"], 2);
    assert_eq!(
        names(&detail["campaignsOwned"]),
        ["Newsletter", "Spring launch"]
    );
    assert_eq!(names(&detail["rulesCreated"]), ["Pause low CTR ads"]);
    assert_eq!(names(&detail["creativesUploaded"]), ["Logo pack"]);
    // She sees her own; a member sees nobody else's.
    let mia_session = app.sign_in(MIA).await;
    assert_eq!(
        member(&app, &mia_session, mia).await["campaignsOwned"]["totalCount"],
        2
    );
    let max_session = app.sign_in(MAX).await;
    assert_eq!(
        error_code(&member_answer(&app, &max_session, mia).await),
        "FORBIDDEN"
    );

    // Removed with her campaigns going to Max: the detail shows it once the job ran.
    give_all_contacts_to_the_owner(&app).await;
    let payload = app
        .mutate(
            &owner,
            REMOVE,
            json!({ "userIds": [mia], "reason": "left the company", "reattributeTo": max }),
        )
        .await;
    app.wait_until_succeeded(
        payload["offboarding"]["id"].as_str().unwrap(),
        Duration::from_secs(30),
    )
    .await;
    let after = member(&app, &owner, mia).await;
    assert!(after["member"]["removedAt"].is_string());
    assert_eq!(after["member"]["groups"], json!([]));
    assert_eq!(after["campaignsOwned"]["totalCount"], 0, "reattributed");
    assert_eq!(
        names(&after["campaignsCreated"]),
        ["Newsletter", "Spring launch"],
        "authorship stays"
    );
    let max_owns = member(&app, &owner, max).await;
    assert_eq!(
        names(&max_owns["campaignsOwned"]),
        ["Black Friday", "Newsletter", "Spring launch"]
    );
    let history = after["statusHistory"].items();
    let last = history.last().expect("the removal is in her history");
    assert_eq!(last["action"], "TEAM_MEMBERSHIP_REMOVE");
    assert_eq!(last["reason"], "left the company");
    assert!(last["actor"]["email"].is_string());

    // Someone who was never a member, and another workspace: not found.
    let answer = member_answer(&app, &owner, entities::UserId::fresh()).await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let research = crate::access::research_workspace(&app).await;
    let answer = app
        .graphql(Some(&owner), MEMBER, json!({ "ws": research, "user": mia }))
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
}
