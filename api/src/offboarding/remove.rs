//! `removeMembers`: soft-delete one or many memberships, atomically.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::{MembershipStatus, api_key, group_membership, invitation, membership, workspace};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};
use serde_json::json;
use uuid::Uuid;
use worker::Job;

use crate::access::Principal;
use crate::audit::{self, AuditEvent};
use crate::error::{ApiError, UserError, UserErrorCode};
use crate::offboarding::contacts::{
    self, ContactDuties, Move, Reassignment, apply_moves, contact_duties, plan_moves,
};
use crate::offboarding::guards::{
    Candidate, authorize_and_lock, check_target, last_owner_errors, load_candidates, member_ids,
};
use crate::offboarding::{MAX_MEMBERS_PER_CALL, Recorded, kept_reason, record};
use crate::people::members::{groups_of, in_workspace_groups};
use crate::text::Reason;

pub struct RemoveRequest<'a> {
    pub workspace_id: Uuid,
    pub user_ids: Vec<Uuid>,
    pub reason: Option<Reason>,
    /// Refuse the API keys they created in this workspace from commit on.
    pub revoke_api_keys: bool,
    /// Who takes over their campaigns; the workspace's system principal when `None`.
    pub reattribute_to: Option<Uuid>,
    /// Contact duties handed over in the same transaction ("Reassign and Remove").
    pub contact_reassignments: Vec<Reassignment>,
    pub request_id: Option<&'a str>,
}

pub struct RemovedMember {
    /// The membership as the removal left it (`deleted_at` set).
    pub membership: membership::Model,
    pub user: entities::user::Model,
    /// No other membership in the organization remains, so the seat is free.
    pub seat_freed: bool,
    pub api_keys_revoked: usize,
}

pub struct Removed {
    pub members: Vec<RemovedMember>,
    pub recorded: Recorded,
}

/// What removing these members would run into: the one judgement both `removeMembers` and
/// `removalPreview` use, so the preview never disagrees with the mutation.
pub struct Assessment {
    /// The ids asked for, deduplicated, in the order given.
    pub user_ids: Vec<Uuid>,
    pub candidates: HashMap<Uuid, Candidate>,
    /// Contact duties each of them holds before any reassignment of this call.
    pub duties: HashMap<Uuid, ContactDuties>,
    /// Every blocking reason, each naming its member.
    pub errors: Vec<UserError>,
}

/// Checks every rule of removal for these members, given the contact duties the same call moves
/// away (`moves`); a constant number of statements, however many members.
pub async fn assess<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace: &workspace::Model,
    user_ids: Vec<Uuid>,
    moves: &[Move],
) -> Result<Assessment, ApiError> {
    let (candidates, removed) = load_candidates(db, workspace.id, &user_ids).await?;
    let mut errors: Vec<UserError> = user_ids
        .iter()
        .filter_map(|id| check_target(principal, *id, &candidates, &removed, "remove"))
        .collect();
    let blocked: HashSet<Uuid> = errors.iter().filter_map(|e| e.user_id).collect();
    let leaving: Vec<&Candidate> = user_ids
        .iter()
        .filter(|id| !blocked.contains(id))
        .filter_map(|id| candidates.get(id))
        .collect();
    let duties = contact_duties(db, workspace, &user_ids).await?;
    for candidate in &leaving {
        let remaining = duties
            .get(&candidate.user.id)
            .map(|held| held.without(candidate.user.id, moves))
            .unwrap_or_default();
        if !remaining.is_empty() {
            errors.push(
                UserError::new(
                    UserErrorCode::ContactReassignmentRequired,
                    format!(
                        "{} is still {}: reassign these duties first.",
                        candidate.user.email,
                        remaining.describe()
                    ),
                )
                .for_user(candidate.user.id),
            );
        }
    }
    errors.extend(last_owner_errors(db, workspace.id, &leaving).await?);
    Ok(Assessment {
        user_ids,
        candidates,
        duties,
        errors,
    })
}

/// Removes every listed member, or none: when any of them is blocked, the answer names each
/// blocked member and why, and nothing is written.
pub async fn remove_members<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    request: RemoveRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Removed, ApiError> {
    let user_ids = member_ids(request.user_ids, MAX_MEMBERS_PER_CALL)?;
    let reason = kept_reason(request.reason);
    contacts::validate(&request.contact_reassignments)?;
    let workspace = authorize_and_lock(db, principal, request.workspace_id).await?;
    let (moves, move_errors) =
        plan_moves(db, &workspace, &request.contact_reassignments, &user_ids).await?;
    let Assessment {
        user_ids,
        candidates,
        mut errors,
        ..
    } = assess(db, principal, &workspace, user_ids, &moves).await?;
    errors.extend(move_errors);
    let assignee = match request.reattribute_to {
        None => Ok(workspace.system_user_id),
        Some(assignee) => check_assignee(db, workspace.id, assignee, &user_ids).await?,
    };
    let assignee = match assignee {
        Ok(assignee) => assignee,
        Err(error) => {
            errors.push(error);
            Uuid::nil()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Rejected(errors));
    }

    apply_moves(db, principal, workspace.id, &moves, request.request_id, now).await?;
    let leaving: Vec<&Candidate> = user_ids
        .iter()
        .filter_map(|id| candidates.get(id))
        .collect();
    apply_removal(
        db,
        principal,
        &workspace,
        &leaving,
        reason,
        request.revoke_api_keys,
        assignee,
        request.request_id,
        now,
    )
    .await
}

/// The person taking over must be an active member who is not being removed in this call.
async fn check_assignee<C: ConnectionTrait>(
    db: &C,
    workspace_id: Uuid,
    assignee: Uuid,
    leaving: &[Uuid],
) -> Result<Result<Uuid, UserError>, ApiError> {
    let active = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::UserId.eq(assignee))
        .filter(membership::Column::DeletedAt.is_null())
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .one(db)
        .await?
        .is_some();
    if active && !leaving.contains(&assignee) {
        Ok(Ok(assignee))
    } else {
        Ok(Err(UserError::new(
            UserErrorCode::InvalidAssignee,
            "Campaigns can only be reattributed to an active member who stays in the workspace.",
        )
        .on_field("reattributeTo")
        .for_user(assignee)))
    }
}

/// Writes the removal: a constant number of statements, however many members leave.
#[allow(clippy::too_many_arguments)]
async fn apply_removal<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace: &workspace::Model,
    leaving: &[&Candidate],
    reason: Option<String>,
    revoke_api_keys: bool,
    reattribute_to: Uuid,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Removed, ApiError> {
    let user_ids: Vec<Uuid> = leaving.iter().map(|c| c.user.id).collect();
    let membership_ids: Vec<Uuid> = leaving.iter().map(|c| c.membership.id).collect();
    // The groups they are leaving, named in their email; read before they are left.
    let mut groups = groups_of(db, workspace.id, &user_ids).await?;

    membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(
            membership::Column::RemovedBy,
            Expr::value(Some(principal.user_id)),
        )
        .col_expr(
            membership::Column::RemovalReason,
            Expr::value(reason.clone()),
        )
        .col_expr(
            membership::Column::SessionsValidAfter,
            Expr::value(Some(now)),
        )
        .filter(membership::Column::Id.is_in(membership_ids.iter().copied()))
        .exec(db)
        .await?;
    group_membership::Entity::update_many()
        .col_expr(group_membership::Column::DeletedAt, Expr::value(Some(now)))
        .filter(group_membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(group_membership::Column::DeletedAt.is_null())
        .filter(in_workspace_groups(workspace.id))
        .exec(db)
        .await?;
    let pending_invitations: Vec<(Uuid, Uuid)> = invitation::Entity::find()
        .select_only()
        .column(invitation::Column::Id)
        .column(invitation::Column::MembershipId)
        .filter(invitation::Column::MembershipId.is_in(membership_ids.iter().copied()))
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::AcceptedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    if !pending_invitations.is_empty() {
        invitation::Entity::update_many()
            .col_expr(invitation::Column::RevokedAt, Expr::value(Some(now)))
            .filter(invitation::Column::Id.is_in(pending_invitations.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
    }
    let mut keys_revoked: Vec<Uuid> = Vec::new();
    if revoke_api_keys {
        keys_revoked = api_key::Entity::find()
            .select_only()
            .column(api_key::Column::CreatedBy)
            .filter(api_key::Column::WorkspaceId.eq(workspace.id))
            .filter(api_key::Column::CreatedBy.is_in(user_ids.iter().copied()))
            .filter(api_key::Column::RevokedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        // Refused from this commit on; the worker adds the reason and the audit entries.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(Some(now)))
            .filter(api_key::Column::WorkspaceId.eq(workspace.id))
            .filter(api_key::Column::CreatedBy.is_in(user_ids.iter().copied()))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(db)
            .await?;
    }
    let still_seated: HashSet<Uuid> = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .distinct()
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.eq(workspace.organization_id))
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(membership::Column::DeletedAt.is_null())
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    let members: Vec<RemovedMember> = leaving
        .iter()
        .map(|c| RemovedMember {
            membership: membership::Model {
                deleted_at: Some(now),
                ..c.membership.clone()
            },
            user: c.user.clone(),
            seat_freed: !still_seated.contains(&c.user.id),
            api_keys_revoked: keys_revoked.iter().filter(|id| **id == c.user.id).count(),
        })
        .collect();

    let audit = |action, target_user_id, metadata| AuditEvent {
        workspace_id: workspace.id,
        actor: Some(principal.actor),
        action,
        target_user_id: Some(target_user_id),
        metadata,
        request_id,
    };
    let mut entries: Vec<AuditEvent> = leaving
        .iter()
        .zip(&members)
        .map(|(candidate, member)| {
            audit(
                "team_membership_remove",
                member.user.id,
                json!({
                    "reason": reason,
                    "role": candidate.membership.role.to_value(),
                    "status": candidate.membership.status.to_value(),
                    "seat_freed": member.seat_freed,
                    "revoke_api_keys": revoke_api_keys,
                    "member_count": leaving.len(),
                }),
            )
        })
        .collect();
    let person_of: HashMap<Uuid, Uuid> = leaving
        .iter()
        .map(|c| (c.membership.id, c.user.id))
        .collect();
    for (invitation_id, membership_id) in &pending_invitations {
        if let Some(user_id) = person_of.get(membership_id) {
            entries.push(audit(
                "invitation_revoke",
                *user_id,
                json!({ "invitation_id": invitation_id, "reason": "member removed" }),
            ));
        }
    }
    audit::record_many(db, entries, now).await?;

    let mut jobs = vec![
        Job::EndSessions {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
        },
        Job::ReattributeCampaigns {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
            to_user_id: reattribute_to,
        },
    ];
    if revoke_api_keys {
        jobs.push(Job::RevokeApiKeys {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
            reason: reason.clone().map_or_else(
                || "member removed".to_owned(),
                |r| format!("member removed: {r}"),
            ),
        });
    }
    // Someone only invited never had access: their revoked invitation is all they lose.
    jobs.extend(
        leaving
            .iter()
            .filter(|c| c.membership.status != MembershipStatus::Invited)
            .map(|c| Job::SendRemovalEmail {
                workspace_id: workspace.id,
                user_id: c.user.id,
                email: c.user.email.clone(),
                name: c.user.name.clone(),
                workspace_name: workspace.name.clone(),
                groups: groups
                    .remove(&c.user.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| g.name)
                    .collect(),
                reason: reason.clone(),
            }),
    );
    let recorded = record(db, principal, workspace.id, "remove_members", jobs, now).await?;
    Ok(Removed { members, recorded })
}
