//! API keys: created by a person, acting in one workspace with a role no higher than theirs.

use chrono::{DateTime, Utc};
use domain::audit::{self, AuditEvent};
use domain::db::Writes;
use entities::{Role, UserId, WorkspaceId, api_key};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::json;

use crate::access::{Acting, Permission};
use crate::error::{ApiError, UserError, UserErrorCode};
use crate::security::{TokenKind, new_token};
use crate::text::ApiKeyName;

pub struct CreatedApiKey {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub key: api_key::Model,
}

/// How many leading characters of a key are kept in clear, to tell keys apart in a list.
const PREFIX_LENGTH: usize = 12;

pub async fn create_api_key<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    name: &ApiKeyName,
    role: Role,
) -> Result<CreatedApiKey, ApiError> {
    let Acting {
        principal,
        request_id,
        now,
    } = acting;
    principal.require(Permission::ApiKeyManagement, workspace_id)?;
    // A key acting above its creator would be a way around the role rules.
    if role.rank() > principal.role.rank() {
        return Err(ApiError::Rejected(vec![
            UserError::new(
                UserErrorCode::RoleNotManageable,
                "An API key can't act with a role above your own.",
            )
            .on_field("role"),
        ]));
    }
    let token = new_token(TokenKind::ApiKey);
    let key = api_key::ActiveModel::new(
        principal.workspace_id,
        principal.user_id,
        name.as_str().to_owned(),
        role,
        token.token[..PREFIX_LENGTH].to_owned(),
        token.hash,
        now,
    )
    .insert(db)
    .await?;
    audit::record(
        db,
        AuditEvent {
            workspace_id: principal.workspace_id,
            actor: Some(principal.actor),
            action: "api_key_create",
            target_user_id: Some(principal.user_id),
            metadata: json!({ "api_key_id": key.id, "name": key.name, "role": key.role.to_value() }),
            request_id,
            offboarding_id: None,
        },
        now,
    )
    .await?;
    Ok(CreatedApiKey {
        token: token.token,
        key,
    })
}

/// Refuses, from this instant, the API keys these people created in the workspace (removal
/// and deactivation); the worker then records why and writes the audit entries. Sent with the
/// other writes of the caller's batch.
pub fn refuse_api_keys(
    writes: &mut Writes,
    workspace_id: WorkspaceId,
    created_by: &[UserId],
    now: DateTime<Utc>,
) {
    writes.push(
        &api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(Some(now)))
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(api_key::Column::CreatedBy.is_in(created_by.iter().copied()))
            .filter(api_key::Column::RevokedAt.is_null()),
    );
}
