//! `restoreMember`: undoes a removal within the restore window. The membership comes back with
//! its role, status and groups; what the removal revoked (API keys, sessions) stays revoked, and
//! campaigns already reattributed stay with their new owner.

use chrono::{DateTime, Duration, Utc};
use entities::{
    AuditAction, MembershipStatus, UserId, WorkspaceId, group_membership, membership, user,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use crate::access::{Acting, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::guards::{Candidate, authorize_and_lock_with_seats};
use crate::people::members::in_workspace_groups;
use crate::people::removed::RESTORE_WINDOW_DAYS;
use crate::people::seats::take_a_seat;

pub struct Restored {
    pub candidate: Candidate,
    /// Restoring took a seat the person did not hold anymore.
    pub seat_taken: bool,
}

pub async fn restore_member<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<Restored, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    // Invitations take the organization's lock: taken first, no invitation of this person can
    // slip in between the check below and the restore.
    let (organization, workspace) =
        authorize_and_lock_with_seats(db, principal, workspace_id).await?;
    // Bringing someone back is access handed out: not by a key whose creator is gone.
    principal.require_active_creator(db).await?;
    let refuse = |error: UserError| Err(RuleError::Rejected(vec![error.for_user(user_id)]));
    if user_id == principal.user_id {
        // A removed person's API key may still act for them: it must not undo their removal.
        return refuse(UserError::new(
            UserErrorCode::CannotRemoveSelf,
            "You can't restore yourself: another administrator has to.",
        ));
    }
    let removed = match last_removal(db, principal, workspace.id, user_id, now).await? {
        Ok(removed) => removed,
        Err(error) => return refuse(error),
    };
    let removed_at = removed.deleted_at.expect("a removed membership");
    let seat_taken = match take_a_seat(db, &organization, Some(user_id), now).await? {
        Ok(seat_taken) => seat_taken,
        Err(full) => return refuse(full),
    };
    let person = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(RuleError::NotFound("member"))?;

    let mut restored: membership::ActiveModel = removed.into();
    restored.deleted_at = Set(None);
    restored.removed_by = Set(None);
    restored.removal_reason = Set(None);
    // Every session from before the restore stays refused, including one opened while the
    // removal was committing; this instant is also where the removal's late jobs stop.
    restored.sessions_valid_after = Set(Some(now));
    let membership = restored.update(db).await?;
    rejoin_groups(db, workspace.id, user_id, removed_at).await?;
    acting
        .record(
            db,
            workspace.id,
            AuditAction::TeamMembershipRestore,
            Some(user_id),
            json!({
                "role": membership.role.to_value(),
                "status": membership.status.to_value(),
                "removed_at": removed_at,
                "seat_taken": seat_taken,
            }),
        )
        .await?;
    Ok(Restored {
        candidate: Candidate {
            membership,
            user: person,
        },
        seat_taken,
    })
}

/// The person's latest removal from this workspace, if it can be undone: nothing live in its
/// place, within the window, a member who had joined, in a role the caller manages.
async fn last_removal<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Result<membership::Model, UserError>, RuleError> {
    let memberships = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_desc(membership::Column::DeletedAt)
        .all(db)
        .await?;
    let refused = |code, message: &str| Ok(Err(UserError::new(code, message)));
    if memberships.iter().any(|m| m.deleted_at.is_none()) {
        return refused(
            UserErrorCode::AlreadyMember,
            "This person is a member of the workspace again (or invited): nothing to restore.",
        );
    }
    let Some(removed) = memberships.into_iter().find(|m| m.deleted_at.is_some()) else {
        return refused(
            UserErrorCode::MemberNotFound,
            "This person was never removed from this workspace.",
        );
    };
    let removed_at = removed.deleted_at.expect("a removed membership");
    if now - removed_at > Duration::days(RESTORE_WINDOW_DAYS) {
        return refused(
            UserErrorCode::RestoreWindowExpired,
            &format!(
                "The removal is more than {RESTORE_WINDOW_DAYS} days old and can't be undone: invite them again."
            ),
        );
    }
    if removed.status == MembershipStatus::Invited {
        return refused(
            UserErrorCode::InvitationPending,
            "This person was only invited and their invitation was revoked: invite them again.",
        );
    }
    if !principal.can_manage(removed.role) {
        return refused(
            UserErrorCode::RoleNotManageable,
            "You can't manage this member's role.",
        );
    }
    Ok(Ok(removed))
}

/// The groups the removal took them out of: rows soft-deleted at the removal's instant, and
/// only those (groups left before the removal stay left).
async fn rejoin_groups<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_id: UserId,
    removed_at: DateTime<Utc>,
) -> Result<(), RuleError> {
    group_membership::Entity::update_many()
        .col_expr(
            group_membership::Column::DeletedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(group_membership::Column::UserId.eq(user_id))
        .filter(group_membership::Column::DeletedAt.eq(removed_at))
        .filter(in_workspace_groups(workspace_id))
        .exec(db)
        .await?;
    Ok(())
}
