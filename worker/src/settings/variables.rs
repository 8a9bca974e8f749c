//! Reading [`WorkerSettings`] from environment variables: one optional field a variable, each
//! unset one taking the embedded default's value.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use platform::environment::millis;
use platform::outbox::RetryPolicy;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    DEFAULT_BIND_ADDRESS, DEFAULT_MAIL_DIR, DEFAULT_SMTP_PORT, DEFAULT_SMTP_TIMEOUT,
    DEFAULT_SMTP_TLS, DatabaseSettings, MailSettings, MailTransport, MetricsSettings, QueueBackend,
    QueueSettings, SmtpTls, WorkerSettings, local_url,
};
use crate::WorkerError;

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
    database_url: Option<SecretString>,
    redis_url: Option<SecretString>,
    queue_database_url: Option<String>,
    queue_name: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<SmtpTls>,
    smtp_username: Option<String>,
    smtp_password: Option<SecretString>,
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
                credentials: self
                    .smtp_username
                    .take()
                    .map(|user| (user, self.smtp_password.take().unwrap_or_default())),
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

    use crate::settings::{DEFAULT_DATABASE_URL, DEFAULT_QUEUE_URL};
    use platform::environment::variables;
    use secrecy::ExposeSecret;

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
        assert_eq!(embedded.url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(!embedded.configured);
        let configured = read(&[("DATABASE_URL", "postgres://db/x")])
            .unwrap()
            .database;
        assert_eq!(configured.url.expose_secret(), "postgres://db/x");
        assert!(configured.configured);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = read(&[
            ("DATABASE_URL", "postgres://app:db-secret@db/x"),
            ("REDIS_URL", "redis://:redis-secret@cache:6379"),
            ("SMTP_HOST", "mail"),
            ("SMTP_USERNAME", "sender"),
            ("SMTP_PASSWORD", "hunter2-very-secret"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("sender"), "{shown}");
        for secret in ["db-secret", "redis-secret", "hunter2-very-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let MailTransport::Smtp {
            credentials: Some((_, password)),
            ..
        } = &config.mail.transport
        else {
            panic!("SMTP_USERNAME gives credentials")
        };
        assert_eq!(password.expose_secret(), "hunter2-very-secret");
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
        let QueueBackend::Redis(redis) = &config.queue.backend else {
            panic!("REDIS_URL selects Redis")
        };
        assert_eq!(redis.expose_secret(), "redis://cache:6379");
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
        assert!(
            matches!(&embedded.queue.backend, QueueBackend::Sqlite(url) if url == DEFAULT_QUEUE_URL)
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
