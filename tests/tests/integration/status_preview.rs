//! `statusChangePreview`: what deactivating or reactivating a member would do, in the sentences
//! a dialog shows, and that it never disagrees with `deactivateUser` / `reactivateUser`.

use entities::MembershipStatus;
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, user_error_codes};

use crate::support::{
    ADA, DANA, GUS, IVY, MAX, MIA, OLIVIA, OMAR, no_worker, people, seats_used, set_status,
};

const PREVIEW: &str = "query($ws: UUID!, $u: UUID!, $change: StatusChange!) {
    statusChangePreview(workspaceId: $ws, userId: $u, change: $change) {
        canChange consequences blockers { code userId } } }";
const DEACTIVATE: &str = "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    userErrors { code userId } } }";
const REACTIVATE: &str = "mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) {
    userErrors { code userId } } }";

backend_tests! {
    the_preview_agrees_with_the_mutations_for_everyone_as_owner_and_as_admin => no_worker,
}

/// The demo's people with their status, and someone who isn't a member.
const EVERYONE: [(&str, MembershipStatus); 8] = [
    (OLIVIA, MembershipStatus::Active),
    (OMAR, MembershipStatus::Active),
    (ADA, MembershipStatus::Active),
    (MIA, MembershipStatus::Active),
    (MAX, MembershipStatus::Active),
    (GUS, MembershipStatus::Active),
    (DANA, MembershipStatus::Deactivated),
    (IVY, MembershipStatus::Invited),
];

async fn preview(app: &TestApp, token: &str, user: Value, change: &str) -> Answer {
    let answer = app
        .graphql(
            Some(token),
            PREVIEW,
            json!({ "ws": app.demo.workspace_id, "u": user, "change": change }),
        )
        .await;
    data(&answer)["statusChangePreview"].clone()
}

fn codes(list: &Answer) -> Vec<String> {
    list.items()
        .iter()
        .map(|error| error["code"].as_str().unwrap().to_owned())
        .collect()
}

/// For each person (and a stranger) and each change, as `token`: the preview's blockers are the
/// mutation's userErrors, `canChange` is whether it went through, and what the preview says of
/// the seat is what happens to the count. A change that went through is undone in the database.
async fn check_agreement(app: &TestApp, token: &str) -> Vec<String> {
    let ids = people(app, EVERYONE.map(|(email, _)| email)).await;
    let mut met = Vec::new();
    let stranger = (entities::UserId::fresh(), None);
    let everyone = ids
        .iter()
        .zip(EVERYONE)
        .map(|(id, (email, status))| (*id, Some((email, status))));
    for (id, person) in everyone.chain([stranger]) {
        for (change, document, field) in [
            ("DEACTIVATE", DEACTIVATE, "deactivateUser"),
            ("REACTIVATE", REACTIVATE, "reactivateUser"),
        ] {
            let said = preview(app, token, json!(id), change).await;
            let seats = seats_used(app).await;
            let input = json!({ "workspaceId": app.demo.workspace_id, "userId": id });
            let answer = app
                .graphql(Some(token), document, json!({ "input": input }))
                .await;
            let refused = user_error_codes(&data(&answer)[field]);
            let shown = format!("{change} {person:?}: {said} / {answer}");
            assert_eq!(codes(&said["blockers"]), refused, "{shown}");
            assert_eq!(said["canChange"], refused.is_empty(), "{shown}");
            met.extend(refused.iter().map(|code| (*code).to_owned()));
            let consequences: Vec<&str> = said["consequences"]
                .items()
                .iter()
                .map(|sentence| sentence.as_str().unwrap())
                .collect();
            if person.is_none() {
                assert!(consequences.is_empty(), "{shown}");
                continue;
            }
            let seat = if change == "DEACTIVATE" {
                "Their seat stays taken: a deactivated member keeps it."
            } else {
                "Their seat is unchanged: they kept it while deactivated."
            };
            assert!(consequences.contains(&seat), "{shown}");
            if let Some((email, status)) = person
                && refused.is_empty()
            {
                assert_eq!(
                    seats_used(app).await,
                    seats,
                    "the seat count didn't move: {shown}"
                );
                set_status(app, email, status).await;
            }
        }
    }
    met
}

async fn the_preview_agrees_with_the_mutations_for_everyone_as_owner_and_as_admin(app: TestApp) {
    let met = check_agreement(&app, app.owner_token()).await;
    for code in [
        "CANNOT_REMOVE_SELF",
        "ALREADY_DEACTIVATED",
        "NOT_DEACTIVATED",
        "INVITATION_PENDING",
        "MEMBER_NOT_FOUND",
    ] {
        assert!(met.iter().any(|met| met == code), "{code} in {met:?}");
    }
    let admin = app.sign_in(ADA).await;
    let met = check_agreement(&app, &admin).await;
    assert!(
        met.iter().any(|met| met == "ROLE_NOT_MANAGEABLE"),
        "{met:?}"
    );
}
