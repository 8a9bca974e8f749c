//! `deactivateUser` and `reactivateUser`: access suspended with the membership kept (role,
//! groups and seat included), and given back.

use crate::jobs::Job;
use crate::jobs::end_sessions::EndSessions;
use crate::jobs::revoke_api_keys::RevokeApiKeys;
use chrono::{DateTime, Utc};
use entities::{AuditAction, MembershipStatus, OffboardingKind, UserId, WorkspaceId, membership};
use platform::audit;
use platform::db::Writes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::json;

use crate::access::api_keys::refuse_api_keys;
use crate::access::{Acting, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::offboarding::kept_reason;
use crate::people::guards::{
    Candidate, authorize_and_lock, check_target, last_owner_errors, load_candidates,
};
use crate::side_effects::{Recorded, record};
use crate::text::Reason;

pub struct DeactivateRequest {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub reason: Option<Reason>,
    pub revoke_api_keys: bool,
}

pub struct Deactivated {
    pub candidate: Candidate,
    pub recorded: Recorded,
}

async fn target<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_id: UserId,
    verb: &str,
) -> Result<Candidate, RuleError> {
    let (mut candidates, removed) = load_candidates(db, workspace_id, &[user_id]).await?;
    if let Some(error) = check_target(principal, user_id, &candidates, &removed, verb) {
        return Err(RuleError::Rejected(vec![error]));
    }
    Ok(candidates
        .remove(&user_id)
        .expect("check_target found the member"))
}

/// Deactivates an active member: status DEACTIVATED, their sessions refused from commit on
/// (and ended by the worker), optionally their API keys too. Its writes are sent at once.
pub async fn deactivate_user<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    request: DeactivateRequest,
) -> Result<Deactivated, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    let reason = kept_reason(request.reason);
    let workspace = authorize_and_lock(db, principal, request.workspace_id).await?;
    let candidate = target(db, principal, workspace.id, request.user_id, "deactivate").await?;
    if let Some(refusal) = deactivation_refusal(&candidate) {
        return Err(RuleError::Rejected(vec![refusal]));
    }
    let errors = last_owner_errors(db, workspace.id, &[&candidate]).await?;
    if !errors.is_empty() {
        return Err(RuleError::Rejected(errors));
    }

    let membership = membership::Model {
        status: MembershipStatus::Deactivated,
        deactivated_at: Some(now),
        sessions_valid_after: Some(now),
        ..candidate.membership.clone()
    };
    let mut writes = Writes::new(db.get_database_backend());
    writes.push(
        &membership::Entity::update_many()
            .col_expr(membership::Column::Status, Expr::value(membership.status))
            .col_expr(
                membership::Column::DeactivatedAt,
                Expr::value(membership.deactivated_at),
            )
            .col_expr(
                membership::Column::SessionsValidAfter,
                Expr::value(membership.sessions_valid_after),
            )
            .filter(membership::Column::Id.eq(membership.id)),
    );
    let target = (workspace.id, request.user_id);
    let jobs = deactivation_jobs(
        &mut writes,
        target,
        request.revoke_api_keys,
        reason.as_deref(),
        now,
    );
    let recorded = record(
        &mut writes,
        acting,
        workspace.id,
        OffboardingKind::DeactivateUser,
        jobs,
    );
    audit::add_many(
        &mut writes,
        vec![
            acting
                .event(
                    workspace.id,
                    AuditAction::TeamMembershipDeactivate,
                    Some(request.user_id),
                    json!({
                        "reason": reason,
                        "role": membership.role.to_value(),
                        "revoke_api_keys": request.revoke_api_keys,
                    }),
                )
                .of_offboarding(recorded.offboarding.id),
        ],
        now,
    );
    writes.execute(db).await?;
    Ok(Deactivated {
        candidate: Candidate {
            membership,
            user: candidate.user,
        },
        recorded,
    })
}

/// Only an active member can be deactivated: a deactivated one already is, an invited one
/// has no access to take (removing them revokes the invitation).
pub(crate) fn deactivation_refusal(candidate: &Candidate) -> Option<UserError> {
    let refusal =
        |code, message: &str| Some(UserError::new(code, message).for_user(candidate.user.id));
    match candidate.membership.status {
        MembershipStatus::Deactivated => refusal(
            UserErrorCode::AlreadyDeactivated,
            "This member is already deactivated.",
        ),
        MembershipStatus::Invited => refusal(
            UserErrorCode::InvitationPending,
            "This person has not joined yet: remove them to revoke the invitation.",
        ),
        MembershipStatus::Active => None,
    }
}

/// Only a deactivated member can be reactivated.
pub(crate) fn reactivation_refusal(candidate: &Candidate) -> Option<UserError> {
    (candidate.membership.status != MembershipStatus::Deactivated).then(|| {
        UserError::new(
            UserErrorCode::NotDeactivated,
            "Only a deactivated member can be reactivated.",
        )
        .for_user(candidate.user.id)
    })
}

/// Ending the member's sessions, and revoking their keys when asked: the keys are refused from
/// commit on, as their sessions are.
fn deactivation_jobs(
    writes: &mut Writes,
    (workspace_id, user_id): (WorkspaceId, UserId),
    revoke_api_keys: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Job> {
    let mut jobs: Vec<Job> = vec![
        EndSessions {
            workspace_id,
            user_ids: vec![user_id],
        }
        .into(),
    ];
    if revoke_api_keys {
        refuse_api_keys(writes, workspace_id, &[user_id], now);
        jobs.push(
            RevokeApiKeys {
                workspace_id,
                user_ids: vec![user_id],
                reason: reason.map_or_else(
                    || "member deactivated".to_owned(),
                    |r| format!("member deactivated: {r}"),
                ),
            }
            .into(),
        );
    }
    jobs
}

/// Gives a deactivated member their access back with the same role and groups. Sessions from
/// before the deactivation stay dead: the person signs in afresh.
pub async fn reactivate_user<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<Candidate, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    let workspace = authorize_and_lock(db, principal, workspace_id).await?;
    // Giving access back: not by a key whose creator is gone.
    principal.require_active_creator(db).await?;
    let candidate = target(db, principal, workspace.id, user_id, "reactivate").await?;
    if let Some(refusal) = reactivation_refusal(&candidate) {
        return Err(RuleError::Rejected(vec![refusal]));
    }
    let mut reactivated: membership::ActiveModel = candidate.membership.into();
    reactivated.status = Set(MembershipStatus::Active);
    reactivated.deactivated_at = Set(None);
    // Sessions from before the reactivation stay dead; this instant is also where the
    // deactivation's late jobs stop.
    reactivated.sessions_valid_after = Set(Some(now));
    let membership = reactivated.update(db).await?;
    acting
        .record(
            db,
            workspace.id,
            AuditAction::TeamMembershipReactivate,
            Some(user_id),
            json!({ "role": membership.role.to_value() }),
        )
        .await?;
    Ok(Candidate {
        membership,
        user: candidate.user,
    })
}
