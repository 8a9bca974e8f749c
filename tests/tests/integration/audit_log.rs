//! `auditLog`: every action on a person, newest first, filterable and paginated.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use entities::{UserId, api_key};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, ok};

use crate::support::{
    ADA, DEACTIVATE, GUS, INVITE, MAX, MIA, OLIVIA, OMAR, REACTIVATE, REASSIGN, REMOVE, RESTORE,
    TRANSFER, actions_and_targets, audit_log, audit_log_answer, create_api_key,
    give_all_contacts_to_the_owner, no_worker, owner_invites, people, snapshot, the_row, where_eq,
};

fn expected(rows: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    rows.iter()
        .map(|(action, target)| ((*action).to_owned(), Some((*target).to_owned())))
        .collect()
}

fn edge_ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("edges: {connection}"))
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    each_action_is_listed_with_actor_target_reason_and_request_id => no_worker,
    pages_follow_each_other_newest_first_without_overlap => no_worker,
    the_audit_log_is_for_managers_of_this_workspace_with_bounded_pages => no_worker,
    an_api_key_is_an_actor_of_its_own => no_worker,
    the_workers_side_effects_are_in_the_log,
    entries_read_as_sentences_and_filter_by_date => no_worker,
}

async fn each_action_is_listed_with_actor_target_reason_and_request_id(app: TestApp) {
    let [olivia, omar, ada, mia, max, gus] = people(&app, [OLIVIA, OMAR, ADA, MIA, MAX, GUS]).await;
    let omar_session = app.sign_in(OMAR).await;

    ok(&app.owner_mutates(REASSIGN, json!({
        "fromUserId": mia, "assignments": [{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max }] })).await);
    let response = app.client.post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .header("x-request-id", "req-123")
        .json(&json!({ "query": REMOVE, "variables": { "input": {
            "workspaceId": app.demo.workspace_id, "userIds": [mia], "reason": "left the company" } } }))
        .send().await.unwrap();
    let answer: Answer = response.json().await.unwrap();
    ok(&data(&answer)["removeMembers"]);
    ok(&app
        .owner_mutates(DEACTIVATE, json!({ "userId": gus, "reason": "on leave" }))
        .await);
    ok(&app
        .mutate(&omar_session, REACTIVATE, json!({ "userId": gus }))
        .await);
    ok(&app.owner_mutates(RESTORE, json!({ "userId": mia })).await);
    ok(&app
        .owner_mutates(TRANSFER, json!({ "toUserId": ada }))
        .await);

    let log = audit_log(&app, Value::Null, None, None).await;
    assert_eq!(log["totalCount"], 6, "{log}");
    assert_eq!(log["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        actions_and_targets(&log),
        expected(&[
            ("OWNERSHIP_TRANSFER", ADA),
            ("TEAM_MEMBERSHIP_RESTORE", MIA),
            ("TEAM_MEMBERSHIP_REACTIVATE", GUS),
            ("TEAM_MEMBERSHIP_DEACTIVATE", GUS),
            ("TEAM_MEMBERSHIP_REMOVE", MIA),
            ("CONTACTS_REASSIGN", MIA),
        ])
    );
    let nodes: Vec<&Answer> = log["edges"].items().iter().map(|e| &e["node"]).collect();
    for (i, node) in nodes.iter().enumerate() {
        let actor = if i == 2 {
            (omar, OMAR)
        } else {
            (olivia, OLIVIA)
        };
        assert_eq!(node["actorUserId"], actor.0.to_string(), "{node}");
        assert_eq!(node["actor"]["email"], actor.1, "{node}");
        assert!(node["actorApiKeyId"].is_null(), "{node}");
        assert!(node["metadata"].is_object(), "{node}");
    }
    assert_eq!(nodes[1]["targetUserId"], mia.to_string());
    assert_eq!(nodes[4]["reason"], "left the company");
    // What the removal recorded about Mia as she was.
    let removal = &nodes[4]["metadata"];
    assert_eq!(removal["role"], "MEMBER", "{removal}");
    assert_eq!(removal["status"], "ACTIVE", "{removal}");
    assert_eq!(removal["member_count"], 1, "{removal}");
    assert_eq!(removal["revoke_api_keys"], false, "{removal}");
    assert_eq!(removal["reason"], "left the company", "{removal}");
    assert_eq!(nodes[4]["requestId"], "req-123");
    assert_eq!(nodes[3]["reason"], "on leave");
    let times: Vec<DateTime<FixedOffset>> = nodes
        .iter()
        .map(|n| DateTime::parse_from_rfc3339(n["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    filters_narrow_the_log_alone_and_together(&app, olivia, omar, gus).await;
}

/// The log of `each_action_is_listed…`, filtered by action, target and actor.
async fn filters_narrow_the_log_alone_and_together(
    app: &TestApp,
    olivia: UserId,
    omar: UserId,
    gus: UserId,
) {
    let log = audit_log(
        app,
        json!({ "action": "TEAM_MEMBERSHIP_REMOVE" }),
        None,
        None,
    )
    .await;
    assert_eq!(
        actions_and_targets(&log),
        expected(&[("TEAM_MEMBERSHIP_REMOVE", MIA)])
    );
    assert_eq!(log["totalCount"], 1);
    let log = audit_log(app, json!({ "targetUserId": gus }), None, None).await;
    assert_eq!(
        actions_and_targets(&log),
        expected(&[
            ("TEAM_MEMBERSHIP_REACTIVATE", GUS),
            ("TEAM_MEMBERSHIP_DEACTIVATE", GUS)
        ])
    );
    let log = audit_log(app, json!({ "actorId": omar }), None, None).await;
    assert_eq!(
        actions_and_targets(&log),
        expected(&[("TEAM_MEMBERSHIP_REACTIVATE", GUS)])
    );
    let log = audit_log(app, json!({ "actorId": olivia }), None, None).await;
    assert_eq!(log["totalCount"], 5);
    let log = audit_log(
        app,
        json!({ "action": "TEAM_MEMBERSHIP_RESTORE", "targetUserId": gus }),
        None,
        None,
    )
    .await;
    assert_eq!(
        (
            log["totalCount"].as_i64(),
            log["edges"].as_array().map(<[_]>::len)
        ),
        (Some(0), Some(0))
    );
    // An action the trail doesn't have (or spelled as it is stored) is refused, not an empty
    // list that looks like nothing happened.
    for unknown in ["team_membership_remove", "TEAM_MEMBERSHIP_VANISH"] {
        let answer = crate::support::audit_log_answer(
            app,
            app.owner_token(),
            json!({ "action": unknown }),
            None,
            None,
        )
        .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{unknown}: {answer}");
        assert!(answer.get("data").is_none(), "it never ran: {answer}");
    }
}

async fn pages_follow_each_other_newest_first_without_overlap(app: TestApp) {
    let emails: Vec<String> = (0..5).map(|i| format!("person{i}@example.com")).collect();
    for email in &emails {
        owner_invites(&app, email, "GUEST").await;
    }
    let all = audit_log(&app, Value::Null, Some(100), None).await;
    let all_ids = edge_ids(&all);
    assert_eq!(all_ids.len(), 5);
    let targets: Vec<Option<String>> = actions_and_targets(&all)
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let newest_first: Vec<Option<String>> = emails.iter().rev().map(|e| Some(e.clone())).collect();
    assert_eq!(targets, newest_first);

    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let page = audit_log(&app, Value::Null, Some(2), after.as_deref()).await;
        assert_eq!(page["totalCount"], 5, "the total is of all pages");
        let ids = edge_ids(&page);
        sizes.push(ids.len());
        seen.extend(ids);
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
        assert!(sizes.len() < 5, "pagination ends");
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, all_ids, "the pages, in order, are the whole log");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        5,
        "no entry twice"
    );
}

async fn the_audit_log_is_for_managers_of_this_workspace_with_bounded_pages(app: TestApp) {
    owner_invites(&app, "someone@example.com", "GUEST").await;
    let before = snapshot(&app).await;
    for first in [1000, 101, 0, -1] {
        let answer =
            audit_log_answer(&app, app.owner_token(), Value::Null, Some(first), None).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "first: {first}");
    }
    let answer = audit_log_answer(&app, app.owner_token(), Value::Null, Some(100), None).await;
    assert_eq!(
        data(&answer)["auditLog"]["totalCount"],
        1,
        "100 is the page size limit"
    );
    let member = app.sign_in(MIA).await;
    assert_eq!(
        error_code(&audit_log_answer(&app, &member, Value::Null, None, None).await),
        "FORBIDDEN"
    );
    let research = crate::access::research_workspace(&app).await;
    let answer = app
        .as_owner(crate::support::AUDIT_LOG, json!({ "ws": research }))
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let answer = app
        .graphql(
            None,
            crate::support::AUDIT_LOG,
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    assert_eq!(
        snapshot(&app).await,
        before,
        "reading the log writes nothing"
    );
}

async fn an_api_key_is_an_actor_of_its_own(app: TestApp) {
    let key = create_api_key(&app, app.owner_token(), "Inviter bot", "ADMIN").await;
    let key_id = the_row(&app, where_eq(api_key::Column::Name, "Inviter bot"))
        .await
        .id;
    ok(&app
        .mutate(
            &key,
            INVITE,
            json!({ "email": "bot.invited@example.com", "role": "GUEST" }),
        )
        .await);

    let log = audit_log(&app, json!({ "actorId": key_id }), None, None).await;
    assert_eq!(
        actions_and_targets(&log),
        expected(&[("TEAM_MEMBERSHIP_INVITE", "bot.invited@example.com")])
    );
    assert_eq!(log["edges"][0]["node"]["actorApiKeyId"], key_id.to_string());
    let log = audit_log(&app, json!({ "action": "API_KEY_CREATE" }), None, None).await;
    assert_eq!(log["totalCount"], 1, "{log}");
    assert_eq!(log["edges"][0]["node"]["actor"]["email"], OLIVIA);
}

async fn the_workers_side_effects_are_in_the_log(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = crate::support::user_id(&app, MIA).await;
    // Sessions are ended (and logged) only for people who have some.
    app.sign_in(MIA).await;
    // An entry that belongs to no offboarding.
    let ada = app.sign_in(ADA).await;
    create_api_key(&app, &ada, "Ada's automation", "MEMBER").await;
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .header("x-request-id", "req-remove-mia")
        .json(&json!({ "query": REMOVE, "variables": { "input": {
            "workspaceId": app.demo.workspace_id, "userIds": [mia], "revokeApiKeys": true } } }))
        .send()
        .await
        .unwrap();
    let answer: Answer = response.json().await.unwrap();
    let payload = data(&answer)["removeMembers"].clone();
    ok(&payload);
    app.wait_until_succeeded(
        payload["offboarding"]["id"].as_str().unwrap(),
        Duration::from_secs(30),
    )
    .await;

    let log = audit_log(&app, json!({ "targetUserId": mia }), Some(100), None).await;
    let actions: Vec<String> = actions_and_targets(&log)
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    for action in ["TEAM_MEMBERSHIP_REMOVE", "SESSIONS_END", "API_KEY_REVOKE"] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{action} in {actions:?}"
        );
    }
    let log = audit_log(&app, json!({ "action": "SESSIONS_END" }), None, None).await;
    assert_eq!(
        actions_and_targets(&log),
        expected(&[("SESSIONS_END", MIA)])
    );
    let ended = &log["edges"][0]["node"]["metadata"];
    assert_eq!(
        ended["offboarding_id"], payload["offboarding"]["id"],
        "{ended}"
    );
    assert!(
        ended["sessions"]
            .as_u64()
            .is_some_and(|sessions| sessions >= 1),
        "{ended}"
    );

    // One id finds the mutation's entries and its jobs', each with the mutation's request id,
    // and only those.
    let offboarding = payload["offboarding"]["id"].as_str().unwrap();
    let log = audit_log(
        &app,
        json!({ "offboardingId": offboarding }),
        Some(100),
        None,
    )
    .await;
    let actions: HashSet<String> = actions_and_targets(&log)
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert!(
        ["TEAM_MEMBERSHIP_REMOVE", "SESSIONS_END", "API_KEY_REVOKE"]
            .iter()
            .all(|action| actions.contains(*action)),
        "{actions:?}"
    );
    let everything = audit_log(&app, json!(null), Some(100), None).await;
    let belonging = everything["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["offboardingId"] == offboarding)
        .count();
    assert_eq!(log["totalCount"], belonging);
    assert!(everything["totalCount"].as_u64() > log["totalCount"].as_u64());
    for edge in log["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["offboardingId"], offboarding, "{edge}");
        assert_eq!(edge["node"]["requestId"], "req-remove-mia", "{edge}");
    }
    let answer = app
        .as_owner(
            "query($id: UUID!) { offboarding(id: $id) { requestId } }",
            json!({ "id": offboarding }),
        )
        .await;
    assert_eq!(data(&answer)["offboarding"]["requestId"], "req-remove-mia");
}

/// Each entry reads as a sentence naming who did what to whom, and why; `since` and `until`
/// keep the entries written in between.
async fn entries_read_as_sentences_and_filter_by_date(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = people(&app, [MIA]).await[0];
    let before = chrono::Utc::now();
    ok(&app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": [mia], "reason": "left the company" }),
        )
        .await);
    let after = chrono::Utc::now();
    let removed = json!({ "action": "TEAM_MEMBERSHIP_REMOVE" });
    let log = audit_log(&app, removed.clone(), None, None).await;
    assert_eq!(
        log["edges"][0]["node"]["summary"],
        "Olivia Owner removed Mia Member: left the company"
    );
    let count = |since: DateTime<chrono::Utc>, until: DateTime<chrono::Utc>| {
        let mut filter = removed.clone();
        filter["since"] = json!(since);
        filter["until"] = json!(until);
        let app = &app;
        async move { audit_log(app, filter, None, None).await["totalCount"].clone() }
    };
    let hour = chrono::Duration::hours(1);
    assert_eq!(count(before, after + chrono::Duration::seconds(1)).await, 1);
    assert_eq!(count(before - hour, before).await, 0, "until is before it");
    assert_eq!(
        count(after + hour, after + hour + hour).await,
        0,
        "since is after it"
    );
}
