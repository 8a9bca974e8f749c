//! A SCIM request's body: JSON in `application/scim+json` (or `application/json`, which
//! identity providers also send), refused as SCIM refuses: 413 past the body limit, 415 for
//! another media type, 400 `invalidSyntax` for what isn't a JSON object.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use super::errors::ScimError;
use crate::state::AppState;

/// The JSON object a SCIM request carries.
pub(crate) struct ScimBody(pub(crate) Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/scim+json" || essence == "application/json"
}

impl FromRequest<AppState> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ScimError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !is_json(&content_type) {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "send the resource as application/scim+json",
            ));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_)
                        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ScimError::too_large()
                    }
                    _ => ScimError::invalid_syntax("the request body could not be read"),
                })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(ScimBody(object)),
            Ok(_) => Err(ScimError::invalid_syntax("the body must be a JSON object")),
            Err(error) => Err(ScimError::invalid_syntax(format!(
                "the body is not JSON: {error}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn scim_and_plain_json_are_both_accepted_with_or_without_parameters() {
        assert!(is_json("application/scim+json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/SCIM+JSON;charset=UTF-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
