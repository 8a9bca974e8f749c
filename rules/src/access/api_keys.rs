//! API keys: created by a person, acting in one workspace with a role no higher than theirs.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entities::{
    AuditAction, MembershipStatus, Role, UserId, WorkspaceId, api_key, membership, user,
};
use platform::audit;
use platform::db::Writes;
use platform::locks::lock_workspace;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::access::activity::last_uses;
use crate::access::{Acting, Actor, Permission, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::lists::{Page, Paging, newest_first, users_by_id};
use crate::text::{ApiKeyName, Reason};
use platform::tokens::{TokenKind, new_token};

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
) -> Result<CreatedApiKey, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    principal.require(Permission::ApiKeyManagement, workspace_id)?;
    // Under the workspace's lock, as a removal takes it: a removal of the creator commits
    // before this reads their membership, or after this key exists (and revokes it with the
    // others when asked to).
    lock_workspace(db, workspace_id).await?;
    principal.require_active_creator(db).await?;
    // A key acting above its creator (or, made by a key, above that key) would be a way around
    // the role rules: the caller's role is the key's own when a key asks.
    if role.rank() > principal.role.rank() {
        return Err(RuleError::Rejected(vec![
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
    acting
        .record(
            db,
            principal.workspace_id,
            AuditAction::ApiKeyCreate,
            Some(principal.user_id),
            json!({ "api_key_id": key.id, "name": key.name, "role": key.role.to_value() }),
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

#[derive(Debug, Default, Clone, Copy)]
pub struct ApiKeyFilter {
    pub created_by: Option<UserId>,
    /// `Some(true)`: revoked keys only; `Some(false)`: keys in use only.
    pub revoked: Option<bool>,
}

pub struct ApiKeyRow {
    pub key: api_key::Model,
    pub creator: user::Model,
    /// The creator is an ACTIVE member of the workspace. When not (removed without
    /// `revokeApiKeys`, or deactivated), an unrevoked key still acts with its role.
    pub creator_is_active_member: bool,
    /// When a request last used it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The workspace's API keys the caller may see, newest first: their own, and with
/// API_KEY_MANAGEMENT every key of a role they manage. Five statements a page: the total, the
/// page, the creators, which of them are still active members, and the keys' last uses.
pub async fn list_api_keys<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: ApiKeyFilter,
    paging: Paging<'_>,
) -> Result<Page<ApiKeyRow>, RuleError> {
    principal.require_workspace(workspace_id)?;
    // A person sees the keys they created; a key, only itself (its creator's others are
    // someone else's to it).
    let own = match principal.actor {
        Actor::User(user_id) => api_key::Column::CreatedBy.eq(user_id),
        Actor::ApiKey(key_id) => api_key::Column::Id.eq(key_id),
        // An identity provider has no keys of its own.
        Actor::ScimToken(_) => Expr::val(false),
    };
    let mut visible = Condition::any().add(own);
    if principal.has(Permission::ApiKeyManagement) {
        let manageable = Role::iter().filter(|role| principal.can_manage(*role));
        visible = visible.add(api_key::Column::Role.is_in(manageable));
    }
    let mut query = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .filter(visible);
    if let Some(created_by) = filter.created_by {
        query = query.filter(api_key::Column::CreatedBy.eq(created_by));
    }
    query = match filter.revoked {
        Some(true) => query.filter(api_key::Column::RevokedAt.is_not_null()),
        Some(false) => query.filter(api_key::Column::RevokedAt.is_null()),
        None => query,
    };
    let page = newest_first(db, query, api_key::Column::Id, paging).await?;
    let (has_next_page, total_count) = (page.has_next_page, page.total_count);
    if page.items.is_empty() {
        return Ok(Page {
            total_count,
            ..Page::empty()
        });
    }
    let creators: HashSet<UserId> = page.items.iter().map(|key| key.created_by).collect();
    let people = users_by_id(db, creators.iter().copied()).await?;
    let active: HashSet<UserId> =
        membership::Entity::find_live(workspace_id, creators.iter().copied())
            .select_only()
            .column(membership::Column::UserId)
            .filter(membership::Column::Status.eq(MembershipStatus::Active))
            .into_tuple()
            .all(db)
            .await?
            .into_iter()
            .collect();
    let used = last_uses(db, page.items.iter().map(|key| key.token_hash.as_str())).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for key in page.items {
        let creator = people
            .get(&key.created_by)
            .cloned()
            .ok_or_else(|| RuleError::internal("listing API keys", "a key's creator is missing"))?;
        rows.push(ApiKeyRow {
            creator_is_active_member: active.contains(&key.created_by),
            last_used_at: used.get(&key.token_hash).copied(),
            creator,
            key,
        });
    }
    Ok(Page {
        items: rows,
        has_next_page,
        total_count,
        total_count_is_exact: true,
    })
}

/// Revokes one API key, refused from this commit on, with an audit entry `api_key_revoke`.
/// Anyone may revoke their own keys, and a key itself; another's needs API_KEY_MANAGEMENT and a
/// key role the caller manages, and a key never revokes its creator's other keys. A key of
/// another workspace, or unknown, is NOT_FOUND.
pub async fn revoke_api_key<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    api_key_id: Uuid,
    reason: Option<&Reason>,
) -> Result<api_key::Model, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    // The lock order: the workspace before its keys.
    lock_workspace(db, principal.workspace_id).await?;
    let key = api_key::Entity::find_by_id(api_key_id)
        .one(db)
        .await?
        .filter(|key| key.workspace_id == principal.workspace_id)
        .ok_or(RuleError::NotFound("API key"))?;
    let own = principal.is_self(key.created_by) || principal.actor == Actor::ApiKey(key.id);
    if !own {
        principal.require_permission(Permission::ApiKeyManagement)?;
        if principal.is_keys_creator(key.created_by) {
            return Err(RuleError::rejected(
                UserErrorCode::CannotRemoveSelf,
                "An API key can't revoke the keys of the person who created it (it may revoke itself).",
            ));
        }
        if !principal.can_manage(key.role) {
            return Err(RuleError::rejected(
                UserErrorCode::RoleNotManageable,
                "You can't manage keys acting with this role.",
            ));
        }
    }
    let reason = reason
        .map(|reason| reason.as_str().to_owned())
        .filter(|reason| !reason.is_empty());
    let revoked = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(api_key::Column::RevokedReason, Expr::value(reason.clone()))
        .filter(api_key::Column::Id.eq(key.id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if revoked == 0 {
        return Err(RuleError::rejected(
            UserErrorCode::AlreadyRevoked,
            "This API key is already revoked.",
        ));
    }
    acting
        .record(
            db,
            key.workspace_id,
            AuditAction::ApiKeyRevoke,
            Some(key.created_by),
            audit::api_key_revoked(&key, reason.as_deref()),
        )
        .await?;
    Ok(api_key::Model {
        revoked_at: Some(now),
        revoked_reason: reason,
        ..key
    })
}
