//! `api healthcheck`: exits 0 when the api on `BIND_ADDRESS` answers its readiness check, for
//! container healthchecks (the image has no HTTP client, and its `/bin/sh`, dash, no
//! `/dev/tcp`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;

/// How long the whole check may take: within docker-compose.yml's healthcheck timeout (3 s).
const TIMEOUT: Duration = Duration::from_secs(2);

/// Asks `GET /readyz` of the api listening on `bind_address` (on loopback when it listens on
/// every address); the error says why it isn't ready.
pub async fn probe(bind_address: SocketAddr) -> Result<(), String> {
    let address = SocketAddr::new(loopback_for(bind_address.ip()), bind_address.port());
    tokio::time::timeout(TIMEOUT, ask_ready(address))
        .await
        .map_err(|_| format!("no answer from {address} within {TIMEOUT:?}"))?
}

fn loopback_for(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

async fn ask_ready(address: SocketAddr) -> Result<(), String> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("{address}: {error}"))?;
    tokio::spawn(connection);
    let request = Request::get("/readyz")
        .header(header::HOST, address.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("GET /readyz on {address}: {error}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The readiness answer names what is down: {"database": …, "queue": …}.
    let body = response
        .into_body()
        .collect()
        .await
        .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
        .unwrap_or_default();
    Err(format!("GET /readyz on {address}: {status} {body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_listening_everywhere_is_asked_on_loopback() {
        assert_eq!(
            loopback_for("0.0.0.0".parse().unwrap()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            loopback_for("::".parse().unwrap()),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            loopback_for("10.0.0.7".parse().unwrap()),
            "10.0.0.7".parse::<IpAddr>().unwrap()
        );
    }
}
