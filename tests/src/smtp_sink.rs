//! A small SMTP server for the tests and benchmarks: it speaks enough real SMTP over TCP for
//! lettre (EHLO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT, pipelined or not), accepts every
//! message and keeps each one, by Message-ID, noting whether it came over TLS. Every test on
//! PostgreSQL gets one of its own, so the README's test command needs no mail server started by
//! hand and no test reads another's mail.
//!
//! Like a real relay it offers STARTTLS, with a certificate for localhost and 127.0.0.1 signed
//! by the test authority in `tests/fixtures/smtp-tls` ([`test_ca_certificate`]); a client that
//! doesn't ask for TLS is served in the clear.
//!
//! It can also take a message and hang up before answering ([`SmtpSink::hang_up_after_taking`]):
//! the failure no client can tell from a lost message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate authority that signed the sink's certificate: what `SMTP_CA_CERT` names for
/// the product to trust it.
pub fn test_ca_certificate() -> PathBuf {
    fixtures().join("ca.pem")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/smtp-tls")
}

/// Whether the sink offers STARTTLS in its EHLO answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    Offered,
    NotOffered,
}

/// One message as received.
#[derive(Debug, Clone)]
struct Received {
    text: String,
    over_tls: bool,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    /// Every message received, by Message-ID (each copy kept).
    received: Arc<Mutex<HashMap<String, Vec<Received>>>>,
    tls: Option<TlsAcceptor>,
    /// How many more messages to take and then hang up on, unanswered.
    hang_ups: Arc<AtomicUsize>,
}

impl SmtpSink {
    /// Listens on a free loopback port until the process ends.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_at(0).await
    }

    /// Listens on this loopback port (0: any free one) until the process ends.
    pub async fn start_at(port: u16) -> SmtpSink {
        SmtpSink::start_with(port, StartTls::Offered).await
    }

    pub async fn start_with(port: u16, starttls: StartTls) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("a free port");
        let sink = SmtpSink {
            port: listener.local_addr().expect("an address").port(),
            received: Arc::default(),
            tls: (starttls == StartTls::Offered).then(acceptor),
            hang_ups: Arc::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Replies are small writes: without this, Nagle's algorithm and delayed ACKs
                // hold some of them for tens of milliseconds.
                let _ = stream.set_nodelay(true);
                let sink = serving.clone();
                tokio::spawn(async move {
                    let _ = sink.serve(stream).await;
                });
            }
        });
        sink
    }

    /// The next `messages` messages are taken — kept as received — and the connection is then
    /// dropped before the answer: as when a relay, or the network, fails once the message is
    /// in. The client can only send it again.
    pub fn hang_up_after_taking(&self, messages: usize) {
        self.hang_ups.store(messages, Ordering::SeqCst);
    }

    /// Messages received so far.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().values().map(Vec::len).sum()
    }

    /// How many copies of each Message-ID arrived.
    pub fn copies(&self) -> HashMap<String, usize> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .map(|(id, copies)| (id.clone(), copies.len()))
            .collect()
    }

    /// Every copy received of the message with this Message-ID (`<…>`).
    pub fn messages(&self, message_id: &str) -> Vec<String> {
        self.received_as(message_id, |copy| copy.text.clone())
    }

    /// For every copy of the message with this Message-ID, whether it came over TLS.
    pub fn over_tls(&self, message_id: &str) -> Vec<bool> {
        self.received_as(message_id, |copy| copy.over_tls)
    }

    /// Every copy received of a job's message: its Message-ID is the job's (`<job@offboarding>`).
    pub fn job_messages(&self, job_id: uuid::Uuid) -> Vec<String> {
        self.messages(&format!("<{job_id}@offboarding>"))
    }

    /// For every copy of a job's message, whether it came over TLS.
    pub fn job_over_tls(&self, job_id: uuid::Uuid) -> Vec<bool> {
        self.over_tls(&format!("<{job_id}@offboarding>"))
    }

    fn received_as<T>(&self, message_id: &str, read: impl Fn(&Received) -> T) -> Vec<T> {
        let received = self.received.lock().unwrap();
        received
            .get(message_id)
            .map(|copies| copies.iter().map(read).collect())
            .unwrap_or_default()
    }

    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut clear = BufReader::new(stream);
        clear.write_all(b"220 sink ESMTP\r\n").await?;
        if self.session(&mut clear, false).await? == Ended::StartTls {
            let acceptor = self
                .tls
                .clone()
                .expect("STARTTLS is accepted only when offered");
            // The client waits for the 220 before its handshake: nothing is left buffered.
            let encrypted = acceptor.accept(clear.into_inner()).await?;
            self.session(&mut BufReader::new(encrypted), true).await?;
        }
        Ok(())
    }

    /// Serves commands until the client quits, leaves, or (in the clear) starts TLS.
    async fn session<S: AsyncBufRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        over_tls: bool,
    ) -> std::io::Result<Ended> {
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(Ended::Closed);
            }
            let command = line.trim_end().to_ascii_uppercase();
            let verb = command.get(..4).unwrap_or("");
            let reply: &[u8] = match verb {
                "EHLO" if self.tls.is_some() && !over_tls => {
                    b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
                }
                "EHLO" => b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                "STAR" if command == "STARTTLS" && self.tls.is_some() && !over_tls => {
                    stream.write_all(b"220 ready to start TLS\r\n").await?;
                    stream.flush().await?;
                    return Ok(Ended::StartTls);
                }
                "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                "DATA" => {
                    stream.write_all(b"354 go ahead\r\n").await?;
                    stream.flush().await?;
                    let (message_id, text) = read_message(stream).await?;
                    self.received
                        .lock()
                        .unwrap()
                        .entry(message_id.unwrap_or_default())
                        .or_default()
                        .push(Received { text, over_tls });
                    let hang_up =
                        self.hang_ups
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                                left.checked_sub(1)
                            });
                    if hang_up.is_ok() {
                        return Ok(Ended::Closed);
                    }
                    b"250 OK queued\r\n"
                }
                "QUIT" => {
                    stream.write_all(b"221 bye\r\n").await?;
                    stream.flush().await?;
                    return Ok(Ended::Closed);
                }
                _ => b"502 not implemented\r\n",
            };
            stream.write_all(reply).await?;
            stream.flush().await?;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Closed,
    StartTls,
}

/// Reads a message up to its lone "." line; returns its Message-ID and its text.
async fn read_message<S: AsyncBufRead + Unpin>(
    reader: &mut S,
) -> std::io::Result<(Option<String>, String)> {
    let mut message_id = None;
    let mut text = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 || line == ".\r\n" {
            return Ok((message_id, text));
        }
        // Dot-stuffing: a line that starts with "." was sent with one more.
        text.push_str(line.strip_prefix('.').unwrap_or(&line));
        if message_id.is_none()
            && let Some(id) = line.strip_prefix("Message-ID: ")
        {
            message_id = Some(id.trim_end().to_owned());
        }
    }
}

/// TLS with the sink's certificate and key from the fixtures.
fn acceptor() -> TlsAcceptor {
    let certificates = CertificateDer::pem_file_iter(fixtures().join("server.pem"))
        .expect("the sink's certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("a PEM certificate");
    let key =
        PrivateKeyDer::from_pem_file(fixtures().join("server-key.pem")).expect("the sink's key");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .expect("the certificate matches its key");
    TlsAcceptor::from(Arc::new(config))
}

/// The job a Message-ID names: `<job@offboarding>`.
pub fn job_of(message_id: &str) -> Option<uuid::Uuid> {
    message_id
        .strip_prefix('<')?
        .strip_suffix("@offboarding>")?
        .parse()
        .ok()
}
