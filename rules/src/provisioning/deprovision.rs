//! Deprovisioning: what an identity provider's `active: false` and `DELETE` do. The first
//! deactivates the person in every workspace of the organization (access cut at commit, the
//! jobs of `deactivateUser`), `active: true` gives it back; the second removes them from every
//! workspace with every consequence of `removeMembers`. Where a rule keeps a membership (open
//! contact duties), the person is deactivated there instead and the removal waits for an admin,
//! with the reason; a rule that forbids even the deactivation (the last owner) refuses the
//! whole request, and nothing changes anywhere.

use entities::{
    AuditAction, MembershipStatus, UserId, WorkspaceId, membership, organization, scim_account,
    user,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::welcome::welcome;
use super::{Provisioner, memberships_in_organization};
use crate::access::Acting;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::offboarding::deactivate::{DeactivateRequest, deactivate_user, reactivate_user};
use crate::offboarding::remove::{RemoveRequest, remove_members};

/// The jobs a change queued, to hand to the queue once committed.
#[derive(Debug, Default)]
pub struct Changed {
    pub outbox_ids: Vec<Uuid>,
}

/// A removal that waits for an admin: where, and why.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub workspace_id: WorkspaceId,
    pub blocked_by: String,
}

/// What a removal by the identity provider did.
#[derive(Debug, Default)]
pub struct Deprovisioned {
    pub outbox_ids: Vec<Uuid>,
    /// The workspaces where the person is deactivated instead, the removal waiting.
    pub waiting: Vec<Waiting>,
}

async fn keys_setting<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
) -> Result<bool, RuleError> {
    Ok(
        organization::Entity::find_by_id(provisioner.caller.organization_id)
            .one(db)
            .await?
            .ok_or(RuleError::NotFound("organization"))?
            .deprovision_revokes_api_keys,
    )
}

/// Deactivates (`active: false`) or reactivates (`active: true`) the person in every workspace
/// of the organization they are in. An INVITED membership is withdrawn on deactivation, since
/// accepting it would give access back. What already is as asked is left: a replay changes
/// nothing. NOT_FOUND for someone who is not a person of the organization.
pub async fn set_active<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    active: bool,
) -> Result<Changed, RuleError> {
    let memberships = memberships_in_organization(db, provisioner, user_id).await?;
    if memberships.is_empty() {
        return Err(RuleError::NotFound("user"));
    }
    let revoke_api_keys = keys_setting(db, provisioner).await?;
    let mut changed = Changed::default();
    for (membership, workspace) in memberships {
        let principal = provisioner.principal_in(&workspace);
        let acting = provisioner.acting(&principal);
        // The statuses were read before the workspaces' locks: a change another request made
        // meanwhile (a provider's retry) is found done, not refused.
        match (active, membership.status) {
            (false, MembershipStatus::Active) => {
                changed.outbox_ids.extend(
                    deactivate(
                        db,
                        acting,
                        provisioner,
                        workspace.id,
                        user_id,
                        revoke_api_keys,
                    )
                    .await?,
                );
            }
            (false, MembershipStatus::Invited) => {
                let request = removal(provisioner, workspace.id, user_id, false);
                let removed = remove_members(db, acting, request).await;
                if let Some(removed) = unless_done(removed, GONE)? {
                    changed.outbox_ids.extend(removed.recorded.outbox_ids);
                }
            }
            (true, MembershipStatus::Deactivated) => {
                let done = reactivate_user(db, acting, workspace.id, user_id).await;
                unless_done(done, &[UserErrorCode::NotDeactivated])?;
                // The provider wants them back: a removal of theirs that waited is withdrawn.
                stop_waiting(db, membership.id).await?;
            }
            _ => {}
        }
    }
    if active {
        // Someone provisioned inactive gets their welcome once they are let in.
        let person = user::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .ok_or(RuleError::NotFound("user"))?;
        changed
            .outbox_ids
            .extend(welcome(db, provisioner, &person).await?);
    }
    Ok(changed)
}

/// What a removal finds when the person already left the workspace meanwhile.
const GONE: &[UserErrorCode] = &[UserErrorCode::AlreadyRemoved, UserErrorCode::MemberNotFound];

/// A rule's answer, with a refusal that only says "already done" read as nothing to do.
fn unless_done<T>(
    result: Result<T, RuleError>,
    done: &[UserErrorCode],
) -> Result<Option<T>, RuleError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(RuleError::Rejected(errors))
            if !errors.is_empty() && errors.iter().all(|error| done.contains(&error.code)) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Removes the person from every workspace of the organization, as `removeMembers` would, with
/// the organization's setting for their API keys and their campaigns to each workspace. Where a
/// removal is blocked by open contact duties, they are deactivated there and the removal waits
/// for an admin (`idp_removal_wait` in the audit log, the reason on the membership); any other
/// refusal (the last owner) refuses everything.
pub async fn remove<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
) -> Result<Deprovisioned, RuleError> {
    let memberships = memberships_in_organization(db, provisioner, user_id).await?;
    if memberships.is_empty() {
        return Err(RuleError::NotFound("user"));
    }
    let revoke_api_keys = keys_setting(db, provisioner).await?;
    let mut done = Deprovisioned::default();
    for (membership, workspace) in memberships {
        let principal = provisioner.principal_in(&workspace);
        let acting = provisioner.acting(&principal);
        let request = removal(provisioner, workspace.id, user_id, revoke_api_keys);
        match remove_members(db, acting, request).await {
            Ok(removed) => done.outbox_ids.extend(removed.recorded.outbox_ids),
            Err(RuleError::Rejected(errors))
                if errors.iter().all(|error| GONE.contains(&error.code)) => {}
            Err(RuleError::Rejected(errors)) if only_duties(&errors) => {
                let blocked_by = errors
                    .iter()
                    .map(|error| error.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if membership.status == MembershipStatus::Active {
                    done.outbox_ids.extend(
                        deactivate(
                            db,
                            acting,
                            provisioner,
                            workspace.id,
                            user_id,
                            revoke_api_keys,
                        )
                        .await?,
                    );
                }
                if membership.idp_removal_requested_at.is_none() {
                    wait_for_an_admin(db, acting, &membership, &blocked_by).await?;
                }
                done.waiting.push(Waiting {
                    workspace_id: workspace.id,
                    blocked_by,
                });
            }
            Err(error) => return Err(error),
        }
    }
    if done.waiting.is_empty() {
        // No longer a person of the organization: the provider's id of them is free again.
        scim_account::Entity::delete_many()
            .filter(scim_account::Column::OrganizationId.eq(provisioner.caller.organization_id))
            .filter(scim_account::Column::UserId.eq(user_id))
            .exec(db)
            .await?;
    }
    Ok(done)
}

fn only_duties(errors: &[UserError]) -> bool {
    !errors.is_empty()
        && errors
            .iter()
            .all(|error| error.code == UserErrorCode::ContactReassignmentRequired)
}

fn removal(
    provisioner: &Provisioner<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    revoke_api_keys: bool,
) -> RemoveRequest {
    RemoveRequest {
        workspace_id,
        user_ids: vec![user_id],
        reason: provisioner.reason("removed"),
        revoke_api_keys,
        reattribute_to: None,
        contact_reassignments: Vec::new(),
    }
}

/// Deactivates the member for the identity provider, and returns the outbox rows to hand
/// over; a member found deactivated already (by a provider's retry meanwhile) is done, with none.
async fn deactivate<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    provisioner: &Provisioner<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    revoke_api_keys: bool,
) -> Result<Vec<Uuid>, RuleError> {
    let request = DeactivateRequest {
        workspace_id,
        user_id,
        reason: provisioner.reason("deactivated"),
        revoke_api_keys,
    };
    let deactivated = deactivate_user(db, acting, request).await;
    Ok(
        unless_done(deactivated, &[UserErrorCode::AlreadyDeactivated])?
            .map(|deactivated| deactivated.recorded.outbox_ids)
            .unwrap_or_default(),
    )
}

/// Marks the membership's removal as waiting for an admin, with why, and says so in the audit
/// log.
async fn wait_for_an_admin<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    membership: &membership::Model,
    blocked_by: &str,
) -> Result<(), RuleError> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::IdpRemovalRequestedAt,
            Expr::value(Some(acting.now)),
        )
        .col_expr(
            membership::Column::IdpRemovalBlockedBy,
            Expr::value(Some(blocked_by.to_owned())),
        )
        .filter(membership::Column::Id.eq(membership.id))
        .exec(db)
        .await?;
    acting
        .record(
            db,
            membership.workspace_id,
            AuditAction::IdpRemovalWait,
            Some(membership.user_id),
            json!({ "blocked_by": blocked_by }),
        )
        .await?;
    Ok(())
}

async fn stop_waiting<C: ConnectionTrait>(db: &C, membership_id: Uuid) -> Result<(), RuleError> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::IdpRemovalRequestedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            membership::Column::IdpRemovalBlockedBy,
            Expr::value(Option::<String>::None),
        )
        .filter(membership::Column::Id.eq(membership_id))
        .exec(db)
        .await?;
    Ok(())
}
