//! Measures the cheapest authenticated read, `{ viewer { user { id } } }`, over HTTP from 16
//! clients at once, beside its baseline in the same run, and prints the ratio:
//! - on PostgreSQL the baseline is a bare axum server that answers each POST with one
//!   `SELECT 1` on a pool of the same database: what any request that reads costs;
//! - in the embedded default (SQLite) it is the same application answering `{ __typename }`,
//!   which reads nothing.
//!
//!   cargo run --release -p tests --bin bench-read -- postgres
//!   cargo run --release -p tests --bin bench-read -- sqlite
//!
//! Baseline and measure take turns, three rounds of 5 s each; results are in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tests::{Backend, spawn_app};

const CLIENTS: usize = 16;
const ROUND: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;
const VIEWER: &str = "{ viewer { user { id } } }";

/// What one round of load measured.
struct Round {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Round {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1e3
    }
}

/// `CLIENTS` clients sending `body` to `url` one request after another for `ROUND`. Every
/// answer must be a 200 without GraphQL errors.
async fn load(url: &str, body: Value, token: Option<&str>) -> Round {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let body = Arc::new(body.to_string());
    let started = Instant::now();
    let deadline = started + ROUND;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, body) = (client.clone(), body.clone());
            let (url, token) = (url.to_owned(), token.map(str::to_owned));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let mut request = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned());
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    let response = request.send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    let answer = response.text().await.unwrap();
                    assert!(!answer.contains("\"errors\""), "{answer}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Round {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

/// A bare axum server on loopback: each POST /graphql runs `SELECT 1` and answers fixed JSON.
async fn bare_axum(database_url: &str) -> String {
    let db = Database::connect(database_url).await.unwrap();
    let router = axum::Router::new()
        .route(
            "/graphql",
            post(
                |State(db): State<DatabaseConnection>, Json(_): Json<Value>| async move {
                    let backend = db.get_database_backend();
                    db.query_one_raw(Statement::from_string(backend, "SELECT 1"))
                        .await
                        .unwrap();
                    Json(json!({ "data": { "viewer": { "user": { "id": "baseline" } } } }))
                },
            ),
        )
        .with_state(db);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn report(label: &str, round: &Round) {
    println!(
        "  {label}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        round.rate(),
        round.percentile(0.5),
        round.percentile(0.99),
        round.requests
    );
}

#[tokio::main]
async fn main() {
    let backend = Backend::from_args("bench-read");
    let app = spawn_app(backend).await;
    let service_url = app.graphql_url();
    let (baseline_label, baseline_url, baseline_body, baseline_token) = match backend {
        Backend::Postgres => (
            "bare axum + SELECT 1",
            bare_axum(&app.config.database_url).await,
            json!({ "query": VIEWER }),
            None,
        ),
        Backend::Sqlite => (
            "the same service answering { __typename }",
            service_url.clone(),
            json!({ "query": "{ __typename }" }),
            None,
        ),
    };
    let token = app.owner_token().to_owned();
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        println!("round {round}");
        let baseline = load(&baseline_url, baseline_body.clone(), baseline_token).await;
        report(baseline_label, &baseline);
        let measured = load(&service_url, json!({ "query": VIEWER }), Some(&token)).await;
        report("{ viewer { user { id } } }", &measured);
        ratios.push(measured.rate() / baseline.rate());
        println!("  ratio {:.2}", ratios.last().unwrap());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{:?}, {CLIENTS} clients: median ratio {:.2} of {baseline_label}",
        backend,
        ratios[ROUNDS / 2]
    );
}
