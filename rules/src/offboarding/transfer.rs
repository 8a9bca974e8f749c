//! `transferOwnership`: makes another active member an OWNER, optionally stepping the caller
//! down, so that the last-owner rule can be met before the caller leaves.

use entities::{AuditAction, MembershipStatus, Role, UserId, WorkspaceId, membership, user};
use sea_orm::{ActiveEnum, ActiveModelTrait, ConnectionTrait, Set};
use serde_json::json;

use crate::access::{Acting, Actor, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::guards::{Candidate, authorize_and_lock};
use crate::people::roles::change_role;

pub struct Transferred {
    pub new_owner: Candidate,
    /// The caller's membership after the transfer (`None` when an API key called).
    pub previous_owner: Option<Candidate>,
}

pub async fn transfer_ownership<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    to_user_id: UserId,
    demote_self_to: Option<Role>,
) -> Result<Transferred, RuleError> {
    let principal = acting.principal;
    check_demotion(principal, demote_self_to)?;
    let workspace = authorize_and_lock(db, principal, workspace_id).await?;
    principal.require_active_creator(db).await?;
    if principal.role != Role::Owner {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::RoleNotManageable,
                "Only an owner can make someone an owner.",
            )
            .for_user(to_user_id),
        ]));
    }
    let live = membership::Entity::find_live(workspace.id, [to_user_id, principal.user_id])
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let find = |id: UserId| {
        live.iter()
            .find(|(m, _)| m.user_id == id)
            .and_then(|(m, u)| u.clone().map(|u| (m.clone(), u)))
    };
    let Some((target, target_user)) = find(to_user_id)
        .filter(|(m, _)| m.status == MembershipStatus::Active && to_user_id != principal.user_id)
    else {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::InvalidAssignee,
                "Ownership can only go to another active member of the workspace.",
            )
            .on_field("to_user_id")
            .for_user(to_user_id),
        ]));
    };
    let previous_role = target.role;
    let new_owner = if target.role == Role::Owner {
        target
    } else {
        let mut promoted: membership::ActiveModel = target.into();
        promoted.role = Set(Role::Owner);
        promoted.update(db).await?
    };
    let caller = match principal.actor {
        Actor::User(_) => find(principal.user_id),
        Actor::ApiKey(_) | Actor::ScimToken(_) => None,
    };
    let (previous_owner, keys_lowered) = step_down(db, caller, demote_self_to).await?;
    acting
        .record(
            db,
            workspace.id,
            AuditAction::OwnershipTransfer,
            Some(to_user_id),
            json!({
                "previous_role": previous_role.to_value(),
                "caller_demoted_to": demote_self_to.map(|role| role.to_value()),
                "caller_api_keys_lowered": keys_lowered,
            }),
        )
        .await?;
    Ok(Transferred {
        new_owner: Candidate {
            membership: new_owner,
            user: target_user,
        },
        previous_owner,
    })
}

/// The caller's membership after the transfer, lowered to `demote_self_to` when asked, and how
/// many of their keys that lowered with it.
async fn step_down<C: ConnectionTrait>(
    db: &C,
    caller: Option<(membership::Model, user::Model)>,
    demote_self_to: Option<Role>,
) -> Result<(Option<Candidate>, u64), RuleError> {
    Ok(match (demote_self_to, caller) {
        (Some(role), Some((caller, user))) => {
            let (membership, lowered) = change_role(db, caller, role).await?;
            (Some(Candidate { membership, user }), lowered)
        }
        (None, Some((membership, user))) => (Some(Candidate { membership, user }), 0),
        (_, None) => (None, 0),
    })
}

/// Stepping down is to a role below OWNER, and only a person has a membership to step down.
fn check_demotion(principal: &Principal, demote_self_to: Option<Role>) -> Result<(), RuleError> {
    if demote_self_to == Some(Role::Owner) {
        return Err(RuleError::bad_input(
            "demote_self_to",
            "must be a role below OWNER (or left out to stay an owner)",
        ));
    }
    if demote_self_to.is_some() && !matches!(principal.actor, Actor::User(_)) {
        return Err(RuleError::bad_input(
            "demote_self_to",
            "must be left out: only a person has a membership to demote",
        ));
    }
    Ok(())
}
