//! The HTTP handlers: GraphQL over POST, GET and WebSocket (authenticating the caller once per
//! request, shaping refusals and answers), readiness and metrics.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{BatchRequest, BatchResponse};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLWebSocket};
use axum::Json;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ipnet::IpNet;
use serde_json::json;

use crate::graphiql;
use crate::graphql::budget::RequestBudget;
use crate::graphql::http::{ReadOnly, is_introspection_only};
use crate::graphql::{RequestContext, SocketPeer, SocketToken};
use rules::access::Principal;

use crate::middleware::refusal;
use crate::over_http::{BadRequest, HOW_TO_ASK, JsonBody, asks_nothing, respond};
use crate::state::AppState;

pub(crate) async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    _: JsonBody,
    request: GraphQLBatchRequest<BadRequest>,
) -> Response {
    execute(&state, peer, &headers, request.into_inner(), false).await
}

/// `GET /graphql`: GraphiQL for a browser asking for a page, otherwise a GraphQL request in the
/// query string (GraphQL over HTTP), which may only read.
pub(crate) async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query_string = uri.query().unwrap_or_default();
    let wants_page = query_string.is_empty()
        && headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if wants_page && let Some(pages) = &state.graphiql {
        let client = client_address(peer.ip(), &headers, &state.config.trusted_proxies);
        if let Some(page) = pages.for_request(&headers, client.is_loopback()) {
            return graphiql::page_response(page);
        }
    }
    match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => execute(&state, peer, &headers, BatchRequest::Single(request), true).await,
        Err(error) => BadRequest::from(error).into_response(),
    }
}

async fn execute(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    batch: BatchRequest,
    read_only: bool,
) -> Response {
    if asks_nothing(&batch) {
        return refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", HOW_TO_ASK);
    }
    let limit = state.config.limits.batch_size;
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limit
    {
        return refusal(
            StatusCode::BAD_REQUEST,
            "BATCH_TOO_LARGE",
            &format!(
                "a batch may hold at most {limit} operations, this one has {}",
                requests.len()
            ),
        );
    }
    let principal = match bearer_token(headers) {
        Some(token) => match state
            .principals
            .authenticate(&state.reader, token, Utc::now())
            .await
        {
            Ok(principal) => {
                note_token_use(state, principal.as_ref());
                principal
            }
            Err(error) => {
                tracing::error!(?error, "authentication lookup failed");
                return refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    crate::graphql::errors::INTERNAL_MESSAGE,
                );
            }
        },
        None => None,
    };
    let context = RequestContext {
        principal,
        request_id: headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        client_address: Some(client_address(
            peer.ip(),
            headers,
            &state.config.trusted_proxies,
        )),
        // Bytes past ASCII are allowed in a header: kept, as UTF-8 where they are.
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        budget: RequestBudget::new(&state.config.limits),
    };
    let budget = context.budget.clone();
    let mut batch = batch.data(context);
    if read_only {
        batch = batch.data(ReadOnly);
    }
    let answer = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(state, request).await),
        BatchRequest::Batch(requests) => BatchResponse::Batch(
            async_graphql::futures_util::future::join_all(
                requests.into_iter().map(|r| run(state, r)),
            )
            .await,
        ),
    };
    // A mutation's answer goes out whole: refusing it would hide what was done.
    let limit = if budget.changes() {
        usize::MAX
    } else {
        state.config.limits.response_bytes
    };
    respond(&answer, headers, limit)
}

/// Records, beside the request, that its session or API key was used (at most once a minute
/// per token): a slow or failed write never holds up or fails the request it describes.
fn note_token_use(state: &AppState, principal: Option<&Principal>) {
    let Some(token_hash) = principal.and_then(|principal| {
        principal
            .session_token_hash
            .clone()
            .or_else(|| principal.api_key.as_ref().map(|key| key.token_hash.clone()))
    }) else {
        return;
    };
    note_use_of(state, token_hash);
}

/// Records, beside the request, that the token with this hash was used (a session, an API key,
/// a SCIM token), at most once a minute per token.
pub(crate) fn note_use_of(state: &AppState, token_hash: String) {
    let now = Utc::now();
    if !state.activity.due(&token_hash, now) {
        return;
    }
    let writer = state.writer.clone();
    tokio::spawn(async move {
        if let Err(error) = rules::access::activity::record_use(&writer, &token_hash, now).await {
            tracing::warn!(?error, "a token's last use was not recorded");
        }
    });
}

/// Runs one operation: an introspection-only one on the schema without depth limits.
async fn run(state: &AppState, request: async_graphql::Request) -> async_graphql::Response {
    match &state.introspection {
        Some(introspection)
            if is_introspection_only(&request.query, request.operation_name.as_deref()) =>
        {
            introspection.execute(request).await
        }
        _ => state.schema.execute(request).await,
    }
}

/// Who sent the request: the TCP peer, unless the peer is a trusted proxy, in which case the
/// last address of `X-Forwarded-For` that isn't a trusted proxy too (the ones before it could
/// be anything the client wrote).
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|proxy| proxy.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.into_iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(address) if is_trusted(&address) => continue,
            Ok(address) => return address,
            Err(_) => break,
        }
    }
    peer
}

/// Subscriptions over WebSocket (graphql-transport-ws, or the older graphql-ws). The token comes
/// in `connection_init`'s payload, as `{"Authorization": "Bearer <token>"}`, since browsers can't
/// set headers on a WebSocket; the subscription checks it, at its start and before every read.
pub(crate) async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Browsers let any page open a WebSocket anywhere, sending its Origin: only the API's own
    // origin and the CORS origins may (clients that aren't browsers send none).
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !same_origin(origin, &headers) && !state.config.cors.allows(origin) {
            return refusal(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this origin may not open the API's WebSocket: add it to CORS_ALLOWED_ORIGINS",
            );
        }
    }
    let client = client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    upgrade
        .max_message_size(state.config.limits.body_bytes)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let token = ["Authorization", "authorization"]
                        .iter()
                        .find_map(|name| payload.get(*name).and_then(|value| value.as_str()))
                        .and_then(bearer_value)
                        .or_else(|| payload.get("token").and_then(|value| value.as_str()))
                        .map(str::to_owned);
                    let mut data = Data::default();
                    data.insert(SocketToken(token));
                    data.insert(SocketPeer(client));
                    Ok(data)
                })
                .serve()
        })
}

/// Whether `origin` is the API's own: the same host and port the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    host.is_some() && origin_host == host
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    bearer_value(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of an `Authorization` value, `Bearer <token>`.
fn bearer_value(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

pub(crate) async fn render_metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(metrics) => metrics.render(&state.reader, &state.queue).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Ready when the database and the queue (Redis, or the embedded queue file) answer.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let database = match state.reader.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(error) => {
            tracing::warn!(?error, "readiness: database unreachable");
            "unreachable".to_owned()
        }
    };
    let queue = match tokio::time::timeout(Duration::from_secs(2), state.queue.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: queue unreachable");
            "unreachable".to_owned()
        }
        Err(_) => "timeout".to_owned(),
    };
    let ready = database == "ok" && queue == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "database": database, "queue": queue })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_read_through_trusted_proxies_only() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(client_address(peer, &headers, &trusted), peer);
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 198.51.100.7, 10.1.2.3".parse().unwrap(),
        );
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_address(peer, &headers, &trusted), client);
        // A peer that isn't a trusted proxy can claim any X-Forwarded-For: it is ignored.
        let direct: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_address(direct, &headers, &trusted), direct);
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_address(peer, &headers, &trusted), peer);
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ofs_abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("ofs_abc"));
        headers.insert(header::AUTHORIZATION, "bearer  ofs_abc ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("ofs_abc"));
        headers.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
