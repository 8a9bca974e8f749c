//! SCIM Users (RFC 7643 §4.1): the people of the token's organization. A person's `id` is their
//! user id, their `userName` and one work email their address, `active` whether one of their
//! memberships in the organization is ACTIVE.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use entities::UserId;
use rules::organizations::people::{OrganizationPerson, PeopleFilter, people_of, person_of};
use rules::provisioning::accounts::NameParts;

use rules::organizations::scim_tokens::ScimCaller;

use super::body::ScimBody;
use super::errors::{ScimError, scim_json};
use super::listing::Window;
use super::schemas::USER_SCHEMA;
use super::user_input::split_name;
use super::{Caller, base_url, filter, projection, segment};
use crate::state::AppState;

/// A person as SCIM writes them.
pub(crate) fn user_resource(person: &OrganizationPerson, base: &str) -> Value {
    let user = &person.user;
    let mut resource = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": person.user_name(),
        "name": name_of(person),
        "displayName": user.name,
        "emails": [{ "value": user.email, "type": "work" }],
        "active": person.active,
        // No `lastModified`: the service doesn't track when a person's attributes changed, and
        // a date that never moves would tell a provider nothing changed when it did.
        "meta": {
            "resourceType": "User",
            "created": user.created_at,
            "location": format!("{base}/Users/{}", user.id),
        },
    });
    if let Some(external_id) = &person.external_id {
        resource["externalId"] = external_id.as_str().into();
    }
    resource
}

/// The person's name as SCIM's complex `name`: their display name, and the given and family
/// names the provider sent (else the display name split at its first space).
fn name_of(person: &OrganizationPerson) -> Value {
    let (given, family) = match &person.name_parts {
        NameParts {
            given: None,
            family: None,
        } => split_name(&person.user.name),
        parts => (
            parts.given.clone().unwrap_or_default(),
            parts.family.clone(),
        ),
    };
    let mut value = json!({ "formatted": person.user.name });
    if !given.is_empty() {
        value["givenName"] = given.into();
    }
    if let Some(family) = family {
        value["familyName"] = family.into();
    }
    value
}

/// `GET /Users`: the organization's people, filtered (see [`filter`]) and paged as RFC 7644
/// §3.4.2.4 says ([`Window`]), with `attributes`/`excludedAttributes`.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    listed(&state, &caller.token, &parameters).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query of `GET /Users` sent as a body, for
/// filters too long or too private for a URL. `attributes` and `excludedAttributes` are lists
/// there.
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let mut parameters = HashMap::new();
    for (key, value) in &body {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Array(names) => names
                .iter()
                .map(|name| {
                    name.as_str().map(str::to_owned).ok_or_else(|| {
                        ScimError::invalid_value(format!("{key} must list attribute names"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            _ if key.eq_ignore_ascii_case("schemas") => continue,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{key} has the wrong type"
                )));
            }
        };
        if !key.eq_ignore_ascii_case("schemas") {
            parameters.insert(key.clone(), text);
        }
    }
    listed(&state, &caller.token, &parameters).await
}

async fn listed(
    state: &AppState,
    caller: &ScimCaller,
    parameters: &HashMap<String, String>,
) -> Result<Response, ScimError> {
    let attributes = projection::Projection::of(parameters)?;
    let filter = match parameters.get("filter") {
        Some(text) => filter::parse(text)?,
        None => PeopleFilter::Everyone,
    };
    let window = Window::of(parameters)?;
    let page = people_of(
        &state.reader,
        caller.organization_id,
        &filter,
        window.offset,
        window.count,
    )
    .await?;
    let base = base_url(state);
    let resources: Vec<Value> = page
        .people
        .iter()
        .map(|person| attributes.apply(user_resource(person, &base)))
        .collect();
    Ok(window.answer(page.total, resources))
}

/// The person a `/Users/{id}` path names: 404 for what isn't an id.
pub(crate) fn user_id(id: Result<Path<String>, PathRejection>) -> Result<UserId, ScimError> {
    segment(id)?
        .parse::<uuid::Uuid>()
        .map(UserId::from)
        .map_err(|_| ScimError::not_found("user"))
}

/// `GET /Users/{id}`: one person of the organization; anyone else (another organization's, a
/// removed person, an id that isn't one) is 404.
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let attributes = projection::Projection::of(&parameters)?;
    let person = person_of(&state.reader, caller.token.organization_id, user_id(id)?).await?;
    Ok(scim_json(
        StatusCode::OK,
        &attributes.apply(user_resource(&person, &base_url(&state))),
    ))
}
