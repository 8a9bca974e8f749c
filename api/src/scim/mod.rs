//! The identity provider's door: SCIM 2.0 (RFC 7643, RFC 7644) under `/scim/v2`, for Okta,
//! Entra ID and the like, authenticated by a SCIM token (`createScimToken`). It translates
//! between SCIM's JSON and the rules, as the GraphQL layer does, and decides nothing itself.
//! Every answer is `application/scim+json`; every refusal an RFC 7644 §3.12 error body.
//!
//! Built so far: discovery and reading Users. Creating, changing and deprovisioning people, and
//! Groups, are not built yet: those operations answer 501, so an identity provider configured
//! now fails loudly instead of half-provisioning, and the ServiceProviderConfig says what is
//! supported.

mod discovery;
mod errors;
mod filter;
mod projection;
mod schemas;
mod users;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;

use crate::handlers::{bearer_token, note_use_of};
use crate::state::AppState;
use errors::ScimError;
use rules::RuleError;
use rules::organizations::scim_tokens::{self, ScimCaller};

/// The door's routes, to nest under `/scim/v2`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(method_not_allowed),
        )
        .route(
            "/ResourceTypes",
            get(discovery::resource_types).fallback(method_not_allowed),
        )
        .route(
            "/ResourceTypes/{id}",
            get(discovery::resource_type).fallback(method_not_allowed),
        )
        .route(
            "/Schemas",
            get(discovery::schemas).fallback(method_not_allowed),
        )
        .route(
            "/Schemas/{id}",
            get(discovery::schema).fallback(method_not_allowed),
        )
        .route("/Users", get(users::list).fallback(not_implemented))
        .route("/Users/{id}", get(users::get).fallback(not_implemented))
        .fallback(not_found)
}

/// What the door answers at, as links in its answers write it: `<PUBLIC_URL>/scim/v2`.
pub(crate) fn base_url(state: &AppState) -> String {
    let public_url = state.config.worker.public_url.as_str();
    format!("{}/scim/v2", public_url.trim_end_matches('/'))
}

/// An operation of SCIM this server doesn't carry out yet.
async fn not_implemented(_caller: Caller) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "this operation is not supported yet: see /scim/v2/ServiceProviderConfig",
    )
}

/// Discovery is read-only (RFC 7644 §4).
async fn method_not_allowed(_caller: Caller) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "discovery endpoints are read with GET",
    )
}

/// A path segment, or 404 when it isn't text (`%FF`): the answer a SCIM client expects of a
/// resource that isn't there, never a plain-text 400.
pub(crate) fn segment(path: Result<Path<String>, PathRejection>) -> Result<String, ScimError> {
    path.map(|Path(segment)| segment)
        .map_err(|_| ScimError::not_found("resource"))
}

async fn not_found(_caller: Caller) -> ScimError {
    ScimError::not_found("endpoint")
}

/// The SCIM token a request came with, not revoked: refused with 401 and a SCIM error body
/// otherwise. Its use is written beside the request, at most once a minute
/// (`scimTokens.lastUsedAt`).
pub(crate) struct Caller(pub(crate) ScimCaller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let token = bearer_token(&parts.headers).ok_or_else(ScimError::unauthorized)?;
        let caller = scim_tokens::authenticate(&state.reader, token)
            .await
            .map_err(RuleError::from)?
            .ok_or_else(ScimError::unauthorized)?;
        note_use_of(state, caller.token_hash.clone());
        Ok(Caller(caller))
    }
}
