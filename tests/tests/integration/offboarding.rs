use std::time::Duration;

use chrono::Utc;
use entities::{
    OutboxStatus, UserId, api_key, audit_entry, campaign, creative, membership, outbox, rule,
    session, workspace,
};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tests::{Answer, Backend, TestApp, backend_tests, data, error_code, ok, user_error_codes};
use uuid::Uuid;

use crate::support::{
    DEACTIVATE, REACTIVATE, REMOVE, audit_count, audit_entries, can_act, count_of, create_api_key,
    error_pairs, expected_pairs, give_all_contacts_to_the_owner, key_created_by, no_worker,
    offboarding_id, people, rows_of, seats_used, stored_invitation, the_row, user_id, where_eq,
};

/// What a refused call must leave untouched.
async fn snapshot(app: &TestApp) -> (u64, u64, u64, u64) {
    (
        membership::Entity::find()
            .filter(membership::Column::DeletedAt.is_null())
            .count(app.db())
            .await
            .unwrap(),
        audit_entry::Entity::find().count(app.db()).await.unwrap(),
        outbox::Entity::find().count(app.db()).await.unwrap(),
        api_key::Entity::find()
            .filter(api_key::Column::RevokedAt.is_null())
            .count(app.db())
            .await
            .unwrap(),
    )
}

backend_tests! {
    a_removal_is_a_constant_number_of_statements_per_1000_members => no_worker,
    removal_cuts_access_at_commit_with_no_worker_running => no_worker,
    the_worker_carries_out_every_side_effect,
    campaigns_go_to_the_workspace_and_seats_are_freed_only_when_nothing_remains,
    one_blocked_member_blocks_the_whole_call_and_changes_nothing => no_worker,
    bad_input_is_refused_and_changes_nothing => no_worker,
    deactivation_keeps_the_membership_and_reactivation_needs_a_fresh_sign_in => no_worker,
    the_last_active_owner_can_be_neither_removed_nor_deactivated => no_worker,
    two_owners_removing_each_other_at_once_leave_one_owner => no_worker,
    a_job_delivered_twice_takes_effect_once => no_worker,
    a_failing_job_backs_off_then_goes_dead_with_its_last_error => email_never_gets_through,
    a_dead_job_retried_once_the_mail_is_fixed_succeeds => email_fails_until_fixed,
    offboardings_are_listed_newest_first_by_status_and_kind => email_fails_until_fixed,
}

/// Email to a port nothing listens on, and retries fast enough to watch.
fn email_never_gets_through(config: &mut tests::Settings) {
    // Nothing listens on port 1: every attempt to send email fails.
    config.worker.mail.transport = worker::settings::MailTransport::Smtp {
        host: "127.0.0.1".into(),
        port: 1,
        tls: worker::settings::SmtpTls::None,
        credentials: None,
        timeout: Duration::from_secs(2),
        ca_certificates: None,
    };
    // Retries fast enough to watch.
    config.worker.retry = platform::outbox::RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    };
}

/// Removes Gus with mail that can't go out, and waits until the offboarding is FAILED: its
/// id, and the offboarding as `offboarding(id)` answers then.
async fn remove_gus_whose_email_fails(app: &TestApp) -> (String, Answer) {
    let gus = user_id(app, "gus.guest@acme.test").await;
    let id = offboarding_id(&app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await);
    let offboarding = app.wait_for_offboarding(&id, Duration::from_secs(30)).await;
    assert_eq!(offboarding["status"], "FAILED", "{offboarding}");
    (id, offboarding)
}

/// Email that fails until the test fixes it: on PostgreSQL, SMTP on a port where a server starts
/// later; embedded, a mail folder whose path is a file until the test removes it.
fn email_fails_until_fixed(config: &mut tests::Settings) {
    config.worker.mail.transport = match &config.worker.mail.transport {
        worker::settings::MailTransport::Smtp {
            host,
            tls,
            credentials,
            timeout,
            ca_certificates,
            ..
        } => worker::settings::MailTransport::Smtp {
            host: host.clone(),
            port: tests::free_port(),
            tls: *tls,
            credentials: credentials.clone(),
            timeout: *timeout,
            ca_certificates: ca_certificates.clone(),
        },
        worker::settings::MailTransport::Folder(folder) => {
            let blocked = folder.with_extension("blocked");
            std::fs::write(&blocked, "a file where the mail folder should be").unwrap();
            worker::settings::MailTransport::Folder(blocked)
        }
    };
    config.worker.retry = platform::outbox::RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
}

/// The demo owner, signed in to the other workspace, asks this.
async fn as_research_owner(app: &TestApp, query: &str, variables: Value) -> Answer {
    let research = crate::access::research_workspace(app).await;
    let in_research = app.sign_in_to(research, "olivia.owner@acme.test").await;
    app.graphql(Some(&in_research), query, variables).await
}

const RETRY_JOB: &str = "mutation($input: RetryJobInput!) { retryJob(input: $input) {
  job { id status attempts lastError } offboarding { id status } userErrors { code field } } }";

/// The offboarding's progress, replayed: FAILED once the email job `email` was DEAD,
/// IN_PROGRESS again from its retry, SUCCEEDED at the end, where the stream ends.
async fn progress_shows_the_retry(app: &TestApp, id: &str, email: &str) {
    let messages = app.follow_progress(Some(app.owner_token()), id, 10).await;
    let overall: Vec<(&str, &str)> = messages
        .iter()
        .filter(|message| message["type"] == "next")
        .map(|message| &message["payload"]["data"]["offboardingProgress"])
        .filter(|event| event["jobId"] == email)
        .map(|event| {
            (
                event["status"].as_str().unwrap(),
                event["offboardingStatus"].as_str().unwrap(),
            )
        })
        .collect();
    let dead = overall
        .iter()
        .position(|(status, _)| *status == "DEAD")
        .unwrap();
    assert_eq!(overall[dead].1, "FAILED", "{overall:?}");
    assert!(
        overall[dead + 1..overall.len() - 1]
            .iter()
            .all(|(_, standing)| *standing == "IN_PROGRESS"),
        "retried, it is in progress again: {overall:?}"
    );
    assert_eq!(overall.last(), Some(&("SUCCEEDED", "SUCCEEDED")));
    assert_eq!(messages.last().unwrap()["type"], "complete");
}

/// An operator fixes the mail and retries the DEAD email: it runs again with a fresh set of
/// attempts and succeeds, with an audit entry. A job that isn't DEAD is refused and left as it
/// is; another workspace's job, or no job, is NOT_FOUND.
async fn a_dead_job_retried_once_the_mail_is_fixed_succeeds(app: TestApp) {
    let (id, offboarding) = remove_gus_whose_email_fails(&app).await;
    let job = |kind: &str| {
        tests::job_of(&offboarding, kind)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (email, sessions) = (job("SEND_REMOVAL_EMAIL"), job("END_SESSIONS"));
    let retry = async |job_id: &str, key: &str| {
        app.as_owner(
            RETRY_JOB,
            json!({ "input": { "jobId": job_id, "idempotencyKey": key } }),
        )
        .await
    };

    // Not DEAD: refused, nothing changes.
    let before = outbox::Entity::find_by_id(sessions.parse::<Uuid>().unwrap())
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let refused = retry(&sessions, "retry-sessions").await;
    assert_eq!(
        user_error_codes(&data(&refused)["retryJob"]),
        ["JOB_NOT_DEAD"]
    );
    assert_eq!(
        data(&refused)["retryJob"]["userErrors"][0]["field"],
        "jobId"
    );
    let after = outbox::Entity::find_by_id(before.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "a refused retry changes nothing");
    // No such job, and a job of the other workspace, read the same.
    assert_eq!(
        error_code(&retry(&Uuid::now_v7().to_string(), "retry-none").await),
        "NOT_FOUND"
    );
    let elsewhere =
        as_research_owner(&app, RETRY_JOB, json!({ "input": { "jobId": email } })).await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND", "{elsewhere}");

    // The operator fixes the mail, then retries.
    let sink = match &app.config.worker.mail.transport {
        worker::settings::MailTransport::Smtp { port, .. } => {
            Some(tests::smtp_sink::SmtpSink::start_at(*port).await)
        }
        worker::settings::MailTransport::Folder(blocked) => {
            std::fs::remove_file(blocked).unwrap();
            None
        }
    };
    let retried = retry(&email, "retry-email").await;
    assert_eq!(
        data(&retried)["retryJob"]["userErrors"],
        json!([]),
        "{retried}"
    );
    assert_eq!(data(&retried)["retryJob"]["job"]["status"], "PENDING");
    assert_eq!(data(&retried)["retryJob"]["job"]["attempts"], 0);
    assert_eq!(data(&retried)["retryJob"]["offboarding"]["id"], id.as_str());
    let again = retry(&email, "retry-email").await;
    assert_eq!(
        data(&again)["retryJob"],
        data(&retried)["retryJob"],
        "the same key answers the same"
    );
    let offboarding = app.wait_for_offboarding(&id, Duration::from_secs(30)).await;
    assert_eq!(offboarding["status"], "SUCCEEDED", "{offboarding}");
    assert_eq!(offboarding["summary"]["dead"], 0);
    let delivered = match &sink {
        Some(sink) => sink.messages(&format!("<{email}@offboarding>")).len(),
        None => app.sent_copies(email.parse().unwrap()).len(),
    };
    assert_eq!(delivered, 1, "the email went out once");
    progress_shows_the_retry(&app, &id, &email).await;

    // Retrying what is done now is refused.
    let done = retry(&email, "retry-email-again").await;
    assert_eq!(user_error_codes(&data(&done)["retryJob"]), ["JOB_NOT_DEAD"]);

    let audited = audit_entries(&app, "job_retry").await;
    assert_eq!(audited.len(), 1, "one retry took effect");
    assert_eq!(audited[0].metadata["job_id"], email.as_str());
    assert_eq!(audited[0].metadata["kind"], "send_removal_email");
    assert_eq!(audited[0].metadata["attempts"], 2);
    assert!(
        audited[0].metadata["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
}

const OFFBOARDINGS: &str = "query($ws: UUID!, $filter: OffboardingsFilter, $first: Int, $after: String) {
  offboardings(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id kind status summary { dead } } } } }";

/// `offboardings`: newest first, by status and kind, paged; a bad cursor and another
/// workspace are refused.
async fn offboardings_are_listed_newest_first_by_status_and_kind(app: TestApp) {
    let [gus, mia] = people(&app, ["gus.guest@acme.test", "mia.member@acme.test"]).await;
    let removal = offboarding_id(&app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await);
    let deactivated = app
        .owner_mutates(DEACTIVATE, json!({ "userId": mia }))
        .await;
    let deactivation = offboarding_id(&deactivated);
    // The removal's email can't go out (FAILED); the deactivation sends none (SUCCEEDED).
    let failed = app
        .wait_for_offboarding(&removal, Duration::from_secs(30))
        .await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let done = app
        .wait_for_offboarding(&deactivation, Duration::from_secs(30))
        .await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    let list = async |filter: Value, first: u64, after: Option<&str>| {
        app.as_owner(OFFBOARDINGS, json!({ "ws": app.demo.workspace_id, "filter": filter, "first": first, "after": after }))
        .await
    };
    let listed = |answer: &Answer| -> Vec<String> {
        data(answer)["offboardings"]["edges"]
            .items()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list(json!(null), 10, None).await;
    assert_eq!(
        listed(&all),
        [deactivation.clone(), removal.clone()],
        "newest first"
    );
    assert_eq!(data(&all)["offboardings"]["totalCount"], 2);
    let nodes = data(&all)["offboardings"]["edges"].items();
    assert_eq!(nodes[0]["node"]["kind"], "DEACTIVATE_USER");
    assert_eq!(nodes[1]["node"]["status"], "FAILED");
    assert_eq!(nodes[1]["node"]["summary"]["dead"], 1);

    for (filter, expected) in [
        (json!({ "status": "FAILED" }), vec![removal.clone()]),
        (json!({ "status": "SUCCEEDED" }), vec![deactivation.clone()]),
        (json!({ "status": "IN_PROGRESS" }), vec![]),
        (
            json!({ "kind": "DEACTIVATE_USER" }),
            vec![deactivation.clone()],
        ),
        (
            json!({ "kind": "REMOVE_MEMBERS", "status": "FAILED" }),
            vec![removal.clone()],
        ),
        (
            json!({ "kind": "REMOVE_MEMBERS", "status": "SUCCEEDED" }),
            vec![],
        ),
    ] {
        let answer = list(filter.clone(), 10, None).await;
        assert_eq!(listed(&answer), expected, "{filter}");
        assert_eq!(
            data(&answer)["offboardings"]["totalCount"],
            expected.len(),
            "{filter}"
        );
    }

    let first = list(json!(null), 1, None).await;
    assert_eq!(listed(&first), std::slice::from_ref(&deactivation));
    let page = &data(&first)["offboardings"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true);
    let second = list(json!(null), 1, page["endCursor"].as_str()).await;
    assert_eq!(listed(&second), std::slice::from_ref(&removal));
    assert_eq!(
        data(&second)["offboardings"]["pageInfo"]["hasNextPage"],
        false
    );

    assert_eq!(
        error_code(&list(json!(null), 1, Some("garbage")).await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        error_code(&list(json!({ "status": "LOST" }), 1, None).await),
        "BAD_USER_INPUT"
    );
    let elsewhere =
        as_research_owner(&app, OFFBOARDINGS, json!({ "ws": app.demo.workspace_id })).await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND", "{elsewhere}");
}

/// A removal sends a constant number of statements per 1,000 members: one more read per
/// further 1,000; every write in one statement on PostgreSQL, and in process (SQLite) one more
/// INSERT per further 1,000 audit entries and per further 1,000 outbox rows. Every row is
/// written.
async fn a_removal_is_a_constant_number_of_statements_per_1000_members(app: TestApp) {
    use sea_orm::TransactionTrait;
    let principal = app.owner_principal().await;
    let (db, statements) = tests::counting_connection(&app);
    let one = tests::add_members(&app, 1).await;
    let many = tests::add_members(&app, 2_500).await;
    let mut counted = Vec::new();
    for user_ids in [&one, &many] {
        let txn = db.begin().await.unwrap();
        let removal = tests::remove_in_process(&app, &txn, &principal, user_ids.clone(), true);
        let (removed, sent) = tests::count_statements(&statements, removal).await;
        let removed = removed.unwrap_or_else(|e| panic!("{e:?}"));
        counted.push(sent);
        txn.commit().await.unwrap();
        assert_eq!(removed.members.len(), user_ids.len());
        let offboarding = removed.recorded.offboarding.id;
        let audited = audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.eq("team_membership_remove"))
            .filter(audit_entry::Column::TargetUserId.is_in(user_ids.iter().copied()))
            .count(app.db())
            .await
            .unwrap();
        assert_eq!(
            audited as usize,
            user_ids.len(),
            "an audit entry for every member"
        );
        let rows = count_of(&app, where_eq(outbox::Column::OffboardingId, offboarding)).await;
        // Sessions, campaigns, API keys, and an email each.
        assert_eq!(rows as usize, 3 + user_ids.len());
    }
    let [for_one, for_many] = counted[..] else {
        unreachable!()
    };
    // Reading what the rules need (the lock with the caller's membership, the members, then
    // their contact duties, groups, invitations, keys and other memberships in one statement
    // per 1,000 people), then writing.
    match app.backend {
        // Every write in one statement, but that 2,500 members' come to about 72,500 values
        // with their jobs' first events, more than the 65,535 one statement binds: two.
        Backend::Postgres => assert_eq!(
            (for_one, for_many),
            (4, 4 + 2 + 1),
            "statements for one member, for 2,500"
        ),
        // In process, one statement per write: 2,500 audit entries are 3 INSERTs instead of
        // 1, 2,503 outbox rows 3 instead of 1, and their first job events 3 instead of 1.
        Backend::Sqlite => assert_eq!(
            (for_one, for_many),
            (10, 10 + 2 + 2 + 2 + 2),
            "statements for one member, for 2,500"
        ),
    }
}

async fn removal_cuts_access_at_commit_with_no_worker_running(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let omar = app.sign_in("omar.owner@acme.test").await;
    let ada = app.sign_in("ada.admin@acme.test").await;
    let omar_key = create_api_key(&app, &omar, "Omar's automation", "ADMIN").await;
    let ada_key = create_api_key(&app, &ada, "Ada's automation", "MEMBER").await;

    // Without revokeApiKeys the person is out, their keys keep working.
    let payload = &app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": people(&app, ["omar.owner@acme.test"]).await, "reason": "left" }),
        )
        .await;
    ok(payload);
    assert!(
        !can_act(&app, &omar).await,
        "the session is refused on the very next request"
    );
    assert!(
        can_act(&app, &omar_key).await,
        "keys keep working without revokeApiKeys"
    );
    assert_eq!(payload["removedMembers"][0]["apiKeysRevoked"], 0);

    // With revokeApiKeys, the keys are refused at once too.
    let payload = &app.owner_mutates(REMOVE, json!({ "userIds": people(&app, ["ada.admin@acme.test"]).await, "revokeApiKeys": true }))
    .await;
    ok(payload);
    assert_eq!(
        payload["removedMembers"][0]["apiKeysRevoked"], 2,
        "her demo key and the new one"
    );
    assert!(!can_act(&app, &ada).await);
    assert!(!can_act(&app, &ada_key).await);

    // No worker ran: the cut comes from the membership, not from ended sessions.
    let ended = session::Entity::find()
        .filter(session::Column::RevokedAt.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(ended, 0);
    let done = count_of(
        &app,
        where_eq(outbox::Column::Status, OutboxStatus::Succeeded),
    )
    .await;
    assert_eq!(done, 0);
    // The members list no longer shows them; their accounts still exist.
    let answer = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws) { totalCount } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert_eq!(data(&answer)["members"]["totalCount"], 6);
    assert!(
        entities::user::Entity::find_by_id(user_id(&app, "ada.admin@acme.test").await)
            .one(app.db())
            .await
            .unwrap()
            .is_some()
    );
    // Removed from this workspace only: Ada still works in Research.
    let research = crate::access::research_workspace(&app).await;
    let ada_research = app.sign_in_to(research, "ada.admin@acme.test").await;
    assert!(can_act(&app, &ada_research).await);
}

async fn the_worker_carries_out_every_side_effect(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia_session = app.sign_in("mia.member@acme.test").await;
    let [mia, gus] = people(&app, ["mia.member@acme.test", "gus.guest@acme.test"]).await;
    let payload = &app.owner_mutates(REMOVE, json!({ "userIds": [mia], "reason": "moved team", "reattributeTo": gus, "revokeApiKeys": true })).await;
    ok(payload);
    assert_eq!(
        payload["removedMembers"][0]["seatFreed"], true,
        "Mia had no other membership in Acme"
    );
    let offboarding_id = payload["offboarding"]["id"].as_str().unwrap().to_owned();

    let offboarding = app
        .wait_until_succeeded(&offboarding_id, Duration::from_secs(30))
        .await;
    let kinds = tests::job_kinds(&offboarding);
    assert_eq!(
        kinds,
        [
            "END_SESSIONS",
            "REATTRIBUTE_CAMPAIGNS",
            "REVOKE_API_KEYS",
            "SEND_REMOVAL_EMAIL"
        ]
    );

    // Sessions ended for good.
    let open = session::Entity::find()
        .filter(session::Column::UserId.eq(mia))
        .filter(session::Column::RevokedAt.is_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(open, 0);
    assert!(!can_act(&app, &mia_session).await);
    // Her key revoked with a reason.
    let key = key_created_by(&app, mia).await;
    assert!(key.revoked_at.is_some());
    assert_eq!(
        key.revoked_reason.as_deref(),
        Some("member removed: moved team")
    );
    // Campaigns reattributed, authorship kept; rules and creatives untouched.
    let campaigns = rows_of(&app, where_eq(campaign::Column::CreatedBy, mia)).await;
    assert_eq!(campaigns.len(), 2);
    assert!(campaigns.iter().all(|c| c.owner_id == gus));
    let rule = the_row(&app, where_eq(rule::Column::Name, "Pause low CTR ads")).await;
    assert_eq!((rule.creator_id, rule.enabled), (mia, true));
    let logo = the_row(&app, where_eq(creative::Column::Name, "Logo pack")).await;
    assert_eq!(logo.uploaded_by, mia);
    // The email reached her, naming the workspace and the group she left.
    let email_job = offboarding["jobs"][3]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let email = app
        .sent_email(email_job)
        .expect("the removal email was delivered");
    assert!(email.contains("mia.member@acme.test"));
    assert!(email.contains("You were removed from Marketing"));
    assert!(email.contains("Designers"));
    assert!(email.contains("moved team"));
    // The audit trail: the removal, the ended sessions, the revoked key, the campaigns.
    let actions = audit_actions_about(&app, mia).await;
    for action in [
        "team_membership_remove",
        "sessions_end",
        "api_key_revoke",
        "campaigns_reattribute",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{action} in {actions:?}"
        );
    }
}

async fn campaigns_go_to_the_workspace_and_seats_are_freed_only_when_nothing_remains(app: TestApp) {
    let payload = &app.owner_mutates(REMOVE, json!({ "userIds": people(&app, ["max.member@acme.test", "gus.guest@acme.test"]).await }))
    .await;
    ok(payload);
    let freed: Vec<(&str, bool)> = payload["removedMembers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap(),
                m["seatFreed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        freed,
        [
            ("max.member@acme.test", false),
            ("gus.guest@acme.test", true)
        ],
        "Max stays in Research"
    );
    assert_eq!(seats_used(&app).await, 7);

    app.wait_until_succeeded(
        payload["offboarding"]["id"].as_str().unwrap(),
        Duration::from_secs(30),
    )
    .await;
    let system = workspace::Entity::find_by_id(app.demo.workspace_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .system_user_id;
    let max = user_id(&app, "max.member@acme.test").await;
    let black_friday = the_row(&app, where_eq(campaign::Column::Name, "Black Friday")).await;
    assert_eq!(
        (black_friday.owner_id, black_friday.created_by),
        (system, max)
    );
    // Removing an invited person revokes the invitation (and sends no email).
    let payload = &app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": people(&app, ["ivy.invited@acme.test"]).await }),
        )
        .await;
    ok(payload);
    let invitation = stored_invitation(&app, "ivy.invited@acme.test").await;
    assert!(invitation.revoked_at.is_some());
    assert_eq!(
        payload["offboarding"]["summary"]["total"], 2,
        "sessions and campaigns; no email"
    );
    let revoked = audit_entries(&app, "invitation_revoke").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(
        revoked[0].target_user_id,
        Some(user_id(&app, "ivy.invited@acme.test").await)
    );
    assert_eq!(
        revoked[0].metadata,
        json!({ "invitation_id": invitation.id, "reason": "member removed" })
    );
}

async fn one_blocked_member_blocks_the_whole_call_and_changes_nothing(app: TestApp) {
    let before = snapshot(&app).await;
    let [mia, max, olivia, ada, dana] = people(
        &app,
        [
            "mia.member@acme.test",
            "max.member@acme.test",
            "olivia.owner@acme.test",
            "ada.admin@acme.test",
            "dana.deactivated@acme.test",
        ],
    )
    .await;
    let unknown = Uuid::now_v7();
    let payload = &app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": [mia, olivia, max, ada, unknown], "revokeApiKeys": true }),
        )
        .await;
    let expected = [
        ("CANNOT_REMOVE_SELF", olivia),
        ("CONTACT_REASSIGNMENT_REQUIRED", ada),
        ("CONTACT_REASSIGNMENT_REQUIRED", mia),
        ("MEMBER_NOT_FOUND", UserId(unknown)),
    ];
    assert_eq!(error_pairs(payload), expected_pairs(&expected));
    assert!(payload["offboarding"].is_null() && payload["removedMembers"] == json!([]));
    assert_eq!(snapshot(&app).await, before, "nothing was written");

    // Campaigns can't go to someone deactivated, or to someone leaving in the same call.
    for assignee in [dana, max] {
        let payload = &app
            .owner_mutates(
                REMOVE,
                json!({ "userIds": [max], "reattributeTo": assignee }),
            )
            .await;
        assert_eq!(user_error_codes(payload), ["INVALID_ASSIGNEE"]);
        assert_eq!(payload["userErrors"][0]["field"], "reattributeTo");
    }
    // Already removed, and a role above the caller's.
    ok(&app.owner_mutates(REMOVE, json!({ "userIds": [max] })).await);
    let payload = app.owner_mutates(REMOVE, json!({ "userIds": [max] })).await;
    assert_eq!(user_error_codes(&payload), ["ALREADY_REMOVED"]);
    let ada_token = app.sign_in("ada.admin@acme.test").await;
    let payload = app
        .mutate(
            &ada_token,
            REMOVE,
            json!({ "userIds": people(&app, ["omar.owner@acme.test"]).await }),
        )
        .await;
    assert_eq!(user_error_codes(&payload), ["ROLE_NOT_MANAGEABLE"]);
    assert_eq!(
        snapshot(&app).await.0,
        before.0 - 1,
        "only Max's removal went through"
    );
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    let before = snapshot(&app).await;
    let mia = user_id(&app, "mia.member@acme.test").await;
    let too_many: Vec<Uuid> = (0..10_001).map(|_| Uuid::now_v7()).collect();
    for input in [
        json!({ "userIds": [] }),
        json!({ "userIds": too_many }),
        json!({ "userIds": ["not-a-uuid"] }),
        json!({ "userIds": [mia], "reason": "x".repeat(1_001) }),
    ] {
        let answer = app.call(app.owner_token(), REMOVE, input).await;
        assert_eq!(
            error_code(&answer),
            "BAD_USER_INPUT",
            "{}",
            answer["errors"][0]["message"]
        );
    }
    let answer = app
        .as_owner(
            REMOVE,
            json!({ "input": { "workspaceId": Uuid::now_v7(), "userIds": [mia] } }),
        )
        .await;
    assert_eq!(error_code(&answer), "NOT_FOUND");
    let max = app.sign_in("max.member@acme.test").await;
    let answer = app.call(&max, REMOVE, json!({ "userIds": [mia] })).await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let answer = app
        .call("ofs_nobody", REMOVE, json!({ "userIds": [mia] }))
        .await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    assert_eq!(snapshot(&app).await, before);
}

async fn deactivation_keeps_the_membership_and_reactivation_needs_a_fresh_sign_in(app: TestApp) {
    let mia_session = app.sign_in("mia.member@acme.test").await;
    let mia = user_id(&app, "mia.member@acme.test").await;
    let input = json!({ "userId": mia, "reason": "on leave" });
    let payload = &app.owner_mutates(DEACTIVATE, input.clone()).await;
    ok(payload);
    assert_eq!(payload["member"]["status"], "DEACTIVATED");
    assert_eq!(
        payload["member"]["groups"],
        json!([{ "name": "Designers" }]),
        "groups kept"
    );
    assert!(
        !can_act(&app, &mia_session).await,
        "refused at once, no worker needed"
    );
    let answer = app.graphql(None, "mutation($input: SignInInput!) { signIn(input: $input) { userErrors { code } } }",
        json!({ "input": { "workspaceId": app.demo.workspace_id, "email": "mia.member@acme.test", "password": "demo-password" } })).await;
    assert_eq!(
        user_error_codes(&data(&answer)["signIn"]),
        ["MEMBERSHIP_DEACTIVATED"]
    );
    assert_eq!(
        seats_used(&app).await,
        8,
        "a deactivated member keeps the seat"
    );
    let payload = app.owner_mutates(DEACTIVATE, input).await;
    assert_eq!(user_error_codes(&payload), ["ALREADY_DEACTIVATED"]);

    let mia_back = json!({ "userId": mia });
    let payload = &app.owner_mutates(REACTIVATE, mia_back.clone()).await;
    ok(payload);
    assert_eq!(
        (
            payload["member"]["status"].as_str(),
            payload["member"]["role"].as_str()
        ),
        (Some("ACTIVE"), Some("MEMBER"))
    );
    assert!(!can_act(&app, &mia_session).await, "old sessions stay dead");
    let fresh = app.sign_in("mia.member@acme.test").await;
    assert!(can_act(&app, &fresh).await);
    let payload = app.owner_mutates(REACTIVATE, mia_back).await;
    assert_eq!(user_error_codes(&payload), ["NOT_DEACTIVATED"]);

    // A deactivated member can later be removed completely.
    let dana = user_id(&app, "dana.deactivated@acme.test").await;
    ok(&app
        .owner_mutates(REMOVE, json!({ "userIds": [dana] }))
        .await);
    // An invited person is not deactivated; they are removed.
    let ivy = user_id(&app, "ivy.invited@acme.test").await;
    let payload = app
        .owner_mutates(DEACTIVATE, json!({ "userId": ivy }))
        .await;
    assert_eq!(user_error_codes(&payload), ["INVITATION_PENDING"]);
    let actions = audit_actions_about(&app, mia).await;
    assert_eq!(
        actions,
        ["team_membership_deactivate", "team_membership_reactivate"]
    );
}

async fn the_last_active_owner_can_be_neither_removed_nor_deactivated(app: TestApp) {
    // Olivia's OWNER key keeps acting after Omar deactivates her: Omar is then the last
    // active owner.
    let olivia_key = create_api_key(&app, app.owner_token(), "Olivia's admin bot", "OWNER").await;
    let omar_session = app.sign_in("omar.owner@acme.test").await;
    let [olivia, omar] = people(&app, ["olivia.owner@acme.test", "omar.owner@acme.test"]).await;
    ok(&app
        .mutate(&omar_session, DEACTIVATE, json!({ "userId": olivia }))
        .await);

    let payload = &app
        .mutate(&olivia_key, REMOVE, json!({ "userIds": [omar] }))
        .await;
    assert_eq!(user_error_codes(payload), ["LAST_OWNER"]);
    assert_eq!(payload["userErrors"][0]["userId"], omar.to_string());
    let payload = app
        .mutate(&olivia_key, DEACTIVATE, json!({ "userId": omar }))
        .await;
    assert_eq!(user_error_codes(&payload), ["LAST_OWNER"]);
    assert!(can_act(&app, &omar_session).await);
}

async fn two_owners_removing_each_other_at_once_leave_one_owner(app: TestApp) {
    let omar_session = app.sign_in("omar.owner@acme.test").await;
    let [olivia, omar] = people(&app, ["olivia.owner@acme.test", "omar.owner@acme.test"]).await;
    let (a, b) = tokio::join!(
        app.call(app.owner_token(), REMOVE, json!({ "userIds": [omar] })),
        app.call(&omar_session, REMOVE, json!({ "userIds": [olivia] })),
    );
    let succeeded = [&a, &b]
        .iter()
        .filter(|answer| {
            !answer.has_errors() && user_error_codes(&answer["data"]["removeMembers"]).is_empty()
        })
        .count();
    assert_eq!(succeeded, 1, "exactly one removal wins: {a} {b}");
    let owners = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::Role.eq(entities::Role::Owner))
        .filter(membership::Column::DeletedAt.is_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(owners, 1);
}

async fn a_job_delivered_twice_takes_effect_once(app: TestApp) {
    let mia_session = app.sign_in("mia.member@acme.test").await;
    let _second = app.sign_in("mia.member@acme.test").await;
    let mia = user_id(&app, "mia.member@acme.test").await;
    give_all_contacts_to_the_owner(&app).await;
    let offboarding_id: Uuid = offboarding_id(
        &app.owner_mutates(REMOVE, json!({ "userIds": [mia], "revokeApiKeys": true }))
            .await,
    )
    .parse()
    .unwrap();
    let deps = worker::runner::Dependencies {
        db: app.db().clone(),
        mailer: worker::mail::Mailer::new(&app.config.worker.mail).unwrap(),
        config: app.config.worker.clone(),
    };
    let jobs = rows_of(
        &app,
        where_eq(outbox::Column::OffboardingId, offboarding_id),
    )
    .await;
    assert_eq!(jobs.len(), 4);
    for job in &jobs {
        // Two deliveries at the same moment, then a late third one.
        let (first, second) = tokio::join!(
            worker::runner::process(&deps, job.id),
            worker::runner::process(&deps, job.id)
        );
        use worker::runner::Outcome;
        let outcomes = [first.unwrap(), second.unwrap()];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == Outcome::Succeeded)
                .count(),
            1,
            "{}: {outcomes:?}",
            job.kind
        );
        assert!(
            outcomes.iter().all(|o| matches!(
                o,
                Outcome::Succeeded | Outcome::AlreadyFinished | Outcome::NotClaimed
            )),
            "{outcomes:?}"
        );
        assert_eq!(
            worker::runner::process(&deps, job.id).await.unwrap(),
            worker::runner::Outcome::AlreadyFinished
        );
    }
    assert_eq!(audit_count(&app, "sessions_end").await, 1);
    assert_eq!(audit_count(&app, "api_key_revoke").await, 1);
    let entry = the_row(&app, where_eq(audit_entry::Column::Action, "sessions_end")).await;
    assert_eq!(entry.metadata["sessions"], 2);
    let email_job = jobs
        .iter()
        .find(|j| j.kind == "send_removal_email")
        .unwrap();
    assert!(
        app.sent_email(email_job.id).is_some(),
        "sent once (sent_email asserts one copy)"
    );
    assert!(!can_act(&app, &mia_session).await);
}

async fn a_failing_job_backs_off_then_goes_dead_with_its_last_error(app: TestApp) {
    let started = Utc::now();
    let (_, offboarding) = remove_gus_whose_email_fails(&app).await;
    assert_eq!(offboarding["summary"]["dead"], 1);
    assert_eq!(
        offboarding["summary"]["succeeded"], 2,
        "the other side effects are done"
    );
    let email = tests::job_of(&offboarding, "SEND_REMOVAL_EMAIL");
    assert_eq!(email["status"], "DEAD");
    assert_eq!(email["attempts"], 3);
    assert!(!email["lastError"].as_str().unwrap().is_empty());
    let row = outbox::Entity::find_by_id(email["id"].as_str().unwrap().parse::<Uuid>().unwrap())
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    // Backoff of 200 ms then 400 ms between the three attempts.
    let took = row.updated_at - started;
    assert!(took >= chrono::Duration::milliseconds(600), "{took:?}");
    // …and not much more: the retries wait for their backoff, not for a poll or a requeue.
    assert!(took < chrono::Duration::seconds(5), "{took:?}");
}

/// Redis is down when the mutation commits: access is cut anyway, the jobs wait in the outbox,
/// and the relay delivers them once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn jobs_committed_while_redis_is_down_run_once_it_is_back() {
    let mut redis = tests::PrivateRedis::start();
    let app = redis.app_on(Backend::Postgres).await;
    let gus_session = app.sign_in("gus.guest@acme.test").await;
    let gus = user_id(&app, "gus.guest@acme.test").await;
    redis.kill();
    let id = offboarding_id(&app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await);
    assert!(!can_act(&app, &gus_session).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waiting = count_of(
        &app,
        where_eq(outbox::Column::Status, OutboxStatus::Succeeded),
    )
    .await;
    assert_eq!(waiting, 0, "nothing ran while Redis was down");
    redis.resume();
    let offboarding = app.wait_until_succeeded(&id, Duration::from_secs(60)).await;
    let email = tests::job_of(&offboarding, "SEND_REMOVAL_EMAIL");
    assert!(
        app.sent_email(email["id"].as_str().unwrap().parse().unwrap())
            .is_some()
    );
}

/// The actions of the audit entries about this person, oldest first.
async fn audit_actions_about(app: &TestApp, user_id: UserId) -> Vec<String> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::TargetUserId.eq(user_id))
        .order_by_asc(audit_entry::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action.to_value())
        .collect()
}
