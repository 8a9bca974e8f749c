//! The worker's settings, read from the environment by `variables.rs` (README.md lists the
//! variables). A worker process runs with a [`WorkerSettings`]; the api embeds one, the
//! settings of its in-process worker, so what the two share (the database, the queue, the mail,
//! the links, metrics) is read here and only here. Each default is written once: in
//! `WorkerSettings::default()` (the embedded default) or a constant below.

mod variables;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use platform::outbox::RetryPolicy;
use secrecy::SecretString;
use serde::Deserialize;

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
    /// `postgres://…` or `sqlite://…`; secret, for a PostgreSQL URL carries the password.
    pub url: SecretString,
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

#[derive(Debug, Clone)]
pub enum QueueBackend {
    /// `redis://…`: the production queue, shared by any number of worker processes. Secret,
    /// for it may carry a password.
    Redis(SecretString),
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
// With `SMTP_HOST` set, what `SMTP_PORT`, `SMTP_TLS` and `SMTP_TIMEOUT_MS` default to.
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
