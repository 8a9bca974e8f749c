//! Builds the application exactly as production runs it; tests start it on port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Method, header};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use entities::{organization, workspace};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::graphiql;
use crate::graphql::{Reader, build_introspection_schema, build_schema};
use crate::handlers::{graphql_get, graphql_post, graphql_ws, readyz, render_metrics};
use crate::middleware::{
    browser_safety, refuse_declared_oversized_bodies, shaped_payload_too_large,
};
use crate::people_page;
use crate::settings::{CLIENT_HEADERS, CorsOrigins, Settings, bootstrap_refusal};
use crate::state::AppState;
use crate::welcome::{DemoWelcome, SignIn, Welcome};
use rules::demo::{self, DEMO_PASSWORD, DemoAccess};
use rules::error::RuleError;
use rules::organizations::bootstrap::{Bootstrap, Bootstrapped, bootstrap};
use worker::JobQueue;
use worker::mail::Mailer;
use worker::runner::Dependencies;
use worker::service::{self, WorkerHandle};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Worker(#[from] worker::WorkerError),
    #[error("demo data: {0:?}")]
    Demo(RuleError),
    /// What kept the bootstrap from running, named as the environment names it.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    db: DatabaseConnection,
    demo: Option<DemoAccess>,
    arrival: Arrival,
    config: Arc<Settings>,
    worker: Option<WorkerHandle>,
}

/// Where someone can sign in, as the welcome tells it.
enum Arrival {
    /// The demo's owner ([`Application::demo`]).
    Demo,
    /// The bootstrap's workspace and owner.
    Bootstrapped { slug: String, email: String },
    /// Nobody: the database holds no organization.
    Nobody,
    /// Whoever the database's organizations have.
    Members,
}

impl Application {
    /// Connects to the database (migrating it), seeds demo data if configured, and binds the
    /// listener; the server runs when [`Application::run_until_stopped`] is awaited.
    pub async fn build(mut config: Settings) -> Result<Application, StartupError> {
        let database_url = config.worker.database.url.expose_secret().to_owned();
        let db = platform::db::connect_with(&database_url, Some(config.limits.statement_timeout))
            .await?;
        let reader = platform::db::connect_reader(&database_url, &db).await?;
        let queue = JobQueue::connect(&config.worker.queue).await?;
        let (demo, arrival) = first_start(&db, &mut config).await?;
        let graphiql = if config.graphiql {
            let namespace = graphiql::storage_namespace(&db).await?;
            Some(Arc::new(graphiql::Pages::new(demo.as_ref(), &namespace)))
        } else {
            None
        };
        let listener = TcpListener::bind(config.bind_address)
            .await
            .map_err(|source| StartupError::Bind {
                address: config.bind_address,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: config.bind_address,
                source,
            })?
            .port();
        let worker = if config.in_process_worker {
            let deps = Dependencies {
                db: db.clone(),
                mailer: Mailer::new(&config.worker.mail)?,
                config: config.worker.clone(),
            };
            Some(service::spawn(deps, queue.clone()))
        } else {
            None
        };
        let config = Arc::new(config);
        let metrics = config
            .worker
            .metrics
            .enabled
            .then(|| Arc::new(crate::metrics::Metrics::new(telemetry::metrics::recorder())));
        let state = AppState {
            schema: build_schema(&config, db.clone(), Reader(reader.clone()), queue.clone()),
            introspection: build_introspection_schema(&config),
            graphiql,
            reader,
            principals: Arc::default(),
            activity: Arc::default(),
            writer: db.clone(),
            queue,
            scim_throttle: Arc::new(rules::access::throttle::ScimThrottle::new(
                config.limits.scim_requests_per_token_per_minute,
            )),
            config: config.clone(),
            metrics,
        };
        Ok(Application {
            listener,
            router: router(state),
            port,
            db,
            demo,
            arrival,
            config,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn demo(&self) -> Option<&DemoAccess> {
        self.demo.as_ref()
    }

    /// What a newcomer needs to start: where GraphiQL is and how to authenticate.
    /// What to tell whoever started the service: where to open what, and the demo's token.
    pub fn welcome(&self) -> Welcome {
        let host = self.config.bind_address.ip();
        let host = if host.is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            host.to_string()
        };
        let origin = format!("http://{host}:{}", self.port);
        let sign_in = match &self.arrival {
            Arrival::Demo => SignIn::As {
                workspace: demo::MARKETING_SLUG.to_owned(),
                email: demo::DEMO_OWNER_EMAIL.to_owned(),
            },
            Arrival::Bootstrapped { slug, email } => SignIn::As {
                workspace: slug.clone(),
                email: email.clone(),
            },
            Arrival::Nobody => SignIn::Nobody(NOBODY),
            Arrival::Members => SignIn::Members,
        };
        Welcome {
            graphql: format!("{origin}/graphql"),
            people_page: format!("{origin}/"),
            graphiql: self.config.graphiql.then(|| format!("{origin}/graphql")),
            sign_in,
            demo: self.demo.as_ref().map(|demo| DemoWelcome {
                owner_email: demo.owner_email.clone(),
                token: demo.token.clone(),
                workspace_id: demo.workspace_id.to_string(),
                password: DEMO_PASSWORD,
            }),
        }
    }

    pub fn config(&self) -> &Settings {
        &self.config
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight and lets the
    /// in-process worker finish (or hand back) its jobs.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(worker::service::shutdown_signal())
        .await;
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        served
    }
}

/// What the welcome and the log say of a database without organizations.
const NOBODY: &str = "the database holds no organization, so nobody can sign in: set \
    BOOTSTRAP_ORGANIZATION, BOOTSTRAP_WORKSPACE, BOOTSTRAP_OWNER_EMAIL and \
    BOOTSTRAP_OWNER_PASSWORD and start again, or run `api bootstrap` (README: Running in \
    production)";

/// The first organization, if the configuration makes one (`BOOTSTRAP_*`, then the demo), and
/// who can sign in. The bootstrap's password leaves the settings here: the running service
/// keeps no copy of it.
async fn first_start(
    db: &DatabaseConnection,
    config: &mut Settings,
) -> Result<(Option<DemoAccess>, Arrival), StartupError> {
    let bootstrap = config.bootstrap.take();
    if let Some(request) = &bootstrap {
        run_bootstrap(db, request).await?;
    }
    let demo = if config.demo_data {
        demo::seed_and_sign_in(db, config.session_ttl, Utc::now())
            .await
            .map_err(StartupError::Demo)?
    } else {
        None
    };
    let arrival = if demo.is_some() {
        Arrival::Demo
    } else if let Some(request) = &bootstrap
        && workspace::Entity::find()
            .filter(workspace::Column::Slug.eq(request.workspace_slug.as_str()))
            .count(db)
            .await?
            > 0
    {
        // Its workspace is there: made now, or on an earlier start.
        Arrival::Bootstrapped {
            slug: request.workspace_slug.to_string(),
            email: request.owner_email.as_str().to_owned(),
        }
    } else if organization::Entity::find().count(db).await? == 0 {
        tracing::warn!("{NOBODY}");
        Arrival::Nobody
    } else {
        Arrival::Members
    };
    Ok((demo, arrival))
}

/// `BOOTSTRAP_*` on start: makes the organization if the database has none, and says in the log
/// which it was.
async fn run_bootstrap(db: &DatabaseConnection, request: &Bootstrap) -> Result<(), StartupError> {
    let bootstrapped = bootstrap(db, request, Utc::now())
        .await
        .map_err(|refused| StartupError::Bootstrap(bootstrap_refusal(&refused, false)))?;
    match bootstrapped {
        Bootstrapped::Created(made) => tracing::info!(
            organization = %made.organization.name,
            workspace = %made.workspace.name,
            slug = %made.workspace.slug,
            owner = %request.owner_email.as_str(),
            "bootstrap: made the organization, its first workspace and its owner"
        ),
        Bootstrapped::AlreadyDone => tracing::info!(
            "bootstrap: already done (the database holds an organization); BOOTSTRAP_* changed nothing"
        ),
    }
    Ok(())
}

fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/", get(people_page::page))
        .route("/accept-invitation", get(people_page::page))
        .route(
            "/people/{file}",
            get(people_page::asset).layer(compressed()),
        )
        .nest("/scim/v2", crate::scim::routes());
    if state.graphiql.is_some() {
        router = router.route("/graphiql/{file}", get(graphiql::asset).layer(compressed()));
    }
    if state.metrics.is_some() {
        router = router.route("/metrics", get(render_metrics));
    }
    router
        // Bodies without a Content-Length (chunked) are cut off once they pass the limit.
        .layer(RequestBodyLimitLayer::new(state.config.limits.body_bytes))
        // Outside the body limit: its own 413 becomes a GraphQL-shaped answer like every
        // other refusal.
        .layer(axum::middleware::map_response(shaped_payload_too_large))
        .layer(axum::middleware::from_fn_with_state(
            state.config.limits.body_bytes,
            refuse_declared_oversized_bodies,
        ))
        .layer(cors(&state.config.cors, &state.config.cors_headers))
        .layer(axum::middleware::map_response(browser_safety))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(count_response),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Static files go out compressed, br or gzip as the browser accepts (tower-http's default
/// quality). Only them: pages and GraphQL answers can carry a token next to text a caller
/// chose, which compression would let a watcher of sizes guess at (BREACH).
fn compressed() -> CompressionLayer {
    CompressionLayer::new()
}

/// Every request runs in an `info` span with its request id, so each log line of it says which
/// request it belongs to, and traces (when exported) start here, continuing a caller's W3C
/// `traceparent`. Named by route, not by path, to keep span names few.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let headers = request.headers();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    let span = tracing::info_span!(
        "http request",
        otel.name = format!("{} {route}", request.method()).trim_end(),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        request_id = headers.get("x-request-id").and_then(|id| id.to_str().ok()),
        http.response.status_code = tracing::field::Empty,
    );
    let traceparent = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok());
    platform::trace::continue_trace(&span, traceparent);
    span
}

/// Counts every answer by status (`http_requests_total`) and puts the status on the span.
fn count_response<B>(response: &Response<B>, _latency: Duration, span: &tracing::Span) {
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    metrics::counter!("http_requests_total", "status" => status.to_string()).increment(1);
}

/// Cross-origin browser calls from the configured origins only (`CORS_ALLOWED_ORIGINS`), with
/// the headers GraphQL clients send (and `CORS_ALLOWED_HEADERS`) and those a page reads;
/// browsers cache the preflight for two hours.
fn cors(origins: &CorsOrigins, more_headers: &[HeaderName]) -> CorsLayer {
    let origins = origins.clone();
    let headers = CLIENT_HEADERS
        .iter()
        .map(|name| HeaderName::from_static(name))
        .chain(more_headers.iter().cloned())
        .collect::<Vec<_>>();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|origin| origins.allows(origin))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(headers)
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(2 * 60 * 60))
}
