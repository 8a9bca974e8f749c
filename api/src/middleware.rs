//! Layers every answer passes through: the headers that keep browsers safe, and the body limits
//! whose refusals are shaped like every other GraphQL error.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::json;

/// What every answer tells a browser, after CORS: never sniff its type (JSON, `/metrics`' text
/// and pages alike), and a page is never readable by another origin, whatever CORS allows for
/// the API: a page's CORS headers are taken off.
pub(crate) async fn browser_safety(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_page {
        for name in [
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
        ] {
            headers.remove(name);
        }
    }
    response
}

/// Bodies read and thrown away before a 413, at most: a larger one is refused unread.
const DRAINED_AT_MOST: u64 = 8 * 1024 * 1024;
/// How long a refused body may take to arrive before the connection is closed anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A body whose Content-Length is over the limit is refused with 413 — after reading it and
/// throwing it away, up to a bound. Closing a connection with bytes still unread makes the
/// kernel reset it, and a client still writing its body (a browser, reqwest) then reports
/// "connection reset" instead of the 413; nginx's "lingering close" does the same.
pub(crate) async fn refuse_declared_oversized_bodies(
    State(limit): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The SCIM door answers in SCIM's words (RFC 7644 §3.12), every other path in GraphQL's.
    let scim = request.uri().path().starts_with("/scim/");
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            // A client that asked first (`Expect: 100-continue`, curl's way with large bodies)
            // waits for a go-ahead before sending: refused unread, it has nothing in flight.
            let sends_after_go_ahead = request
                .headers()
                .get(header::EXPECT)
                .is_some_and(|expect| expect.as_bytes().eq_ignore_ascii_case(b"100-continue"));
            if length <= DRAINED_AT_MOST && !sends_after_go_ahead {
                let mut body = request.into_body();
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
                    while let Some(Ok(_)) = body.frame().await {}
                })
                .await;
            }
            if scim {
                return crate::scim::errors::ScimError::too_large().into_response();
            }
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the request body is larger than the server accepts",
            )
        }
        _ => next.run(request).await,
    }
}

pub(crate) async fn shaped_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| {
            kind.as_bytes().starts_with(b"application/json")
                || kind.as_bytes().starts_with(b"application/scim+json")
        });
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "the request body is larger than the server accepts",
        );
    }
    response
}

/// A response shaped like GraphQL's, for requests refused before GraphQL runs.
pub(crate) fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
