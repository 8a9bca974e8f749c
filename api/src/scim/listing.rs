//! What the lists and the resources of every resource type share: the page a list request asks
//! for (RFC 7644 §3.4.2.4), the list's answer, and a resource's answer with its `Location`.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{ScimError, scim_json};
use super::schemas::LIST_SCHEMA;

/// The most resources one page holds (ServiceProviderConfig's `filter.maxResults`); a larger
/// `count` gets this many.
pub(crate) const MAX_RESULTS: u64 = 100;

/// The page a list request asks for: `startIndex` 1-based (below 1 read as 1), `count` at most
/// [`MAX_RESULTS`] (below 0 read as 0).
pub(crate) struct Window {
    pub(crate) start_index: i64,
    pub(crate) offset: u64,
    pub(crate) count: u64,
}

impl Window {
    pub(crate) fn of(parameters: &HashMap<String, String>) -> Result<Window, ScimError> {
        let start_index = number(parameters, "startIndex")?.unwrap_or(1).max(1);
        let count = number(parameters, "count")?
            .map_or(MAX_RESULTS, |count| u64::try_from(count).unwrap_or(0))
            .min(MAX_RESULTS);
        Ok(Window {
            start_index,
            offset: u64::try_from(start_index - 1).unwrap_or(0),
            count,
        })
    }

    /// The list's answer: these resources of `total`, from this window's start.
    pub(crate) fn answer(&self, total: u64, resources: Vec<Value>) -> Response {
        scim_json(
            StatusCode::OK,
            &json!({
                "schemas": [LIST_SCHEMA],
                "totalResults": total,
                "startIndex": self.start_index,
                "itemsPerPage": resources.len(),
                "Resources": resources,
            }),
        )
    }
}

/// A query parameter that must be a whole number, if given.
fn number(parameters: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ScimError> {
    parameters
        .get(name)
        .map(|text| {
            text.trim().parse::<i64>().map_err(|_| {
                ScimError::invalid_value(format!("{name} must be a whole number, not {text:?}"))
            })
        })
        .transpose()
}

/// A resource as a write answers it, with its `meta.location` as `Location` too.
pub(crate) fn resource_answer(status: StatusCode, resource: &Value) -> Response {
    let mut response = scim_json(status, resource);
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|location| HeaderValue::from_str(location).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
