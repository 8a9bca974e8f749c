//! `removeMembers`: soft-delete one or many memberships, atomically.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::Job;
use domain::audit::{self, AuditEvent};
use entities::{
    MembershipStatus, OrganizationId, UserId, WorkspaceId, api_key, group_membership, invitation,
    membership, user_group, workspace,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::access::api_keys::refuse_api_keys;
use crate::access::{Acting, Principal};
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

pub struct RemoveRequest {
    pub workspace_id: WorkspaceId,
    pub user_ids: Vec<UserId>,
    pub reason: Option<Reason>,
    /// Refuse the API keys they created in this workspace from commit on.
    pub revoke_api_keys: bool,
    /// Who takes over their campaigns; the workspace's system principal when `None`.
    pub reattribute_to: Option<UserId>,
    /// Contact duties handed over in the same transaction ("Reassign and Remove").
    pub contact_reassignments: Vec<Reassignment>,
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
    pub user_ids: Vec<UserId>,
    pub candidates: HashMap<UserId, Candidate>,
    /// Contact duties each of them holds before any reassignment of this call.
    pub duties: HashMap<UserId, ContactDuties>,
    /// Every blocking reason, each naming its member.
    pub errors: Vec<UserError>,
}

/// Checks every rule of removal for these members, given the contact duties the same call moves
/// away (`moves`); a constant number of statements, however many members.
pub async fn assess<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace: &workspace::Model,
    user_ids: Vec<UserId>,
    moves: &[Move],
) -> Result<Assessment, ApiError> {
    let (candidates, removed) = load_candidates(db, workspace.id, &user_ids).await?;
    let mut errors: Vec<UserError> = user_ids
        .iter()
        .filter_map(|id| check_target(principal, *id, &candidates, &removed, "remove"))
        .collect();
    let blocked: HashSet<UserId> = errors.iter().filter_map(|e| e.user_id).collect();
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
    acting: Acting<'_>,
    request: RemoveRequest,
) -> Result<Removed, ApiError> {
    let principal = acting.principal;
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
            UserId(Uuid::nil())
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Rejected(errors));
    }

    apply_moves(db, acting, workspace.id, &moves).await?;
    let leaving: Vec<&Candidate> = user_ids
        .iter()
        .filter_map(|id| candidates.get(id))
        .collect();
    let plan = RemovalPlan {
        workspace: &workspace,
        leaving,
        reason,
        revoke_api_keys: request.revoke_api_keys,
        reattribute_to: assignee,
    };
    apply_removal(db, acting, plan).await
}

/// The person taking over must be an active member who is not being removed in this call.
async fn check_assignee<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    assignee: UserId,
    leaving: &[UserId],
) -> Result<Result<UserId, UserError>, ApiError> {
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

/// What a removal does, decided before anything is written: who leaves, why, and what follows
/// for their API keys and campaigns.
struct RemovalPlan<'a> {
    workspace: &'a workspace::Model,
    leaving: Vec<&'a Candidate>,
    reason: Option<String>,
    revoke_api_keys: bool,
    reattribute_to: UserId,
}

impl RemovalPlan<'_> {
    fn user_ids(&self) -> Vec<UserId> {
        self.leaving.iter().map(|c| c.user.id).collect()
    }

    fn membership_ids(&self) -> Vec<Uuid> {
        self.leaving.iter().map(|c| c.membership.id).collect()
    }
}

/// Writes the removal: a constant number of statements, however many members leave.
async fn apply_removal<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    plan: RemovalPlan<'_>,
) -> Result<Removed, ApiError> {
    let Acting {
        principal,
        request_id,
        now,
    } = acting;
    let (user_ids, membership_ids) = (plan.user_ids(), plan.membership_ids());
    // The groups they are leaving, named in their email; read before they are left.
    let groups = groups_of(db, plan.workspace.id, &user_ids).await?;
    soft_delete(db, principal, &membership_ids, plan.reason.as_deref(), now).await?;
    leave_groups(db, plan.workspace.id, &user_ids, now).await?;
    let revoked_invitations = revoke_pending_invitations(db, &membership_ids, now).await?;
    let mut keys_of: Vec<UserId> = Vec::new();
    if plan.revoke_api_keys {
        keys_of = api_key_creators(db, plan.workspace.id, &user_ids).await?;
        refuse_api_keys(db, plan.workspace.id, &user_ids, now).await?;
    }
    let still_seated = still_seated(db, plan.workspace.organization_id, &user_ids).await?;
    let members: Vec<RemovedMember> = plan
        .leaving
        .iter()
        .map(|c| RemovedMember {
            membership: membership::Model {
                deleted_at: Some(now),
                ..c.membership.clone()
            },
            user: c.user.clone(),
            seat_freed: !still_seated.contains(&c.user.id),
            api_keys_revoked: keys_of.iter().filter(|id| **id == c.user.id).count(),
        })
        .collect();
    let entries = audit_entries(&plan, principal, &members, &revoked_invitations, request_id);
    audit::record_many(db, entries, now).await?;
    let jobs = removal_jobs(&plan, user_ids, groups);
    let recorded = record(
        db,
        principal,
        plan.workspace.id,
        "remove_members",
        jobs,
        now,
    )
    .await?;
    Ok(Removed { members, recorded })
}

/// Marks the memberships removed; their sessions are refused from this instant.
async fn soft_delete<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    membership_ids: &[Uuid],
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(
            membership::Column::RemovedBy,
            Expr::value(Some(principal.user_id)),
        )
        .col_expr(
            membership::Column::RemovalReason,
            Expr::value(reason.map(str::to_owned)),
        )
        .col_expr(
            membership::Column::SessionsValidAfter,
            Expr::value(Some(now)),
        )
        .filter(membership::Column::Id.is_in(membership_ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes them out of this workspace's groups (a restore brings back exactly these).
async fn leave_groups<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    group_membership::Entity::update_many()
        .col_expr(group_membership::Column::DeletedAt, Expr::value(Some(now)))
        .filter(group_membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(group_membership::Column::DeletedAt.is_null())
        .filter(in_workspace_groups(workspace_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes the invitations still open for these memberships; returns (invitation, membership).
async fn revoke_pending_invitations<C: ConnectionTrait>(
    db: &C,
    membership_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>, ApiError> {
    let pending: Vec<(Uuid, Uuid)> = invitation::Entity::find()
        .select_only()
        .column(invitation::Column::Id)
        .column(invitation::Column::MembershipId)
        .filter(invitation::Column::MembershipId.is_in(membership_ids.iter().copied()))
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::AcceptedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    if !pending.is_empty() {
        invitation::Entity::update_many()
            .col_expr(invitation::Column::RevokedAt, Expr::value(Some(now)))
            .filter(invitation::Column::Id.is_in(pending.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
    }
    Ok(pending)
}

/// The creator of each key of theirs still in use, one entry per key.
async fn api_key_creators<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<Vec<UserId>, ApiError> {
    Ok(api_key::Entity::find()
        .select_only()
        .column(api_key::Column::CreatedBy)
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .filter(api_key::Column::CreatedBy.is_in(user_ids.iter().copied()))
        .filter(api_key::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// Those of them who keep a membership elsewhere in the organization, and so their seat.
async fn still_seated<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_ids: &[UserId],
) -> Result<HashSet<UserId>, ApiError> {
    Ok(membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .distinct()
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(membership::Column::DeletedAt.is_null())
        .into_tuple::<UserId>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// One entry per member removed, and one per invitation revoked with them.
fn audit_entries<'a>(
    plan: &RemovalPlan<'_>,
    principal: &Principal,
    members: &[RemovedMember],
    revoked_invitations: &[(Uuid, Uuid)],
    request_id: Option<&'a str>,
) -> Vec<AuditEvent<'a>> {
    let audit = |action, target_user_id, metadata| AuditEvent {
        workspace_id: plan.workspace.id,
        actor: Some(principal.actor),
        action,
        target_user_id: Some(target_user_id),
        metadata,
        request_id,
    };
    let mut entries: Vec<AuditEvent> = plan
        .leaving
        .iter()
        .zip(members)
        .map(|(candidate, member)| {
            audit(
                "team_membership_remove",
                member.user.id,
                json!({
                    "reason": plan.reason,
                    "role": candidate.membership.role.to_value(),
                    "status": candidate.membership.status.to_value(),
                    "seat_freed": member.seat_freed,
                    "revoke_api_keys": plan.revoke_api_keys,
                    "member_count": plan.leaving.len(),
                }),
            )
        })
        .collect();
    let person_of: HashMap<Uuid, UserId> = plan
        .leaving
        .iter()
        .map(|c| (c.membership.id, c.user.id))
        .collect();
    for (invitation_id, membership_id) in revoked_invitations {
        if let Some(user_id) = person_of.get(membership_id) {
            entries.push(audit(
                "invitation_revoke",
                *user_id,
                json!({ "invitation_id": invitation_id, "reason": "member removed" }),
            ));
        }
    }
    entries
}

/// The side effects carried out after commit: sessions, campaigns, keys, and an email each.
fn removal_jobs(
    plan: &RemovalPlan<'_>,
    user_ids: Vec<UserId>,
    mut groups: HashMap<UserId, Vec<user_group::Model>>,
) -> Vec<Job> {
    let workspace = plan.workspace;
    let mut jobs = vec![
        Job::EndSessions {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
        },
        Job::ReattributeCampaigns {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
            to_user_id: plan.reattribute_to,
        },
    ];
    if plan.revoke_api_keys {
        jobs.push(Job::RevokeApiKeys {
            workspace_id: workspace.id,
            user_ids,
            reason: plan.reason.clone().map_or_else(
                || "member removed".to_owned(),
                |r| format!("member removed: {r}"),
            ),
        });
    }
    // Someone only invited never had access: their revoked invitation is all they lose.
    jobs.extend(
        plan.leaving
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
                reason: plan.reason.clone(),
            }),
    );
    jobs
}
