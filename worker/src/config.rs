//! The worker's configuration, read from the environment (see README.md).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use domain::outbox::RetryPolicy;
use secrecy::SecretString;

use crate::WorkerError;

/// Reads typed values out of environment variables, naming the variable when one is malformed.
pub struct Env<'a>(pub &'a HashMap<String, String>);

impl Env<'_> {
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|value| !value.is_empty()).cloned()
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, WorkerError> {
        match self.text(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| {
                WorkerError::Config(format!("{name} must be a whole number, got {value:?}"))
            }),
        }
    }

    pub fn millis(&self, name: &str, default: Duration) -> Result<Duration, WorkerError> {
        Ok(Duration::from_millis(
            self.number(name, default.as_millis() as u64)?,
        ))
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, WorkerError> {
        match self.text(name).map(|value| value.to_ascii_lowercase()) {
            None => Ok(default),
            Some(value) if ["1", "true", "yes", "on"].contains(&value.as_str()) => Ok(true),
            Some(value) if ["0", "false", "no", "off"].contains(&value.as_str()) => Ok(false),
            Some(value) => Err(WorkerError::Config(format!(
                "{name} must be true or false, got {value:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub queue: QueueConfig,
    pub mail: MailConfig,
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
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
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
pub struct MailConfig {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

/// Jobs one worker process runs at once, and SMTP connections it keeps: each job mostly waits on
/// the network, and one SMTP connection carries only ~25 messages a second (see
/// `MailConfig::max_connections`), so throughput comes from running many side by side.
pub const DEFAULT_CONCURRENCY: usize = 64;
pub const DEFAULT_QUEUE_URL: &str = "sqlite://data/queue.db?mode=rwc";
pub const DEFAULT_MAIL_DIR: &str = "data/mail";

impl WorkerConfig {
    /// The embedded default: SQLite queue file, emails to a folder.
    pub fn embedded() -> WorkerConfig {
        WorkerConfig {
            queue: QueueConfig {
                backend: QueueBackend::Sqlite(DEFAULT_QUEUE_URL.into()),
                name: "offboarding-jobs".into(),
                heartbeat_interval: Duration::from_secs(5),
                missed_heartbeats: 3,
                fetch_batch: DEFAULT_CONCURRENCY,
            },
            mail: MailConfig {
                transport: MailTransport::Folder(DEFAULT_MAIL_DIR.into()),
                from: "Offboarding <no-reply@offboarding.invalid>".into(),
                max_connections: DEFAULT_CONCURRENCY as u32,
            },
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
        }
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<WorkerConfig, WorkerError> {
        let env = Env(vars);
        let defaults = WorkerConfig::embedded();
        let backend = match (env.text("REDIS_URL"), env.text("QUEUE_DATABASE_URL")) {
            (Some(redis), _) => QueueBackend::Redis(redis),
            (None, Some(sqlite)) => QueueBackend::Sqlite(sqlite),
            (None, None) => defaults.queue.backend,
        };
        let transport = match env.text("SMTP_HOST") {
            Some(host) => MailTransport::Smtp {
                host,
                port: env.number("SMTP_PORT", 587)?,
                tls: match env.text("SMTP_TLS").as_deref().unwrap_or("starttls") {
                    "none" => SmtpTls::None,
                    "starttls" => SmtpTls::StartTls,
                    "tls" => SmtpTls::Tls,
                    other => {
                        return Err(WorkerError::Config(format!(
                            "SMTP_TLS must be none, starttls or tls, got {other:?}"
                        )));
                    }
                },
                credentials: env
                    .text("SMTP_USERNAME")
                    .map(|user| (user, env.text("SMTP_PASSWORD").unwrap_or_default().into())),
                timeout: env.millis("SMTP_TIMEOUT_MS", Duration::from_secs(10))?,
                ca_certificates: env.text("SMTP_CA_CERT").map(PathBuf::from),
            },
            None => MailTransport::Folder(
                env.text("MAIL_DIR")
                    .map_or_else(|| DEFAULT_MAIL_DIR.into(), PathBuf::from),
            ),
        };
        let max_attempts = env.number("JOB_MAX_ATTEMPTS", defaults.retry.max_attempts)?;
        if max_attempts < 1 {
            return Err(WorkerError::Config(
                "JOB_MAX_ATTEMPTS must be at least 1".into(),
            ));
        }
        Ok(WorkerConfig {
            queue: QueueConfig {
                backend,
                name: env.text("QUEUE_NAME").unwrap_or(defaults.queue.name),
                heartbeat_interval: env
                    .millis("WORKER_HEARTBEAT_MS", defaults.queue.heartbeat_interval)?,
                missed_heartbeats: env
                    .number("WORKER_MISSED_HEARTBEATS", defaults.queue.missed_heartbeats)?,
                fetch_batch: env
                    .number("WORKER_FETCH_BATCH", defaults.queue.fetch_batch)?
                    .max(1),
            },
            mail: MailConfig {
                transport,
                from: env.text("MAIL_FROM").unwrap_or(defaults.mail.from),
                max_connections: env
                    .number("SMTP_MAX_CONNECTIONS", defaults.mail.max_connections)?
                    .max(1),
            },
            retry: RetryPolicy {
                max_attempts,
                base_delay: env.millis("JOB_RETRY_BASE_MS", defaults.retry.base_delay)?,
                max_delay: env.millis("JOB_RETRY_MAX_MS", defaults.retry.max_delay)?,
            },
            relay_interval: env.millis("RELAY_INTERVAL_MS", defaults.relay_interval)?,
            requeue_after: env.millis("JOB_REQUEUE_AFTER_MS", defaults.requeue_after)?,
            concurrency: env
                .number("WORKER_CONCURRENCY", defaults.concurrency)?
                .max(1),
            job_timeout: env.millis("JOB_TIMEOUT_MS", defaults.job_timeout)?,
            shutdown_timeout: env
                .millis("WORKER_SHUTDOWN_TIMEOUT_MS", defaults.shutdown_timeout)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_smtp_password_never_shows_in_debug_output() {
        let config = WorkerConfig::from_vars(&vars(&[
            ("SMTP_HOST", "mail"),
            ("SMTP_USERNAME", "sender"),
            ("SMTP_PASSWORD", "hunter2-very-secret"),
        ]))
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("sender"), "{shown}");
        assert!(!shown.contains("hunter2-very-secret"), "{shown}");
    }

    #[test]
    fn redis_and_smtp_come_from_the_environment() {
        let config = WorkerConfig::from_vars(&vars(&[
            ("REDIS_URL", "redis://cache:6379"),
            ("SMTP_HOST", "mail"),
            ("SMTP_PORT", "2525"),
            ("SMTP_TLS", "none"),
        ]))
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
        let embedded = WorkerConfig::from_vars(&HashMap::new()).unwrap();
        assert_eq!(
            embedded.queue.backend,
            QueueBackend::Sqlite(DEFAULT_QUEUE_URL.into())
        );
        assert!(matches!(embedded.mail.transport, MailTransport::Folder(_)));
    }

    #[test]
    fn malformed_values_are_refused_with_their_name() {
        for (name, value) in [
            ("SMTP_TLS", "maybe"),
            ("JOB_MAX_ATTEMPTS", "0"),
            ("RELAY_INTERVAL_MS", "soon"),
        ] {
            let mut pairs = vec![(name, value)];
            if name == "SMTP_TLS" {
                pairs.push(("SMTP_HOST", "mail"));
            }
            let error = WorkerConfig::from_vars(&vars(&pairs)).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
