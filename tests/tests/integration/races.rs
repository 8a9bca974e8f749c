//! Races forced to happen. Two requests started with `tokio::join!` rarely overlap inside the
//! database, so a test like that passes without the lock it is about. Here the test itself
//! holds the workspace row's lock, starts the calls, waits until PostgreSQL shows them waiting
//! (`pg_stat_activity`), and only then lets them go: the calls really overlap, and a call that
//! doesn't wait where it should fails the test. PostgreSQL only: the embedded SQLite backend
//! has one writer connection, which runs transactions one after the other by construction.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Value, json};
use tests::{Answer, Backend, Fetch, TestApp, data, user_error_codes};

use crate::support::{DEACTIVATE, GUS, MAX, OMAR, REMOVE, people};

/// The workspace row locked by the test, as a call changing owners locks it.
async fn hold_workspace_lock(app: &TestApp) -> DatabaseTransaction {
    hold_row_lock(app, "workspace", app.demo.workspace_id).await
}

/// A row of `table` locked by the test until the transaction returned ends.
async fn hold_row_lock(
    app: &TestApp,
    table: &str,
    id: impl std::fmt::Display,
) -> DatabaseTransaction {
    let txn = app.db().begin().await.unwrap();
    txn.execute_unprepared(&format!(
        "SELECT id FROM {table} WHERE id = '{id}' FOR UPDATE"
    ))
    .await
    .unwrap();
    txn
}

/// The `n` a `SELECT count(*) AS n …` answers.
async fn count_of(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db()
        .query_one_raw(sea_orm::Statement::from_string(
            app.db().get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .expect("a count");
    row.try_get("", "n").unwrap()
}

/// Waits until `count` sessions of the test's database wait on a lock, or fails.
async fn wait_for_waiters(app: &TestApp, count: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let waiting = count_of(
            app,
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await;
        if waiting >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {waiting} waiting, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a mutation from a task of its own, so the test can go on while it waits.
fn send(
    app: &TestApp,
    token: &str,
    document: &str,
    input: Value,
) -> tokio::task::JoinHandle<Answer> {
    let request = app
        .client
        .post(app.graphql_url())
        .bearer_auth(token)
        .json(&json!({ "query": document, "variables": { "input": input } }));
    tokio::spawn(async move { request.answer().await })
}

/// Two owners deactivate each other at the same moment. Without the workspace lock both would
/// see the other still active and both succeed, leaving the workspace with no active owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn two_owners_deactivating_each_other_wait_on_the_workspace_lock() {
    let app = tests::spawn_app(Backend::Postgres).await;
    let [olivia, omar] = people(&app, [crate::support::OLIVIA, OMAR]).await;
    let omar_token = app.sign_in(OMAR).await;
    let ws = app.demo.workspace_id;
    let held = hold_workspace_lock(&app).await;
    let first = send(
        &app,
        app.owner_token(),
        DEACTIVATE,
        json!({ "workspaceId": ws, "userId": omar }),
    );
    let second = send(
        &app,
        &omar_token,
        DEACTIVATE,
        json!({ "workspaceId": ws, "userId": olivia }),
    );
    wait_for_waiters(&app, 2, "both calls wait for the workspace lock").await;
    held.rollback().await.unwrap();
    let answers = [first.await.unwrap(), second.await.unwrap()];
    let succeeded = answers
        .iter()
        .filter(|answer| {
            !answer.has_errors() && user_error_codes(&data(answer)["deactivateUser"]).is_empty()
        })
        .count();
    assert_eq!(succeeded, 1, "exactly one wins: {answers:?}");
    let active_owners = count_of(
        &app,
        &format!(
            "SELECT count(*) AS n FROM membership WHERE workspace_id = '{ws}' \
             AND role = 'OWNER' AND status = 'ACTIVE' AND deleted_at IS NULL"
        ),
    )
    .await;
    assert_eq!(active_owners, 1);
}

/// A client retries while its first call still runs: the second call must wait for the first
/// one's claim on the key and answer its answer, not run the removal again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_retry_during_the_first_call_waits_for_its_claim_and_answers_its_answer() {
    let app = tests::spawn_app_with(Backend::Postgres, crate::support::no_worker).await;
    let [gus, max] = people(&app, [GUS, MAX]).await;
    let input = json!({
        "workspaceId": app.demo.workspace_id,
        "userIds": [gus, max],
        "idempotencyKey": "retry-while-running",
    });
    let held = hold_workspace_lock(&app).await;
    let first = send(&app, app.owner_token(), REMOVE, input.clone());
    wait_for_waiters(
        &app,
        1,
        "the first call holds its claim and waits for the workspace",
    )
    .await;
    let second = send(&app, app.owner_token(), REMOVE, input);
    wait_for_waiters(&app, 2, "the retry waits for the first call's claim").await;
    held.rollback().await.unwrap();
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    let payload = &data(&first)["removeMembers"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{first}");
    assert_eq!(first, second, "one answer for both");
    let offboardings = count_of(&app, "SELECT count(*) AS n FROM offboarding").await;
    assert_eq!(offboardings, 1, "the removal ran once");
}

/// Two invitations for the organization's last seat at the same moment: one gets it, the other
/// is SEAT_LIMIT_REACHED. Invitations take the organization's lock before counting seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn two_invitations_for_the_last_seat_get_one_seat() {
    let app = tests::spawn_app(Backend::Postgres).await;
    let org = app.demo.organization_id;
    let answer = app
        .as_owner(
            "query($org: UUID!) { seatUsage(organizationId: $org) { used } }",
            json!({ "org": org }),
        )
        .await;
    let used = data(&answer)["seatUsage"]["used"].as_u64().unwrap();
    app.db()
        .execute_unprepared(&format!(
            "UPDATE organization SET seat_limit = {} WHERE id = '{org}'",
            used + 1
        ))
        .await
        .unwrap();
    let held = hold_row_lock(&app, "organization", org).await;
    let invite = |email: &str| {
        send(
            &app,
            app.owner_token(),
            crate::support::INVITE,
            json!({ "workspaceId": app.demo.workspace_id, "email": email, "role": "MEMBER" }),
        )
    };
    let (first, second) = (invite("first@acme.test"), invite("second@acme.test"));
    wait_for_waiters(&app, 2, "both invitations wait for the organization's lock").await;
    held.rollback().await.unwrap();
    let answers = [first.await.unwrap(), second.await.unwrap()];
    let mut codes: Vec<Vec<&str>> = answers
        .iter()
        .map(|answer| user_error_codes(&data(answer)["inviteMember"]))
        .collect();
    codes.sort();
    assert_eq!(codes, [vec![], vec!["SEAT_LIMIT_REACHED"]], "{answers:?}");
}

/// A deadlock is retried, not answered INTERNAL. The test makes one: it holds Mia's sessions,
/// an `endSessions` of hers takes the workspace's lock and waits for them, and then the test
/// asks for the workspace's lock. PostgreSQL aborts the call's transaction (the test's own
/// waits 10 s before looking for a deadlock); the api runs it again, which waits until the test
/// lets go, and answers as if nothing had happened. `transaction_conflicts_total` counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn a_deadlocked_mutation_is_run_again_and_succeeds() {
    let app = tests::spawn_app(Backend::Postgres).await;
    let [mia] = people(&app, [crate::support::MIA]).await;
    app.sign_in(crate::support::MIA).await;
    let ws = app.demo.workspace_id;
    let retried_before = conflicts_counted(&app, "endSessions", "retried").await;
    let held = app.db().begin().await.unwrap();
    held.execute_unprepared("SET LOCAL deadlock_timeout = '10s'")
        .await
        .unwrap();
    held.execute_unprepared(&format!(
        "SELECT id FROM session WHERE user_id = '{mia}' FOR UPDATE"
    ))
    .await
    .unwrap();
    let call = send(
        &app,
        app.owner_token(),
        "mutation($input: EndSessionsInput!) { endSessions(input: $input) {
           sessionsEnded userErrors { code } } }",
        json!({ "workspaceId": ws, "userId": mia }),
    );
    wait_for_waiters(
        &app,
        1,
        "the call holds the workspace and waits for the sessions",
    )
    .await;
    held.execute_unprepared(&format!(
        "SELECT id FROM workspace WHERE id = '{ws}' FOR NO KEY UPDATE"
    ))
    .await
    .expect("the call's transaction was the one aborted");
    wait_for_waiters(&app, 1, "the call, run again, waits for the workspace").await;
    held.rollback().await.unwrap();
    let answer = call.await.unwrap();
    let payload = &data(&answer)["endSessions"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{answer}");
    assert_eq!(payload["sessionsEnded"].as_u64(), Some(1), "{answer}");
    assert!(
        conflicts_counted(&app, "endSessions", "retried").await > retried_before,
        "the retry is counted"
    );
}

/// `transaction_conflicts_total{operation, outcome}` as `/metrics` shows it (0 when absent).
async fn conflicts_counted(app: &TestApp, operation: &str, outcome: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let wanted =
        format!("transaction_conflicts_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map_or(0, |count| count.trim().parse().unwrap())
}

/// A new person invited to two workspaces accepts both invitations at the same moment with two
/// different passwords. Each acceptance hashes its password before taking any lock; both then
/// wait for the person's row (held by the test). The first sets the password; the second must
/// find it set and prove it, not overwrite it: it is refused (PASSWORD_MISMATCH), and the
/// accepted password is the one that signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn two_acceptances_of_a_new_account_at_once_never_overwrite_its_password() {
    let app = tests::spawn_app(Backend::Postgres).await;
    let research = crate::access::research_workspace(&app).await;
    let olivia_in_research = app.sign_in_to(research, crate::support::OLIVIA).await;
    let email = "twice.new@acme.test";
    let invite = async |token: &str, workspace| {
        let input = json!({ "workspaceId": workspace, "email": email, "role": "MEMBER" });
        let payload = app.mutate(token, crate::support::INVITE, input).await;
        payload["invitationToken"]
            .as_str()
            .expect("a link")
            .to_owned()
    };
    let marketing_link = invite(app.owner_token(), app.demo.workspace_id).await;
    let research_link = invite(&olivia_in_research, research).await;
    let person = tests::user_id(&app, email).await;
    let held = hold_row_lock(&app, "\"user\"", person).await;
    let accept = |link: &str, password: &str| {
        let request = app.client.post(app.graphql_url()).json(&json!({
            "query": "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
                token userErrors { code } } }",
            "variables": { "input": { "token": link, "password": password } },
        }));
        tokio::spawn(async move { request.answer().await })
    };
    let first = accept(&marketing_link, "first-password");
    let second = accept(&research_link, "second-password");
    wait_for_waiters(&app, 2, "both acceptances wait for the person's row").await;
    held.rollback().await.unwrap();
    let answers = [first.await.unwrap(), second.await.unwrap()];
    let codes: Vec<Vec<&str>> = answers
        .iter()
        .map(|answer| user_error_codes(&data(answer)["acceptInvitation"]))
        .collect();
    let accepted = codes.iter().position(Vec::is_empty).expect("one accepts");
    assert_eq!(
        codes[1 - accepted],
        ["PASSWORD_MISMATCH"],
        "the other finds the password set: {answers:?}"
    );
    let (password, workspace) = if accepted == 0 {
        ("first-password", app.demo.workspace_id)
    } else {
        ("second-password", research)
    };
    let signed_in = app
        .graphql(
            None,
            "mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code } } }",
            json!({ "input": { "workspaceId": workspace, "email": email, "password": password } }),
        )
        .await;
    assert!(
        data(&signed_in)["signIn"]["token"].is_string(),
        "the accepted password signs in: {signed_in}"
    );
}
