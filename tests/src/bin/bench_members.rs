//! Measures the members list on a workspace of 100,000 members: a page of 50 with and without a
//! search term, over HTTP (p50 and p99 of 200 requests, one at a time), and the SQL statements
//! one page runs. On PostgreSQL, the baseline: the same statements, values written in, run by
//! pgbench on one connection, and the ratio of the two.
//!
//!   cargo run --release -p tests --bin bench-members -- postgres
//!   cargo run --release -p tests --bin bench-members -- sqlite
//!
//! Results are written down in docs/BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap stops the run with its cause"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use secrecy::ExposeSecret;
use serde_json::json;
use tests::{Backend, TestApp, add_members, data, spawn_app};

const MEMBERS: &str = "query($ws: UUID!, $search: String, $after: String) {
  members(workspaceId: $ws, filter: { search: $search }, first: 50, after: $after) {
    totalCount pageInfo { endCursor } edges { node { user { email name } role status groups { name } } } } }";
const MEMBERS_COUNT: usize = 100_000;
const RUNS: usize = 200;
/// Requests before each measure, not timed: the first ones plan and cache statements.
const WARM_UP: usize = 10;

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
    for _ in 0..WARM_UP {
        page(app, search, after).await;
    }
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
    // Statistics and visibility as a database in service has them (autovacuum gathers them
    // in a while).
    let analyze = match backend {
        Backend::Postgres => "VACUUM ANALYZE",
        Backend::Sqlite => "ANALYZE",
    };
    app.db().execute_unprepared(analyze).await.unwrap();

    let middle = ids[MEMBERS_COUNT / 2].0.simple().to_string();
    // The random end of a UUIDv7: its start is a timestamp that ids made together share.
    let one = &middle[20..32];
    let three = &middle[24..27];
    let (_, first_page) = page(&app, None, None).await;
    let cursor = first_page["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let principal = rules::access::authenticate(app.db(), app.owner_token(), chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    for (label, search, after) in [
        ("first page, no search", None, None),
        ("second page, no search", None, Some(cursor.as_str())),
        ("search matching all (\"bench\")", Some("bench"), None),
        ("search by name (\"Bench Mem\")", Some("Bench Mem"), None),
        ("search, 12 characters inside one email", Some(one), None),
        ("search, 3 characters inside some emails", Some(three), None),
        ("search matching nobody", Some("zzz-nobody"), None),
        ("search, 2 characters starting nobody", Some("zq"), None),
        (
            "search, 1 character starting every email (\"b\")",
            Some("b"),
            None,
        ),
    ] {
        let (p50, p99, total, rows) = percentiles(&app, search, after).await;
        let statements = page_statements(&app, &principal, search, after).await;
        print!(
            "{label}: p50 {:.1} ms, p99 {:.1} ms (total {total}, {rows} rows, {} statements)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            statements.len(),
        );
        if backend == Backend::Postgres {
            let (base50, base99) = pgbench(&app, &statements);
            print!(
                "; its statements in pgbench: p50 {:.1} ms, p99 {:.1} ms; ratio (pgbench ÷ service) p50 {:.2}, p99 {:.2}",
                base50 * 1e3,
                base99 * 1e3,
                base50 / p50.as_secs_f64(),
                base99 / p99.as_secs_f64(),
            );
        }
        println!();
    }
}

/// The SQL one page runs, with its values written in.
async fn page_statements(
    app: &TestApp,
    principal: &rules::access::Principal,
    search: Option<&str>,
    after: Option<&str>,
) -> Vec<String> {
    use rules::text::{CheckedText, CursorText, SearchText};
    let statements = Arc::new(Mutex::new(Vec::new()));
    let recorded = statements.clone();
    let mut db = app.db().clone();
    db.set_metric_callback(move |info| recorded.lock().unwrap().push(info.statement.to_string()));
    let filter = rules::people::members::MemberFilter {
        search: search.map(|text| SearchText::parse(text).unwrap()),
        statuses: None,
    };
    let after = after.map(|cursor| CursorText::parse(cursor).unwrap());
    rules::people::members::list_members(
        &db,
        principal,
        app.demo.workspace_id,
        &filter,
        rules::lists::Paging {
            first: 50,
            after: after.as_ref(),
        },
    )
    .await
    .unwrap();
    std::mem::take(&mut *statements.lock().unwrap())
}

/// p50 and p99 in seconds of `statements` run one after another by pgbench, 200 times on one
/// connection: the page's own SQL without the service around it.
fn pgbench(app: &TestApp, statements: &[String]) -> (f64, f64) {
    let dir = std::env::temp_dir().join(format!("bench-members-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("page.sql");
    let mut text = String::new();
    for statement in statements {
        text.push_str(&statement.replace('\n', " "));
        text.push_str(";\n");
    }
    std::fs::write(&script, text).unwrap();
    let prefix = dir.join("log");
    let status = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-c",
            "1",
            "-t",
            &RUNS.to_string(),
            "-l",
            "--log-prefix",
        ])
        .arg(&prefix)
        .arg("-f")
        .arg(&script)
        .arg(app.config.worker.database.url.expose_secret())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pgbench runs (postgresql-client)");
    assert!(status.success(), "pgbench failed");
    let mut latencies: Vec<f64> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("log")
        {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                // client, transaction, latency in µs, script, epoch s, µs
                let micros: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
                latencies.push(micros / 1e6);
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    latencies.sort_by(f64::total_cmp);
    let at = |fraction: f64| {
        latencies[((latencies.len() as f64 * fraction) as usize).min(latencies.len() - 1)]
    };
    (at(0.5), at(0.99))
}
