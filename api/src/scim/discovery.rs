//! What the door says of itself (RFC 7644 §4, RFC 7643 §5–7): exactly what is built, no more,
//! so an identity provider never tries what would fail. Each grows as the door does.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{ScimError, scim_json};
use super::listing::MAX_RESULTS;
use super::schemas::{
    CONFIG_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, USER_SCHEMA,
};
use super::{Caller, base_url, segment};
use crate::state::AppState;

/// A list of every one of `resources` (discovery lists are not paged).
fn listed(resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

pub(crate) async fn service_provider_config(
    State(state): State<AppState>,
    _caller: Caller,
) -> Response {
    let base = base_url(&state);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [CONFIG_SCHEMA],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_RESULTS },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM token an owner of the organization made with createScimToken, sent as `Authorization: Bearer <token>`",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        }),
    )
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the organization the token belongs to",
        "schema": USER_SCHEMA,
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A user group of the workspace the token provisions into",
        "schema": GROUP_SCHEMA,
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
    })
}

/// RFC 7644 §4: a filter on a discovery endpoint is refused (403).
fn refuse_filter(parameters: &HashMap<String, String>) -> Result<(), ScimError> {
    if parameters.contains_key("filter") {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "discovery endpoints take no filter: they list everything",
        ));
    }
    Ok(())
}

pub(crate) async fn resource_types(
    State(state): State<AppState>,
    _caller: Caller,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    refuse_filter(&parameters)?;
    let base = base_url(&state);
    Ok(listed(vec![
        user_resource_type(&base),
        group_resource_type(&base),
    ]))
}

pub(crate) async fn resource_type(
    State(state): State<AppState>,
    _caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ScimError> {
    match segment(id)?.as_str() {
        "User" => Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&base_url(&state)),
        )),
        "Group" => Ok(scim_json(
            StatusCode::OK,
            &group_resource_type(&base_url(&state)),
        )),
        _ => Err(ScimError::not_found("resource type")),
    }
}

/// One attribute of a schema, as RFC 7643 §7 describes it.
fn attribute(name: &str, kind: &str, description: &str, more: Value) -> Value {
    let mut attribute = json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    });
    if let (Some(attribute), Value::Object(more)) = (attribute.as_object_mut(), more) {
        attribute.extend(more);
    }
    attribute
}

fn user_schema(base: &str) -> Value {
    let email = vec![
        attribute(
            "value",
            "string",
            "The address",
            json!({ "required": true }),
        ),
        attribute(
            "type",
            "string",
            "Always \"work\"",
            json!({ "canonicalValues": ["work"] }),
        ),
    ];
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the organization",
        "attributes": [
            attribute("userName", "string", "The identity provider's login name for the person (their email unless it gave another), unique in the organization", json!({ "required": true, "uniqueness": "server" })),
            attribute("externalId", "string", "The identity provider's id of the person, unique in the organization", json!({ "caseExact": true })),
            attribute("name", "complex", "The person's name", json!({
                "subAttributes": [
                    attribute("formatted", "string", "The full name", json!({})),
                    attribute("givenName", "string", "The full name up to its first space", json!({})),
                    attribute("familyName", "string", "The full name after its first space", json!({})),
                ],
            })),
            attribute("displayName", "string", "The full name", json!({})),
            attribute("emails", "complex", "The person's one address, which the service emails", json!({
                "multiValued": true,
                "required": true,
                "subAttributes": email,
            })),
            attribute("active", "boolean", "Whether the person holds an active membership in one of the organization's workspaces", json!({})),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

fn group_schema(base: &str) -> Value {
    let member = vec![
        attribute(
            "value",
            "string",
            "The member's User id",
            json!({ "required": true, "mutability": "immutable" }),
        ),
        attribute(
            "$ref",
            "reference",
            "The member's User",
            json!({ "mutability": "immutable", "referenceTypes": ["User"] }),
        ),
        attribute(
            "display",
            "string",
            "The member's name",
            json!({ "mutability": "readOnly" }),
        ),
    ];
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A user group of the workspace",
        "attributes": [
            attribute("displayName", "string", "The group's name, unique in the workspace", json!({ "required": true, "uniqueness": "server" })),
            attribute("members", "complex", "The people of the workspace in the group", json!({
                "multiValued": true,
                "subAttributes": member,
            })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    })
}

pub(crate) async fn schemas(
    State(state): State<AppState>,
    _caller: Caller,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    refuse_filter(&parameters)?;
    let base = base_url(&state);
    Ok(listed(vec![user_schema(&base), group_schema(&base)]))
}

pub(crate) async fn schema(
    State(state): State<AppState>,
    _caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ScimError> {
    match segment(id)?.as_str() {
        USER_SCHEMA => Ok(scim_json(StatusCode::OK, &user_schema(&base_url(&state)))),
        GROUP_SCHEMA => Ok(scim_json(StatusCode::OK, &group_schema(&base_url(&state)))),
        _ => Err(ScimError::not_found("schema")),
    }
}
