//! A small SMTP server for benchmarks: it speaks enough real SMTP over TCP for lettre (EHLO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT, pipelined or not), accepts every message and counts
//! them by Message-ID. aiosmtpd, the suite's sink, takes a few hundred messages a second on
//! this machine, which would measure the sink rather than the pipeline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<HashMap<String, usize>>>,
}

impl SmtpSink {
    /// Listens on a free loopback port until the process ends.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
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
        self.received.lock().unwrap().values().sum()
    }

    /// How many copies of each Message-ID arrived.
    pub fn copies(&self) -> HashMap<String, usize> {
        self.received.lock().unwrap().clone()
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
                    let message_id = self.read_message(&mut reader).await?;
                    *self
                        .received
                        .lock()
                        .unwrap()
                        .entry(message_id.unwrap_or_default())
                        .or_insert(0) += 1;
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

    /// Reads a message up to its lone "." line; returns its Message-ID.
    async fn read_message(
        &self,
        reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    ) -> std::io::Result<Option<String>> {
        let mut message_id = None;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 || line == ".\r\n" {
                return Ok(message_id);
            }
            if message_id.is_none()
                && let Some(id) = line.strip_prefix("Message-ID: ")
            {
                message_id = Some(id.trim_end().to_owned());
            }
        }
    }
}
