//! SMTP with TLS, against a real server on loopback: with STARTTLS (the default) or TLS
//! configured, mail goes out encrypted to a relay whose certificate checks out, or not at all.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

use std::path::PathBuf;
use std::time::Duration;

use lettre::Message;
use rules::jobs::{JobError, SendMail};
use tests::smtp_sink::{SmtpSink, StartTls, test_ca_certificate};
use uuid::Uuid;
use worker::WorkerError;
use worker::mail::Mailer;
use worker::settings::{MailSettings, MailTransport, SmtpTls};

fn mailer(
    port: u16,
    tls: SmtpTls,
    ca_certificates: Option<PathBuf>,
) -> Result<Mailer, WorkerError> {
    Mailer::new(&MailSettings {
        transport: MailTransport::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls,
            credentials: None,
            timeout: Duration::from_secs(5),
            ca_certificates,
        },
        from: "Offboarding <no-reply@offboarding.invalid>".into(),
        max_connections: 1,
    })
}

/// Sends one message for a new job to `sink` with this TLS setting: the job's id, and whether
/// the mailer sent it.
async fn send_to(
    sink: &SmtpSink,
    tls: SmtpTls,
    ca_certificates: Option<PathBuf>,
) -> (Uuid, Result<(), JobError>) {
    let job_id = Uuid::now_v7();
    let mailer = mailer(sink.port, tls, ca_certificates).unwrap();
    (job_id, mailer.send(job_id, message(job_id)).await)
}

fn message(job_id: Uuid) -> Message {
    Message::builder()
        .from("no-reply@offboarding.invalid".parse().unwrap())
        .to("mia@example.com".parse().unwrap())
        .message_id(Some(format!("<{job_id}@offboarding>")))
        .subject("You were removed")
        .body("a private matter".to_owned())
        .unwrap()
}

#[tokio::test]
async fn starttls_sends_encrypted_to_a_relay_whose_certificate_checks_out() {
    let sink = SmtpSink::start().await;
    let (job_id, sent) = send_to(&sink, SmtpTls::StartTls, Some(test_ca_certificate())).await;
    sent.expect("sent over STARTTLS");
    assert_eq!(sink.over_tls(&format!("<{job_id}@offboarding>")), [true]);
}

#[tokio::test]
async fn starttls_refuses_a_certificate_no_trusted_authority_signed() {
    let sink = SmtpSink::start().await;
    // Without SMTP_CA_CERT, only the public authorities are trusted.
    let (_, sent) = send_to(&sink, SmtpTls::StartTls, None).await;
    let error = sent.expect_err("an unknown authority is refused");
    assert!(
        matches!(error, JobError::Mail(_)),
        "retried later: {error:?}"
    );
    assert_eq!(sink.count(), 0, "nothing was sent: {error}");
}

#[tokio::test]
async fn starttls_never_falls_back_to_the_clear() {
    let sink = SmtpSink::start_with(0, StartTls::NotOffered).await;
    let (_, sent) = send_to(&sink, SmtpTls::StartTls, Some(test_ca_certificate())).await;
    let error = sent.expect_err("a relay without STARTTLS is refused");
    assert!(matches!(error, JobError::Mail(_)), "{error:?}");
    assert_eq!(sink.count(), 0, "nothing was sent in the clear: {error}");
    // Asked for no TLS, the same relay takes the message in the clear.
    let (job_id, sent) = send_to(&sink, SmtpTls::None, None).await;
    sent.expect("sent in the clear when asked to");
    assert_eq!(sink.over_tls(&format!("<{job_id}@offboarding>")), [false]);
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_configuration_error_at_startup() {
    let missing = PathBuf::from("/nonexistent/ca.pem");
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "not a certificate").unwrap();
    for (path, says) in [
        (missing, "No such file"),
        (not_pem.path().to_owned(), "no PEM certificate"),
    ] {
        let Err(WorkerError::Config(message)) = mailer(25, SmtpTls::StartTls, Some(path)) else {
            panic!("a configuration error");
        };
        assert!(
            message.starts_with("SMTP_CA_CERT ") && message.contains(says),
            "{message}"
        );
    }
}
