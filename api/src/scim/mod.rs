//! The identity provider's door: SCIM 2.0 (RFC 7643, RFC 7644) under `/scim/v2`, for Okta,
//! Entra ID and the like, authenticated by a SCIM token (`createScimToken`). It translates
//! between SCIM's JSON and the rules, as the GraphQL layer does, and decides nothing itself.
//! Every answer is `application/scim+json`; every refusal an RFC 7644 §3.12 error body.
//!
//! Every change is one transaction over the rules of `rules::provisioning`, acting as the token
//! (an OWNER of each workspace it touches), run again when the database aborts it for a
//! conflict, its jobs handed to the queue once committed.

mod body;
mod discovery;
pub(crate) mod errors;
mod filter;
mod group_input;
mod groups;
mod listing;
mod projection;
mod schemas;
mod user_changes;
mod user_input;
mod users;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use chrono::{SubsecRound, Utc};
use rules::provisioning::Provisioner;
use sea_orm::{DatabaseTransaction, TransactionTrait};

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
        .route(
            "/Users",
            get(users::list)
                .post(user_changes::create)
                .fallback(method_not_allowed),
        )
        .route("/.search", axum::routing::post(search_everything))
        .route(
            "/Users/.search",
            axum::routing::post(users::search).fallback(method_not_allowed),
        )
        .route(
            "/Users/{id}",
            get(users::get)
                .put(user_changes::replace)
                .patch(user_changes::patch)
                .delete(user_changes::delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups",
            get(groups::list)
                .post(groups::create)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete)
                .fallback(method_not_allowed),
        )
        .fallback(not_found)
}

/// What the door answers at, as links in its answers write it: `<PUBLIC_URL>/scim/v2`.
pub(crate) fn base_url(state: &AppState) -> String {
    let public_url = state.config.worker.public_url.as_str();
    format!("{}/scim/v2", public_url.trim_end_matches('/'))
}

/// A method the endpoint doesn't answer (discovery is read-only, RFC 7644 §4).
async fn method_not_allowed(_caller: Caller) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint doesn't answer this method: see /scim/v2/ServiceProviderConfig",
    )
}

/// A search of every resource type at once (RFC 7644 §3.4.3 at the root) is not carried out:
/// 501, as the RFC says, and `POST /Users/.search` is there instead.
async fn search_everything(_caller: Caller) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "search one resource type at a time: POST /scim/v2/Users/.search",
    )
}

/// What a change produced: its answer, and the outbox rows to hand to the queue once committed.
pub(crate) struct Done<T> {
    pub(crate) answer: T,
    pub(crate) outbox_ids: Vec<uuid::Uuid>,
}

impl<T> Done<T> {
    /// An answer with no side effects to hand over.
    pub(crate) fn without_jobs(answer: T) -> Done<T> {
        Done {
            answer,
            outbox_ids: Vec::new(),
        }
    }
}

/// Runs one change of the identity provider's in one transaction, acting as its token at one
/// instant: committed when `act` succeeds, rolled back (nothing half-applied) when it refuses,
/// run again when the database aborts it for a conflict; then its jobs are queued.
pub(crate) async fn change<T>(
    state: &AppState,
    caller: &Caller,
    operation: &str,
    act: impl AsyncFnOnce(&DatabaseTransaction, &Provisioner<'_>) -> Result<Done<T>, RuleError> + Clone,
) -> Result<T, ScimError> {
    let done = crate::changes::in_transaction(operation, || {
        let act = act.clone();
        async move {
            let provisioner = Provisioner {
                caller: &caller.token,
                request_id: caller.request_id.as_deref(),
                now: Utc::now().trunc_subsecs(6),
                welcome_ttl: state.config.invitation_ttl,
            };
            let txn = state.writer.begin().await?;
            match act(&txn, &provisioner).await {
                Ok(done) => {
                    txn.commit().await?;
                    Ok(done)
                }
                Err(error) => {
                    txn.rollback().await?;
                    Err(error)
                }
            }
        }
    })
    .await?;
    crate::changes::hand_over(&state.writer, &state.queue, done.outbox_ids);
    Ok(done.answer)
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
/// otherwise; past its allowance (`SCIM_LIMIT_PER_TOKEN_PER_MINUTE`), 429 with `Retry-After`.
/// Its use is written beside the request, at most once a minute (`scimTokens.lastUsedAt`).
pub(crate) struct Caller {
    pub(crate) token: ScimCaller,
    /// The request's `x-request-id`, kept in the audit entries of what it changes.
    request_id: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let token = bearer_token(&parts.headers).ok_or_else(ScimError::unauthorized)?;
        let caller = scim_tokens::authenticate(&state.reader, token)
            .await
            .map_err(RuleError::from)?
            .ok_or_else(ScimError::unauthorized)?;
        state.scim_throttle.request(caller.token_id)?;
        note_use_of(state, caller.token_hash.clone());
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Caller {
            token: caller,
            request_id,
        })
    }
}
