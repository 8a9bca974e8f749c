//! GraphQL over HTTP, as the GraphQL-over-HTTP spec and its conformance audit (graphql-http's
//! `serverAudits`) read it: what a request must look like before it runs, and how an answer is
//! shaped: its media type, its status, and no `data` entry for a request that could not run.

use std::collections::BTreeMap;

use async_graphql::{BatchRequest, BatchResponse, ParseRequestError, ServerError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::middleware::refusal;

/// The media type of an answer for clients that ask for it; everyone else gets
/// `application/json`.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// What a request without a GraphQL document is told: how to send one.
pub(crate) const HOW_TO_ASK: &str = "no GraphQL query in this request: POST /graphql with \
    Content-Type: application/json and a body like {\"query\": \"{ viewer { role } }\"}, or \
    GET /graphql?query=… for a query; open /graphql in a browser for GraphiQL";

/// A body that isn't a GraphQL request gets a GraphQL-shaped error, not a bare text.
pub struct BadRequest(ParseRequestError);

impl From<ParseRequestError> for BadRequest {
    fn from(error: ParseRequestError) -> Self {
        BadRequest(error)
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        let too_large = match &self.0 {
            ParseRequestError::PayloadTooLarge => true,
            ParseRequestError::Io(error) => error.to_string().contains("length limit exceeded"),
            _ => false,
        };
        if too_large {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the request body is larger than the server accepts",
            )
        } else {
            refusal(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("not a GraphQL request: {}", self.0),
            )
        }
    }
}

/// A POST whose body is declared as JSON. Anything else (no `Content-Type`, `text/plain`, a
/// form, multipart) is a 415 before the body is read: such bodies are what a page on any origin
/// can send without a CORS preflight, and no GraphQL client sends them.
pub struct JsonBody;

impl<S: Send + Sync> FromRequestParts<S> for JsonBody {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let essence = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|essence| essence.trim().to_ascii_lowercase());
        if essence.as_deref() == Some("application/json") {
            return Ok(JsonBody);
        }
        Err(refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            &format!(
                "a GraphQL request is sent as JSON, with Content-Type: application/json (this one \
                 has {})",
                essence.map_or_else(|| "none".to_owned(), |essence| format!("{essence:?}"))
            ),
        ))
    }
}

/// Whether some operation of the batch names no document at all: neither a query nor a
/// persisted query's hash (a client that forgot the body, or misspelled `query`).
pub(crate) fn asks_nothing(batch: &BatchRequest) -> bool {
    let empty = |request: &async_graphql::Request| {
        request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery")
    };
    match batch {
        BatchRequest::Single(request) => empty(request),
        BatchRequest::Batch(requests) => requests.iter().any(empty),
    }
}

/// The HTTP answer: `application/graphql-response+json` when the client accepts it (then a
/// request that could not run at all is a 400, per GraphQL over HTTP), else `application/json`
/// (always 200); a mutation sent by GET is a 405, and a rate-limited operation says when to try
/// again in `Retry-After`. An answer to a request that could not run has no `data` entry (the
/// GraphQL spec: `data` is there once execution started, even as `null`). Never longer than
/// `limit` bytes: RESPONSE_TOO_LARGE instead, which tells the client to ask for less at once (a
/// request with a mutation is answered whole).
pub(crate) fn respond(answer: &BatchResponse, headers: &HeaderMap, limit: usize) -> Response {
    let graphql_response = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE));
    let (status, retry_after) = match answer {
        BatchResponse::Single(response) => {
            let status = if has_code(response, "METHOD_NOT_ALLOWED") {
                StatusCode::METHOD_NOT_ALLOWED
            } else if graphql_response && did_not_run(response) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, retry_after(response))
        }
        BatchResponse::Batch(_) => (StatusCode::OK, None),
    };
    let body = match body(answer) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "an answer could not be written as JSON");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                crate::graphql::errors::INTERNAL_MESSAGE,
            );
        }
    };
    if body.len() > limit {
        return refusal(
            StatusCode::OK,
            "RESPONSE_TOO_LARGE",
            &format!(
                "the answer would take {} bytes, over the limit of {limit}: ask for less at once \
                 (a smaller `first`, fewer ids, aliases or batched operations)",
                body.len()
            ),
        );
    }
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if graphql_response {
            GRAPHQL_RESPONSE
        } else {
            "application/json"
        }),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// Whether the operation never ran: it failed to parse, to validate, or to coerce its variables,
/// or was refused before execution. Its errors then point at no field: a field's error always
/// has a path, even one that nulled the whole `data`.
fn did_not_run(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// One operation's answer as it is written: whole, or without `data` when it never ran.
/// Serialized as it stands (not through a JSON map, which would sort the fields: an answer's
/// fields come in the order the query asked for them).
#[derive(Serialize)]
#[serde(untagged)]
enum Shaped<'a> {
    Ran(&'a async_graphql::Response),
    NeverRan {
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extensions: &'a BTreeMap<String, async_graphql::Value>,
    },
}

impl<'a> Shaped<'a> {
    fn of(response: &'a async_graphql::Response) -> Shaped<'a> {
        if did_not_run(response) {
            Shaped::NeverRan {
                errors: &response.errors,
                extensions: &response.extensions,
            }
        } else {
            Shaped::Ran(response)
        }
    }
}

/// The answer as JSON.
fn body(answer: &BatchResponse) -> serde_json::Result<Vec<u8>> {
    match answer {
        BatchResponse::Single(response) => serde_json::to_vec(&Shaped::of(response)),
        BatchResponse::Batch(responses) => {
            serde_json::to_vec(&responses.iter().map(Shaped::of).collect::<Vec<_>>())
        }
    }
}

/// When a single operation was RATE_LIMITED or CONFLICT_RETRY, its wait, for a `Retry-After`
/// header as well.
fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        match extensions.get("retryAfter")? {
            async_graphql::Value::Number(seconds) => seconds.as_u64(),
            _ => None,
        }
    })
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|value| *value == async_graphql::Value::from(code))
    })
}

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, Response, ServerError, Value};

    use super::did_not_run;

    #[test]
    fn only_an_operation_whose_errors_point_at_no_field_did_not_run() {
        let parse_error = Response::from_errors(vec![ServerError::new("expected a name", None)]);
        assert!(did_not_run(&parse_error));
        let mut field_error = ServerError::new("refused", None);
        field_error.path = vec![PathSegment::Field("workspace".into())];
        let nulled = Response::from_errors(vec![field_error]);
        assert!(!did_not_run(&nulled));
        assert!(!did_not_run(&Response::new(Value::Null)));
    }
}
