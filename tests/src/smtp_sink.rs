//! A small SMTP server for the tests and benchmarks: it speaks enough real SMTP over TCP for
//! lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, pipelined or not), accepts every message
//! and keeps each one, by Message-ID. Every test on PostgreSQL gets one of its own, so the
//! README's test command needs no mail server started by hand and no test reads another's mail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    /// Every message received, as sent, by Message-ID (each copy kept).
    received: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl SmtpSink {
    /// Listens on a free loopback port until the process ends.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_at(0).await
    }

    /// Listens on this loopback port (0: any free one) until the process ends.
    pub async fn start_at(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("a free port");
        let sink = SmtpSink {
            port: listener.local_addr().expect("an address").port(),
            received: Arc::default(),
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
        let received = self.received.lock().unwrap();
        received.get(message_id).cloned().unwrap_or_default()
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        writer.write_all(b"220 sink ESMTP\r\n").await?;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                "DATA" => {
                    writer.write_all(b"354 go ahead\r\n").await?;
                    let (message_id, text) = self.read_message(&mut reader).await?;
                    self.received
                        .lock()
                        .unwrap()
                        .entry(message_id.unwrap_or_default())
                        .or_default()
                        .push(text);
                    b"250 OK queued\r\n"
                }
                "QUIT" => {
                    writer.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 not implemented\r\n",
            };
            writer.write_all(reply).await?;
        }
    }

    /// Reads a message up to its lone "." line; returns its Message-ID and its text.
    async fn read_message(
        &self,
        reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
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
}
