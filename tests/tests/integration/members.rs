use entities::UserId;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code};
use uuid::Uuid;

use crate::access::research_workspace;
use crate::support::{give_all_contacts_to_the_owner, soft_delete_membership, user_id};

const MEMBERS: &str = "query($ws: UUID!, $filter: MemberFilterInput, $first: Int, $after: String) {
  members(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount
    totalCountIsExact
    pageInfo { hasNextPage endCursor }
    edges { cursor node { user { email name } role status groups { name } } }
  }
}";

async fn members(app: &TestApp, token: &str, variables: Value) -> Answer {
    app.graphql(Some(token), MEMBERS, variables).await
}

fn emails(answer: &Answer) -> Vec<String> {
    data(answer)["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["user"]["email"].as_str().unwrap().to_owned())
        .collect()
}

const ALL: [&str; 8] = [
    "ada.admin@acme.test",
    "dana.deactivated@acme.test",
    "gus.guest@acme.test",
    "ivy.invited@acme.test",
    "max.member@acme.test",
    "mia.member@acme.test",
    "olivia.owner@acme.test",
    "omar.owner@acme.test",
];

backend_tests! {
    matching_members_are_every_live_member_a_filter_keeps,
    members_are_listed_by_email_with_role_status_and_groups,
    pages_follow_each_other_without_gaps_or_repeats,
    search_matches_anywhere_in_name_or_email_ignoring_case,
    a_search_counts_up_to_a_thousand_and_says_when_there_are_more,
    the_total_follows_every_change_of_membership,
    statuses_filter_and_removed_members_never_show,
    bad_list_arguments_are_refused,
    another_workspaces_members_are_not_found_never_forbidden,
    seat_usage_counts_each_person_once_per_organization,
}

async fn members_are_listed_by_email_with_role_status_and_groups(app: TestApp) {
    let answer = members(
        &app,
        app.owner_token(),
        json!({ "ws": app.demo.workspace_id }),
    )
    .await;
    assert_eq!(emails(&answer), ALL);
    let list = &data(&answer)["members"];
    assert_eq!(list["totalCount"], 8);
    let max = list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["user"]["email"] == "max.member@acme.test")
        .unwrap();
    assert_eq!(
        max["node"]["groups"],
        json!([{ "name": "Analysts" }, { "name": "Designers" }]),
        "only this workspace's groups"
    );
    let dana = &list["edges"][1]["node"];
    assert_eq!(
        dana["status"], "DEACTIVATED",
        "deactivated members are listed with their status"
    );
    assert_eq!(list["edges"][3]["node"]["status"], "INVITED");
    assert_eq!(list["edges"][6]["node"]["role"], "OWNER");
}

async fn pages_follow_each_other_without_gaps_or_repeats(app: TestApp) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..3 {
        let answer = members(
            &app,
            app.owner_token(),
            json!({ "ws": app.demo.workspace_id, "first": 3, "after": after }),
        )
        .await;
        seen.extend(emails(&answer));
        let page = &data(&answer)["members"]["pageInfo"];
        after = page["endCursor"].as_str().map(str::to_owned);
        if page["hasNextPage"] == false {
            break;
        }
    }
    assert_eq!(seen, ALL);
    let answer = members(
        &app,
        app.owner_token(),
        json!({ "ws": app.demo.workspace_id, "first": 8 }),
    )
    .await;
    assert_eq!(data(&answer)["members"]["pageInfo"]["hasNextPage"], false);
}

/// A text of three characters or more matches anywhere (on SQLite through the FTS5 trigram
/// index, which must agree with the `LIKE`); a shorter one matches the start of the name or of
/// the email.
async fn search_matches_anywhere_in_name_or_email_ignoring_case(app: TestApp) {
    let found = async |text: &str| {
        let variables = json!({ "ws": app.demo.workspace_id, "filter": { "search": text } });
        emails(&members(&app, app.owner_token(), variables).await)
    };
    assert_eq!(
        found("MEMBER").await,
        ["max.member@acme.test", "mia.member@acme.test"]
    );
    assert_eq!(
        found("wner").await,
        ["olivia.owner@acme.test", "omar.owner@acme.test"],
        "inside a word"
    );
    assert_eq!(
        found("a A").await,
        ["ada.admin@acme.test"],
        "across the name's space"
    );
    assert_eq!(
        found("mA").await,
        ["max.member@acme.test"],
        "two characters: the start of the name or the email"
    );
    assert_eq!(
        found("ME").await,
        Vec::<String>::new(),
        "two characters: not inside a word"
    );
    assert_eq!(
        found("d").await,
        ["dana.deactivated@acme.test"],
        "one character"
    );
    assert_eq!(found("gus.g").await, ["gus.guest@acme.test"]);
    assert_eq!(found("  ACME.TEST ").await, ALL, "trimmed");
    // Wildcards and quotes typed by a user are literal characters, not patterns or syntax.
    for text in [
        "%", "_", "a%d", "a_a", "\"ad", "ad\"", "\\", "'", "o'b", "\\'", "a\\%", "$1", "?",
    ] {
        assert_eq!(found(text).await, Vec::<String>::new(), "{text}");
    }
    let answer = members(
        &app,
        app.owner_token(),
        json!({ "ws": app.demo.workspace_id, "filter": { "search": "member" } }),
    )
    .await;
    assert_eq!(
        data(&answer)["members"]["totalCount"],
        2,
        "the total counts matches, not the workspace"
    );

    // Quotes and backslashes in what is stored, searched and paged after (PostgreSQL gets the
    // search's statements with their values written in).
    let gus = user_id(&app, "gus.guest@acme.test").await;
    entities::user::Entity::update_many()
        .col_expr(
            entities::user::Column::Name,
            Expr::value("Gus O'Brien \\ 100%\""),
        )
        .col_expr(
            entities::user::Column::Email,
            Expr::value("o'brien@acme.test"),
        )
        .filter(entities::user::Column::Id.eq(gus))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(
        found("O'").await,
        ["o'brien@acme.test"],
        "the start of the email"
    );
    assert_eq!(
        found("'").await,
        Vec::<String>::new(),
        "not the start of anything"
    );
    assert_eq!(found("o'brien \\ 100%\"").await, ["o'brien@acme.test"]);
    let page = |after: Option<String>| json!({ "ws": app.demo.workspace_id, "filter": { "search": "O'B" }, "first": 1, "after": after });
    let first = members(&app, app.owner_token(), page(None)).await;
    assert_eq!(emails(&first), ["o'brien@acme.test"]);
    let cursor = data(&first)["members"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = members(&app, app.owner_token(), page(Some(cursor))).await;
    assert_eq!(emails(&second), Vec::<String>::new());
}

/// Past 1,000 matches a search stops counting and says so; its pages are still complete.
async fn a_search_counts_up_to_a_thousand_and_says_when_there_are_more(app: TestApp) {
    tests::add_members(&app, 1_001).await;
    let search = |text: &str, first: u64, after: Option<&str>| json!({ "ws": app.demo.workspace_id, "filter": { "search": text }, "first": first, "after": after });
    let answer = members(&app, app.owner_token(), search("bench", 10, None)).await;
    assert_eq!(data(&answer)["members"]["totalCount"], 1_000);
    assert_eq!(data(&answer)["members"]["totalCountIsExact"], false);

    let mut every = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let answer = members(
            &app,
            app.owner_token(),
            search("BENCH MEM", 100, after.as_deref()),
        )
        .await;
        every.extend(emails(&answer));
        let page = &data(&answer)["members"]["pageInfo"];
        if page["hasNextPage"] == false {
            break;
        }
        after = Some(page["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(every.len(), 1_001, "every match, on 11 pages");
    assert!(
        every.windows(2).all(|pair| pair[0] < pair[1]),
        "in email order, once each"
    );

    let one = every[500].split('@').next().unwrap().to_owned();
    let answer = members(&app, app.owner_token(), search(&one, 10, None)).await;
    assert_eq!(emails(&answer), [every[500].clone()]);
    assert_eq!(data(&answer)["members"]["totalCount"], 1);
    assert_eq!(data(&answer)["members"]["totalCountIsExact"], true);
}

/// The total without a search is the count the database keeps: it must follow every kind of
/// change, made through the API or by SQL.
async fn the_total_follows_every_change_of_membership(app: TestApp) {
    let ws = app.demo.workspace_id;
    let check = async |moment: &str| {
        for statuses in [
            json!(null),
            json!(["ACTIVE"]),
            json!(["INVITED"]),
            json!(["DEACTIVATED"]),
            json!(["ACTIVE", "DEACTIVATED"]),
        ] {
            let answer = members(
                &app,
                app.owner_token(),
                json!({ "ws": ws, "filter": { "statuses": statuses }, "first": 100 }),
            )
            .await;
            assert_eq!(
                data(&answer)["members"]["totalCount"],
                emails(&answer).len(),
                "{moment}, statuses {statuses}"
            );
            assert_eq!(data(&answer)["members"]["totalCountIsExact"], true);
        }
    };
    check("the demo data").await;
    tests::add_members(&app, 3).await;
    check("members added by SQL").await;
    let invited = app
        .as_owner("mutation($ws: UUID!) { inviteMember(input: { workspaceId: $ws, email: \"new.person@acme.test\", role: MEMBER }) { userErrors { code } } }", json!({ "ws": ws }))
        .await;
    assert_eq!(data(&invited)["inviteMember"]["userErrors"], json!([]));
    check("an invitation").await;
    give_all_contacts_to_the_owner(&app).await;
    let mia = user_id(&app, "mia.member@acme.test").await;
    let dana = user_id(&app, "dana.deactivated@acme.test").await;
    let act = async |mutation: &str, user: UserId| {
        let answer = app
            .as_owner(&format!("mutation($ws: UUID!, $user: UUID!) {{ {mutation}(input: {{ workspaceId: $ws, userId: $user }}) {{ userErrors {{ code }} }} }}"), json!({ "ws": ws, "user": user }))
            .await;
        assert_eq!(
            data(&answer)[mutation]["userErrors"],
            json!([]),
            "{mutation}"
        );
        check(mutation).await;
    };
    act("deactivateUser", mia).await;
    act("reactivateUser", dana).await;
    app.remove_members(&[mia]).await;
    check("a removal").await;
    act("restoreMember", mia).await;
    soft_delete_membership(&app, "max.member@acme.test").await;
    check("a membership deleted by SQL").await;
}

async fn statuses_filter_and_removed_members_never_show(app: TestApp) {
    let answer = members(
        &app,
        app.owner_token(),
        json!({ "ws": app.demo.workspace_id, "filter": { "statuses": ["ACTIVE"] } }),
    )
    .await;
    let active = emails(&answer);
    assert_eq!(active.len(), 6);
    assert!(!active.contains(&"dana.deactivated@acme.test".to_owned()));
    assert!(!active.contains(&"ivy.invited@acme.test".to_owned()));
    let answer = members(&app, app.owner_token(), json!({ "ws": app.demo.workspace_id, "filter": { "statuses": ["DEACTIVATED", "INVITED"] } })).await;
    assert_eq!(
        emails(&answer),
        ["dana.deactivated@acme.test", "ivy.invited@acme.test"]
    );

    soft_delete_membership(&app, "max.member@acme.test").await;
    let answer = members(
        &app,
        app.owner_token(),
        json!({ "ws": app.demo.workspace_id }),
    )
    .await;
    assert!(!emails(&answer).contains(&"max.member@acme.test".to_owned()));
    assert_eq!(data(&answer)["members"]["totalCount"], 7);
}

async fn bad_list_arguments_are_refused(app: TestApp) {
    let ws = app.demo.workspace_id;
    for (variables, code) in [
        (json!({ "ws": ws, "first": 101 }), "BAD_USER_INPUT"),
        (json!({ "ws": ws, "first": 0 }), "BAD_USER_INPUT"),
        (json!({ "ws": ws, "first": -1 }), "BAD_USER_INPUT"),
        (
            json!({ "ws": ws, "after": "not a cursor!" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "ws": "not-a-uuid" }), "BAD_USER_INPUT"),
        (
            json!({ "ws": ws, "filter": { "statuses": ["REMOVED"] } }),
            "BAD_USER_INPUT",
        ),
        (json!({ "ws": Uuid::now_v7() }), "NOT_FOUND"),
    ] {
        let answer = members(&app, app.owner_token(), variables.clone()).await;
        assert_eq!(error_code(&answer), code, "{variables}");
        assert!(answer.did_not_run("members"));
    }
    let answer = members(&app, "ofs_unknown", json!({ "ws": ws })).await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
}

async fn another_workspaces_members_are_not_found_never_forbidden(app: TestApp) {
    // Olivia owns Research too, but her Marketing session does not reach it.
    let research = research_workspace(&app).await;
    let answer = members(&app, app.owner_token(), json!({ "ws": research })).await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let never = Uuid::now_v7();
    let unknown = members(&app, app.owner_token(), json!({ "ws": never })).await;
    // The message names the id asked for, and says nothing else of it.
    let said = |answer: &Answer, id: &str| {
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(id, "<id>")
    };
    assert_eq!(
        said(&answer, &research.to_string()),
        said(&unknown, &never.to_string()),
        "same answer as a workspace that doesn't exist"
    );
}

async fn seat_usage_counts_each_person_once_per_organization(app: TestApp) {
    let query = "query($org: UUID!, $first: Int) { seatUsage(organizationId: $org) { organizationId used limit available holders(first: $first) { totalCount edges { node { email } } } } }";
    let answer = app
        .as_owner(
            query,
            json!({ "org": app.demo.organization_id, "first": 100 }),
        )
        .await;
    let usage = &data(&answer)["seatUsage"];
    // Olivia, Ada and Max are in both workspaces; invited and deactivated people hold seats.
    assert_eq!(usage["used"], 8);
    assert_eq!(usage["limit"], 25);
    assert_eq!(usage["available"], 17);
    assert_eq!(usage["holders"]["totalCount"], 8);
    let holders: Vec<&str> = usage["holders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ALL);

    // Removing Max from Marketing keeps his seat (he is still in Research); removing Gus frees his.
    soft_delete_membership(&app, "max.member@acme.test").await;
    soft_delete_membership(&app, "gus.guest@acme.test").await;
    let answer = app
        .as_owner(query, json!({ "org": app.demo.organization_id }))
        .await;
    assert_eq!(data(&answer)["seatUsage"]["used"], 7);

    let mia = app.sign_in("mia.member@acme.test").await;
    let answer = app
        .graphql(
            Some(&mia),
            query,
            json!({ "org": app.demo.organization_id }),
        )
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let answer = app.as_owner(query, json!({ "org": Uuid::now_v7() })).await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
}

backend_tests! {
    a_page_of_members_is_a_constant_number_of_statements,
}

/// No N+1: a page of members (roles, statuses and groups included) is three statements
/// whatever its size — the total, the page, the groups of everyone on it — with or without a
/// search, by the trigram index or by a scan.
async fn a_page_of_members_is_a_constant_number_of_statements(app: TestApp) {
    tests::add_members(&app, 300).await;
    let principal = app.owner_principal().await;
    let (db, statements) = tests::counting_connection(&app);
    let search = |text: &str| rules::people::members::MemberFilter {
        search: Some(crate::support::search_text(text)),
        statuses: None,
    };
    for (filter, total) in [
        (search("bench"), Some(300)),
        (search("be"), None),
        (
            rules::people::members::MemberFilter::default(),
            Some(300 + ALL.len() as u64),
        ),
    ] {
        for first in [1_u64, 50, 100] {
            let (page, sent) = tests::count_statements(
                &statements,
                rules::people::members::list_members(
                    &db,
                    &principal,
                    app.demo.workspace_id,
                    &filter,
                    rules::lists::Paging { first, after: None },
                ),
            )
            .await;
            let page = page.unwrap();
            assert_eq!(page.items.len() as u64, first);
            if let Some(total) = total {
                assert_eq!(page.total_count, total);
            }
            assert!(
                page.items
                    .iter()
                    .filter(|row| row.user.email.starts_with("bench-"))
                    .all(|row| row.groups.len() == 1),
                "groups are loaded for every row"
            );
            assert_eq!(sent, 3, "a page of {first}, {filter:?}");
        }
    }
}

/// "Select all that match": every live member the filter keeps, by email, capped, with `more`
/// saying the cap was reached; the removed are never in it.
async fn matching_members_are_every_live_member_a_filter_keeps(app: TestApp) {
    let bench = tests::add_members(&app, 30).await;
    let matching = |filter: Value| {
        let app = &app;
        async move {
            let answer = app
                .as_owner(
                    "query($ws: UUID!, $f: MemberFilterInput) { matchingMembers(workspaceId: $ws, filter: $f) { userIds more } }",
                    json!({ "ws": app.demo.workspace_id, "f": filter }),
                )
                .await;
            data(&answer)["matchingMembers"].clone()
        }
    };
    let found = matching(json!({ "search": "bench" })).await;
    let ids: std::collections::BTreeSet<String> = found["userIds"]
        .items()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        bench.iter().map(|id| id.0.to_string()).collect();
    assert_eq!(ids, expected);
    assert_eq!(found["more"], false);
    let invited = matching(json!({ "statuses": ["INVITED"] })).await;
    assert_eq!(invited["userIds"].items().len(), 1, "Ivy: {invited}");
    let everyone = matching(Value::Null).await;
    assert_eq!(everyone["userIds"].items().len(), 30 + 8, "{everyone}");
    // Removed, Mia is no longer among them.
    soft_delete_membership(&app, "mia.member@acme.test").await;
    let after = matching(Value::Null).await;
    assert_eq!(after["userIds"].items().len(), 30 + 7, "{after}");
}
