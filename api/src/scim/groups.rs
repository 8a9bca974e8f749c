//! SCIM Groups (RFC 7643 §4.2): the user groups of the token's workspace, with their members
//! (people of the workspace, as Users). Listed, read, created, replaced, patched and deleted
//! over `rules::provisioning::groups`.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rules::provisioning::groups::{
    GroupFilter, MemberOp, ProvisionedGroup, change_group, create_group, delete_group, group_of,
    groups_of,
};
use rules::text::{CheckedText, GroupName};
use serde_json::{Value, json};

use super::body::ScimBody;
use super::errors::{ScimError, scim_json};
use super::group_input::GroupDraft;
use super::listing::{Window, resource_answer};
use super::schemas::GROUP_SCHEMA;
use super::{Caller, Done, base_url, change, filter, projection, segment};
use crate::state::AppState;

/// A group as SCIM writes it.
fn group_resource(found: &ProvisionedGroup, base: &str) -> Value {
    let group = &found.group;
    let members: Vec<Value> = found
        .members
        .iter()
        .map(|member| {
            json!({
                "value": member.id,
                "$ref": format!("{base}/Users/{}", member.id),
            })
        })
        .collect();
    let mut resource = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": group.created_at,
            "location": format!("{base}/Groups/{}", group.id),
        },
    });
    if let Some(external_id) = &group.external_id {
        resource["externalId"] = external_id.as_str().into();
    }
    resource
}

fn group_id(id: Result<Path<String>, PathRejection>) -> Result<uuid::Uuid, ScimError> {
    segment(id)?
        .parse::<uuid::Uuid>()
        .map_err(|_| ScimError::not_found("group"))
}

fn group_name(text: &str) -> Result<GroupName, ScimError> {
    GroupName::parse(text).map_err(|error| ScimError::invalid_value(error.to_string()))
}

fn answer(state: &AppState, status: StatusCode, group: &ProvisionedGroup) -> Response {
    resource_answer(status, &group_resource(group, &base_url(state)))
}

/// `GET /Groups`: the workspace's groups, filtered by `displayName eq` or `id eq`, paged as
/// Users are, with `attributes`/`excludedAttributes` (Okta and Entra ask without `members`).
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let attributes = projection::Projection::of(&parameters)?;
    let filter = match parameters.get("filter") {
        Some(text) => filter::parse_group(text)?,
        None => GroupFilter::Everyone,
    };
    let window = Window::of(&parameters)?;
    let page = groups_of(
        &state.reader,
        caller.token.workspace_id,
        &filter,
        window.offset,
        window.count,
    )
    .await?;
    let base = base_url(&state);
    let resources: Vec<Value> = page
        .groups
        .iter()
        .map(|group| attributes.apply(group_resource(group, &base)))
        .collect();
    Ok(window.answer(page.total, resources))
}

/// `GET /Groups/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    Query(parameters): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let attributes = projection::Projection::of(&parameters)?;
    let group = group_of(&state.reader, caller.token.workspace_id, group_id(id)?).await?;
    Ok(scim_json(
        StatusCode::OK,
        &attributes.apply(group_resource(&group, &base_url(&state))),
    ))
}

/// `POST /Groups`: 201 with the group; 409 `uniqueness` for a name the workspace has.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let draft = GroupDraft::from_resource(&body)?;
    let name = group_name(
        draft
            .display_name
            .as_deref()
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?,
    )?;
    let members: Vec<_> = draft
        .members
        .into_iter()
        .flat_map(|op| match op {
            MemberOp::Add(ids) | MemberOp::Replace(ids) => ids,
            MemberOp::Remove(_) => Vec::new(),
        })
        .collect();
    let external_id = draft.external_id.flatten();
    let group = change(
        &state,
        &caller,
        "scim.createGroup",
        async move |txn, provisioner| {
            let group = create_group(
                txn,
                provisioner,
                &name,
                external_id.clone(),
                members.clone(),
            )
            .await?;
            Ok(Done::without_jobs(group))
        },
    )
    .await?;
    Ok(answer(&state, StatusCode::CREATED, &group))
}

async fn changed(
    state: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
    draft: GroupDraft,
) -> Result<Response, ScimError> {
    let name = draft.display_name.as_deref().map(group_name).transpose()?;
    let member_ops = draft.members;
    let external_id = draft.external_id;
    let group = change(
        state,
        caller,
        "scim.changeGroup",
        async move |txn, provisioner| {
            let group = change_group(
                txn,
                provisioner,
                id,
                name.as_ref(),
                external_id.clone(),
                member_ops.clone(),
            )
            .await?;
            Ok(Done::without_jobs(group))
        },
    )
    .await?;
    Ok(answer(state, StatusCode::OK, &group))
}

/// `PUT /Groups/{id}`: the name and every member as the resource says.
pub(crate) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let id = group_id(id)?;
    let draft = GroupDraft::from_resource(&body)?;
    if draft.display_name.is_none() {
        return Err(ScimError::invalid_value("displayName is required"));
    }
    changed(&state, &caller, id, draft).await
}

/// `PATCH /Groups/{id}`: members added and removed, the name replaced; what already is as
/// asked changes nothing.
pub(crate) async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let id = group_id(id)?;
    let draft = GroupDraft::from_patch(&body)?;
    changed(&state, &caller, id, draft).await
}

/// `DELETE /Groups/{id}`: 204; its members stay in the workspace.
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ScimError> {
    let id = group_id(id)?;
    change(
        &state,
        &caller,
        "scim.deleteGroup",
        async move |txn, provisioner| {
            delete_group(txn, provisioner, id).await?;
            Ok(Done::without_jobs(()))
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
