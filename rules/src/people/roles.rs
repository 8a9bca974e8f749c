//! `updateMemberRole`: a member's role changes under the removal's guards, and their API keys
//! never act above it.

use entities::{AuditAction, Role, UserId, WorkspaceId, api_key, invitation, membership};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter,
    Set,
};
use serde_json::json;

use crate::access::Acting;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::guards::{Candidate, authorize_and_lock, last_owner_errors, load_candidates};

pub struct RoleChanged {
    pub member: Candidate,
    /// Their keys that acted above the new role, now lowered to it.
    pub api_keys_lowered: u64,
}

/// Gives a member another role. Refused: yourself (CANNOT_REMOVE_SELF), a member whose role
/// the caller doesn't manage or a role the caller can't grant (ROLE_NOT_MANAGEABLE, as
/// `inviteMember`), and taking the last active owner's role (LAST_OWNER). The same role again
/// changes nothing and records nothing. Takes the workspace lock, as removal does, so the
/// last-owner rule holds under concurrency.
pub async fn update_member_role<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: Role,
) -> Result<RoleChanged, RuleError> {
    let principal = acting.principal;
    let workspace = authorize_and_lock(db, principal, workspace_id).await?;
    principal.require_active_creator(db).await?;
    let refuse = |error: UserError| Err(RuleError::Rejected(vec![error.for_user(user_id)]));
    if user_id == principal.user_id {
        return refuse(UserError::new(
            UserErrorCode::CannotRemoveSelf,
            "You can't change your own role: another administrator has to (or transfer ownership).",
        ));
    }
    let (mut live, _) = load_candidates(db, workspace.id, &[user_id]).await?;
    let Some(target) = live.remove(&user_id) else {
        return refuse(UserError::new(
            UserErrorCode::MemberNotFound,
            "No such member in this workspace.",
        ));
    };
    if !principal.can_manage(target.membership.role) {
        return refuse(UserError::new(
            UserErrorCode::RoleNotManageable,
            "You can't manage this member's role.",
        ));
    }
    if !principal.can_manage(role) {
        return refuse(
            UserError::new(
                UserErrorCode::RoleNotManageable,
                "Only an owner can grant a role equal to or above their own.",
            )
            .on_field("role"),
        );
    }
    let from = target.membership.role;
    if from == role {
        return Ok(RoleChanged {
            member: target,
            api_keys_lowered: 0,
        });
    }
    if role != Role::Owner
        && let Some(last_owner) = last_owner_errors(db, workspace.id, &[&target]).await?.pop()
    {
        return refuse(last_owner);
    }
    let (membership, api_keys_lowered) = change_role(db, target.membership, role).await?;
    invitation::Entity::update_many()
        .col_expr(invitation::Column::Role, Expr::value(role))
        .filter(invitation::Column::MembershipId.eq(membership.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    acting
        .record(
            db,
            workspace.id,
            AuditAction::TeamMembershipRoleChange,
            Some(user_id),
            json!({
                "from": from.to_value(),
                "to": role.to_value(),
                "api_keys_lowered": api_keys_lowered,
            }),
        )
        .await?;
    Ok(RoleChanged {
        member: Candidate {
            membership,
            user: target.user,
        },
        api_keys_lowered,
    })
}

/// The member takes `role`. A key acts at most with its creator's role, so their keys above it
/// are lowered too; returns the membership and how many keys were lowered.
pub async fn change_role<C: ConnectionTrait>(
    db: &C,
    member: membership::Model,
    role: Role,
) -> Result<(membership::Model, u64), RuleError> {
    let above: Vec<Role> = Role::iter().filter(|r| r.rank() > role.rank()).collect();
    let keys_lowered = api_key::Entity::update_many()
        .col_expr(api_key::Column::Role, Expr::value(role))
        .filter(api_key::Column::WorkspaceId.eq(member.workspace_id))
        .filter(api_key::Column::CreatedBy.eq(member.user_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::Role.is_in(above))
        .exec(db)
        .await?
        .rows_affected;
    let mut changed: membership::ActiveModel = member.into();
    changed.role = Set(role);
    Ok((changed.update(db).await?, keys_lowered))
}
