//! Test harness: every test gets the real application, started the way production starts it,
//! on a random port, with a database of its own, so tests run in parallel.
//!
//! [`backend_tests!`] runs one test body twice: against PostgreSQL (with Redis as the queue and
//! an SMTP server of its own, [`smtp_sink::SmtpSink`]) and against the embedded SQLite default.
//! A PostgreSQL or Redis that can't be reached fails the test, saying so. Only when asked, with
//! `OFFBOARDING_TESTS=sqlite-only` at build time, are the PostgreSQL variants left out: marked
//! ignored, so cargo's summary counts them.

#![allow(
    clippy::unwrap_used,
    reason = "the test harness: a failed unwrap here is a failed test"
)]

pub mod answer;
pub mod browser;
pub mod smtp_sink;

pub use answer::Answer;

use smtp_sink::SmtpSink;

use std::net::SocketAddr;
use std::time::Duration;

use api::Application;
pub use api::Settings;
pub use rules::demo::DEMO_PASSWORD;
use rules::demo::DemoAccess;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use worker::settings::{MailTransport, QueueBackend, SmtpTls};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a benchmark binary named `bench` was asked for on its command line
    /// (`postgres` or `sqlite`, the default); anything else exits with its usage.
    pub fn from_args(bench: &str) -> Backend {
        match std::env::args().nth(1).as_deref() {
            Some("postgres") => Backend::Postgres,
            Some("sqlite") | None => Backend::Sqlite,
            Some(other) => {
                eprintln!("usage: {bench} [postgres|sqlite], not {other:?}");
                std::process::exit(2);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub demo: DemoAccess,
    /// The configuration the application runs with.
    pub config: Settings,
    db: DatabaseConnection,
    /// The SMTP server this test's mail goes to, on PostgreSQL (SQLite writes `.eml` files).
    smtp: Option<SmtpSink>,
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

/// A backend the PostgreSQL variant needs can't be reached: the test fails, saying what to do.
fn unreachable_backend(what: &str, error: &dyn std::fmt::Display) -> ! {
    panic!(
        "{what} is unreachable ({error}). The PostgreSQL half of the suite needs PostgreSQL at \
         127.0.0.1:5432 and Redis at 127.0.0.1:6379 (or TEST_POSTGRES_URL / TEST_REDIS_URL); \
         to run only the SQLite half, build the tests with OFFBOARDING_TESTS=sqlite-only"
    )
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

/// Starts the application with demo data on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    Fresh::new(backend).await.start(configure).await
}

/// A database, a queue and (on PostgreSQL) an SMTP server of a test's own, with nothing in
/// them yet, and the settings that reach them: what the application meets on its first start.
pub struct Fresh {
    /// The product's defaults (demo data on) but for the test's database, queue and mail.
    pub config: Settings,
    pub backend: Backend,
    smtp: Option<SmtpSink>,
    database: TestDatabase,
}

impl Fresh {
    pub async fn new(backend: Backend) -> Fresh {
        let mut config = Settings {
            bind_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_data: true,
            ..Settings::default()
        };
        let mut smtp = None;
        let database = match backend {
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = match Database::connect(&admin_url).await {
                    Ok(admin) => admin,
                    Err(error) => unreachable_backend("PostgreSQL", &error),
                };
                let redis = redis_url();
                if let Err(error) = redis_reachable(&redis).await {
                    unreachable_backend("Redis", &error);
                }
                let sink = SmtpSink::start().await;
                let name = format!("offboarding_test_{}", uuid::Uuid::now_v7().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                config.worker.database.url = format!("{base}/{name}").into();
                config.worker.queue.backend = QueueBackend::Redis(redis.into());
                config.worker.mail.transport = MailTransport::Smtp {
                    host: "127.0.0.1".to_owned(),
                    port: sink.port,
                    // As the product's default: STARTTLS, the relay's certificate verified.
                    tls: SmtpTls::StartTls,
                    credentials: None,
                    timeout: Duration::from_secs(10),
                    ca_certificates: Some(smtp_sink::test_ca_certificate()),
                };
                smtp = Some(sink);
                TestDatabase::Postgres { admin_url, name }
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().display();
                config.worker.database.url = format!("sqlite://{path}/app.db?mode=rwc").into();
                config.worker.queue.backend =
                    QueueBackend::Sqlite(format!("sqlite://{path}/queue.db?mode=rwc"));
                config.worker.mail.transport = MailTransport::Folder(dir.path().join("mail"));
                TestDatabase::Sqlite { _dir: dir }
            }
        };
        // Every test has its own queue; everything else runs with the product's defaults.
        config.worker.queue.name = format!("test-{}", uuid::Uuid::now_v7().simple());
        Fresh {
            config,
            backend,
            smtp,
            database,
        }
    }

    /// Starts the application on it, configured by `configure`: with demo data unless it asks
    /// for a bootstrap instead (`config.bootstrap`), whose owner is then the owner the
    /// [`TestApp`]'s helpers act as, signed in to its first workspace.
    pub async fn start(self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let Fresh {
            mut config,
            backend,
            smtp,
            database,
        } = self;
        configure(&mut config);
        // The application keeps no copy of the bootstrap's password: the test does.
        let bootstrap = config.bootstrap.clone();
        if bootstrap.is_some() {
            config.demo_data = false;
        }
        let application = Application::build(config)
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        let db = application.db().clone();
        let config = application.config().clone();
        let demo = match (application.demo(), &bootstrap) {
            (Some(demo), _) => demo.clone(),
            (None, Some(bootstrap)) => bootstrapped_owner(&db, &config, bootstrap).await,
            (None, None) => panic!("a test app starts with demo data or a bootstrap"),
        };
        tokio::spawn(application.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::new(),
            backend,
            demo,
            db,
            config,
            smtp,
            _database: database,
        }
    }
}

/// The bootstrap's owner, signed in to its workspace: what the demo's owner is to a demo app.
async fn bootstrapped_owner(
    db: &DatabaseConnection,
    config: &Settings,
    bootstrap: &rules::organizations::bootstrap::Bootstrap,
) -> DemoAccess {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let workspace = entities::workspace::Entity::find()
        .filter(entities::workspace::Column::Slug.eq(bootstrap.workspace_slug.as_str()))
        .one(db)
        .await
        .unwrap()
        .expect("the bootstrap made its workspace");
    let owner = entities::user::Entity::find()
        .filter(entities::user::Column::Email.eq(bootstrap.owner_email.as_str()))
        .one(db)
        .await
        .unwrap()
        .expect("the bootstrap made its owner");
    let signed_in = rules::access::sessions::start_session(
        db,
        owner.id,
        workspace.id,
        config.session_ttl,
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("the owner signs in");
    DemoAccess {
        organization_id: workspace.organization_id,
        workspace_id: workspace.id,
        owner_email: owner.email,
        token: signed_in.token,
    }
}

/// Configures the application without its in-process worker: jobs wait until a test runs
/// one.
pub fn no_worker(config: &mut Settings) {
    config.in_process_worker = false;
}

/// Runs each listed test, an `async fn name(app: TestApp)` of the same module, twice: on
/// PostgreSQL (+ Redis) and on the embedded SQLite default, as `name::postgres` and
/// `name::sqlite`. `name => configure` adjusts the application's configuration first, with a
/// `fn(&mut Settings)` or a closure.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident $(=> $configure:expr)?),* $(,)?) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn configure(_config: &mut $crate::Settings) {
                    $( ($configure)(_config); )?
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
                async fn postgres() {
                    super::$name($crate::spawn_app_with($crate::Backend::Postgres, configure).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::spawn_app_with($crate::Backend::Sqlite, configure).await).await;
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
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Answer {
        self.graphql_request(token, query, variables).answer().await
    }

    /// The request [`TestApp::graphql`] sends, for a test that reads the response itself.
    pub fn graphql_request(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(self.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends one GraphQL operation as the demo owner and returns the whole JSON answer.
    pub async fn as_owner(&self, query: &str, variables: Value) -> Answer {
        self.graphql(Some(self.owner_token()), query, variables)
            .await
    }

    /// Sends the mutation `document` with `{ input }`, the demo workspace filled in unless the
    /// input names one; returns the whole answer.
    pub async fn call(&self, token: &str, document: &str, input: Value) -> Answer {
        let mut input = input;
        if input.get("workspaceId").is_none() {
            input["workspaceId"] = json!(self.demo.workspace_id);
        }
        self.graphql(Some(token), document, json!({ "input": input }))
            .await
    }

    /// Like [`TestApp::call`], for a mutation that must answer without top-level errors: its
    /// payload, the field the document's mutation answers in.
    pub async fn mutate(&self, token: &str, document: &str, input: Value) -> Answer {
        let answer = self.call(token, document, input).await;
        data(&answer)[mutation_of(document)].clone()
    }

    /// Like [`TestApp::mutate`], for a mutation sent with no token (signing in, accepting an
    /// invitation): its payload. Nothing is filled in.
    pub async fn mutate_signed_out(&self, document: &str, input: Value) -> Answer {
        let answer = self
            .graphql(None, document, json!({ "input": input }))
            .await;
        data(&answer)[mutation_of(document)].clone()
    }

    /// [`TestApp::mutate`] as the demo owner.
    pub async fn owner_mutates(&self, document: &str, input: Value) -> Answer {
        self.mutate(self.owner_token(), document, input).await
    }

    /// `GET` of a path of the application (`/healthz`, `/people/app.js`, ...).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.address);
        self.client
            .get(url)
            .send()
            .await
            .expect("the server answers")
    }

    /// `GET /graphql` as a browser asks for a page typed into its address bar (`Accept:
    /// text/html`, and its fetch metadata).
    pub async fn open_in_a_browser(&self) -> reqwest::Response {
        self.client
            .get(self.graphql_url())
            .header("accept", "text/html")
            .header("sec-fetch-site", "none")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .send()
            .await
            .expect("the server answers")
    }

    /// The owner's demo token.
    pub fn owner_token(&self) -> &str {
        &self.demo.token
    }

    /// The owner, as the API resolves their demo token (for calling the API's functions
    /// directly).
    pub async fn owner_principal(&self) -> rules::access::Principal {
        rules::access::authenticate(self.db(), self.owner_token(), chrono::Utc::now())
            .await
            .unwrap()
            .expect("the owner's token is valid")
    }

    /// Signs a demo person in to the demo workspace and returns their session token.
    pub async fn sign_in(&self, email: &str) -> String {
        self.sign_in_to(self.demo.workspace_id, email).await
    }

    pub async fn sign_in_to(&self, workspace_id: entities::WorkspaceId, email: &str) -> String {
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

/// A request a test built itself (a batch, a header of its own, another path), sent for what
/// the server answers.
pub trait Fetch {
    /// The JSON answer.
    fn answer(self) -> impl std::future::Future<Output = Answer> + Send;
    /// The body, as text.
    fn body_text(self) -> impl std::future::Future<Output = String> + Send;
}

impl Fetch for reqwest::RequestBuilder {
    async fn answer(self) -> Answer {
        sent(self).await.json().await.expect("a JSON answer")
    }

    async fn body_text(self) -> String {
        sent(self).await.text().await.expect("a text answer")
    }
}

async fn sent(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the server answers")
}

/// The mutation a document sends: the first field of its selection.
fn mutation_of(document: &str) -> &str {
    let (_, selection) = document
        .split_once('{')
        .unwrap_or_else(|| panic!("a selection in {document}"));
    let selection = selection.trim_start();
    let end = selection
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(selection.len());
    &selection[..end]
}

/// The `data` of an answer that must have no errors.
pub fn data(answer: &Answer) -> &Answer {
    assert!(!answer.has_errors(), "expected no errors: {answer}");
    &answer["data"]
}

/// A response that must be refused with this HTTP status and this error code.
pub async fn assert_http_refused(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    let answer: Answer = response.json().await.expect("a JSON answer");
    assert_eq!(error_code(&answer), code, "{answer}");
}

/// The `extensions.code` of an answer's first error.
pub fn error_code(answer: &Answer) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {answer}"))
}

/// The accept link a raw email carries (its text part, quoted-printable or not).
pub fn accept_link_in(raw: &str) -> String {
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let at = text
        .find("accept-invitation#token=")
        .unwrap_or_else(|| panic!("an accept link in {raw}"));
    let start = text[..at].rfind("http").expect("the link is absolute");
    let end = text[at..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |length| at + length);
    text[start..end].to_owned()
}

/// A payload that must have no `userErrors`: asserts so, showing it, and hands it back.
pub fn ok(payload: &Answer) -> &Answer {
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{payload}");
    payload
}

/// The kinds of an offboarding's `jobs`, in the order listed.
pub fn job_kinds(offboarding: &Answer) -> Vec<&str> {
    offboarding["jobs"]
        .items()
        .iter()
        .map(|job| job["kind"].as_str().expect("a job has a kind"))
        .collect()
}

/// The job of this kind among an offboarding's `jobs`.
pub fn job_of<'a>(offboarding: &'a Answer, kind: &str) -> &'a Answer {
    offboarding["jobs"]
        .items()
        .iter()
        .find(|job| job["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} job: {offboarding}"))
}

/// The codes of a payload's `userErrors`.
pub fn user_error_codes(payload: &Answer) -> Vec<&str> {
    payload["userErrors"]
        .items()
        .iter()
        .map(|error| {
            error["code"]
                .as_str()
                .unwrap_or_else(|| panic!("a user error has a code: {payload}"))
        })
        .collect()
}

impl TestApp {
    /// The email a job sent, as raw text: from this test's SMTP server by its Message-ID, or
    /// the embedded default's `.eml` file. A second copy fails the test: every email is sent
    /// once.
    pub fn sent_email(&self, job_id: uuid::Uuid) -> Option<String> {
        let mut copies = self.sent_copies(job_id);
        assert!(
            copies.len() <= 1,
            "one message per job, not {}: {job_id}",
            copies.len()
        );
        copies.pop()
    }

    /// Waits for an offboarding with one job, an email, to succeed; returns the job's kind and
    /// the email, raw.
    pub async fn delivered_email(&self, offboarding_id: &str) -> (String, String) {
        let done = self
            .wait_until_succeeded(offboarding_id, Duration::from_secs(30))
            .await;
        let jobs = done["jobs"].items();
        assert_eq!(jobs.len(), 1, "{done}");
        let job_id = jobs[0]["id"].as_str().unwrap().parse().unwrap();
        let email = self
            .sent_email(job_id)
            .unwrap_or_else(|| panic!("the email of {offboarding_id} was delivered"));
        (jobs[0]["kind"].as_str().unwrap().to_owned(), email)
    }

    /// Every copy of a job's email that was delivered. Over SMTP with TLS configured (as the
    /// harness and the product's default do), every copy must have come encrypted.
    pub fn sent_copies(&self, job_id: uuid::Uuid) -> Vec<String> {
        match (&self.config.worker.mail.transport, &self.smtp) {
            (MailTransport::Folder(dir), _) => worker::mail::delivered_to_folder(dir, job_id)
                .into_iter()
                .filter_map(|path| std::fs::read_to_string(path).ok())
                .collect(),
            (MailTransport::Smtp { tls, .. }, Some(sink)) => {
                if *tls != SmtpTls::None {
                    let over_tls = sink.job_over_tls(job_id);
                    assert!(
                        over_tls.iter().all(|encrypted| *encrypted),
                        "with TLS configured, every copy comes encrypted: {over_tls:?}"
                    );
                }
                sink.job_messages(job_id)
            }
            (MailTransport::Smtp { .. }, None) => Vec::new(),
        }
    }

    /// This test's SMTP server (PostgreSQL tests only).
    pub fn smtp_sink(&self) -> &SmtpSink {
        self.smtp
            .as_ref()
            .expect("PostgreSQL tests have an SMTP server")
    }

    /// The port of this test's SMTP server (PostgreSQL tests only).
    pub fn smtp_port(&self) -> u16 {
        self.smtp_sink().port
    }

    /// Removes these members as the owner and returns the offboarding's id; the call must
    /// succeed.
    pub async fn remove_members(&self, user_ids: &[entities::UserId]) -> uuid::Uuid {
        let answer = self
            .graphql(
                Some(self.owner_token()),
                "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id } userErrors { code } } }",
                json!({ "input": { "workspaceId": self.demo.workspace_id, "userIds": user_ids } }),
            )
            .await;
        let payload = &data(&answer)["removeMembers"];
        assert_eq!(payload["userErrors"], json!([]), "{answer}");
        payload["offboarding"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("an offboarding: {answer}"))
    }

    /// The ids of these offboardings' email jobs.
    pub async fn email_job_ids(&self, offboardings: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
        use entities::outbox;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .filter(outbox::Column::OffboardingId.is_in(offboardings.iter().copied()))
            .filter(outbox::Column::Kind.eq("send_removal_email"))
            .into_tuple()
            .all(&self.db)
            .await
            .expect("the outbox is readable")
    }

    /// A worker process (`binary`) on this application's database and Redis queue, sending
    /// email to the SMTP server on `smtp_port` of loopback, with the product's defaults for
    /// everything else.
    pub fn worker_process(
        &self,
        binary: &std::path::Path,
        smtp_port: u16,
    ) -> std::process::Command {
        let QueueBackend::Redis(redis) = &self.config.worker.queue.backend else {
            panic!("worker processes run on the Redis queue");
        };
        let mut command = std::process::Command::new(binary);
        command
            .env(
                "DATABASE_URL",
                self.config.worker.database.url.expose_secret(),
            )
            .env("REDIS_URL", redis.expose_secret())
            .env("QUEUE_NAME", &self.config.worker.queue.name)
            .env("SMTP_HOST", "127.0.0.1")
            .env("SMTP_PORT", smtp_port.to_string())
            .env("SMTP_CA_CERT", smtp_sink::test_ca_certificate())
            .env("RUST_LOG", "warn");
        command
    }

    /// How many copies of each job's email this test's SMTP server received, by job id (from
    /// the Message-ID).
    pub fn sent_message_ids(&self) -> std::collections::HashMap<uuid::Uuid, usize> {
        let Some(sink) = &self.smtp else {
            return std::collections::HashMap::new();
        };
        sink.copies().into_iter().fold(
            std::collections::HashMap::new(),
            |mut by_job, (message_id, copies)| {
                if let Some(job_id) = smtp_sink::job_of(&message_id) {
                    *by_job.entry(job_id).or_default() += copies;
                }
                by_job
            },
        )
    }

    /// [`TestApp::wait_for_offboarding`], which must end SUCCEEDED; returns the offboarding.
    pub async fn wait_until_succeeded(&self, id: &str, timeout: Duration) -> Answer {
        let offboarding = self.wait_for_offboarding(id, timeout).await;
        assert_eq!(offboarding["status"], "SUCCEEDED", "{offboarding}");
        offboarding
    }

    /// Polls `offboarding(id)` until every job has finished (or `timeout` passes) and returns
    /// its last answer.
    pub async fn wait_for_offboarding(&self, id: &str, timeout: Duration) -> Answer {
        let query = "query($id: UUID!) { offboarding(id: $id) { status summary { total pending queued succeeded failed dead }
            jobs(first: 100) { id kind status attempts lastError } } }";
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self
                .graphql(Some(self.owner_token()), query, json!({ "id": id }))
                .await;
            let offboarding = data(&answer)["offboarding"].clone();
            // `status` and `jobs` are resolved side by side, each from its own read: wait until
            // the list agrees too, so a test never sees a finished offboarding with a job that
            // was still running when the list was read.
            let jobs_finished = offboarding["jobs"]
                .items()
                .iter()
                .all(|job| job["status"] == "SUCCEEDED" || job["status"] == "DEAD");
            let finished = offboarding["status"] != "IN_PROGRESS" && jobs_finished;
            if finished || tokio::time::Instant::now() > deadline {
                return offboarding;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `offboardingProgress`, with every field of an event.
pub const PROGRESS: &str = "subscription($id: UUID!) { offboardingProgress(id: $id) {
  offboardingId jobId kind status attempts lastError at offboardingStatus } }";

impl TestApp {
    /// Follows `offboardingProgress(id)` as `token` until the stream ends, which it must within
    /// `seconds`: every message, as [`TestApp::subscribe`] returns them.
    pub async fn follow_progress(
        &self,
        token: Option<&str>,
        id: impl serde::Serialize,
        seconds: u64,
    ) -> Vec<Answer> {
        let timeout = Duration::from_secs(seconds);
        self.subscribe(token, PROGRESS, json!({ "id": id }), timeout, None)
            .await
    }

    /// Runs a subscription over WebSocket (graphql-transport-ws), authenticated in
    /// `connection_init`, and returns every message the server sent for it: `next` payloads,
    /// then the final `complete` or `error` message. Panics if it hasn't ended by `timeout`.
    /// Sends on `first_event`, if given, when the first event arrives: the subscription is then
    /// authenticated and streaming, so the test can act on it.
    pub async fn subscribe(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        timeout: Duration,
        mut first_event: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Vec<Answer> {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;

        let url = format!("{}/graphql/ws", self.address.replace("http://", "ws://"));
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("a header value"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket endpoint answers");
        let init = match token {
            Some(token) => {
                json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
            }
            None => json!({ "type": "connection_init", "payload": {} }),
        };
        let send = |message: Value| Message::Text(message.to_string().into());
        socket
            .send(send(init))
            .await
            .expect("connection_init is sent");
        socket
            .send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })))
            .await
            .expect("subscribe is sent");
        let mut messages = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, socket.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("the subscription did not end in {timeout:?}: {messages:?}")
                });
            let Some(Ok(Message::Text(text))) = next else {
                match next {
                    Some(Ok(_)) => continue,
                    other => panic!("the socket closed unexpectedly: {other:?} after {messages:?}"),
                }
            };
            let message: Answer = serde_json::from_str(text.as_str()).expect("a JSON message");
            match message["type"].as_str() {
                Some("connection_ack" | "ping" | "pong" | "ka") => continue,
                Some("next") => {
                    messages.push(message);
                    if let Some(tell) = first_event.take() {
                        let _ = tell.send(());
                    }
                }
                Some("complete" | "error") => {
                    messages.push(message);
                    return messages;
                }
                other => panic!("unexpected message {other:?}: {message}"),
            }
        }
    }
}

/// The id of the person with this email, who must exist.
pub async fn user_id(app: &TestApp, email: &str) -> entities::UserId {
    use entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no person {email}"))
        .id
}

/// Adds `count` active members to the demo workspace straight into the database, in batches,
/// each named "Bench Member" with an email `bench-<id>@example.com`, and each in the demo
/// workspace's first group. Returns their user ids.
pub async fn add_members(app: &TestApp, count: usize) -> Vec<entities::UserId> {
    use entities::{
        MembershipStatus, Role, UserId, UserKind, group_membership, membership, user, user_group,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
    use uuid::Uuid;

    let now = chrono::Utc::now();
    let group = user_group::Entity::find()
        .filter(user_group::Column::WorkspaceId.eq(app.demo.workspace_id))
        .order_by_asc(user_group::Column::Name)
        .one(app.db())
        .await
        .unwrap()
        .expect("the demo workspace has groups");
    let ids: Vec<UserId> = (0..count).map(|_| UserId::fresh()).collect();
    for chunk in ids.chunks(1_000) {
        user::Entity::insert_many(chunk.iter().map(|id| user::ActiveModel {
            id: Set(*id),
            email: Set(format!("bench-{}@example.com", id.0.simple())),
            name: Set("Bench Member".into()),
            password_hash: Set(None),
            kind: Set(UserKind::Person),
            erased_at: Set(None),
            created_at: Set(now),
        }))
        .exec_without_returning(app.db())
        .await
        .unwrap();
        membership::Entity::insert_many(chunk.iter().map(|id| {
            membership::ActiveModel::new(
                app.demo.workspace_id,
                *id,
                Role::Member,
                MembershipStatus::Active,
                now,
            )
        }))
        .exec_without_returning(app.db())
        .await
        .unwrap();
        group_membership::Entity::insert_many(chunk.iter().map(|id| {
            group_membership::ActiveModel {
                id: Set(Uuid::now_v7()),
                group_id: Set(group.id),
                user_id: Set(*id),
                created_at: Set(now),
                deleted_at: Set(None),
            }
        }))
        .exec_without_returning(app.db())
        .await
        .unwrap();
    }
    ids
}

/// Removes `user_ids` from the demo workspace through the API's own removal, on `db` (the
/// application's database, a counting connection, or a transaction), as `principal`, now, with
/// no reason, reattribution or handover.
pub async fn remove_in_process<C: ConnectionTrait>(
    app: &TestApp,
    db: &C,
    principal: &rules::access::Principal,
    user_ids: Vec<entities::UserId>,
    revoke_api_keys: bool,
) -> Result<rules::offboarding::remove::Removed, rules::RuleError> {
    let acting = rules::access::Acting {
        principal,
        request_id: None,
        now: chrono::Utc::now(),
    };
    let request = rules::offboarding::remove::RemoveRequest {
        workspace_id: app.demo.workspace_id,
        user_ids,
        reason: None,
        revoke_api_keys,
        reattribute_to: None,
        contact_reassignments: Vec::new(),
    };
    rules::offboarding::remove::remove_members(db, acting, request).await
}

/// A connection to the application's database that counts the SQL statements run through it.
pub fn counting_connection(
    app: &TestApp,
) -> (
    DatabaseConnection,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let statements = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = statements.clone();
    let mut db = app.db().clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    (db, statements)
}

/// Runs `work` and counts the statements it sends through the [`counting_connection`] whose
/// counter is `statements` (from zero: what ran before does not count).
pub async fn count_statements<T>(
    statements: &std::sync::atomic::AtomicUsize,
    work: impl std::future::Future<Output = T>,
) -> (T, usize) {
    statements.store(0, std::sync::atomic::Ordering::SeqCst);
    let done = work.await;
    (done, statements.load(std::sync::atomic::Ordering::SeqCst))
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until a server just started on `port` of loopback accepts connections.
fn wait_until_listening(port: u16, server: &str, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{server} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Redis server of one test's own, on a free port, that the test may stop and start again.
pub struct PrivateRedis {
    pub port: u16,
    process: Option<std::process::Child>,
}

impl PrivateRedis {
    pub fn start() -> PrivateRedis {
        let port = free_port();
        let mut redis = PrivateRedis {
            port,
            process: None,
        };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The application on `backend`, with this Redis as its queue.
    pub async fn app_on(&self, backend: Backend) -> TestApp {
        let url = self.url();
        spawn_app_with(backend, move |config| {
            config.worker.queue.backend = QueueBackend::Redis(url.into());
        })
        .await
    }

    /// Starts the server (again) and waits until it answers.
    pub fn resume(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (see README: Tests)");
        self.process = Some(child);
        wait_until_listening(self.port, "redis-server", Duration::from_secs(5));
    }

    /// Kills the server: everything it held is lost, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An SMTP server of one test's own that starts stopped: mail to its port fails until
/// [`PrivateSmtp::resume`].
pub struct PrivateSmtp {
    pub port: u16,
    sink: Option<SmtpSink>,
}

impl PrivateSmtp {
    /// Reserves a port with nothing listening on it yet.
    pub fn stopped() -> PrivateSmtp {
        PrivateSmtp {
            port: free_port(),
            sink: None,
        }
    }

    /// Starts the server on its port.
    pub async fn resume(&mut self) {
        self.sink = Some(SmtpSink::start_at(self.port).await);
    }

    /// Messages received so far.
    pub fn received(&self) -> usize {
        self.sink.as_ref().map_or(0, SmtpSink::count)
    }
}
