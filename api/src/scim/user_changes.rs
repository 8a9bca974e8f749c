//! The identity provider's changes to Users: `POST` adds a person, `PUT` and `PATCH` change
//! them (`active` deactivates or reactivates them in every workspace of the organization),
//! `DELETE` removes them, each one transaction over `rules::provisioning`.

use std::str::FromStr;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rules::RuleError;
use rules::organizations::people::{OrganizationPerson, person_of};
use rules::provisioning::accounts::{self, NameParts, NewPerson, PersonChanges};
use rules::provisioning::deprovision;
use rules::text::{CheckedText, Email, ExternalId, PersonName};
use serde_json::{Map, Value};

use super::body::ScimBody;
use super::errors::ScimError;
use super::listing::resource_answer;
use super::user_input::{UserDraft, split_name};
use super::users::{user_id, user_resource};
use super::{Caller, Done, base_url, change};
use crate::state::AppState;

fn email(text: &str) -> Result<Email, ScimError> {
    Email::from_str(text)
        .map_err(|_| ScimError::invalid_value(format!("{text:?} is not an email address")))
}

/// A `userName`: any text an identity provider logs people in by, within bounds.
fn user_name(text: &str) -> Result<String, ScimError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 255 || text.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(
            "userName must be 1 to 255 characters, without control characters",
        ));
    }
    Ok(text.to_owned())
}

/// The given and family names said, each bounded as a name is.
fn name_parts(draft: &UserDraft) -> Result<NameParts, ScimError> {
    let part = |text: &Option<String>| {
        text.as_deref()
            .map(|text| name(text).map(PersonName::into_string))
            .transpose()
    };
    Ok(NameParts {
        given: part(&draft.given_name)?,
        family: part(&draft.family_name)?,
    })
}

/// The address to reach the person at: a work email, or a userName that is an address.
fn address_of(draft: &UserDraft) -> Result<Email, ScimError> {
    email(draft.email().ok_or_else(|| {
        ScimError::invalid_value(
            "give the person's work email (emails[type eq \"work\"].value) or a userName that is an address",
        )
    })?)
}

fn name(text: &str) -> Result<PersonName, ScimError> {
    PersonName::parse(text).map_err(|error| ScimError::invalid_value(format!("name {error}")))
}

fn external_id(text: &str) -> Result<ExternalId, ScimError> {
    ExternalId::parse(text).map_err(|error| ScimError::invalid_value(error.to_string()))
}

/// What the draft says, as the rules take it; every value checked before anything changes.
fn changes(draft: &UserDraft) -> Result<PersonChanges, ScimError> {
    Ok(PersonChanges {
        user_name: draft.user_name.as_deref().map(user_name).transpose()?,
        email: draft.email().map(email).transpose()?,
        name: draft.name().as_deref().map(name).transpose()?,
        name_parts: Some(name_parts(draft)?),
        external_id: draft
            .external_id
            .as_ref()
            .map(|id| id.as_deref().map(external_id).transpose())
            .transpose()?,
        active: draft.active,
    })
}

fn answer(state: &AppState, status: StatusCode, person: &OrganizationPerson) -> Response {
    resource_answer(status, &user_resource(person, &base_url(state)))
}

/// `POST /Users`: adds the person to the organization (an ACTIVE MEMBER of the token's
/// workspace): 201 with the User. 409 `uniqueness` for someone already in the organization.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let draft = UserDraft::from_resource(&body)?;
    let login = user_name(
        draft
            .user_name
            .as_deref()
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?,
    )?;
    let address = address_of(&draft)?;
    let person_name = draft.name().as_deref().map(name).transpose()?;
    let parts = name_parts(&draft)?;
    let external = draft
        .external_id
        .clone()
        .flatten()
        .as_deref()
        .map(external_id)
        .transpose()?;
    let person = change(
        &state,
        &caller,
        "scim.createUser",
        async move |txn, provisioner| {
            let new = NewPerson {
                user_name: login.clone(),
                email: address.clone(),
                name: person_name.clone(),
                name_parts: parts.clone(),
                external_id: external.clone(),
                active: draft.active.unwrap_or(true),
            };
            let provisioned = accounts::provision(txn, provisioner, new).await?;
            Ok(Done {
                answer: provisioned.person,
                outbox_ids: provisioned.outbox_ids,
            })
        },
    )
    .await?;
    Ok(answer(&state, StatusCode::CREATED, &person))
}

/// `PUT /Users/{id}`: the person as the whole resource says. An `externalId` left out is
/// forgotten; `active` left out is left as it is (a provider that omits it never means "cut
/// off").
pub(crate) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let user_id = user_id(id)?;
    let mut draft = UserDraft::from_resource(&body)?;
    if draft.user_name.is_none() {
        return Err(ScimError::invalid_value("userName is required"));
    }
    draft.external_id.get_or_insert(None);
    let wanted = changes(&draft)?;
    let person = change(
        &state,
        &caller,
        "scim.replaceUser",
        async move |txn, provisioner| {
            let changed = accounts::update(txn, provisioner, user_id, wanted.clone()).await?;
            Ok(Done {
                answer: changed.person,
                outbox_ids: changed.outbox_ids,
            })
        },
    )
    .await?;
    Ok(answer(&state, StatusCode::OK, &person))
}

/// The person as a draft, for PATCH operations to change: their names as GET shows them (the
/// display name split at its first space where no parts were sent), `active` unsaid, so only
/// an operation that says it acts on it, as PUT's does.
fn draft_of(person: &OrganizationPerson) -> UserDraft {
    let (given, family) = match &person.name_parts {
        NameParts {
            given: None,
            family: None,
        } => {
            let (given, family) = split_name(&person.user.name);
            (Some(given), family)
        }
        parts => (parts.given.clone(), parts.family.clone()),
    };
    UserDraft {
        user_name: Some(person.user_name().to_owned()),
        formatted: Some(person.user.name.clone()),
        given_name: given,
        family_name: family,
        display_name: None,
        work_email: Some(person.user.email.clone()),
        external_id: Some(person.external_id.clone()),
        active: None,
        formatted_said: false,
    }
}

/// The PATCH applied to the person as they are: what the rules are asked to make of them.
fn patched(
    person: &OrganizationPerson,
    body: &Map<String, Value>,
) -> Result<PersonChanges, ScimError> {
    let mut draft = draft_of(person);
    draft.patch(body)?;
    changes(&draft)
}

/// `PATCH /Users/{id}`: the operations applied to the person as the change's transaction reads
/// them (checked first on a read before it, so a bad request is refused in SCIM's words); what
/// is already as asked changes nothing, so a replay is harmless. A name said only in part keeps
/// the other part as it was.
pub(crate) async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let user_id = user_id(id)?;
    patched(
        &person_of(&state.writer, caller.token.organization_id, user_id).await?,
        &body,
    )?;
    let person = change(
        &state,
        &caller,
        "scim.patchUser",
        async move |txn, provisioner| {
            let person = person_of(txn, provisioner.caller.organization_id, user_id).await?;
            // Checked above: only a value read from the person could differ, and those are valid.
            let wanted = patched(&person, &body).map_err(|refusal| {
                RuleError::internal("applying a checked PATCH", format!("{refusal:?}"))
            })?;
            let changed = accounts::update(txn, provisioner, user_id, wanted).await?;
            Ok(Done {
                answer: changed.person,
                outbox_ids: changed.outbox_ids,
            })
        },
    )
    .await?;
    Ok(answer(&state, StatusCode::OK, &person))
}

/// `DELETE /Users/{id}`: removes the person from every workspace of the organization (see
/// `rules::provisioning::deprovision::remove`); 204, also when a removal waits for an admin
/// (the person is then deactivated there).
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ScimError> {
    let user_id = user_id(id)?;
    change(
        &state,
        &caller,
        "scim.deleteUser",
        async move |txn, provisioner| {
            let removed = deprovision::remove(txn, provisioner, user_id).await?;
            for waiting in &removed.waiting {
                tracing::info!(
                    user_id = %user_id,
                    workspace_id = %waiting.workspace_id,
                    blocked_by = waiting.blocked_by,
                    "the identity provider's removal waits for an admin; the person is deactivated there"
                );
            }
            Ok(Done {
                answer: (),
                outbox_ids: removed.outbox_ids,
            })
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
