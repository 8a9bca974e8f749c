//! `groups` with their members, and `updateSeatLimit`.

use entities::{audit_entry, organization};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok, user_error_codes};

use crate::support::{ADA, MAX, MIA, people, seats_used, snapshot, the_row, where_eq};

const GROUPS: &str =
    "query($ws: UUID!) { groups(workspaceId: $ws) { name memberCount members { email } } }";
const SEAT_LIMIT: &str =
    "mutation($input: UpdateSeatLimitInput!) { updateSeatLimit(input: $input) {
    seatLimit seatsUsed userErrors { code field } } }";

async fn groups(app: &TestApp, token: &str) -> Vec<(String, u64, Vec<String>)> {
    let answer = app
        .graphql(Some(token), GROUPS, json!({ "ws": app.demo.workspace_id }))
        .await;
    data(&answer)["groups"]
        .items()
        .iter()
        .map(|group| {
            (
                group["name"].as_str().unwrap().to_owned(),
                group["memberCount"].as_u64().unwrap(),
                group["members"]
                    .items()
                    .iter()
                    .map(|m| m["email"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn group(name: &str, emails: &[&str]) -> (String, u64, Vec<String>) {
    (
        name.to_owned(),
        emails.len() as u64,
        emails.iter().map(|e| (*e).to_owned()).collect(),
    )
}

async fn set_limit(app: &TestApp, token: &str, limit: Value) -> Answer {
    app.graphql(
        Some(token),
        SEAT_LIMIT,
        json!({ "input": { "organizationId": app.demo.organization_id, "seatLimit": limit } }),
    )
    .await
}

backend_tests! {
    groups_list_their_members_and_a_removal_takes_people_out,
    a_big_group_lists_its_first_members_in_four_statements,
    an_owner_sets_the_seat_limit_but_never_below_the_seats_in_use,
}

async fn groups_list_their_members_and_a_removal_takes_people_out(app: TestApp) {
    let mia_session = app.sign_in(MIA).await;
    assert_eq!(
        groups(&app, &mia_session).await,
        [
            group("Analysts", &[ADA, MAX]),
            group("Designers", &["dana.deactivated@acme.test", MAX, MIA]),
        ],
        "by name, members by email; any member may look"
    );
    let [max] = people(&app, [MAX]).await;
    app.remove_members(&[max]).await;
    assert_eq!(
        groups(&app, app.owner_token()).await,
        [
            group("Analysts", &[ADA]),
            group("Designers", &["dana.deactivated@acme.test", MIA]),
        ]
    );
    let research = crate::access::research_workspace(&app).await;
    let answer = app.as_owner(GROUPS, json!({ "ws": research })).await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
}

async fn a_big_group_lists_its_first_members_in_four_statements(app: TestApp) {
    tests::add_members(&app, 150).await;
    let principal = app.owner_principal().await;
    let (db, statements) = tests::counting_connection(&app);
    let listed = rules::people::groups::list_groups(&db, &principal, app.demo.workspace_id)
        .await
        .unwrap();
    assert_eq!(statements.load(std::sync::atomic::Ordering::SeqCst), 4);
    let analysts = &listed[0];
    assert_eq!(analysts.group.name, "Analysts");
    assert_eq!(analysts.member_count, 152);
    assert_eq!(analysts.members.len(), 100);
    let emails: Vec<&str> = analysts.members.iter().map(|m| m.email.as_str()).collect();
    let mut sorted = emails.clone();
    sorted.sort_unstable();
    assert_eq!(emails, sorted, "the first by email");
    assert_eq!(emails[0], ADA);
    assert_eq!(listed[1].member_count, 3, "the other group is untouched");
}

async fn an_owner_sets_the_seat_limit_but_never_below_the_seats_in_use(app: TestApp) {
    let used = seats_used(&app).await;
    let answer = set_limit(&app, app.owner_token(), json!(used + 5)).await;
    let payload = &data(&answer)["updateSeatLimit"];
    ok(payload);
    assert_eq!(
        (payload["seatLimit"].as_i64(), payload["seatsUsed"].as_i64()),
        (Some(used + 5), Some(used))
    );
    let stored = organization::Entity::find_by_id(app.demo.organization_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.seat_limit, Some((used + 5) as i32));
    let entry = the_row(
        &app,
        where_eq(audit_entry::Column::Action, "seat_limit_change"),
    )
    .await;
    assert_eq!(entry.metadata["from"], 25);
    assert_eq!(entry.metadata["to"], used + 5);

    // Exactly the seats in use is allowed; one fewer is refused and changes nothing.
    let before = snapshot(&app).await;
    let answer = set_limit(&app, app.owner_token(), json!(used - 1)).await;
    let payload = &data(&answer)["updateSeatLimit"];
    assert_eq!(user_error_codes(payload), ["SEAT_LIMIT_BELOW_USAGE"]);
    assert_eq!(payload["userErrors"][0]["field"], "seatLimit");
    assert!(payload["seatLimit"].is_null());
    // Bad input, another role, another organization: refused, nothing changed.
    let answer = set_limit(&app, app.owner_token(), json!(-1)).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let answer = app
        .as_owner(
            SEAT_LIMIT,
            json!({ "input": { "organizationId": app.demo.organization_id } }),
        )
        .await;
    assert_eq!(
        error_code(&answer),
        "BAD_USER_INPUT",
        "leaving it out is not unlimited"
    );
    let admin = app.sign_in(ADA).await;
    assert_eq!(
        error_code(&set_limit(&app, &admin, json!(used + 10)).await),
        "FORBIDDEN"
    );
    let answer = app
        .as_owner(
            SEAT_LIMIT,
            json!({ "input": { "organizationId": uuid::Uuid::now_v7(), "seatLimit": 100 } }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    assert_eq!(snapshot(&app).await, before);

    let answer = set_limit(&app, app.owner_token(), json!(used)).await;
    ok(&data(&answer)["updateSeatLimit"]);
    let answer = set_limit(&app, app.owner_token(), Value::Null).await;
    assert!(
        data(&answer)["updateSeatLimit"]["seatLimit"].is_null(),
        "unlimited"
    );
}
