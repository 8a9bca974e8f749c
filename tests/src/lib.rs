//! Test harness: every test gets the real application, started the way production starts it,
//! on a random port, with a database of its own, so tests run in parallel.
//!
//! [`backend_tests!`] runs one test body twice: against PostgreSQL (with Redis as the queue)
//! and against the embedded SQLite default. Without a reachable PostgreSQL or Redis the
//! PostgreSQL variant is skipped with a message, except under `CI=true`, where it fails.

use std::net::SocketAddr;

use api::demo::{DEMO_PASSWORD, DemoAccess};
use api::{Application, Config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub demo: DemoAccess,
    db: DatabaseConnection,
    _database: TestDatabase,
}

enum TestDatabase {
    Postgres { admin_url: String, name: String },
    Sqlite { _dir: tempfile::TempDir },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which can't be blocked on: use a thread.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime to drop the test database");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// A backend that can't be reached: fatal in CI, a loud skip elsewhere.
fn unavailable(what: &str, error: &dyn std::fmt::Display) {
    if in_ci() {
        panic!("{what} is required in CI (CI=true) but unreachable: {error}");
    }
    eprintln!("SKIPPED: {what} unreachable ({error}); this test ran only on SQLite");
}

async fn redis_reachable(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Starts the application with demo data on `backend`; `None` when that backend is not
/// available outside CI.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let mut config = Config::embedded();
    config.bind_address = SocketAddr::from(([127, 0, 0, 1], 0));
    config.demo_data = true;
    let database = match backend {
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = match Database::connect(&admin_url).await {
                Ok(admin) => admin,
                Err(error) => {
                    unavailable("PostgreSQL", &error);
                    return None;
                }
            };
            let redis = redis_url();
            if let Err(error) = redis_reachable(&redis).await {
                unavailable("Redis", &error);
                return None;
            }
            let name = format!("offboarding_test_{}", uuid::Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            let _ = admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            config.database_url = format!("{base}/{name}");
            config.redis_url = Some(redis);
            TestDatabase::Postgres { admin_url, name }
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            config.database_url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
            TestDatabase::Sqlite { _dir: dir }
        }
    };
    configure(&mut config);
    let application = Application::build(config)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let demo = application.demo().cloned().expect("demo data is seeded");
    let db = application.db().clone();
    tokio::spawn(application.run_until_stopped());
    Some(TestApp {
        address,
        client: reqwest::Client::new(),
        backend,
        demo,
        db,
        _database: database,
    })
}

/// One test body, run on PostgreSQL (+ Redis) and on the embedded SQLite default.
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::spawn_app($crate::Backend::Postgres).await {
                        run(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::spawn_app($crate::Backend::Sqlite).await.expect("SQLite is always available");
                    run(app).await;
                }
            }
        )*
    };
}

impl TestApp {
    /// The application's database, for setting up states and checking what was written.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.address)
    }

    /// Sends one GraphQL operation and returns the whole JSON answer.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("a JSON answer")
    }

    /// The owner's demo token.
    pub fn owner_token(&self) -> &str {
        &self.demo.token
    }

    /// Signs a demo person in to the demo workspace and returns their session token.
    pub async fn sign_in(&self, email: &str) -> String {
        self.sign_in_to(self.demo.workspace_id, email).await
    }

    pub async fn sign_in_to(&self, workspace_id: uuid::Uuid, email: &str) -> String {
        let answer = self
            .graphql(
                None,
                "mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code message } } }",
                json!({ "input": { "workspaceId": workspace_id, "email": email, "password": DEMO_PASSWORD } }),
            )
            .await;
        answer["data"]["signIn"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{email} signs in: {answer}"))
            .to_owned()
    }
}

/// The `data` of an answer that must have no errors.
pub fn data(answer: &Value) -> &Value {
    assert!(
        answer.get("errors").is_none_or(Value::is_null),
        "expected no errors: {answer}"
    );
    &answer["data"]
}

/// The `extensions.code` of an answer's first error.
pub fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {answer}"))
}

/// The codes of a payload's `userErrors`.
pub fn user_error_codes(payload: &Value) -> Vec<&str> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected userErrors: {payload}"))
        .iter()
        .filter_map(|error| error["code"].as_str())
        .collect()
}
