//! Measures the cheapest authenticated read, `{ viewer { user { id } } }`, over HTTP from 16
//! clients at once, beside its baseline in the same run, and prints the ratio:
//! - on PostgreSQL the baseline is a bare axum server that answers each POST with one
//!   `SELECT 1` on a pool of the same database: what any request that reads costs;
//! - in the embedded default (SQLite) it is the same application answering `{ __typename }`,
//!   which reads nothing.
//!
//! Two more figures say where the time goes: the same bare axum server running the
//! authentication statement (`rules::access::authenticate`) instead of `SELECT 1`, and the
//! application answering `{ __typename }` with the token (authentication and GraphQL, no
//! resolver).
//!
//!   cargo run --release -p tests --bin bench-read -- postgres
//!   cargo run --release -p tests --bin bench-read -- sqlite
//!
//! Baseline and measure take turns, three rounds of 5 s each; results are in docs/BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap stops the run with its cause"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::ExposeSecret;
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

/// A bare axum server on loopback: each POST /graphql runs `SELECT 1`, or authenticates
/// `token` when there is one, and answers fixed JSON.
async fn bare_axum(db: DatabaseConnection, token: Option<String>) -> String {
    let router = axum::Router::new()
        .route(
            "/graphql",
            post(
                |State((db, token)): State<(DatabaseConnection, Option<String>)>,
                 Json(_): Json<Value>| async move {
                    match token {
                        Some(token) => {
                            rules::access::authenticate(&db, &token, chrono::Utc::now())
                                .await
                                .unwrap()
                                .expect("the token authenticates");
                        }
                        None => {
                            let backend = db.get_database_backend();
                            db.query_one_raw(Statement::from_string(backend, "SELECT 1"))
                                .await
                                .unwrap();
                        }
                    }
                    Json(json!({ "data": { "viewer": { "user": { "id": "baseline" } } } }))
                },
            ),
        )
        .with_state((db, token));
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
    let token = app.owner_token().to_owned();
    let service_url = app.graphql_url();
    // The connections the application reads through: a pool of the same database on
    // PostgreSQL, read-only connections to the same file on SQLite.
    let pool = match backend {
        Backend::Postgres => Database::connect(app.config.worker.database.url.expose_secret())
            .await
            .unwrap(),
        Backend::Sqlite => {
            platform::db::connect_reader(app.config.worker.database.url.expose_secret(), app.db())
                .await
                .unwrap()
        }
    };
    let bare_select = bare_axum(pool.clone(), None).await;
    let bare_authenticate = bare_axum(pool, Some(token.clone())).await;
    let viewer = json!({ "query": VIEWER });
    let typename = json!({ "query": "{ __typename }" });
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        println!("round {round}");
        let select = load(&bare_select, viewer.clone(), None).await;
        report("bare axum + SELECT 1", &select);
        let anonymous = load(&service_url, typename.clone(), None).await;
        report("{ __typename } without a token", &anonymous);
        let statement = load(&bare_authenticate, viewer.clone(), None).await;
        report("bare axum + the authentication statement", &statement);
        let authenticated = load(&service_url, typename.clone(), Some(&token)).await;
        report("{ __typename } with the token", &authenticated);
        let measured = load(&service_url, viewer.clone(), Some(&token)).await;
        report("{ viewer { user { id } } }", &measured);
        let baseline = match backend {
            Backend::Postgres => &select,
            Backend::Sqlite => &anonymous,
        };
        ratios.push(measured.rate() / baseline.rate());
        println!("  ratio {:.2}", ratios.last().unwrap());
    }
    ratios.sort_by(f64::total_cmp);
    let baseline = match backend {
        Backend::Postgres => "bare axum + SELECT 1",
        Backend::Sqlite => "the same service answering { __typename } without a token",
    };
    println!(
        "{backend:?}, {CLIENTS} clients: viewer at a median {:.2} of {baseline}",
        ratios[ROUNDS / 2]
    );
}
