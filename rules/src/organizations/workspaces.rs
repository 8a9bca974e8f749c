//! Making and renaming workspaces: an owner of the organization does both, over any door.

use chrono::{DateTime, Utc};
use entities::{
    AuditAction, MembershipStatus, OrganizationId, Role, UserId, UserKind, WorkspaceId, membership,
    user, workspace,
};
use platform::locks::lock_workspace;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, PaginatorTrait,
    QueryFilter, Set, SqlErr,
};
use serde_json::json;

use super::owners::require_owner;
use super::slugs::Slug;
use crate::access::Acting;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::text::WorkspaceName;

/// A new workspace's row, and the workspace's own principal (a `UserKind::System` user, to
/// which what a removed member owned is reattributed by default). The slug must be free.
pub(crate) async fn insert_workspace<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    name: &str,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<workspace::Model, DbErr> {
    let system_user_id = UserId::fresh();
    user::ActiveModel {
        id: Set(system_user_id),
        email: Set(format!("system+{slug}@offboarding.invalid")),
        name: Set(format!("{name} (workspace)")),
        password_hash: Set(None),
        kind: Set(UserKind::System),
        erased_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    workspace::ActiveModel {
        id: Set(WorkspaceId::fresh()),
        organization_id: Set(organization_id),
        name: Set(name.to_owned()),
        slug: Set(slug.to_owned()),
        administrative_contact_id: Set(None),
        technical_contact_id: Set(None),
        system_user_id: Set(system_user_id),
        created_at: Set(now),
        access_version: NotSet,
    }
    .insert(db)
    .await
}

/// SLUG_TAKEN on `field` when a workspace already has this slug.
pub(crate) async fn refusal_if_taken<C: ConnectionTrait>(
    db: &C,
    slug: &Slug,
    field: &'static str,
) -> Result<(), RuleError> {
    let taken = workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug.as_str()))
        .count(db)
        .await?
        > 0;
    if taken {
        return Err(slug_taken(slug, field));
    }
    Ok(())
}

fn slug_taken(slug: &Slug, field: &'static str) -> RuleError {
    RuleError::Rejected(vec![
        UserError::new(
            UserErrorCode::SlugTaken,
            format!("Another workspace is already called \"{slug}\": choose another slug."),
        )
        .on_field(field),
    ])
}

/// Creates a workspace in the organization, for a signed-in owner of it, who becomes its first
/// (active) OWNER. The slug is the one given, or the one the name suggests; a reserved one is
/// SLUG_RESERVED, one in use SLUG_TAKEN. No seat is taken: an owner is an active member of the
/// organization ([`super::owners::is_owner`]), so holds one already. Audit entry
/// `workspace_create` in the new workspace.
pub async fn create_workspace<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    organization_id: OrganizationId,
    name: &WorkspaceName,
    slug: Option<Slug>,
) -> Result<workspace::Model, RuleError> {
    let principal = acting.principal;
    require_owner(db, principal, organization_id).await?;
    let slug = match slug {
        Some(slug) => slug,
        None => Slug::from_name(name.as_str()).ok_or_else(|| {
            RuleError::bad_input(
                "slug",
                "must be given: too little of the name can be written in a-z and 0-9",
            )
        })?,
    };
    slug.refusal_if_reserved("slug")?;
    refusal_if_taken(db, &slug, "slug").await?;
    let workspace = insert_workspace(
        db,
        organization_id,
        name.as_str(),
        slug.as_str(),
        acting.now,
    )
    .await
    // Two organizations' owners may take one slug at once: the unique index tells.
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => slug_taken(&slug, "slug"),
        _ => error.into(),
    })?;
    membership::ActiveModel::new(
        workspace.id,
        principal.user_id,
        Role::Owner,
        MembershipStatus::Active,
        acting.now,
    )
    .insert(db)
    .await?;
    acting
        .record(
            db,
            workspace.id,
            AuditAction::WorkspaceCreate,
            Some(principal.user_id),
            json!({
                "organization_id": organization_id,
                "name": workspace.name,
                "slug": workspace.slug,
                "from_workspace_id": principal.workspace_id,
            }),
        )
        .await?;
    Ok(workspace)
}

/// Renames a workspace, for a signed-in owner of its organization; its slug stays. Audit entry
/// `workspace_rename` with `from` and `to`; the same name again changes nothing and records
/// nothing. A workspace of an organization the caller has nothing to do with is NOT_FOUND.
pub async fn rename_workspace<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    name: &WorkspaceName,
) -> Result<workspace::Model, RuleError> {
    let principal = acting.principal;
    let found = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    require_owner(db, principal, found.organization_id)
        .await
        .map_err(|error| match error {
            // Another organization's workspace is not there, whatever the organization is.
            RuleError::NotFound(_) => RuleError::WorkspaceNotFound(workspace_id),
            other => other,
        })?;
    let workspace = lock_workspace(db, workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    if workspace.name == name.as_str() {
        return Ok(workspace);
    }
    let from = workspace.name.clone();
    let mut renamed: workspace::ActiveModel = workspace.into();
    renamed.name = Set(name.as_str().to_owned());
    let workspace = renamed.update(db).await?;
    acting
        .record(
            db,
            workspace_id,
            AuditAction::WorkspaceRename,
            None,
            json!({ "from": from, "to": workspace.name }),
        )
        .await?;
    Ok(workspace)
}
