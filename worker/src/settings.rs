//! The worker's settings, read from the environment (README.md lists the variables). A worker
//! process runs with a [`WorkerSettings`]; the api embeds one, the settings of its in-process
//! worker, so what the two share (the database, the queue, the mail, the links, metrics) is read
//! here and only here. Each default is written once: in `WorkerSettings::default()` (the
//! embedded default) or a constant below.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use platform::environment::millis;
use platform::outbox::RetryPolicy;
use secrecy::SecretString;
use serde::Deserialize;

use crate::WorkerError;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    pub mail: MailSettings,
    /// Where people reach the service (`PUBLIC_URL`): the start of the links emails carry.
    /// Its path ends with `/`, so links go under it.
    pub public_url: url::Url,
    pub retry: RetryPolicy,
    /// How often the relay looks for jobs to (re)queue.
    pub relay_interval: Duration,
    /// A job queued this long without finishing is queued again (its queue entry may be lost).
    pub requeue_after: Duration,
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    /// A job running longer than this fails (and is retried).
    pub job_timeout: Duration,
    /// On SIGTERM, how long in-flight jobs get to finish before the process exits.
    pub shutdown_timeout: Duration,
    pub metrics: MetricsSettings,
}

/// `DATABASE_URL`.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`.
    pub url: String,
    /// Whether `DATABASE_URL` was set. Without it the service runs the embedded default, for
    /// which the api also seeds demo data and lets front ends on this machine call it.
    pub configured: bool,
}

#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub backend: QueueBackend,
    /// Set explicitly: apalis would otherwise name the queue after a Rust type path.
    pub name: String,
    /// A worker that misses this many heartbeats is dead, and its jobs go back to the queue.
    /// Heartbeats don't pace fetching (pushes wake the workers), so they can be slow.
    pub heartbeat_interval: Duration,
    pub missed_heartbeats: usize,
    /// Jobs a worker takes from the queue in one fetch.
    pub fetch_batch: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueBackend {
    /// `redis://…`: the production queue, shared by any number of worker processes.
    Redis(String),
    /// `sqlite://…`: the embedded queue, in its own file (it relaxes durability on it).
    Sqlite(String),
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
    /// SMTP connections kept open and used at once. lettre sends a message's body and its
    /// closing dot in two writes, so each message waits for the server's delayed ACK (~40 ms
    /// on Linux): a connection carries about 25 messages a second, and throughput comes from
    /// connections side by side.
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        /// User and password; the password never shows in `Debug` output.
        credentials: Option<(String, SecretString)>,
        timeout: Duration,
        /// A PEM file of certificate authorities trusted for the relay's certificate besides
        /// the public ones (`SMTP_CA_CERT`): for a relay whose certificate a private CA signed.
        ca_certificates: Option<PathBuf>,
    },
    /// One `.eml` file per message, named after its job: the embedded default.
    Folder(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

/// `METRICS_ENABLED` and `METRICS_BIND_ADDRESS`.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    /// Whether metrics are served: by the api at `GET /metrics`, by a worker process where
    /// `bind_address` says.
    pub enabled: bool,
    /// Where a worker process serves its metrics. The api serves those of its in-process worker
    /// on its own port, and ignores this.
    pub bind_address: Option<SocketAddr>,
}

impl MetricsSettings {
    /// Where a worker process serves its metrics: none unless told where, or when turned off.
    pub fn worker_address(&self) -> Option<SocketAddr> {
        self.bind_address.filter(|_| self.enabled)
    }
}

/// The embedded default: an SQLite file beside the binary, for the api and its workers alike.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/offboarding.db?mode=rwc";
/// Jobs one worker process runs at once, and SMTP connections it keeps: each job mostly waits on
/// the network, and one SMTP connection carries only ~25 messages a second (see
/// `MailSettings::max_connections`), so throughput comes from running many side by side.
pub const DEFAULT_CONCURRENCY: usize = 64;
pub const DEFAULT_QUEUE_URL: &str = "sqlite://data/queue.db?mode=rwc";
pub const DEFAULT_MAIL_DIR: &str = "data/mail";
/// Where the api listens without `BIND_ADDRESS`: right for someone trying it on their machine.
/// Written here, not in the api, because a worker process's links point at it without
/// `PUBLIC_URL`.
pub const DEFAULT_BIND_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// With `SMTP_HOST` set, what `SMTP_PORT`, `SMTP_TLS` and `SMTP_TIMEOUT_MS` default to.
const DEFAULT_SMTP_PORT: u16 = 587;
const DEFAULT_SMTP_TLS: SmtpTls = SmtpTls::StartTls;
const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for WorkerSettings {
    /// The embedded default: SQLite queue file, emails to a folder, links to the api's default
    /// address.
    fn default() -> WorkerSettings {
        WorkerSettings {
            database: DatabaseSettings {
                url: DEFAULT_DATABASE_URL.into(),
                configured: false,
            },
            queue: QueueSettings {
                backend: QueueBackend::Sqlite(DEFAULT_QUEUE_URL.into()),
                name: "offboarding-jobs".into(),
                heartbeat_interval: Duration::from_secs(5),
                missed_heartbeats: 3,
                fetch_batch: DEFAULT_CONCURRENCY,
            },
            mail: MailSettings {
                transport: MailTransport::Folder(DEFAULT_MAIL_DIR.into()),
                from: "Offboarding <no-reply@offboarding.invalid>".into(),
                max_connections: DEFAULT_CONCURRENCY as u32,
            },
            public_url: local_url(DEFAULT_BIND_ADDRESS),
            // Retries come at most 15 s apart, so a job catches up within that of an outage's
            // end; 25 attempts span about five minutes of failures before a job is DEAD.
            retry: RetryPolicy {
                max_attempts: 25,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(15),
            },
            relay_interval: Duration::from_secs(1),
            // The queue never holds more than a few seconds of work (`queue::WINDOW`), so a
            // row queued this long without being run has lost its queue entry.
            requeue_after: Duration::from_secs(15),
            concurrency: DEFAULT_CONCURRENCY,
            job_timeout: Duration::from_secs(15),
            shutdown_timeout: Duration::from_secs(10),
            metrics: MetricsSettings {
                enabled: true,
                bind_address: None,
            },
        }
    }
}

impl WorkerSettings {
    /// A worker process's settings, from its environment. Without `PUBLIC_URL`, its links point
    /// at the api's default address.
    pub fn from_env() -> Result<WorkerSettings, WorkerError> {
        WorkerSettings::from_vars(&std::env::vars().collect(), DEFAULT_BIND_ADDRESS)
    }

    /// The settings `vars` make; each unset variable takes the embedded default's value, and
    /// without `PUBLIC_URL` links point at the api listening on `api_address`.
    pub fn from_vars(
        vars: &HashMap<String, String>,
        api_address: SocketAddr,
    ) -> Result<WorkerSettings, WorkerError> {
        let mut vars: WorkerVariables =
            platform::environment::read(vars).map_err(WorkerError::Config)?;
        let defaults = WorkerSettings::default();
        let max_attempts = vars.job_max_attempts.unwrap_or(defaults.retry.max_attempts);
        if max_attempts < 1 {
            return Err(WorkerError::Config(
                "JOB_MAX_ATTEMPTS must be at least 1".into(),
            ));
        }
        let public_url = match vars.public_url.take() {
            Some(text) => public_url(&text)?,
            None => local_url(api_address),
        };
        Ok(WorkerSettings {
            database: match vars.database_url.take() {
                Some(url) => DatabaseSettings {
                    url,
                    configured: true,
                },
                None => defaults.database,
            },
            queue: vars.queue(defaults.queue),
            mail: vars.mail(defaults.mail),
            public_url,
            retry: RetryPolicy {
                max_attempts,
                base_delay: millis(vars.job_retry_base_ms, defaults.retry.base_delay),
                max_delay: millis(vars.job_retry_max_ms, defaults.retry.max_delay),
            },
            relay_interval: millis(vars.relay_interval_ms, defaults.relay_interval),
            requeue_after: millis(vars.job_requeue_after_ms, defaults.requeue_after),
            concurrency: vars
                .worker_concurrency
                .unwrap_or(defaults.concurrency)
                .max(1),
            job_timeout: millis(vars.job_timeout_ms, defaults.job_timeout),
            shutdown_timeout: millis(vars.worker_shutdown_timeout_ms, defaults.shutdown_timeout),
            metrics: MetricsSettings {
                enabled: vars.metrics_enabled.unwrap_or(defaults.metrics.enabled),
                bind_address: vars.metrics_bind_address,
            },
        })
    }
}

/// The address a browser on this machine reaches a server listening on `bind_address` at.
fn local_url(bind_address: SocketAddr) -> url::Url {
    let host = match bind_address.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    url::Url::parse(&format!("http://{host}:{}/", bind_address.port()))
        .expect("an address and a port make a URL")
}

/// `PUBLIC_URL`: an absolute http(s) address with no query or fragment (a link is built by
/// adding a path under it), read as a folder.
fn public_url(text: &str) -> Result<url::Url, WorkerError> {
    let refused = |why: &str| WorkerError::Config(format!("PUBLIC_URL {text:?}: {why}"));
    let mut url = url::Url::parse(text).map_err(|e| refused(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("give an http:// or https:// address"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refused("give it without a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let folder = format!("{}/", url.path());
        url.set_path(&folder);
    }
    Ok(url)
}

/// The worker's environment variables, the api's too (README.md lists them); each unset one
/// takes the embedded default's value.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct WorkerVariables {
    database_url: Option<String>,
    redis_url: Option<String>,
    queue_database_url: Option<String>,
    queue_name: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<SmtpTls>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_timeout_ms: Option<u64>,
    smtp_ca_cert: Option<PathBuf>,
    smtp_max_connections: Option<u32>,
    mail_dir: Option<PathBuf>,
    mail_from: Option<String>,
    public_url: Option<String>,
    job_max_attempts: Option<i32>,
    job_retry_base_ms: Option<u64>,
    job_retry_max_ms: Option<u64>,
    job_requeue_after_ms: Option<u64>,
    job_timeout_ms: Option<u64>,
    relay_interval_ms: Option<u64>,
    worker_heartbeat_ms: Option<u64>,
    worker_missed_heartbeats: Option<usize>,
    worker_fetch_batch: Option<usize>,
    worker_concurrency: Option<usize>,
    worker_shutdown_timeout_ms: Option<u64>,
    metrics_enabled: Option<bool>,
    metrics_bind_address: Option<SocketAddr>,
}

impl WorkerVariables {
    /// `REDIS_URL` (over `QUEUE_DATABASE_URL`), `QUEUE_NAME` and the `WORKER_*` fetching.
    fn queue(&mut self, defaults: QueueSettings) -> QueueSettings {
        let backend = match (self.redis_url.take(), self.queue_database_url.take()) {
            (Some(redis), _) => QueueBackend::Redis(redis),
            (None, Some(sqlite)) => QueueBackend::Sqlite(sqlite),
            (None, None) => defaults.backend,
        };
        QueueSettings {
            backend,
            name: self.queue_name.take().unwrap_or(defaults.name),
            heartbeat_interval: millis(self.worker_heartbeat_ms, defaults.heartbeat_interval),
            missed_heartbeats: self
                .worker_missed_heartbeats
                .unwrap_or(defaults.missed_heartbeats),
            fetch_batch: self
                .worker_fetch_batch
                .unwrap_or(defaults.fetch_batch)
                .max(1),
        }
    }

    /// SMTP when `SMTP_HOST` is set, else the `MAIL_DIR` folder; `MAIL_FROM`.
    fn mail(&mut self, defaults: MailSettings) -> MailSettings {
        let transport = match self.smtp_host.take() {
            Some(host) => MailTransport::Smtp {
                host,
                port: self.smtp_port.unwrap_or(DEFAULT_SMTP_PORT),
                tls: self.smtp_tls.unwrap_or(DEFAULT_SMTP_TLS),
                credentials: self.smtp_username.take().map(|user| {
                    let password = self.smtp_password.take().unwrap_or_default();
                    (user, password.into())
                }),
                timeout: millis(self.smtp_timeout_ms, DEFAULT_SMTP_TIMEOUT),
                ca_certificates: self.smtp_ca_cert.take(),
            },
            None => MailTransport::Folder(
                self.mail_dir
                    .take()
                    .unwrap_or_else(|| DEFAULT_MAIL_DIR.into()),
            ),
        };
        MailSettings {
            transport,
            from: self.mail_from.take().unwrap_or(defaults.from),
            max_connections: self
                .smtp_max_connections
                .unwrap_or(defaults.max_connections)
                .max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use platform::environment::variables;

    /// The settings of a worker process with these variables.
    fn read(pairs: &[(&str, &str)]) -> Result<WorkerSettings, WorkerError> {
        WorkerSettings::from_vars(&variables(pairs), DEFAULT_BIND_ADDRESS)
    }

    #[test]
    fn a_worker_serves_metrics_only_where_told() {
        assert_eq!(read(&[]).unwrap().metrics.worker_address(), None);
        let told = read(&[("METRICS_BIND_ADDRESS", "0.0.0.0:9100")]).unwrap();
        assert_eq!(
            told.metrics.worker_address(),
            Some("0.0.0.0:9100".parse().unwrap())
        );
        let off = read(&[
            ("METRICS_BIND_ADDRESS", "0.0.0.0:9100"),
            ("METRICS_ENABLED", "false"),
        ])
        .unwrap();
        assert_eq!(off.metrics.worker_address(), None);
        let error = read(&[("METRICS_BIND_ADDRESS", "here")]).unwrap_err();
        assert!(
            error.to_string().contains("METRICS_BIND_ADDRESS"),
            "{error}"
        );
    }

    #[test]
    fn the_database_is_the_embedded_file_unless_configured() {
        let embedded = read(&[]).unwrap().database;
        assert_eq!(embedded.url, DEFAULT_DATABASE_URL);
        assert!(!embedded.configured);
        let configured = read(&[("DATABASE_URL", "postgres://db/x")])
            .unwrap()
            .database;
        assert_eq!(configured.url, "postgres://db/x");
        assert!(configured.configured);
    }

    #[test]
    fn the_smtp_password_never_shows_in_debug_output() {
        let config = read(&[
            ("SMTP_HOST", "mail"),
            ("SMTP_USERNAME", "sender"),
            ("SMTP_PASSWORD", "hunter2-very-secret"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("sender"), "{shown}");
        assert!(!shown.contains("hunter2-very-secret"), "{shown}");
    }

    #[test]
    fn redis_and_smtp_come_from_the_environment() {
        let config = read(&[
            ("REDIS_URL", "redis://cache:6379"),
            ("SMTP_HOST", "mail"),
            ("SMTP_PORT", "2525"),
            ("SMTP_TLS", "none"),
        ])
        .unwrap();
        assert_eq!(
            config.queue.backend,
            QueueBackend::Redis("redis://cache:6379".into())
        );
        match config.mail.transport {
            MailTransport::Smtp {
                host,
                port,
                tls,
                credentials,
                ..
            } => {
                assert_eq!((host.as_str(), port, tls), ("mail", 2525, SmtpTls::None));
                assert!(credentials.is_none());
            }
            MailTransport::Folder(_) => panic!("SMTP_HOST selects SMTP"),
        }
        let embedded = read(&[]).unwrap();
        assert_eq!(
            embedded.queue.backend,
            QueueBackend::Sqlite(DEFAULT_QUEUE_URL.into())
        );
        assert!(matches!(embedded.mail.transport, MailTransport::Folder(_)));
    }

    #[test]
    fn links_go_under_the_public_url_as_a_folder() {
        let embedded = read(&[]).unwrap();
        assert_eq!(embedded.public_url.as_str(), "http://127.0.0.1:8080/");
        for (given, kept) in [
            ("https://people.acme.test", "https://people.acme.test/"),
            (
                "https://acme.test/offboarding",
                "https://acme.test/offboarding/",
            ),
            (
                "https://acme.test/offboarding/",
                "https://acme.test/offboarding/",
            ),
        ] {
            let config = read(&[("PUBLIC_URL", given)]).unwrap();
            assert_eq!(config.public_url.as_str(), kept);
        }
    }

    #[test]
    fn malformed_values_are_refused_with_their_name() {
        for (name, value) in [
            ("SMTP_TLS", "maybe"),
            ("JOB_MAX_ATTEMPTS", "0"),
            ("RELAY_INTERVAL_MS", "soon"),
            ("METRICS_ENABLED", "sure"),
            ("PUBLIC_URL", "people.acme.test"),
            ("PUBLIC_URL", "ftp://people.acme.test"),
            ("PUBLIC_URL", "https://people.acme.test/?next=1"),
        ] {
            let mut pairs = vec![(name, value)];
            if name == "SMTP_TLS" {
                pairs.push(("SMTP_HOST", "mail"));
            }
            let error = read(&pairs).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
