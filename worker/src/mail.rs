//! Sending email: SMTP in production, a folder of `.eml` files in the embedded default.

use std::path::{Path, PathBuf};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::ActiveEnum;
use secrecy::ExposeSecret;
use url::Url;
use uuid::Uuid;

use crate::WorkerError;
use crate::handlers::InvitationLink;
use crate::settings::{MailSettings, MailTransport, SmtpTls};

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

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Sends a message. In a folder it is written as `<job id>.eml`; sent again for the same
    /// job, as `<job id>.2.eml` and so on, never over an earlier copy: the folder records every
    /// delivery, as a mailbox would, so a duplicate shows.
    pub async fn send(&self, job_id: Uuid, message: Message) -> Result<(), WorkerError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if refuses_the_recipient_for_good(&e) {
                    WorkerError::Undeliverable(e.to_string())
                } else {
                    WorkerError::Mail(e.to_string())
                }
            }),
            Transport::Folder(dir) => {
                let io = |e: std::io::Error| WorkerError::Mail(format!("{}: {e}", dir.display()));
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

pub struct RemovalEmail<'a> {
    pub job_id: Uuid,
    pub to_email: &'a str,
    pub to_name: &'a str,
    pub workspace_name: &'a str,
    pub groups: &'a [String],
    pub reason: Option<&'a str>,
}

/// The message that tells a person they were removed. Its Message-ID is derived from the job,
/// so a re-sent copy is recognisably the same message. A message that can't be built (see
/// [`recipient`]) is [`WorkerError::Undeliverable`].
pub fn removal_message(from: &Mailbox, email: &RemovalEmail<'_>) -> Result<Message, WorkerError> {
    let to = recipient(
        email.to_email,
        Some(email.to_name),
        &[("workspace name", email.workspace_name)],
    )?;
    let groups = if email.groups.is_empty() {
        "You were not in any of its groups.".to_owned()
    } else {
        format!(
            "You were also removed from all its groups: {}.",
            email.groups.join(", ")
        )
    };
    let reason = email
        .reason
        .map(|reason| format!("\nReason given: {reason}\n"))
        .unwrap_or_default();
    let text = format!(
        "Hello {name},\n\nYou have been removed from the workspace \"{workspace}\". {groups}\n{reason}\n\
         Your account and your memberships of other workspaces are unchanged.\n\
         If you think this is a mistake, contact the workspace's administrators.\n",
        name = email.to_name,
        workspace = email.workspace_name,
    );
    let html = format!(
        "<p>Hello {name},</p><p>You have been removed from the workspace <strong>{workspace}</strong>. {groups}</p>{reason}\
         <p>Your account and your memberships of other workspaces are unchanged.</p>\
         <p>If you think this is a mistake, contact the workspace's administrators.</p>",
        name = escape(email.to_name),
        workspace = escape(email.workspace_name),
        groups = escape(&groups),
        reason = email
            .reason
            .map(|reason| format!("<p>Reason given: {}</p>", escape(reason)))
            .unwrap_or_default(),
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("You were removed from {}", email.workspace_name))
        .message_id(Some(format!("<{}@offboarding>", email.job_id)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| WorkerError::Undeliverable(e.to_string()))
}

/// The recipient's mailbox, once every value bound for a header is known to be safe: an
/// address that doesn't parse, or a header value with a control character (which lettre would
/// otherwise panic on, or which could smuggle in a header), is [`WorkerError::Undeliverable`].
fn recipient(
    to_email: &str,
    to_name: Option<&str>,
    header_values: &[(&str, &str)],
) -> Result<Mailbox, WorkerError> {
    let named = to_name.map(|name| ("recipient name", name));
    for (what, value) in named.iter().chain(header_values) {
        if value.chars().any(char::is_control) {
            return Err(WorkerError::Undeliverable(format!(
                "the {what} {value:?} holds a control character"
            )));
        }
    }
    let address = to_email
        .parse()
        .map_err(|e| WorkerError::Undeliverable(format!("recipient {to_email:?}: {e}")))?;
    Ok(Mailbox::new(to_name.map(str::to_owned), address))
}

pub struct InvitationEmail<'a> {
    pub job_id: Uuid,
    pub invitation: &'a InvitationLink,
    /// `PUBLIC_URL`: the link goes under it.
    pub public_url: &'a Url,
}

/// The address that accepts an invitation: `accept-invitation` under `PUBLIC_URL`, the token in
/// the fragment, which browsers never send to a server nor pass on in a `Referer`.
pub fn accept_link(public_url: &Url, token: &str) -> Url {
    let mut link = public_url
        .join("accept-invitation")
        .expect("a relative path joins any http(s) address");
    link.set_fragment(Some(&format!("token={token}")));
    link
}

/// The message that invites a person, with the link that accepts the invitation and until when
/// it works. Its Message-ID is derived from the job, as a removal email's: a send retried after
/// a failure carries a link of its own, but the first copy's still works, so a mailbox that
/// keeps only one of them keeps a working link. A message that can't be built is
/// [`WorkerError::Undeliverable`].
pub fn invitation_message(
    from: &Mailbox,
    email: &InvitationEmail<'_>,
) -> Result<Message, WorkerError> {
    let invitation = email.invitation;
    let inviter = invitation
        .inviter_name
        .as_deref()
        .unwrap_or("An administrator");
    let to = recipient(
        &invitation.email,
        None,
        &[
            ("workspace name", &invitation.workspace_name),
            ("inviter name", inviter),
        ],
    )?;
    let link = accept_link(email.public_url, &invitation.token);
    let role = invitation.role.to_value().to_lowercase();
    let until = invitation.expires_at.format("%Y-%m-%d %H:%M UTC");
    let text = format!(
        "Hello,\n\n{inviter} invited you to join the workspace \"{workspace}\" as {role}.\n\n\
         Accept the invitation: {link}\n\n\
         The link works until {until}. If you weren't expecting this, ignore this email.\n",
        workspace = invitation.workspace_name,
    );
    let html = format!(
        "<p>Hello,</p><p>{inviter} invited you to join the workspace <strong>{workspace}</strong> as {role}.</p>\
         <p><a href=\"{link}\">Accept the invitation</a></p>\
         <p>The link works until {until}. If you weren't expecting this, ignore this email.</p>",
        inviter = escape(inviter),
        workspace = escape(&invitation.workspace_name),
        link = escape(link.as_str()),
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!(
            "{inviter} invited you to {}",
            invitation.workspace_name
        ))
        .message_id(Some(format!("<{}@offboarding>", email.job_id)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| WorkerError::Undeliverable(e.to_string()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
            removal_message(
                mailer.from(),
                &RemovalEmail {
                    job_id,
                    to_email: "mia@acme.test",
                    to_name: "Mia",
                    workspace_name: "Marketing",
                    groups: &[],
                    reason: None,
                },
            )
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

    #[test]
    fn the_removal_message_names_the_workspace_and_groups_in_text_and_html() {
        let from: Mailbox = "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap();
        let job_id = Uuid::now_v7();
        let message = removal_message(
            &from,
            &RemovalEmail {
                job_id,
                to_email: "mia@acme.test",
                to_name: "Mia <Member>",
                workspace_name: "Marketing",
                groups: &["Designers".into()],
                reason: Some("left the company"),
            },
        )
        .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains(&format!("Message-ID: <{job_id}@offboarding>")));
        assert!(raw.contains("mia@acme.test"));
        assert!(raw.contains("You were removed from Marketing"));
        assert!(raw.contains("Designers"));
        assert!(raw.contains("left the company"));
        assert!(raw.contains("Mia &lt;Member&gt;"), "HTML is escaped");
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }

    #[test]
    fn a_message_that_cannot_be_built_is_undeliverable_not_a_panic() {
        let from: Mailbox = "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap();
        for (name, address) in [
            ("Eve\r\nBcc: x@x.test", "eve@acme.test"),
            ("A\u{0}B", "a@acme.test"),
            ("Eve", "a@b@c.com"),
            ("Eve", "a..b@c.com"),
        ] {
            let error = removal_message(
                &from,
                &RemovalEmail {
                    job_id: Uuid::now_v7(),
                    to_email: address,
                    to_name: name,
                    workspace_name: "Marketing",
                    groups: &[],
                    reason: None,
                },
            )
            .unwrap_err();
            assert!(error.can_never_succeed(), "{name:?} <{address}>: {error}");
        }
    }

    fn invitation(inviter_name: &str, workspace_name: &str) -> InvitationLink {
        InvitationLink {
            token: "ofi_secret-token".into(),
            email: "new@acme.test".into(),
            role: entities::Role::Admin,
            workspace_name: workspace_name.into(),
            inviter_name: Some(inviter_name.into()),
            expires_at: chrono::DateTime::parse_from_rfc3339("2026-12-08T09:30:00Z")
                .unwrap()
                .into(),
        }
    }

    #[test]
    fn the_invitation_message_carries_its_link_and_refuses_header_smuggling() {
        let from: Mailbox = "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap();
        let public_url = Url::parse("https://people.acme.test/app/").unwrap();
        let job_id = Uuid::now_v7();
        let sent = invitation("Olivia <Owner>", "Marketing");
        let message = invitation_message(
            &from,
            &InvitationEmail {
                job_id,
                invitation: &sent,
                public_url: &public_url,
            },
        )
        .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{job_id}@offboarding>")),
            "the job's: {raw}"
        );
        assert!(raw.contains("To: new@acme.test"), "{raw}");
        assert!(
            raw.contains("Olivia <Owner> invited you to Marketing"),
            "{raw}"
        );
        assert!(
            raw.contains("Olivia &lt;Owner&gt;"),
            "HTML is escaped: {raw}"
        );
        assert!(raw.contains("as admin") && raw.contains("2026-12-08 09:30 UTC"));
        assert_eq!(
            accept_link(&public_url, &sent.token).as_str(),
            "https://people.acme.test/app/accept-invitation#token=ofi_secret-token"
        );
        for (inviter, workspace) in [("Eve\r\nBcc: x@x.test", "Marketing"), ("Eve", "M\u{0}")] {
            let error = invitation_message(
                &from,
                &InvitationEmail {
                    job_id,
                    invitation: &invitation(inviter, workspace),
                    public_url: &public_url,
                },
            )
            .unwrap_err();
            assert!(
                error.can_never_succeed(),
                "{inviter:?} {workspace:?}: {error}"
            );
        }
    }
}
