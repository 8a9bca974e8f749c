//! Who owns an organization: the people who create and rename its workspaces. Ownership is the
//! person's, held apart from any workspace role (an OWNER or ADMIN of a workspace is not an
//! owner of its organization), and is used only through a signed-in session: an API key acts
//! within its workspace and role, never as its creator's ownership. And it lasts only while
//! the person is an active member of one of the organization's workspaces: removed from (or
//! deactivated in) all of them, they are offboarded from the organization, and its ownership
//! with it, though invited back as a GUEST or signed in to another organization's workspace.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{
    MembershipStatus, OrganizationId, UserId, membership, organization, organization_owner,
    workspace,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use crate::access::{Actor, Principal};
use crate::error::RuleError;
use crate::people::seats::seats_used_in;

/// An organization as its owner sees it: its workspaces by name, and its seats.
pub struct OwnedOrganization {
    pub organization: organization::Model,
    pub workspaces: Vec<workspace::Model>,
    pub seats_used: u64,
}

pub async fn add_owner<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    organization_owner::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map(drop)
}

/// The organizations in which the person holds an active membership, as a subquery.
fn actively_in(user_id: UserId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((workspace::Entity, workspace::Column::OrganizationId))
        .from(membership::Entity)
        .inner_join(
            workspace::Entity,
            Expr::col((workspace::Entity, workspace::Column::Id))
                .equals((membership::Entity, membership::Column::WorkspaceId)),
        )
        .and_where(Expr::col((membership::Entity, membership::Column::UserId)).eq(user_id))
        .and_where(
            Expr::col((membership::Entity, membership::Column::Status))
                .eq(MembershipStatus::Active),
        )
        .and_where(Expr::col((membership::Entity, membership::Column::DeletedAt)).is_null())
        .take()
}

/// Whether the person owns the organization now: an ownership, and an active membership in
/// one of its workspaces. One statement.
pub async fn is_owner<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<bool, DbErr> {
    let owning = organization_owner::Entity::find()
        .filter(organization_owner::Column::OrganizationId.eq(organization_id))
        .filter(organization_owner::Column::UserId.eq(user_id))
        .filter(organization_owner::Column::OrganizationId.in_subquery(actively_in(user_id)))
        .count(db)
        .await?;
    Ok(owning > 0)
}

/// The caller may act as an owner of this organization: a signed-in person who owns it. An
/// organization the caller has nothing to do with is NOT_FOUND (no hint that it exists); their
/// own organization, or one their API key's creator owns, is FORBIDDEN, saying why.
pub async fn require_owner<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    organization_id: OrganizationId,
) -> Result<(), RuleError> {
    let owns = is_owner(db, organization_id, principal.user_id).await?;
    if owns && matches!(principal.actor, Actor::User(_)) {
        return Ok(());
    }
    if owns {
        return Err(RuleError::Forbidden(
            "an API key can't act as an owner of the organization: sign in as the owner".into(),
        ));
    }
    if principal.organization_id == organization_id {
        return Err(RuleError::Forbidden(
            "this needs an owner of the organization (a workspace's OWNER or ADMIN is not one)"
                .into(),
        ));
    }
    Err(RuleError::NotFound("organization"))
}

/// The organizations this person owns now ([`is_owner`]), by name, each with its workspaces
/// (by name) and the seats in use: three statements however many there are. None for an API
/// key, which owns nothing.
pub async fn owned_by<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<OwnedOrganization>, DbErr> {
    let Actor::User(user_id) = principal.actor else {
        return Ok(Vec::new());
    };
    let owned = Query::select()
        .column(organization_owner::Column::OrganizationId)
        .from(organization_owner::Entity)
        .and_where(organization_owner::Column::UserId.eq(user_id))
        .take();
    let organizations = organization::Entity::find()
        .filter(organization::Column::Id.in_subquery(owned))
        .filter(organization::Column::Id.in_subquery(actively_in(user_id)))
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?;
    if organizations.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<OrganizationId> = organizations.iter().map(|o| o.id).collect();
    let mut workspaces: HashMap<OrganizationId, Vec<workspace::Model>> = HashMap::new();
    for workspace in workspace::Entity::find()
        .filter(workspace::Column::OrganizationId.is_in(ids.clone()))
        .order_by_asc(workspace::Column::Name)
        .order_by_asc(workspace::Column::Id)
        .all(db)
        .await?
    {
        workspaces
            .entry(workspace.organization_id)
            .or_default()
            .push(workspace);
    }
    let seats = seats_used_in(db, ids, now).await?;
    Ok(organizations
        .into_iter()
        .map(|organization| OwnedOrganization {
            workspaces: workspaces.remove(&organization.id).unwrap_or_default(),
            seats_used: seats.get(&organization.id).copied().unwrap_or(0),
            organization,
        })
        .collect())
}
