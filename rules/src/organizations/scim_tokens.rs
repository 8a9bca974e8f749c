//! SCIM tokens: how an identity provider (Okta, Entra ID) authenticates at `/scim/v2`. A token
//! speaks for one organization and provisions into one of its workspaces; an owner of the
//! organization makes it (the secret shown once, its hash kept), lists and revokes it. A token
//! keeps working when the owner who made it leaves: provisioning must not stop because one
//! administrator did; revoking it is the way to stop it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{AuditAction, OrganizationId, UserId, WorkspaceId, scim_token, user, workspace};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::owners::require_owner;
use crate::access::activity::last_uses;
use crate::access::{Acting, Principal};
use crate::error::{RuleError, UserErrorCode};
use crate::lists::{Page, Paging, newest_first, users_by_id};
use crate::text::ScimTokenName;
use platform::tokens::{TokenKind, hash_token, new_token};

/// How many leading characters of a token are kept in clear, to tell tokens apart in a list.
const PREFIX_LENGTH: usize = 14;

pub struct CreatedScimToken {
    /// Shown once; only its hash is stored.
    pub secret: String,
    pub token: scim_token::Model,
    pub workspace: workspace::Model,
}

/// A token as its organization's owners see it listed.
pub struct ScimTokenRow {
    pub token: scim_token::Model,
    pub workspace: workspace::Model,
    pub creator: user::Model,
    /// When a request last used it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who calls `/scim/v2`: a token not revoked, for its organization and workspace.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub token_id: Uuid,
    pub organization_id: OrganizationId,
    pub workspace_id: WorkspaceId,
    /// The token's name, the identity provider it is for.
    pub name: String,
    /// The owner who made it: kept for the record, never the one acting.
    pub created_by: UserId,
    /// For recording its use; the secret itself is never kept.
    pub token_hash: String,
}

/// The caller a SCIM token stands for, or `None` if it is not one, unknown or revoked: one
/// statement, by its hash. Revoking cuts it off at commit.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    secret: &str,
) -> Result<Option<ScimCaller>, DbErr> {
    if TokenKind::of(secret) != Some(TokenKind::Scim) {
        return Ok(None);
    }
    Ok(scim_token::Entity::find()
        .filter(scim_token::Column::TokenHash.eq(hash_token(secret)))
        .filter(scim_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .map(|token| ScimCaller {
            token_id: token.id,
            organization_id: token.organization_id,
            workspace_id: token.workspace_id,
            name: token.name,
            created_by: token.created_by,
            token_hash: token.token_hash,
        }))
}

/// The names of these tokens, for the audit entries they acted in: one statement.
pub async fn names_by_id<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(scim_token::Entity::find()
        .filter(scim_token::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|token| (token.id, token.name))
        .collect())
}

/// Makes a SCIM token of the organization, provisioning into `workspace_id` (one of its
/// workspaces), for a signed-in owner of it. Audit entry `scim_token_create` in that workspace.
pub async fn create_scim_token<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    organization_id: OrganizationId,
    workspace_id: WorkspaceId,
    name: &ScimTokenName,
) -> Result<CreatedScimToken, RuleError> {
    let principal = acting.principal;
    require_owner(db, principal, organization_id).await?;
    let workspace = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .filter(|workspace| workspace.organization_id == organization_id)
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    let secret = new_token(TokenKind::Scim);
    let token = scim_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        workspace_id: Set(workspace_id),
        name: Set(name.as_str().to_owned()),
        prefix: Set(secret.token[..PREFIX_LENGTH].to_owned()),
        token_hash: Set(secret.hash),
        created_by: Set(principal.user_id),
        created_at: Set(acting.now),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    acting
        .record(
            db,
            workspace_id,
            AuditAction::ScimTokenCreate,
            None,
            json!({ "scim_token_id": token.id, "name": token.name, "organization_id": organization_id }),
        )
        .await?;
    Ok(CreatedScimToken {
        secret: secret.token,
        token,
        workspace,
    })
}

/// The organization's SCIM tokens, newest first, revoked ones too, for an owner of it. Five
/// statements a page: the total, the page, their workspaces, their creators, their last uses.
pub async fn list_scim_tokens<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    organization_id: OrganizationId,
    paging: Paging<'_>,
) -> Result<Page<ScimTokenRow>, RuleError> {
    require_owner(db, principal, organization_id).await?;
    let query =
        scim_token::Entity::find().filter(scim_token::Column::OrganizationId.eq(organization_id));
    let page = newest_first(db, query, scim_token::Column::Id, paging).await?;
    let workspaces: HashMap<WorkspaceId, workspace::Model> = workspace::Entity::find()
        .filter(workspace::Column::Id.is_in(page.items.iter().map(|token| token.workspace_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|workspace| (workspace.id, workspace))
        .collect();
    let creators = users_by_id(db, page.items.iter().map(|token| token.created_by)).await?;
    let used = last_uses(db, page.items.iter().map(|token| token.token_hash.as_str())).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for token in page.items {
        let missing = || RuleError::internal("listing SCIM tokens", "a token's row is missing");
        rows.push(ScimTokenRow {
            workspace: workspaces
                .get(&token.workspace_id)
                .cloned()
                .ok_or_else(missing)?,
            creator: creators
                .get(&token.created_by)
                .cloned()
                .ok_or_else(missing)?,
            last_used_at: used.get(&token.token_hash).copied(),
            token,
        });
    }
    Ok(Page {
        items: rows,
        has_next_page: page.has_next_page,
        total_count: page.total_count,
        total_count_is_exact: page.total_count_is_exact,
    })
}

/// Revokes a SCIM token, refused from this commit on, for an owner of its organization; one
/// already revoked is ALREADY_REVOKED. Audit entry `scim_token_revoke` in its workspace.
/// Returns the token as revoked, with its workspace.
pub async fn revoke_scim_token<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    scim_token_id: Uuid,
) -> Result<(scim_token::Model, workspace::Model), RuleError> {
    let token = scim_token::Entity::find_by_id(scim_token_id)
        .one(db)
        .await?
        .ok_or(RuleError::NotFound("SCIM token"))?;
    require_owner(db, acting.principal, token.organization_id)
        .await
        .map_err(|error| match error {
            RuleError::NotFound(_) => RuleError::NotFound("SCIM token"),
            other => other,
        })?;
    let revoked = scim_token::Entity::update_many()
        .col_expr(scim_token::Column::RevokedAt, Expr::value(Some(acting.now)))
        .filter(scim_token::Column::Id.eq(token.id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if revoked == 0 {
        return Err(RuleError::rejected(
            UserErrorCode::AlreadyRevoked,
            "This SCIM token is already revoked.",
        ));
    }
    acting
        .record(
            db,
            token.workspace_id,
            AuditAction::ScimTokenRevoke,
            None,
            json!({ "scim_token_id": token.id, "name": token.name }),
        )
        .await?;
    let workspace = workspace::Entity::find_by_id(token.workspace_id)
        .one(db)
        .await?
        .ok_or_else(|| RuleError::internal("revoking a SCIM token", "its workspace is missing"))?;
    let token = scim_token::Model {
        revoked_at: Some(acting.now),
        ..token
    };
    Ok((token, workspace))
}
