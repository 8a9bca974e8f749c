//! The job pipeline with the product's default settings: late jobs never undo what came after
//! them, a job that can never succeed is DEAD at once instead of looping, and a large
//! removal runs to the end.

use std::time::Duration;

use entities::{offboarding, outbox, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tests::{Answer, TestApp, backend_tests, data, ok};
use uuid::Uuid;

use crate::support::{
    ADA, DEACTIVATE, GUS, MAX, MIA, REACTIVATE, REMOVE, RESTORE, can_act, create_api_key,
    give_all_contacts_to_the_owner, no_worker, offboarding_id, owner_invites, start_worker,
    user_id,
};

const ACCEPT: &str = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
  token userErrors { code message } } }";

backend_tests! {
    a_new_membership_revives_no_session_and_late_jobs_spare_the_new_one => no_worker,
    late_jobs_of_a_restored_removal_spare_what_came_after_it => no_worker,
    late_jobs_of_a_reactivated_member_spare_what_came_after_it => no_worker,
    an_email_that_can_never_be_sent_is_dead_at_once,
    an_unreadable_payload_is_dead_at_once,
    a_job_of_an_unreadable_offboarding_is_dead_at_once,
    a_job_s_history_is_every_state_it_went_through,
    job_events_are_written_by_the_outbox_code_not_a_trigger,
}

/// Remove (no worker) → re-invite → accept: the session from before the removal stays
/// refused under the new membership, and the late job doesn't touch the new session.
async fn a_new_membership_revives_no_session_and_late_jobs_spare_the_new_one(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = user_id(&app, MIA).await;
    let old_session = app.sign_in(MIA).await;
    let removed = app.owner_mutates(REMOVE, json!({ "userIds": [mia] })).await;
    let offboarding_id = offboarding_id(ok(&removed));
    assert!(!can_act(&app, &old_session).await);

    let invited = owner_invites(&app, MIA, "MEMBER").await;
    let accepted = app
        .graphql(None, ACCEPT, json!({ "input": { "token": invited["invitationToken"], "name": "Mia Again", "password": rules::demo::DEMO_PASSWORD } }))
        .await;
    let new_session = data(&accepted)["acceptInvitation"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{accepted}"))
        .to_owned();
    assert!(can_act(&app, &new_session).await);
    assert!(
        !can_act(&app, &old_session).await,
        "a new membership must not revive a session of the removed one"
    );

    let worker = start_worker(&app).await;
    app.wait_until_succeeded(&offboarding_id, Duration::from_secs(60))
        .await;
    worker.stop().await;
    assert!(
        can_act(&app, &new_session).await,
        "the late end_sessions job spared the session made after the removal"
    );
    assert!(!can_act(&app, &old_session).await);
}

/// Remove with revokeApiKeys (no worker) → restore → sign in, create a key → the worker
/// runs the removal's jobs: the new session and key keep working.
async fn late_jobs_of_a_restored_removal_spare_what_came_after_it(app: TestApp) {
    late_jobs_of_an_undone_offboarding_spare_what_came_after_it(app, Offboarding::Removal).await;
}

/// Deactivate with revokeApiKeys (no worker) → reactivate → sign in, create a key → the
/// worker runs the deactivation's jobs: the new session and key keep working.
async fn late_jobs_of_a_reactivated_member_spare_what_came_after_it(app: TestApp) {
    late_jobs_of_an_undone_offboarding_spare_what_came_after_it(app, Offboarding::Deactivation)
        .await;
}

/// What is undone before the worker runs: a removal (then restored) or a deactivation (then
/// reactivated).
enum Offboarding {
    Removal,
    Deactivation,
}

/// Offboards Ada with revokeApiKeys (no worker) and undoes it; she signs in and creates a key;
/// then a worker runs the late jobs: the session and key made after the undo keep working,
/// those from before stay refused.
async fn late_jobs_of_an_undone_offboarding_spare_what_came_after_it(
    app: TestApp,
    offboarding: Offboarding,
) {
    give_all_contacts_to_the_owner(&app).await;
    let ada = user_id(&app, ADA).await;
    let old_session = app.sign_in(ADA).await;
    let old_key = create_api_key(&app, &old_session, "before", "ADMIN").await;
    let (offboard, input, undo) = match offboarding {
        Offboarding::Removal => {
            let input = json!({ "userIds": [ada], "revokeApiKeys": true });
            (REMOVE, input, RESTORE)
        }
        Offboarding::Deactivation => {
            let input = json!({ "userId": ada, "revokeApiKeys": true });
            (DEACTIVATE, input, REACTIVATE)
        }
    };
    let offboarded = app.owner_mutates(offboard, input).await;
    let offboarding_id = offboarding_id(ok(&offboarded));
    ok(&app.owner_mutates(undo, json!({ "userId": ada })).await);
    let new_session = app.sign_in(ADA).await;
    let new_key = create_api_key(&app, &new_session, "after", "ADMIN").await;

    let worker = start_worker(&app).await;
    app.wait_until_succeeded(&offboarding_id, Duration::from_secs(60))
        .await;
    worker.stop().await;
    for token in [&new_session, &new_key] {
        assert!(
            can_act(&app, token).await,
            "made after the undo, it survives the late job"
        );
    }
    for token in [&old_session, &old_key] {
        assert!(!can_act(&app, token).await, "made before, it stays refused");
    }
}

/// A person whose name holds CR/LF (or whose address can't be parsed), written by SQL past
/// the API: their removal email can never be built, so the job is DEAD on its first
/// attempt with the reason, the worker keeps running, and the rest of the removal is done.
async fn an_email_that_can_never_be_sent_is_dead_at_once(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = user_id(&app, MIA).await;
    let max = user_id(&app, MAX).await;
    for (who, column, value) in [
        (mia, user::Column::Name, "Eve\r\nBcc: x@x.test"),
        (max, user::Column::Email, "a@b@c.com"),
    ] {
        user::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .filter(user::Column::Id.eq(who))
            .exec(app.db())
            .await
            .unwrap();
    }
    let removed = app
        .owner_mutates(REMOVE, json!({ "userIds": [mia, max] }))
        .await;
    let failing = offboarding_id(ok(&removed));
    let offboarding = app
        .wait_for_offboarding(&failing, Duration::from_secs(30))
        .await;
    assert_eq!(offboarding["status"], "FAILED", "{offboarding}");
    let jobs = offboarding["jobs"].as_array().unwrap();
    let emails: Vec<&Answer> = jobs
        .iter()
        .filter(|job| job["kind"] == "SEND_REMOVAL_EMAIL")
        .collect();
    assert_eq!(emails.len(), 2);
    for email in emails {
        assert_eq!(email["status"], "DEAD", "{email}");
        assert_eq!(
            email["attempts"], 1,
            "no retry for what can never succeed: {email}"
        );
        assert!(
            email["lastError"]
                .as_str()
                .unwrap()
                .starts_with("undeliverable"),
            "{email}"
        );
    }
    assert!(
        jobs.iter()
            .filter(|job| job["kind"] != "SEND_REMOVAL_EMAIL")
            .all(|job| job["status"] == "SUCCEEDED"),
        "{offboarding}"
    );

    // The worker is still serving: the next removal's side effects are carried out.
    let gus = user_id(&app, GUS).await;
    let next = app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await;
    app.wait_until_succeeded(&offboarding_id(ok(&next)), Duration::from_secs(60))
        .await;
}

/// A job whose offboarding row can't be read (its kind written by an older release still
/// running) is DEAD on its first attempt, named as such, not claimed again forever.
async fn a_job_of_an_unreadable_offboarding_is_dead_at_once(app: TestApp) {
    let offboarding = gus_removed_and_done(&app).await;
    let job: Uuid = offboarding["jobs"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let offboarding_id = outbox::Entity::find_by_id(job)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .offboarding_id;
    offboarding::Entity::update_many()
        .col_expr(offboarding::Column::Kind, Expr::value("invite_member"))
        .filter(offboarding::Column::Id.eq(offboarding_id))
        .exec(app.db())
        .await
        .unwrap();
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(entities::OutboxStatus::Dead),
        )
        .filter(outbox::Column::Id.eq(job))
        .exec(app.db())
        .await
        .unwrap();
    let retried = platform::outbox::retry_dead(app.db(), job, chrono::Utc::now())
        .await
        .unwrap();
    assert!(retried.is_some());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let row = outbox::Entity::find_by_id(job)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        if row.status == entities::OutboxStatus::Dead {
            break row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {:?}",
            row.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead.attempts, 1, "one attempt, not a loop");
    let error = dead.last_error.unwrap_or_default();
    assert!(
        error.starts_with("job payload: its offboarding row"),
        "{error}"
    );
}

/// A row whose payload can't be read (written by an older or broken release) is DEAD on its
/// first attempt, named as such.
async fn an_unreadable_payload_is_dead_at_once(app: TestApp) {
    let gus = user_id(&app, GUS).await;
    let removed = app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await;
    let offboarding_id: Uuid = offboarding_id(ok(&removed)).parse().unwrap();
    app.wait_until_succeeded(&offboarding_id.to_string(), Duration::from_secs(60))
        .await;
    let now = chrono::Utc::now();
    let id = Uuid::now_v7();
    outbox::Entity::insert(outbox::ActiveModel {
        id: sea_orm::Set(id),
        offboarding_id: sea_orm::Set(offboarding_id),
        kind: sea_orm::Set("send_removal_email".into()),
        payload: sea_orm::Set(json!({ "kind": "no_such_job" })),
        status: sea_orm::Set(entities::OutboxStatus::Pending),
        attempts: sea_orm::Set(0),
        last_error: sea_orm::Set(None),
        available_at: sea_orm::Set(now),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
        completed_at: sea_orm::Set(None),
    })
    .exec_without_returning(app.db())
    .await
    .unwrap();
    // Nobody hands it over: the relay finds it.
    let offboarding = app
        .wait_for_offboarding(&offboarding_id.to_string(), Duration::from_secs(30))
        .await;
    let job = offboarding["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(job["status"], "DEAD", "{offboarding}");
    assert_eq!(job["attempts"], 1);
    assert!(
        job["lastError"]
            .as_str()
            .unwrap()
            .starts_with("job payload"),
        "{job}"
    );
    assert!(
        offboarding::Entity::find_by_id(offboarding_id)
            .one(app.db())
            .await
            .unwrap()
            .is_some()
    );
}

/// 10,000 members in one call, on PostgreSQL + Redis with default settings: every job runs
/// (apalis-redis alone wedged above ~8,000 queued jobs) and every email is sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_removal_of_10_000_members_runs_every_job_with_default_settings() {
    let app = tests::spawn_app(tests::Backend::Postgres).await;
    let members = tests::add_members(&app, 10_000).await;
    let removed = app
        .owner_mutates(REMOVE, json!({ "userIds": members }))
        .await;
    let offboarding_id = offboarding_id(ok(&removed));
    let offboarding = app
        .wait_for_offboarding(&offboarding_id, Duration::from_secs(600))
        .await;
    assert_eq!(
        offboarding["status"], "SUCCEEDED",
        "{}",
        offboarding["summary"]
    );
    assert_eq!(
        offboarding["summary"]["succeeded"],
        offboarding["summary"]["total"]
    );
    let email_jobs = app.email_job_ids(&[offboarding_id.parse().unwrap()]).await;
    assert_eq!(email_jobs.len(), 10_000);
    let sent = app.sent_message_ids();
    let missing = email_jobs
        .iter()
        .filter(|id| !sent.contains_key(*id))
        .count();
    assert_eq!(missing, 0, "every removed member got their email");
    let duplicates = email_jobs
        .iter()
        .filter(|id| sent.get(*id).is_some_and(|copies| *copies > 1))
        .count();
    assert_eq!(duplicates, 0, "and only once");
}

backend_tests! {
    a_key_made_while_the_removal_committed_is_revoked_by_the_job => no_worker,
}

/// A key the removed person created while their removal was committing (after the
/// mutation's own `now`, so the mutation didn't see it) is still revoked by the late job:
/// they never regained access, so the job acts on everything they have.
async fn a_key_made_while_the_removal_committed_is_revoked_by_the_job(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let ada = user_id(&app, ADA).await;
    let removed = app
        .owner_mutates(REMOVE, json!({ "userIds": [ada], "revokeApiKeys": true }))
        .await;
    let offboarding_id: Uuid = offboarding_id(ok(&removed)).parse().unwrap();
    let offboarding = offboarding::Entity::find_by_id(offboarding_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let racing_key = entities::api_key::ActiveModel::new(
        app.demo.workspace_id,
        ada,
        "racing".into(),
        entities::Role::Admin,
        "ofk_race".into(),
        "racing-key-hash".into(),
        offboarding.created_at + chrono::Duration::milliseconds(1),
    )
    .insert(app.db())
    .await
    .unwrap()
    .id;

    let worker = start_worker(&app).await;
    app.wait_until_succeeded(&offboarding_id.to_string(), Duration::from_secs(60))
        .await;
    worker.stop().await;
    let key = entities::api_key::Entity::find_by_id(racing_key)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(
        key.revoked_at.is_some() && key.revoked_reason.is_some(),
        "{key:?}"
    );
}

/// The states of a job, oldest first, as `offboardingProgress` reads them.
async fn history(app: &TestApp, job_id: Uuid) -> Vec<(String, i32)> {
    entities::job_event::Entity::find()
        .filter(entities::job_event::Column::OutboxId.eq(job_id))
        .order_by_asc(entities::job_event::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.status.to_value(), event.attempts))
        .collect()
}

/// Gus removed, and the removal's offboarding once every job SUCCEEDED.
async fn gus_removed_and_done(app: &TestApp) -> Answer {
    give_all_contacts_to_the_owner(app).await;
    let gus = user_id(app, GUS).await;
    let removed = app.owner_mutates(REMOVE, json!({ "userIds": [gus] })).await;
    app.wait_until_succeeded(&offboarding_id(ok(&removed)), Duration::from_secs(60))
        .await
}

/// Written, handed to the queue, claimed for its first attempt, done: each state once, in
/// order, from the outbox's own code.
async fn a_job_s_history_is_every_state_it_went_through(app: TestApp) {
    let offboarding = gus_removed_and_done(&app).await;
    for job in offboarding["jobs"].as_array().unwrap() {
        let id = job["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            history(&app, id).await,
            [
                ("PENDING".to_owned(), 0),
                ("QUEUED".to_owned(), 0),
                ("QUEUED".to_owned(), 1),
                ("SUCCEEDED".to_owned(), 1),
            ],
            "{job}"
        );
    }
}

/// Migration 000013 drops the trigger that wrote the events: a row changed behind the code's
/// back gets none (and its `down` brings the trigger back for the code before it).
async fn job_events_are_written_by_the_outbox_code_not_a_trigger(app: TestApp) {
    use migration::{Migrator, MigratorTrait};

    let offboarding = gus_removed_and_done(&app).await;
    let job: Uuid = offboarding["jobs"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let by_hand = |status: entities::OutboxStatus| {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value(status))
            .filter(outbox::Column::Id.eq(job))
    };
    let before = history(&app, job).await;
    by_hand(entities::OutboxStatus::Dead)
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(
        history(&app, job).await,
        before,
        "no trigger writes an event"
    );

    crate::support::undo_migrations_from(&app, "m20261207_000013_job_events_in_rust").await;
    by_hand(entities::OutboxStatus::Succeeded)
        .exec(app.db())
        .await
        .unwrap();
    let after = history(&app, job).await;
    assert_eq!(
        (after.len(), after.last()),
        (before.len() + 1, Some(&("SUCCEEDED".to_owned(), 1))),
        "the trigger is back below 000013: DEAD → SUCCEEDED recorded"
    );
    Migrator::up(app.db(), None).await.unwrap();
}
