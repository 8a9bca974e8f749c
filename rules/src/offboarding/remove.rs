//! `removeMembers`: soft-delete one or many memberships, atomically.

use std::collections::{HashMap, HashSet};

use crate::jobs::Job;
use crate::jobs::end_sessions::EndSessions;
use crate::jobs::reattribute_campaigns::ReattributeCampaigns;
use crate::jobs::revoke_api_keys::RevokeApiKeys;
use crate::jobs::send_removal_email::SendRemovalEmail;
use chrono::{DateTime, Utc};
use entities::{
    AuditAction, MembershipStatus, OffboardingKind, UserId, WorkspaceId, group_membership,
    invitation, membership, workspace,
};
use platform::audit::{self, AuditEvent};
use platform::db::Writes;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::access::api_keys::refuse_api_keys;
use crate::access::{Acting, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::offboarding::contacts::{self, Move, Reassignment, apply_moves, plan_moves, remaining};
use crate::offboarding::facts::{Facts, InvitationOf};
use crate::offboarding::{MAX_MEMBERS_PER_CALL, kept_reason};
use crate::people::duties::{ContactDuties, duties_of};
use crate::people::guards::{
    Candidate, authorize_lock_and_load, check_target, last_owner_errors, member_ids,
};
use crate::people::invitations::withdraw_invited;
use crate::people::members::in_workspace_groups;
use crate::people::members::mark_removed;
use crate::side_effects::{Recorded, record};
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
    /// What leaving would take from them, for the writes and the answer.
    pub facts: Facts,
}

/// Checks every rule of removal for these members (their live memberships `candidates`, and
/// those `removed` before), given the contact duties the same call moves away (`moves`): one
/// statement per 1,000 members, and one more when an owner leaves.
pub async fn assess<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace: &workspace::Model,
    user_ids: Vec<UserId>,
    (candidates, removed): (HashMap<UserId, Candidate>, HashSet<UserId>),
    moves: &[Move],
) -> Result<Assessment, RuleError> {
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
    let (facts, applications) = Facts::read(db, workspace, &user_ids).await?;
    let duties = duties_of(workspace, &user_ids, applications);
    for candidate in &leaving {
        let remaining = duties
            .get(&candidate.user.id)
            .map(|held| remaining(held, candidate.user.id, moves))
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
        facts,
    })
}

/// Removes every listed member, or none: when any of them is blocked, the answer names each
/// blocked member and why, and nothing is written.
pub async fn remove_members<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    request: RemoveRequest,
) -> Result<Removed, RuleError> {
    let principal = acting.principal;
    let user_ids = member_ids(request.user_ids, MAX_MEMBERS_PER_CALL)?;
    let reason = kept_reason(request.reason);
    contacts::validate(&request.contact_reassignments)?;
    let (workspace, candidates, removed) =
        authorize_lock_and_load(db, principal, request.workspace_id, &user_ids).await?;
    let (moves, move_errors) =
        plan_moves(db, &workspace, &request.contact_reassignments, &user_ids).await?;
    let Assessment {
        user_ids,
        candidates,
        mut errors,
        facts,
        ..
    } = assess(
        db,
        principal,
        &workspace,
        user_ids,
        (candidates, removed),
        &moves,
    )
    .await?;
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
        return Err(RuleError::Rejected(errors));
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
    apply_removal(db, acting, plan, facts).await
}

/// The person taking over must be an active member who is not being removed in this call.
async fn check_assignee<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    assignee: UserId,
    leaving: &[UserId],
) -> Result<Result<UserId, UserError>, RuleError> {
    let active = membership::Entity::find_live(workspace_id, [assignee])
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
        .on_field("reattribute_to")
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

/// Writes the removal, every write at once: one statement on PostgreSQL, however many members
/// leave (one more per 65,535 values).
async fn apply_removal<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    plan: RemovalPlan<'_>,
    facts: Facts,
) -> Result<Removed, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    let (user_ids, membership_ids) = (plan.user_ids(), plan.membership_ids());
    let Facts {
        mut groups,
        pending_invitations,
        sent_invitations,
        api_keys_of,
        seated_elsewhere,
    } = facts;
    let members: Vec<RemovedMember> = plan
        .leaving
        .iter()
        .map(|c| RemovedMember {
            membership: membership::Model {
                deleted_at: Some(now),
                ..c.membership.clone()
            },
            user: c.user.clone(),
            seat_freed: !seated_elsewhere.contains(&c.user.id),
            api_keys_revoked: if plan.revoke_api_keys {
                api_keys_of.iter().filter(|id| **id == c.user.id).count()
            } else {
                0
            },
        })
        .collect();

    let mut writes = Writes::new(db.get_database_backend());
    soft_delete(
        &mut writes,
        principal,
        &membership_ids,
        plan.reason.as_deref(),
        now,
    );
    leave_groups(&mut writes, plan.workspace.id, &user_ids, now);
    if !pending_invitations.is_empty() {
        revoke_invitations(&mut writes, &pending_invitations, now);
    }
    if !sent_invitations.is_empty() {
        revoke_invitations(&mut writes, &sent_invitations, now);
        withdraw_invited(
            &mut writes,
            principal,
            sent_invitations.iter().map(|(id, _)| *id),
            now,
        );
    }
    if plan.revoke_api_keys {
        refuse_api_keys(&mut writes, plan.workspace.id, &user_ids, now);
    }
    let jobs = removal_jobs(&plan, user_ids, &mut groups);
    let recorded = record(
        &mut writes,
        acting,
        plan.workspace.id,
        OffboardingKind::RemoveMembers,
        jobs,
    );
    let entries = audit_entries(
        &plan,
        (acting, recorded.offboarding.id),
        &members,
        (&pending_invitations, &sent_invitations),
    );
    audit::add_many(&mut writes, entries, now);
    writes.execute(db).await?;
    Ok(Removed { members, recorded })
}

/// Marks the memberships removed; their sessions are refused from this instant.
fn soft_delete(
    writes: &mut Writes,
    principal: &Principal,
    membership_ids: &[Uuid],
    reason: Option<&str>,
    now: DateTime<Utc>,
) {
    writes.push(
        &mark_removed(principal, now)
            .col_expr(
                membership::Column::RemovalReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .col_expr(
                membership::Column::SessionsValidAfter,
                Expr::value(Some(now)),
            )
            .filter(membership::Column::Id.is_in(membership_ids.iter().copied())),
    );
}

/// Takes them out of this workspace's groups (a restore brings back exactly these).
fn leave_groups(
    writes: &mut Writes,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
    now: DateTime<Utc>,
) {
    writes.push(
        &group_membership::Entity::update_many()
            .col_expr(group_membership::Column::DeletedAt, Expr::value(Some(now)))
            .filter(group_membership::Column::UserId.is_in(user_ids.iter().copied()))
            .filter(group_membership::Column::DeletedAt.is_null())
            .filter(in_workspace_groups(workspace_id)),
    );
}

fn revoke_invitations(writes: &mut Writes, invitations: &[InvitationOf], now: DateTime<Utc>) {
    writes.push(
        &invitation::Entity::update_many()
            .col_expr(invitation::Column::RevokedAt, Expr::value(Some(now)))
            .filter(invitation::Column::Id.is_in(invitations.iter().map(|(id, _)| *id))),
    );
}

/// One entry per member removed, and one per invitation revoked with them.
fn audit_entries<'a>(
    plan: &RemovalPlan<'_>,
    (acting, offboarding_id): (Acting<'a>, Uuid),
    members: &[RemovedMember],
    (revoked_invitations, sent_invitations): (&[InvitationOf], &[InvitationOf]),
) -> Vec<AuditEvent<'a>> {
    let audit = |action, target_user_id, metadata| {
        acting
            .event(plan.workspace.id, action, Some(target_user_id), metadata)
            .of_offboarding(offboarding_id)
    };
    let mut entries: Vec<AuditEvent> = plan
        .leaving
        .iter()
        .zip(members)
        .map(|(candidate, member)| {
            audit(
                AuditAction::TeamMembershipRemove,
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
    entries.extend(revoked_invitations.iter().map(|(invitation_id, user_id)| {
        audit(
            AuditAction::InvitationRevoke,
            *user_id,
            json!({ "invitation_id": invitation_id, "reason": "member removed" }),
        )
    }));
    entries.extend(sent_invitations.iter().map(|(invitation_id, user_id)| {
        audit(
            AuditAction::InvitationRevoke,
            *user_id,
            json!({ "invitation_id": invitation_id, "reason": "inviter removed" }),
        )
    }));
    entries
}

/// The side effects carried out after commit: sessions, campaigns, keys, and an email each.
fn removal_jobs(
    plan: &RemovalPlan<'_>,
    user_ids: Vec<UserId>,
    groups: &mut HashMap<UserId, Vec<String>>,
) -> Vec<Job> {
    let workspace = plan.workspace;
    let mut jobs = vec![
        EndSessions {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
        }
        .into(),
        ReattributeCampaigns {
            workspace_id: workspace.id,
            user_ids: user_ids.clone(),
            to_user_id: plan.reattribute_to,
        }
        .into(),
    ];
    if plan.revoke_api_keys {
        jobs.push(
            RevokeApiKeys {
                workspace_id: workspace.id,
                user_ids,
                reason: plan.reason.clone().map_or_else(
                    || "member removed".to_owned(),
                    |r| format!("member removed: {r}"),
                ),
            }
            .into(),
        );
    }
    // Someone only invited never had access: their revoked invitation is all they lose.
    jobs.extend(
        plan.leaving
            .iter()
            .filter(|c| c.membership.status != MembershipStatus::Invited)
            .map(|c| {
                SendRemovalEmail {
                    workspace_id: workspace.id,
                    user_id: c.user.id,
                    email: c.user.email.clone(),
                    name: c.user.name.clone(),
                    workspace_name: workspace.name.clone(),
                    groups: groups.remove(&c.user.id).unwrap_or_default(),
                    reason: plan.reason.clone(),
                }
                .into()
            }),
    );
    jobs
}
