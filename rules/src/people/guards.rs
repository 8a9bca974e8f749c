//! The rules every way of taking someone out shares: who may act on whom, the last owner, and
//! the contact duties that must be handed over first.

use std::collections::{HashMap, HashSet};

use entities::{
    MembershipStatus, Role, UserId, WorkspaceId, membership, organization, user, workspace,
};
use platform::locks::{lock_organization, lock_workspace};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::access::{Actor, Permission, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};

/// A live membership the call acts on, with its person.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub membership: membership::Model,
    pub user: user::Model,
}

/// Checks the caller may manage people here, and locks the workspace row until the transaction
/// ends ([`platform::locks`]): every change that could leave the workspace without an owner takes
/// this lock first, so two such calls run one after the other and the second sees the first's
/// result. (SQLite has no row locks; its single writer connection serializes them.)
pub async fn authorize_and_lock<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
) -> Result<workspace::Model, RuleError> {
    let workspace = authorize_and_lock_unchecked(db, principal, workspace_id).await?;
    check_caller_now(db, principal, workspace_id).await?;
    Ok(workspace)
}

/// [`authorize_and_lock`] for a change that takes a seat: the organization's lock first, then
/// the workspace's, in the lock order.
pub async fn authorize_and_lock_with_seats<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
) -> Result<(organization::Model, workspace::Model), RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let organization = lock_organization(db, principal.organization_id)
        .await?
        .ok_or(RuleError::NotFound("organization"))?;
    let workspace = authorize_and_lock(db, principal, workspace_id).await?;
    Ok((organization, workspace))
}

async fn check_caller_now<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
) -> Result<(), RuleError> {
    if let Actor::User(user_id) = principal.actor {
        let current = membership::Entity::find_live(workspace_id, [user_id])
            .one(db)
            .await?;
        check_caller(principal, current.as_ref())?;
    }
    Ok(())
}

/// [`authorize_and_lock`], then the live memberships of these people as [`load_candidates`]
/// reads them, the caller's read in the same statement: one round trip fewer while the lock is
/// held. (The caller can't be read with the lock itself: on PostgreSQL a statement that waited
/// for a row lock sees the other rows it joins as they were before it waited.)
pub async fn authorize_lock_and_load<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<
    (
        workspace::Model,
        HashMap<UserId, Candidate>,
        HashSet<UserId>,
    ),
    RuleError,
> {
    let workspace = authorize_and_lock_unchecked(db, principal, workspace_id).await?;
    let Actor::User(caller) = principal.actor else {
        let (candidates, removed) = load_candidates(db, workspace_id, user_ids).await?;
        return Ok((workspace, candidates, removed));
    };
    let named = user_ids.contains(&caller);
    let mut with_caller = user_ids.to_vec();
    if !named {
        with_caller.push(caller);
    }
    let (mut candidates, mut removed) = load_candidates(db, workspace_id, &with_caller).await?;
    check_caller(
        principal,
        candidates.get(&caller).map(|caller| &caller.membership),
    )?;
    if !named {
        candidates.remove(&caller);
        removed.remove(&caller);
    }
    Ok((workspace, candidates, removed))
}

async fn authorize_and_lock_unchecked<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
) -> Result<workspace::Model, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    lock_workspace(db, workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))
}

/// The caller was checked before the lock; a call that waited for it may find them removed,
/// deactivated or given another role by the call it waited for. `current`: their live
/// membership, read once the lock is held.
fn check_caller(
    principal: &Principal,
    current: Option<&membership::Model>,
) -> Result<(), RuleError> {
    match current {
        Some(current) if current.status == MembershipStatus::Active => {
            if current.role == principal.role {
                Ok(())
            } else {
                Err(RuleError::Forbidden(
                    "your role in this workspace changed while this request waited: send it again"
                        .into(),
                ))
            }
        }
        _ => Err(RuleError::Unauthenticated),
    }
}

/// The live memberships of these people in the workspace (one statement), and which of the
/// others were members once but have been removed (one more).
pub async fn load_candidates<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<(HashMap<UserId, Candidate>, HashSet<UserId>), DbErr> {
    let live: HashMap<UserId, Candidate> =
        membership::Entity::find_live(workspace_id, user_ids.iter().copied())
            .find_also_related(user::Entity)
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(membership, user)| {
                user.map(|user| (user.id, Candidate { membership, user }))
            })
            .collect();
    let others: Vec<UserId> = user_ids
        .iter()
        .filter(|id| !live.contains_key(id))
        .copied()
        .collect();
    let removed = if others.is_empty() {
        HashSet::new()
    } else {
        membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .distinct()
            .filter(membership::Column::WorkspaceId.eq(workspace_id))
            .filter(membership::Column::UserId.is_in(others))
            .filter(membership::Column::DeletedAt.is_not_null())
            .into_tuple::<UserId>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    Ok((live, removed))
}

/// Why the caller can't act on this person at all, if they can't: themself, not a member,
/// already removed, or a role they can't manage.
pub fn check_target(
    principal: &Principal,
    user_id: UserId,
    candidates: &HashMap<UserId, Candidate>,
    removed: &HashSet<UserId>,
    verb: &str,
) -> Option<UserError> {
    let error = if principal.is_self(user_id) || principal.is_keys_creator(user_id) {
        UserError::new(
            UserErrorCode::CannotRemoveSelf,
            format!("You can't {verb} yourself."),
        )
    } else if let Some(candidate) = candidates.get(&user_id) {
        if principal.can_manage(candidate.membership.role) {
            return None;
        }
        UserError::new(
            UserErrorCode::RoleNotManageable,
            format!(
                "You can't manage this member's role: {} can only be {verb}d by {}.",
                candidate.user.email,
                if candidate.membership.role == Role::Owner {
                    "an owner"
                } else {
                    "an owner or a higher role"
                }
            ),
        )
    } else if removed.contains(&user_id) {
        UserError::new(
            UserErrorCode::AlreadyRemoved,
            "This member was already removed.",
        )
    } else {
        UserError::new(
            UserErrorCode::MemberNotFound,
            "No such member in this workspace.",
        )
    };
    Some(error.for_user(user_id))
}

/// LAST_OWNER for each active owner in `leaving` when no active owner would remain.
pub async fn last_owner_errors<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    leaving: &[&Candidate],
) -> Result<Vec<UserError>, DbErr> {
    let leaving_owners: Vec<UserId> = leaving
        .iter()
        .filter(|c| {
            c.membership.role == Role::Owner && c.membership.status == MembershipStatus::Active
        })
        .map(|c| c.user.id)
        .collect();
    if leaving_owners.is_empty() {
        return Ok(Vec::new());
    }
    let remaining = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::DeletedAt.is_null())
        .filter(membership::Column::Role.eq(Role::Owner))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::UserId.is_not_in(leaving_owners.iter().copied()))
        .count(db)
        .await?;
    if remaining > 0 {
        return Ok(Vec::new());
    }
    Ok(leaving_owners
        .into_iter()
        .map(|user_id| {
            UserError::new(
                UserErrorCode::LastOwner,
                "This would leave the workspace without an active owner: transfer ownership first.",
            )
            .for_user(user_id)
        })
        .collect())
}

/// Deduplicates ids (keeping the first occurrence's place) and bounds their number.
pub fn member_ids(user_ids: Vec<UserId>, max: usize) -> Result<Vec<UserId>, RuleError> {
    if user_ids.is_empty() {
        return Err(RuleError::bad_input(
            "user_ids",
            "must name at least one member",
        ));
    }
    if user_ids.len() > max {
        return Err(RuleError::bad_input(
            "user_ids",
            format!(
                "may name at most {max} members per call, got {}",
                user_ids.len()
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(user_ids.len());
    Ok(user_ids.into_iter().filter(|id| seen.insert(*id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_deduplicated_in_order_and_bounded() {
        let (a, b) = (UserId::fresh(), UserId::fresh());
        assert_eq!(member_ids(vec![a, b, a], 10).unwrap(), vec![a, b]);
        assert!(matches!(
            member_ids(vec![], 10),
            Err(RuleError::BadUserInput { .. })
        ));
        assert!(matches!(
            member_ids(vec![a, b, a], 2),
            Err(RuleError::BadUserInput { .. })
        ));
    }
}
