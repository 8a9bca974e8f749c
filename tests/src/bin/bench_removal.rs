//! Measures removal over HTTP with the real application: 16 clients removing one member per
//! call at once (beside its baseline, on PostgreSQL), one member per call, 10,000 members in one
//! call, and the time from a mutation's answer to its offboarding being SUCCEEDED.
//!
//!   cargo run --release -p tests --bin bench-removal -- postgres [concurrent|one-call]
//!   cargo run --release -p tests --bin bench-removal -- sqlite [concurrent|one-call]
//!
//! `concurrent` runs only the first measure; `one-call` only the 10,000 members' preview and
//! removal, the preview's time given as a ratio to the removal's. Its baseline is pgbench running the minimal removal
//! (the workspace locked FOR UPDATE, the membership soft-deleted, one audit row, one outbox row)
//! over as many connections, on the same database; rounds alternate, the ratio is per round.
//!
//! Results are written down in docs/BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap stops the run with its cause"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};
use secrecy::ExposeSecret;
use serde_json::json;
use tests::{Backend, TestApp, add_members, data, spawn_app, spawn_app_with};

const REMOVE: &str = "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) {
  offboarding { id } userErrors { code } } }";

async fn remove(app: &TestApp, user_ids: &[entities::UserId]) -> (Duration, String) {
    let started = Instant::now();
    let answer = app
        .graphql(
            Some(app.owner_token()),
            REMOVE,
            json!({ "input": { "workspaceId": app.demo.workspace_id, "userIds": user_ids } }),
        )
        .await;
    let elapsed = started.elapsed();
    let payload = &data(&answer)["removeMembers"];
    assert_eq!(payload["userErrors"], json!([]), "{answer}");
    (
        elapsed,
        payload["offboarding"]["id"].as_str().unwrap().to_owned(),
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
}

/// Clients removing at once, each call in the same workspace, so each waits for its lock.
const CLIENTS: usize = 16;
const ROUNDS: usize = 3;
const REMOVALS_PER_ROUND: usize = 1_000;

#[tokio::main]
async fn main() {
    let backend = Backend::from_args("bench-removal");
    let only = std::env::args().nth(2);
    if only.as_deref() != Some("one-call") {
        concurrent(backend).await;
    }
    if only.as_deref() == Some("concurrent") {
        return;
    }
    let app = spawn_app(backend).await;
    println!("backend: {backend:?}");
    if only.as_deref() != Some("one-call") {
        one_at_a_time(&app).await;
    }
    one_call(&app).await;
}

/// 20 removals of one member, each followed to SUCCEEDED.
async fn one_at_a_time(app: &TestApp) {
    let singles = add_members(app, 20).await;
    let mut call = Vec::new();
    let mut settled = Vec::new();
    for id in singles {
        let (elapsed, offboarding) = remove(app, &[id]).await;
        let returned = Instant::now();
        let result = app
            .wait_for_offboarding(&offboarding, Duration::from_secs(60))
            .await;
        assert_eq!(result["status"], "SUCCEEDED", "{result}");
        settled.push(returned.elapsed());
        call.push(elapsed);
    }
    println!(
        "remove 1 member, one call (median of 20): {}",
        ms(median(call))
    );
    println!(
        "answer -> offboarding SUCCEEDED, 1 member (median of 20, polled every 100 ms): {}",
        ms(median(settled))
    );
}

const PREVIEW: &str =
    "query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) {
  canRemove members { userId name email status role loses { workspaceName groups }
    preserved { otherWorkspaces otherOrganizations } seatFreed
    contactDuties { duty applicationId applicationName } campaignsToReattribute
    apiKeysToRevoke rulesKeepRunning blockers { code message field userId } } } }";

/// 10,000 members previewed (every field the People page's dialog reads), then removed, in one
/// call each; then the removal's side effects followed to SUCCEEDED.
async fn one_call(app: &TestApp) {
    let many = add_members(app, 10_000).await;
    let started = Instant::now();
    let previewed = app
        .graphql_request(
            Some(app.owner_token()),
            PREVIEW,
            json!({ "ws": app.demo.workspace_id, "ids": many }),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let preview = started.elapsed();
    let answer: tests::Answer = serde_json::from_slice(&previewed).unwrap();
    assert_eq!(
        data(&answer)["removalPreview"]["canRemove"],
        true,
        "{answer}"
    );
    let (elapsed, offboarding) = remove(app, &many).await;
    println!(
        "preview 10,000 members, one call: {} ({} bytes), {:.2} times the removal's time",
        ms(preview),
        previewed.len(),
        preview.as_secs_f64() / elapsed.as_secs_f64()
    );
    println!("remove 10,000 members, one call: {}", ms(elapsed));
    let returned = Instant::now();
    let result = app
        .wait_for_offboarding(&offboarding, Duration::from_secs(900))
        .await;
    println!(
        "answer -> offboarding SUCCEEDED, 10,000 members ({} jobs): {} ({})",
        result["summary"]["total"],
        ms(returned.elapsed()),
        result["status"]
    );
}

/// 16 clients removing one member per call at once, all in one workspace, so every removal
/// waits for the workspace's lock: the rate is set by how long a removal holds it.
async fn concurrent(backend: Backend) {
    // The product's default: with Redis the API runs no worker (workers are their own
    // processes), embedded it runs one inside.
    let app = Arc::new(
        spawn_app_with(backend, |config| {
            config.in_process_worker = backend == Backend::Sqlite;
        })
        .await,
    );
    let members = add_members(&app, (ROUNDS + 1) * REMOVALS_PER_ROUND).await;
    let statements = removal_statements(&app, members[0]).await;
    println!(
        "one removal's transaction (PostgreSQL round trips or SQLite statements): {} statements",
        statements.len()
    );
    for statement in &statements {
        println!("  {}", statement.chars().take(140).collect::<String>());
    }
    let (warm_up, rounds) = members.split_at(REMOVALS_PER_ROUND);
    let warm_up: Vec<_> = warm_up.iter().skip(1).copied().collect();
    remove_at_once(&app, warm_up).await;
    let targets = match backend {
        Backend::Postgres => Some(pgbench_targets(&app).await),
        Backend::Sqlite => None,
    };
    let mut ratios = Vec::new();
    for (round, ids) in rounds.chunks(REMOVALS_PER_ROUND).enumerate() {
        let (rate, p50, p99) = remove_at_once(&app, ids.to_vec()).await;
        print!(
            "round {}: removeMembers of 1, {CLIENTS} clients: {rate:.0} removals/s, p50 {}, p99 {}",
            round + 1,
            ms(p50),
            ms(p99)
        );
        if let Some(targets) = &targets {
            let baseline = pgbench_minimal_removal(&app, targets);
            println!(
                "; pgbench minimal removal, {CLIENTS} clients: {baseline:.0} tps; ratio {:.2}",
                rate / baseline
            );
            ratios.push(rate / baseline);
        } else {
            println!();
        }
    }
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        println!(
            "ratio (service ÷ pgbench minimal removal), median of {ROUNDS}: {:.2}",
            ratios[ratios.len() / 2]
        );
    }
}

/// Removes each member in its own call, `CLIENTS` calls at a time: removals per second, p50, p99.
async fn remove_at_once(
    app: &Arc<TestApp>,
    ids: Vec<entities::UserId>,
) -> (f64, Duration, Duration) {
    let count = ids.len();
    let queue = Arc::new(Mutex::new(ids));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (app, queue) = (app.clone(), queue.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let Some(id) = queue.lock().unwrap().pop() else {
                        return times;
                    };
                    times.push(remove(&app, &[id]).await.0);
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(count);
    for client in clients {
        times.extend(client.await.unwrap());
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    times.sort();
    (rate, times[count / 2], times[count * 99 / 100])
}

/// The statements one removal of one member sends in its transaction (rolled back).
async fn removal_statements(app: &TestApp, user_id: entities::UserId) -> Vec<String> {
    let principal = rules::access::authenticate(app.db(), app.owner_token(), chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let statements = Arc::new(Mutex::new(Vec::new()));
    let recorded = statements.clone();
    let mut db = app.db().clone();
    db.set_metric_callback(move |info| recorded.lock().unwrap().push(info.statement.to_string()));
    let txn = db.begin().await.unwrap();
    tests::remove_in_process(app, &txn, &principal, vec![user_id], false)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    txn.rollback().await.unwrap();
    std::mem::take(&mut *statements.lock().unwrap())
}

/// Members added for pgbench alone, numbered so its script picks one at random; and an
/// offboarding its outbox rows belong to.
struct PgbenchTargets {
    count: usize,
    workspace_id: uuid::Uuid,
    owner_id: uuid::Uuid,
    offboarding_id: uuid::Uuid,
}

async fn pgbench_targets(app: &TestApp) -> PgbenchTargets {
    let count = 20_000;
    let ids = add_members(app, count).await;
    let db = app.db();
    db.execute_unprepared(
        "CREATE TABLE bench_removal_target (n integer PRIMARY KEY, membership_id uuid NOT NULL)",
    )
    .await
    .unwrap();
    for chunk in ids.chunks(1_000) {
        let list: Vec<String> = chunk.iter().map(|id| format!("'{}'", id.0)).collect();
        db.execute_unprepared(&format!(
            "INSERT INTO bench_removal_target (n, membership_id) \
             SELECT (SELECT count(*) FROM bench_removal_target) + row_number() OVER (), id \
             FROM membership WHERE user_id IN ({}) AND workspace_id = '{}'",
            list.join(","),
            app.demo.workspace_id.0
        ))
        .await
        .unwrap();
    }
    let owner_id: uuid::Uuid = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id FROM \"user\" WHERE email = '{}'",
                app.demo.owner_email
            ),
        ))
        .await
        .unwrap()
        .expect("the demo owner")
        .try_get("", "id")
        .unwrap();
    let offboarding_id = uuid::Uuid::now_v7();
    db.execute_unprepared(&format!(
        "INSERT INTO offboarding (id, workspace_id, actor_user_id, kind, created_at) \
         VALUES ('{offboarding_id}', '{}', '{owner_id}', 'remove_members', now())",
        app.demo.workspace_id.0
    ))
    .await
    .unwrap();
    db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    PgbenchTargets {
        count,
        workspace_id: app.demo.workspace_id.0,
        owner_id,
        offboarding_id,
    }
}

/// Transactions per second of the minimal removal, run by pgbench over `CLIENTS` connections
/// for 5 s: each its own round trip, as a hand-written client would send them.
fn pgbench_minimal_removal(app: &TestApp, targets: &PgbenchTargets) -> f64 {
    let PgbenchTargets {
        count,
        workspace_id,
        owner_id,
        offboarding_id,
    } = targets;
    let script = format!(
        "\\set n random(1, {count})
BEGIN;
SELECT id FROM workspace WHERE id = '{workspace_id}' FOR UPDATE;
UPDATE membership SET deleted_at = now(), removed_by = '{owner_id}', sessions_valid_after = now() WHERE id = (SELECT membership_id FROM bench_removal_target WHERE n = :n);
INSERT INTO audit_entry (id, workspace_id, actor_user_id, action, target_user_id, metadata, created_at) SELECT gen_random_uuid(), '{workspace_id}', '{owner_id}', 'team_membership_remove', user_id, '{{}}', now() FROM membership WHERE id = (SELECT membership_id FROM bench_removal_target WHERE n = :n);
WITH job AS (INSERT INTO outbox (id, offboarding_id, kind, payload, status, attempts, available_at, created_at, updated_at) VALUES (gen_random_uuid(), '{offboarding_id}', 'send_removal_email', '{{}}', 'PENDING', 0, now(), now(), now()) RETURNING id, offboarding_id, created_at) INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, created_at) SELECT id, offboarding_id, 'PENDING', 0, created_at FROM job;
END;
"
    );
    let path = std::env::temp_dir().join(format!("bench-removal-{}.sql", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let output = std::process::Command::new("pgbench")
        .args(["-n", "-c", &CLIENTS.to_string(), "-j", "2", "-T", "5", "-f"])
        .arg(&path)
        .arg(app.config.worker.database.url.expose_secret())
        .output()
        .expect("pgbench runs (postgresql-client)");
    std::fs::remove_file(&path).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {stdout}"))
}
