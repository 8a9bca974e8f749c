//! Sending email: SMTP in production, a folder of `.eml` files in the embedded default.

use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::WorkerError;
use crate::settings::{MailSettings, MailTransport, SmtpTls};
use rules::jobs::{JobError, SendMail};

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

impl Mailer {
    pub fn new(config: &MailSettings) -> Result<Mailer, WorkerError> {
        let from = config
            .from
            .parse()
            .map_err(|e| WorkerError::Config(format!("MAIL_FROM {:?}: {e}", config.from)))?;
        let transport = match &config.transport {
            MailTransport::Folder(dir) => Transport::Folder(dir.clone()),
            MailTransport::Smtp {
                host,
                port,
                tls,
                credentials,
                timeout,
                ca_certificates,
            } => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
                let builder = match tls {
                    SmtpTls::None => builder,
                    SmtpTls::StartTls => builder.tls(Tls::Required(tls_parameters(
                        host,
                        ca_certificates.as_deref(),
                    )?)),
                    SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(
                        host,
                        ca_certificates.as_deref(),
                    )?)),
                };
                let mut builder = builder
                    .port(*port)
                    .timeout(Some(*timeout))
                    .pool_config(PoolConfig::new().max_size(config.max_connections));
                if let Some((user, password)) = credentials {
                    let password = password.expose_secret().to_owned();
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Mailer { from, transport })
    }
}

impl SendMail for Mailer {
    fn sender(&self) -> &Mailbox {
        &self.from
    }

    /// Sends a message. In a folder it is written as `<job id>.eml`; sent again for the same
    /// job, as `<job id>.2.eml` and so on, never over an earlier copy: the folder records every
    /// delivery, as a mailbox would, so a duplicate shows.
    async fn send(&self, job_id: Uuid, message: Message) -> Result<(), JobError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if refuses_the_recipient_for_good(&e) {
                    JobError::Undeliverable(e.to_string())
                } else {
                    JobError::Mail(e.to_string())
                }
            }),
            Transport::Folder(dir) => {
                let io = |e: std::io::Error| JobError::Mail(format!("{}: {e}", dir.display()));
                tokio::fs::create_dir_all(dir).await.map_err(io)?;
                // Written aside, then linked in whole under the first free name: a reader never
                // sees half a message, and a link never replaces an existing file.
                let partial = dir.join(format!(".{job_id}.{}.partial", Uuid::now_v7()));
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .map_err(io)?;
                let mut copy = 1;
                loop {
                    match tokio::fs::hard_link(&partial, folder_copy(dir, job_id, copy)).await {
                        Ok(()) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => copy += 1,
                        Err(e) => return Err(io(e)),
                    }
                }
                tokio::fs::remove_file(&partial).await.map_err(io)
            }
        }
    }
}

fn folder_copy(dir: &Path, job_id: Uuid, copy: usize) -> PathBuf {
    if copy == 1 {
        dir.join(format!("{job_id}.eml"))
    } else {
        dir.join(format!("{job_id}.{copy}.eml"))
    }
}

/// Every copy of a job's message delivered to a mail folder, in order.
pub fn delivered_to_folder(dir: &Path, job_id: Uuid) -> Vec<PathBuf> {
    (1..)
        .map(|copy| folder_copy(dir, job_id, copy))
        .take_while(|path| path.exists())
        .collect()
}

/// Whether the server refused this recipient in a way no retry can change: a permanent reply
/// (501, 550, 551, 553) whose enhanced status code says the destination mailbox is bad
/// (RFC 3463: 5.1.1 unknown, 5.1.2 bad system, 5.1.3 bad syntax, 5.1.6 moved, 5.1.10 null MX).
/// Every other refusal is retried with backoff — a 500 after a server's own fault, a refused
/// sender (5.1.7, 5.1.8: our MAIL_FROM, fixable), a policy block (5.7.x) — and a job still
/// failing when its attempts are spent is DEAD then, so a misconfiguration doesn't kill a whole
/// removal's emails at once.
fn refuses_the_recipient_for_good(error: &lettre::transport::smtp::Error) -> bool {
    let about_the_recipient = |text: &str| {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .any(|code| matches!(code, "5.1.1" | "5.1.2" | "5.1.3" | "5.1.6" | "5.1.10"))
    };
    error.is_permanent()
        && error
            .status()
            .is_some_and(|code| matches!(u16::from(code), 501 | 550 | 551 | 553))
        && about_the_recipient(&error.to_string())
}

/// TLS to the relay, its certificate checked against the public authorities and those of
/// `SMTP_CA_CERT`: mail never goes out over a connection that isn't encrypted and verified.
fn tls_parameters(
    host: &str,
    ca_certificates: Option<&Path>,
) -> Result<TlsParameters, WorkerError> {
    let mut parameters = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_certificates {
        let refused = |e: &dyn std::fmt::Display| {
            WorkerError::Config(format!("SMTP_CA_CERT {}: {e}", path.display()))
        };
        let pem = std::fs::read(path).map_err(|e| refused(&e))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(refused(&"holds no PEM certificate"));
        }
        parameters =
            parameters.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| refused(&e))?);
    }
    parameters
        .build_rustls()
        .map_err(|e| WorkerError::Config(format!("SMTP TLS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::{UserId, WorkspaceId};
    use rules::jobs::send_removal_email::SendRemovalEmail;

    /// A folder keeps every delivery: sending a job's message again can't hide the first copy.
    #[tokio::test]
    async fn a_folder_keeps_each_copy_of_a_message_sent_twice() {
        let dir = std::env::temp_dir().join(format!("offboarding-mail-{}", Uuid::now_v7()));
        let mailer = Mailer::new(&MailSettings {
            transport: MailTransport::Folder(dir.clone()),
            from: "Offboarding <no-reply@offboarding.invalid>".into(),
            max_connections: 1,
        })
        .unwrap();
        let job_id = Uuid::now_v7();
        let message = || {
            SendRemovalEmail {
                workspace_id: WorkspaceId(Uuid::nil()),
                user_id: UserId(Uuid::nil()),
                email: "mia@acme.test".into(),
                name: "Mia".into(),
                workspace_name: "Marketing".into(),
                groups: vec![],
                reason: None,
            }
            .message(mailer.sender(), job_id)
            .unwrap()
        };
        assert!(delivered_to_folder(&dir, job_id).is_empty());
        mailer.send(job_id, message()).await.unwrap();
        assert_eq!(
            delivered_to_folder(&dir, job_id),
            [dir.join(format!("{job_id}.eml"))]
        );
        mailer.send(job_id, message()).await.unwrap();
        assert_eq!(delivered_to_folder(&dir, job_id).len(), 2);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no partial file is left behind: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
