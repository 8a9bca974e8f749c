//! The api's settings, read from the environment. Every variable is optional: with none set, the
//! service runs the embedded default (an SQLite file under `./data`, demo data, GraphiQL on),
//! `Settings::default()`. Each default is written once: there, in `Limits::default()`, or in
//! the worker's settings for what the api shares with a worker process.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderName;
use ipnet::IpNet;

use chrono::Duration;
use rules::organizations::bootstrap::Bootstrap;
use serde::Deserialize;
use worker::settings::{DEFAULT_BIND_ADDRESS, QueueBackend};
use worker::{WorkerError, WorkerSettings};

mod bootstrap;
mod cors;
mod limits;

pub use bootstrap::bootstrap_refusal;
pub use cors::{CLIENT_HEADERS, CorsOrigins, is_loopback_authority};
pub use limits::Limits;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

impl From<WorkerError> for SettingsError {
    fn from(error: WorkerError) -> Self {
        SettingsError(match error {
            WorkerError::Config(message) => message,
            other => other.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// What the api shares with a worker process, read once: the database, the queue, the
    /// mailer, the links emails carry, metrics; and the job settings of its in-process worker.
    pub worker: WorkerSettings,
    /// Run the worker inside this process (the embedded default). With Redis, workers
    /// normally run as their own processes (`cargo run -p worker`).
    pub in_process_worker: bool,
    pub bind_address: SocketAddr,
    /// Seed the demo organization on first start and print a ready-to-use owner token.
    pub demo_data: bool,
    /// The organization, workspace and owner to make on first start (`BOOTSTRAP_*`), if the
    /// database holds no organization yet.
    pub bootstrap: Option<Bootstrap>,
    pub graphiql: bool,
    pub introspection: bool,
    pub session_ttl: Duration,
    pub invitation_ttl: Duration,
    pub limits: Limits,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client address of a request
    /// they pass on is the last address in it that is not theirs.
    pub trusted_proxies: Vec<IpNet>,
    /// Which other origins a browser may call the API (and open its WebSocket) from.
    pub cors: CorsOrigins,
    /// Request headers a cross-origin page may send besides [`CLIENT_HEADERS`]
    /// (`CORS_ALLOWED_HEADERS`).
    pub cors_headers: Vec<HeaderName>,
}

impl Default for Settings {
    /// The embedded default: what `cargo run -p api` runs with no environment at all.
    fn default() -> Settings {
        Settings {
            worker: WorkerSettings::default(),
            in_process_worker: true,
            bind_address: DEFAULT_BIND_ADDRESS,
            demo_data: true,
            bootstrap: None,
            graphiql: true,
            introspection: true,
            session_ttl: Duration::days(14),
            invitation_ttl: Duration::days(7),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            cors: CorsOrigins::LocalDevelopment,
            cors_headers: Vec::new(),
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(all: HashMap<String, String>) -> Result<Settings, SettingsError> {
        let vars: ApiVariables = platform::environment::read(&all).map_err(SettingsError)?;
        let defaults = Settings::default();
        let bind_address = vars.bind_address.unwrap_or(defaults.bind_address);
        // The links the in-process worker emails point at this server, as it listens.
        let worker = WorkerSettings::from_vars(&all, bind_address)?;
        // Set but empty means "no other origin", unlike every other variable.
        let cors_origins = all.get("CORS_ALLOWED_ORIGINS");
        // Demo data and local front ends are for the embedded default; a configured database
        // gets them only on request.
        let embedded_database = !worker.database.configured;
        let embedded_queue = matches!(worker.queue.backend, QueueBackend::Sqlite(_));
        let graphiql = vars.graphiql_enabled.unwrap_or(defaults.graphiql);
        let limits = limits::read(&all, defaults.limits)?;
        let bootstrap = bootstrap::read(&all)?;
        if bootstrap.is_some() && vars.demo_data == Some(true) {
            return Err(SettingsError(
                "DEMO_DATA=true and BOOTSTRAP_* both make the first organization: set one of them"
                    .into(),
            ));
        }
        Ok(Settings {
            in_process_worker: vars
                .in_process_worker
                .unwrap_or(defaults.in_process_worker && embedded_queue),
            worker,
            bind_address,
            // A bootstrapped organization is the real one: no demo beside it.
            demo_data: vars
                .demo_data
                .unwrap_or(defaults.demo_data && embedded_database && bootstrap.is_none()),
            bootstrap,
            graphiql,
            introspection: vars.graphql_introspection.unwrap_or(graphiql),
            session_ttl: vars
                .session_ttl_hours
                .map_or(defaults.session_ttl, Duration::hours),
            invitation_ttl: vars
                .invitation_ttl_hours
                .map_or(defaults.invitation_ttl, Duration::hours),
            limits,
            trusted_proxies: match vars.trusted_proxies {
                Some(value) => trusted_proxies(&value)?,
                None => defaults.trusted_proxies,
            },
            cors: match cors_origins {
                Some(value) => CorsOrigins::parse(value)?,
                None if embedded_database => defaults.cors,
                None => CorsOrigins::SameOrigin,
            },
            cors_headers: match vars.cors_allowed_headers {
                Some(value) => cors::headers(&value)?,
                None => defaults.cors_headers,
            },
        })
    }
}

/// The API's environment variables besides the worker's (README.md lists them); each unset one
/// takes the embedded default's value.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct ApiVariables {
    in_process_worker: Option<bool>,
    bind_address: Option<SocketAddr>,
    demo_data: Option<bool>,
    graphiql_enabled: Option<bool>,
    graphql_introspection: Option<bool>,
    session_ttl_hours: Option<i64>,
    invitation_ttl_hours: Option<i64>,
    trusted_proxies: Option<String>,
    cors_allowed_headers: Option<String>,
}

/// `TRUSTED_PROXIES`: addresses or CIDR ranges, separated by commas.
fn trusted_proxies(value: &str) -> Result<Vec<IpNet>, SettingsError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    SettingsError(format!(
                        "TRUSTED_PROXIES must list addresses or CIDR ranges separated by commas, got {entry:?}"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use platform::environment::variables;
    use secrecy::ExposeSecret;

    /// The configuration these variables make.
    #[track_caller]
    fn configured(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(variables(pairs)).unwrap()
    }

    /// Why these variables are refused.
    #[track_caller]
    fn refused(pairs: &[(&str, &str)]) -> String {
        Settings::from_vars(variables(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn no_environment_is_the_embedded_default_with_demo_data() {
        let config = configured(&[]);
        assert_eq!(
            config.worker.database.url.expose_secret(),
            worker::settings::DEFAULT_DATABASE_URL
        );
        assert!(config.demo_data);
        assert!(
            config.in_process_worker,
            "the embedded default runs its own worker"
        );
        assert!(config.graphiql && config.introspection);
    }

    #[test]
    fn a_configured_database_gets_no_demo_data_unless_asked() {
        let config = configured(&[("DATABASE_URL", "postgres://db/x")]);
        assert!(!config.demo_data);
        let config = configured(&[("DATABASE_URL", "postgres://db/x"), ("DEMO_DATA", "true")]);
        assert!(config.demo_data);
    }

    #[test]
    fn with_redis_workers_run_as_their_own_processes_unless_asked() {
        let config = configured(&[("REDIS_URL", "redis://cache")]);
        assert!(!config.in_process_worker);
        let config = configured(&[
            ("REDIS_URL", "redis://cache"),
            ("IN_PROCESS_WORKER", "true"),
        ]);
        assert!(config.in_process_worker);
    }

    #[test]
    fn turning_graphiql_off_turns_introspection_off_too() {
        let config = configured(&[("GRAPHIQL_ENABLED", "false")]);
        assert!(!config.graphiql && !config.introspection);
    }

    #[test]
    fn cors_is_local_development_embedded_and_same_origin_with_a_database() {
        let embedded = configured(&[]).cors;
        assert!(embedded.allows("http://localhost:5173"));
        assert!(embedded.allows("http://127.0.0.1:3000"));
        assert!(!embedded.allows("http://localhost.evil.test:80"));
        assert!(!embedded.allows("https://app.example.com"));
        let production = configured(&[("DATABASE_URL", "postgres://db/x")]);
        assert_eq!(production.cors, CorsOrigins::SameOrigin);
        let listed = configured(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        )])
        .cors;
        assert!(listed.allows("https://app.example.com"));
        assert!(!listed.allows("https://app.example.com:8443"));
        assert!(!listed.allows("http://localhost:3000"));
        let none = configured(&[("CORS_ALLOWED_ORIGINS", "")]);
        assert_eq!(none.cors, CorsOrigins::SameOrigin);
        for bad in ["*", "app.example.com", "https://app.example.com/path"] {
            let error = refused(&[("CORS_ALLOWED_ORIGINS", bad)]);
            assert!(error.contains("CORS_ALLOWED_ORIGINS"), "{bad}");
        }
    }

    #[test]
    fn cors_allowed_headers_add_header_names() {
        assert!(configured(&[]).cors_headers.is_empty());
        let config = configured(&[("CORS_ALLOWED_HEADERS", "X-Tenant, x-client-build,")]);
        let names: Vec<&str> = config
            .cors_headers
            .iter()
            .map(|name| name.as_str())
            .collect();
        assert_eq!(names, ["x-tenant", "x-client-build"]);
        let error = refused(&[("CORS_ALLOWED_HEADERS", "x-tenant, bad name")]);
        assert!(error.contains("CORS_ALLOWED_HEADERS") && error.contains("bad name"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let config = configured(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1,::1")]);
        let listed: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]);
        let error = refused(&[("TRUSTED_PROXIES", "10.0.0.0/8,proxy")]);
        assert!(error.contains("TRUSTED_PROXIES"));
    }

    #[test]
    fn emailed_links_point_at_the_server_unless_public_url_says_otherwise() {
        let link = |pairs: &[(&str, &str)]| configured(pairs).worker.public_url.to_string();
        assert_eq!(link(&[]), "http://127.0.0.1:8080/");
        assert_eq!(
            link(&[("BIND_ADDRESS", "127.0.0.1:9000")]),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(
            link(&[("BIND_ADDRESS", "0.0.0.0:9000")]),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(
            link(&[
                ("BIND_ADDRESS", "0.0.0.0:9000"),
                ("PUBLIC_URL", "https://people.acme.test")
            ]),
            "https://people.acme.test/"
        );
        assert_eq!(
            link(&[("BIND_ADDRESS", "127.0.0.1:9000"), ("PUBLIC_URL", "")]),
            "http://127.0.0.1:9000/",
            "an empty variable is unset"
        );
    }

    #[test]
    fn malformed_values_are_refused_with_their_name() {
        for (name, value) in [
            ("GRAPHQL_MAX_DEPTH", "deep"),
            ("DEMO_DATA", "maybe"),
            ("BIND_ADDRESS", "here"),
            ("METRICS_ENABLED", "sure"),
        ] {
            assert!(refused(&[(name, value)]).contains(name), "{name}={value}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = configured(&[
            (
                "DATABASE_URL",
                "postgres://offboarding:db-secret@db/offboarding",
            ),
            ("REDIS_URL", "redis://:redis-secret@cache:6379"),
            ("SMTP_HOST", "mail"),
            ("SMTP_USERNAME", "sender"),
            ("SMTP_PASSWORD", "smtp-secret"),
            ("BOOTSTRAP_ORGANIZATION", "Initech"),
            ("BOOTSTRAP_WORKSPACE", "People Ops"),
            ("BOOTSTRAP_OWNER_EMAIL", "peter@initech.test"),
            ("BOOTSTRAP_OWNER_PASSWORD", "owner-secret"),
        ]);
        let shown = format!("{config:?}");
        assert!(
            shown.contains("sender") && shown.contains("peter@initech.test"),
            "{shown}"
        );
        for secret in ["db-secret", "redis-secret", "smtp-secret", "owner-secret"] {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
    }

    #[test]
    fn metrics_are_on_unless_turned_off() {
        assert!(configured(&[]).worker.metrics.enabled);
        let off = configured(&[("METRICS_ENABLED", "false")]);
        assert!(!off.worker.metrics.enabled);
    }
}
