//! SCIM's errors (RFC 7644 §3.12): a JSON body with the `Error` message schema, the HTTP status
//! as a string, a `scimType` where the RFC names one, and a `detail` for people. Every refusal
//! of the SCIM door is one of these; an internal failure is logged and answered without its
//! detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::schemas::ERROR_SCHEMA;
use rules::{RuleError, UserErrorCode};

/// SCIM's own media type, which every answer of the door carries.
pub(crate) const SCIM_JSON: &str = "application/scim+json";

#[derive(Debug)]
pub(crate) struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    /// For a 429: when to try again (`Retry-After`).
    retry_after_seconds: Option<u64>,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> ScimError {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after_seconds: None,
        }
    }

    /// No token, or one that is unknown or revoked.
    pub(crate) fn unauthorized() -> ScimError {
        ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "send `Authorization: Bearer <SCIM token>` with a token from createScimToken that is not revoked",
        )
    }

    pub(crate) fn invalid_filter(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }

    pub(crate) fn invalid_value(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    pub(crate) fn invalid_path(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }

    pub(crate) fn mutability(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("mutability"), detail)
    }

    pub(crate) fn too_large() -> ScimError {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "the request body is larger than the server accepts",
        )
    }

    pub(crate) fn not_found(what: &str) -> ScimError {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} not found"))
    }
}

/// A body in SCIM's media type.
pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.into();
        }
        let mut response = scim_json(self.status, &body);
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

/// A rule's refusal in SCIM's words; what isn't the caller's is INTERNAL in the log and a bare
/// 500 here.
impl From<RuleError> for ScimError {
    fn from(error: RuleError) -> ScimError {
        match error {
            RuleError::Unauthenticated => ScimError::unauthorized(),
            RuleError::Forbidden(detail) => ScimError::new(StatusCode::FORBIDDEN, None, detail),
            RuleError::NotFound(what) => ScimError::not_found(what),
            RuleError::WorkspaceNotFound(_) => ScimError::not_found("workspace"),
            RuleError::BadUserInput { .. } => ScimError::invalid_value(error.to_string()),
            RuleError::Rejected(refusals) => {
                let detail = refusals
                    .iter()
                    .map(|refusal| refusal.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let has = |code| refusals.iter().any(|refusal| refusal.code == code);
                if has(UserErrorCode::AccountNotManaged) {
                    ScimError::mutability(detail)
                } else if has(UserErrorCode::NotAMember) {
                    ScimError::invalid_value(detail)
                } else if [
                    UserErrorCode::AlreadyMember,
                    UserErrorCode::EmailTaken,
                    UserErrorCode::ExternalIdTaken,
                    UserErrorCode::GroupNameTaken,
                ]
                .into_iter()
                .any(has)
                {
                    ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
                } else {
                    // A rule keeps things as they are (the last owner, a full organization):
                    // the request conflicts with the state, and changed nothing.
                    ScimError::new(StatusCode::CONFLICT, None, detail)
                }
            }
            RuleError::RateLimited {
                retry_after_seconds,
            } => ScimError {
                retry_after_seconds: Some(retry_after_seconds),
                ..ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, error.to_string())
            },
            RuleError::ConflictRetry { .. } => {
                ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, error.to_string())
            }
            RuleError::Database(_) | RuleError::Internal { .. } => {
                tracing::error!(error = ?error, "a SCIM request failed");
                ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal error: the details are in the server's log",
                )
            }
        }
    }
}
