//! Seats: a person takes one seat per organization while they hold, in any of its workspaces, a
//! membership that has not been removed: ACTIVE, DEACTIVATED, or INVITED with an invitation
//! still open (not expired, revoked or accepted). An expired invitation holds no seat until it
//! is resent, which takes one again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{
    AuditAction, MembershipStatus, OrganizationId, Role, UserId, invitation, membership,
    organization, user, workspace,
};
use platform::locks::lock_organization;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, JoinType, Order,
    PaginatorTrait, QueryFilter, QuerySelect, RelationTrait, Set,
};
use serde_json::json;

use crate::access::{Acting, Permission, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::lists::{Page, Paging, decode_cursor, page_of};

pub struct SeatUsage {
    pub organization: organization::Model,
    pub used: u64,
}

impl SeatUsage {
    pub fn available(&self) -> Option<u64> {
        self.organization
            .seat_limit
            .map(|limit| u64::try_from(limit).unwrap_or(0).saturating_sub(self.used))
    }
}

/// The organization's seat usage, for someone who manages people in one of its workspaces.
pub async fn seat_usage<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    organization_id: OrganizationId,
    now: DateTime<Utc>,
) -> Result<SeatUsage, RuleError> {
    let organization = visible_organization(db, principal, organization_id).await?;
    let used = seats_used(db, organization_id, now).await?;
    Ok(SeatUsage { organization, used })
}

async fn visible_organization<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    organization_id: OrganizationId,
) -> Result<organization::Model, RuleError> {
    if principal.organization_id != organization_id {
        return Err(RuleError::NotFound("organization"));
    }
    principal.require_permission(Permission::UserManagement)?;
    organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(RuleError::NotFound("organization"))
}

/// Whether the membership (of the query's `membership` table) holds a seat at `now`: it is not
/// removed, and not an invitation without an open one (expired, revoked or accepted).
fn holds_a_seat_at(now: DateTime<Utc>) -> Condition {
    let open_invitations = Query::select()
        .column((invitation::Entity, invitation::Column::MembershipId))
        .from(invitation::Entity)
        .and_where(Expr::col((invitation::Entity, invitation::Column::ExpiresAt)).gt(now))
        .and_where(Expr::col((invitation::Entity, invitation::Column::AcceptedAt)).is_null())
        .and_where(Expr::col((invitation::Entity, invitation::Column::RevokedAt)).is_null())
        .take();
    Condition::all()
        .add(Expr::col((membership::Entity, membership::Column::DeletedAt)).is_null())
        .add(
            Condition::any()
                .add(
                    Expr::col((membership::Entity, membership::Column::Status))
                        .ne(MembershipStatus::Invited),
                )
                .add(
                    Expr::col((membership::Entity, membership::Column::Id))
                        .in_subquery(open_invitations),
                ),
        )
}

/// The ids of the people of the organization (a membership not removed in one of its
/// workspaces, an expired invitation included), with a membership in one of `statuses` if any
/// are given: a subquery.
pub(crate) fn member_ids(
    organization_id: OrganizationId,
    statuses: &[MembershipStatus],
) -> SelectStatement {
    let mut query = organization_memberships(organization_id);
    query.and_where(Expr::col((membership::Entity, membership::Column::DeletedAt)).is_null());
    if !statuses.is_empty() {
        query.and_where(
            Expr::col((membership::Entity, membership::Column::Status))
                .is_in(statuses.iter().copied()),
        );
    }
    query
}

/// The user ids of every membership in the organization's workspaces, removed ones included:
/// a subquery for the callers' conditions to narrow.
fn organization_memberships(organization_id: OrganizationId) -> SelectStatement {
    Query::select()
        .column((membership::Entity, membership::Column::UserId))
        .from(membership::Entity)
        .inner_join(
            workspace::Entity,
            Expr::col((workspace::Entity, workspace::Column::Id))
                .equals((membership::Entity, membership::Column::WorkspaceId)),
        )
        .and_where(
            Expr::col((workspace::Entity, workspace::Column::OrganizationId)).eq(organization_id),
        )
        .take()
}

/// The people holding a seat, by email.
pub async fn seat_holders<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    now: DateTime<Utc>,
    paging: Paging<'_>,
) -> Result<Page<user::Model>, RuleError> {
    let after = decode_cursor(paging.after)?;
    let mut seated = organization_memberships(organization_id);
    seated.cond_where(holds_a_seat_at(now));
    let holders = user::Entity::find().filter(user::Column::Id.in_subquery(seated));
    page_of(
        db,
        holders,
        after.map(|after| user::Column::Email.gt(after)),
        (user::Column::Email, Order::Asc),
        paging.first,
    )
    .await
}

pub async fn seats_used<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(seats_used_in(db, vec![organization_id], now)
        .await?
        .get(&organization_id)
        .copied()
        .unwrap_or(0))
}

/// The seats in use in each of these organizations, in one statement (an organization with
/// none is missing from the map).
pub async fn seats_used_in<C: ConnectionTrait>(
    db: &C,
    organization_ids: Vec<OrganizationId>,
    now: DateTime<Utc>,
) -> Result<HashMap<OrganizationId, u64>, DbErr> {
    let counts: Vec<(OrganizationId, i64)> = membership::Entity::find()
        .select_only()
        .column(workspace::Column::OrganizationId)
        .column_as(
            Expr::expr(Func::count_distinct(Expr::col((
                membership::Entity,
                membership::Column::UserId,
            )))),
            "used",
        )
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.is_in(organization_ids))
        .filter(holds_a_seat_at(now))
        .group_by(workspace::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counts
        .into_iter()
        .map(|(organization_id, used)| (organization_id, u64::try_from(used).unwrap_or(0)))
        .collect())
}

/// Whether this person is one of the organization's people: a membership not removed in one of
/// its workspaces, an expired invitation included.
pub async fn is_person_of<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<bool, DbErr> {
    let memberships = membership::Entity::find()
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::DeletedAt.is_null())
        .count(db)
        .await?;
    Ok(memberships > 0)
}

/// Whether this person holds a seat of the organization at `now`.
async fn holds_seat<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let memberships = membership::Entity::find()
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(holds_a_seat_at(now))
        .count(db)
        .await?;
    Ok(memberships > 0)
}

/// Why this person can't take a seat, if they can't: they hold none in the organization and
/// every seat is taken. Call with the organization locked
/// ([`platform::locks::lock_organization`]), so two calls can't both take the last seat. Returns
/// whether a new seat is taken.
pub async fn take_a_seat<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    user_id: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Result<bool, UserError>, DbErr> {
    let needs_a_seat = match user_id {
        Some(user_id) => !holds_seat(db, organization.id, user_id, now).await?,
        None => true,
    };
    if let Some(limit) = organization.seat_limit
        && needs_a_seat
        && seats_used(db, organization.id, now).await? >= Ord::max(limit, 0) as u64
    {
        return Ok(Err(UserError::new(
            UserErrorCode::SeatLimitReached,
            format!(
                "All {limit} seats of the organization are taken: free one or raise the limit."
            ),
        )));
    }
    Ok(Ok(needs_a_seat))
}

/// Sets the organization's seat limit (`None`: unlimited), for an OWNER of one of its
/// workspaces, with an audit entry `seat_limit_change` there. A limit below the seats in use is
/// refused (SEAT_LIMIT_BELOW_USAGE): nobody loses a seat to it. Takes the organization's lock,
/// as invitations do, so no seat is taken between the count and the change.
pub async fn update_seat_limit<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    organization_id: OrganizationId,
    seat_limit: Option<i32>,
) -> Result<SeatUsage, RuleError> {
    let principal = acting.principal;
    if principal.organization_id != organization_id {
        return Err(RuleError::NotFound("organization"));
    }
    if principal.role != Role::Owner {
        return Err(RuleError::Forbidden(
            "only an OWNER can change the organization's seat limit".into(),
        ));
    }
    if seat_limit.is_some_and(|limit| limit < 0) {
        return Err(RuleError::bad_input(
            "seat_limit",
            "must be 0 or more, or null for unlimited",
        ));
    }
    let organization = lock_organization(db, organization_id)
        .await?
        .ok_or(RuleError::NotFound("organization"))?;
    let used = seats_used(db, organization_id, acting.now).await?;
    if let Some(limit) = seat_limit.filter(|limit| u64::try_from(*limit).unwrap_or(0) < used) {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::SeatLimitBelowUsage,
                format!(
                    "{used} seats are in use: a limit of {limit} would be below them. Remove members or revoke invitations first."
                ),
            )
            .on_field("seat_limit"),
        ]));
    }
    let from = organization.seat_limit;
    let mut changed: organization::ActiveModel = organization.into();
    changed.seat_limit = Set(seat_limit);
    let organization = changed.update(db).await?;
    acting
        .record(
            db,
            principal.workspace_id,
            AuditAction::SeatLimitChange,
            None,
            json!({
                "organization_id": organization_id,
                "from": from,
                "to": seat_limit,
                "used": used,
            }),
        )
        .await?;
    Ok(SeatUsage { organization, used })
}
