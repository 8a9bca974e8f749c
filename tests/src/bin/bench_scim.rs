//! Measures the SCIM door against the GraphQL API doing the same work, on one build and one
//! machine, with the product's default settings (the SCIM token's rate limit included):
//!
//! 1. An identity provider's first sync: 10,000 people added by `POST /Users`, 8 clients at
//!    once (as Okta and Entra run several workers), a 429 waited out as `Retry-After` says;
//!    the baseline, 10,000 `inviteMember` calls by 8 clients on a fresh service. Each adds an
//!    account, a membership with a seat, an audit entry and an email.
//! 2. One page of 100 filtered people at 10,000: `GET /Users?filter=active eq true&count=100`
//!    against `members(filter: {statuses: [ACTIVE]}, first: 100)`, p50 and p99 of 200 requests
//!    one at a time.
//!
//!   cargo run --release -p tests --bin bench-scim -- postgres
//!   cargo run --release -p tests --bin bench-scim -- sqlite
//!
//! Results are written down in docs/BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap stops the run with its cause"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tests::{Backend, TestApp, data, spawn_app};

const PEOPLE: usize = 10_000;
const CLIENTS: usize = 8;
const RUNS: usize = 200;
const WARM_UP: usize = 10;

/// A service with no seat limit (the demo organization has 25 seats), and a SCIM token of it.
async fn service(backend: Backend) -> (Arc<TestApp>, String) {
    let app = spawn_app(backend).await;
    let unlimited = app
        .graphql(
            Some(app.owner_token()),
            "mutation($input: UpdateSeatLimitInput!) { updateSeatLimit(input: $input) { userErrors { code } } }",
            json!({ "input": { "organizationId": app.demo.organization_id, "seatLimit": null } }),
        )
        .await;
    assert_eq!(
        data(&unlimited)["updateSeatLimit"]["userErrors"],
        json!([]),
        "{unlimited}"
    );
    let made = app
        .graphql(
            Some(app.owner_token()),
            "mutation($input: CreateScimTokenInput!) { createScimToken(input: $input) { secret } }",
            json!({ "input": { "organizationId": app.demo.organization_id,
                               "workspaceId": app.demo.workspace_id, "name": "Bench" } }),
        )
        .await;
    let secret = data(&made)["createScimToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    (Arc::new(app), secret)
}

/// Runs `add(app, n)` for n in 0..PEOPLE on CLIENTS tasks at once: the time it took.
async fn added_by_clients<F, Fut>(app: &Arc<TestApp>, add: F) -> Duration
where
    F: Fn(Arc<TestApp>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (app, add) = (app.clone(), add.clone());
            tokio::spawn(async move {
                for n in (client..PEOPLE).step_by(CLIENTS) {
                    add(app.clone(), n).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

async fn scim_sync(app: &Arc<TestApp>, secret: &str) -> (Duration, u64) {
    let throttled = Arc::new(AtomicU64::new(0));
    let (secret, counted) = (secret.to_owned(), throttled.clone());
    let elapsed = added_by_clients(app, move |app, n| {
        let (secret, throttled) = (secret.clone(), counted.clone());
        async move {
            let email = format!("synced{n}@bench.test");
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email, "externalId": format!("ext-{n}"),
                "name": { "givenName": "Synced", "familyName": format!("Person {n}") },
                "emails": [{ "value": email, "type": "work", "primary": true }],
                "active": true,
            });
            loop {
                let response = app
                    .client
                    .post(format!("{}/scim/v2/Users", app.address))
                    .bearer_auth(&secret)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                match response.status().as_u16() {
                    201 => break,
                    429 => {
                        throttled.fetch_add(1, Ordering::Relaxed);
                        let wait: u64 = response.headers()["retry-after"]
                            .to_str()
                            .unwrap()
                            .parse()
                            .unwrap();
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                    }
                    status => panic!("{status}: {}", response.text().await.unwrap()),
                }
            }
        }
    })
    .await;
    (elapsed, throttled.load(Ordering::Relaxed))
}

async fn graphql_invites(app: &Arc<TestApp>) -> Duration {
    added_by_clients(app, |app, n| async move {
        let invited = app
            .owner_mutates(
                "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { userErrors { code } } }",
                json!({ "workspaceId": app.demo.workspace_id, "email": format!("invited{n}@bench.test"), "role": "MEMBER" }),
            )
            .await;
        assert_eq!(invited["userErrors"], json!([]), "{invited}");
    })
    .await
}

/// p50 and p99 of `request`, one at a time, after a warm-up.
async fn percentiles<Fut: Future<Output = Value>>(
    mut request: impl FnMut() -> Fut,
    check: impl Fn(&Value),
) -> (Duration, Duration) {
    for _ in 0..WARM_UP {
        check(&request().await);
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let answer = request().await;
        times.push(started.elapsed());
        check(&answer);
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 99 / 100])
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let backend = Backend::from_args("bench-scim");

    let (baseline, _) = service(backend).await;
    let invited = graphql_invites(&baseline).await;
    let (app, secret) = service(backend).await;
    let (synced, throttled) = scim_sync(&app, &secret).await;
    // Statistics and visibility as a database in service has them (autovacuum gathers them in
    // a while after a bulk of writes), as bench-members does.
    let analyze = match backend {
        Backend::Postgres => "VACUUM ANALYZE",
        Backend::Sqlite => "ANALYZE",
    };
    for service in [&baseline, &app] {
        service.db().execute_unprepared(analyze).await.unwrap();
    }
    let rate = |elapsed: Duration| PEOPLE as f64 / elapsed.as_secs_f64();
    println!(
        "first sync, {PEOPLE} people by {CLIENTS} clients: SCIM POST /Users {:.1} s ({:.0}/s, {throttled} answers 429), \
         GraphQL inviteMember {:.1} s ({:.0}/s); ratio (GraphQL time ÷ SCIM time) {:.2}",
        synced.as_secs_f64(),
        rate(synced),
        invited.as_secs_f64(),
        rate(invited),
        invited.as_secs_f64() / synced.as_secs_f64(),
    );

    let scim_page = || async {
        app.client
            .get(format!(
                "{}/scim/v2/Users?filter=active%20eq%20true&count=100",
                app.address
            ))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let (scim50, scim99) = percentiles(scim_page, |page| {
        assert_eq!(
            page["Resources"].as_array().map(Vec::len),
            Some(100),
            "{page}"
        );
    })
    .await;
    let graphql_page = || async {
        app.graphql(
            Some(app.owner_token()),
            "query($ws: UUID!) { members(workspaceId: $ws, first: 100, filter: { statuses: [ACTIVE] }) {
               totalCount nodes { id role status user { id email name } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await
        .into_value()
    };
    let (graphql50, graphql99) = percentiles(graphql_page, |page| {
        assert_eq!(
            page["data"]["members"]["nodes"].as_array().map(Vec::len),
            Some(100),
            "{page}"
        );
    })
    .await;
    println!(
        "one page of 100 active people at {PEOPLE}: SCIM GET /Users p50 {:.1} ms, p99 {:.1} ms; \
         GraphQL members p50 {:.1} ms, p99 {:.1} ms; ratio (GraphQL ÷ SCIM) p50 {:.2}, p99 {:.2}",
        ms(scim50),
        ms(scim99),
        ms(graphql50),
        ms(graphql99),
        graphql50.as_secs_f64() / scim50.as_secs_f64(),
        graphql99.as_secs_f64() / scim99.as_secs_f64(),
    );
}
