//! Measures the members list on a workspace of 100,000 members: a page of 50 with and without a
//! search term, over HTTP (p50 and p99 of 200 requests, one at a time), and the SQL statements
//! one page runs.
//!
//!   cargo run --release -p tests --bin bench-members -- postgres
//!   cargo run --release -p tests --bin bench-members -- sqlite
//!
//! Results are written down in docs/BENCHMARKS.md.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::json;
use tests::{Backend, TestApp, add_members, counting_connection, data, spawn_app};

const MEMBERS: &str = "query($ws: UUID!, $search: String, $after: String) {
  members(workspaceId: $ws, filter: { search: $search }, first: 50, after: $after) {
    totalCount pageInfo { endCursor } edges { node { user { email name } role status groups { name } } } } }";
const MEMBERS_COUNT: usize = 100_000;
const RUNS: usize = 200;

async fn page(
    app: &TestApp,
    search: Option<&str>,
    after: Option<&str>,
) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let answer = app
        .graphql(
            Some(app.owner_token()),
            MEMBERS,
            json!({ "ws": app.demo.workspace_id, "search": search, "after": after }),
        )
        .await;
    let elapsed = started.elapsed();
    (elapsed, data(&answer)["members"].clone().into_value())
}

/// p50, p99, and the last answer's total and rows.
async fn percentiles(
    app: &TestApp,
    search: Option<&str>,
    after: Option<&str>,
) -> (Duration, Duration, u64, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = serde_json::Value::Null;
    for _ in 0..RUNS {
        let (elapsed, members) = page(app, search, after).await;
        times.push(elapsed);
        last = members;
    }
    times.sort();
    (
        times[RUNS / 2],
        times[RUNS * 99 / 100],
        last["totalCount"].as_u64().unwrap(),
        last["edges"].as_array().unwrap().len(),
    )
}

#[tokio::main]
async fn main() {
    let backend = match std::env::args().nth(1).as_deref() {
        Some("postgres") => Backend::Postgres,
        Some("sqlite") => Backend::Sqlite,
        _ => panic!("usage: bench-members postgres|sqlite"),
    };
    let app = spawn_app(backend).await;
    let seeding = Instant::now();
    let ids = add_members(&app, MEMBERS_COUNT).await;
    println!(
        "seeded {MEMBERS_COUNT} members in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    // Statistics as a database in service has them (autovacuum gathers them in a while).
    app.db().execute_unprepared("ANALYZE").await.unwrap();

    let middle = ids[MEMBERS_COUNT / 2].0.simple().to_string();
    let one = &middle[8..20];
    let three = &middle[10..13];
    let (_, first_page) = page(&app, None, None).await;
    let cursor = first_page["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for (label, search, after) in [
        ("first page, no search", None, None),
        ("second page, no search", None, Some(cursor.as_str())),
        ("search matching all (\"bench\")", Some("bench"), None),
        ("search by name (\"Bench Mem\")", Some("Bench Mem"), None),
        ("search, 12 characters inside one email", Some(one), None),
        ("search, 3 characters inside some emails", Some(three), None),
        ("search matching nobody", Some("zzz-nobody"), None),
        ("search, 2 characters matching nobody", Some("zq"), None),
    ] {
        let (p50, p99, total, rows) = percentiles(&app, search, after).await;
        println!(
            "{label}: p50 {:.1} ms, p99 {:.1} ms (total {total}, {rows} rows)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }

    let principal = api::access::authenticate(app.db(), app.owner_token(), chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let (db, statements) = counting_connection(&app);
    let filter = api::people::members::MemberFilter {
        search: Some(<api::text::SearchText as api::text::CheckedText>::parse("bench").unwrap()),
        statuses: None,
    };
    api::people::members::list_members(&db, &principal, app.demo.workspace_id, &filter, 50, None)
        .await
        .unwrap();
    println!(
        "statements for one page of 50 with a search: {}",
        statements.load(Ordering::SeqCst)
    );
}
