//! Managing a workspace's invitations: listing them by status, sending one again with a new
//! link, revoking one.

use chrono::{DateTime, Duration, Utc};
use entities::{AuditAction, MembershipStatus, UserId, WorkspaceId, invitation, membership, user};
use platform::db::Writes;
use platform::locks::{lock_organization, lock_workspace};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::write_invitation_email;
use crate::access::{Acting, Permission, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::lists::{Page, Paging, newest_first, users_by_id};
use crate::people::members::mark_removed;
use crate::people::seats::take_a_seat;
use crate::side_effects::Recorded;
use platform::tokens::{TokenKind, new_token};

/// Where an invitation stands, judged at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Can be accepted.
    Pending,
    /// Past `expires_at` without being accepted; its INVITED membership still holds a seat
    /// until the invitation is revoked (or sent again).
    Expired,
    Revoked,
    Accepted,
}

impl InvitationStatus {
    pub fn of(invitation: &invitation::Model, now: DateTime<Utc>) -> InvitationStatus {
        if invitation.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if invitation.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if invitation.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }

    /// The rows in this status at `now`, as a condition for the list.
    fn condition(self, now: DateTime<Utc>) -> Condition {
        let open = Condition::all()
            .add(invitation::Column::AcceptedAt.is_null())
            .add(invitation::Column::RevokedAt.is_null());
        match self {
            InvitationStatus::Accepted => {
                Condition::all().add(invitation::Column::AcceptedAt.is_not_null())
            }
            InvitationStatus::Revoked => Condition::all()
                .add(invitation::Column::AcceptedAt.is_null())
                .add(invitation::Column::RevokedAt.is_not_null()),
            InvitationStatus::Expired => open.add(invitation::Column::ExpiresAt.lte(now)),
            InvitationStatus::Pending => open.add(invitation::Column::ExpiresAt.gt(now)),
        }
    }
}

pub struct InvitationRow {
    pub invitation: invitation::Model,
    pub status: InvitationStatus,
    /// Who sent it, when they are known.
    pub invited_by: Option<user::Model>,
}

/// The workspace's invitations, newest first, in some statuses (all when `None`). Needs
/// USER_MANAGEMENT. Three statements a page: the total, the page, and who sent them.
pub async fn list_invitations<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    statuses: Option<&[InvitationStatus]>,
    paging: Paging<'_>,
    now: DateTime<Utc>,
) -> Result<Page<InvitationRow>, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let mut query =
        invitation::Entity::find().filter(invitation::Column::WorkspaceId.eq(workspace_id));
    if let Some(statuses) = statuses {
        query = query.filter(statuses.iter().fold(Condition::any(), |any, status| {
            any.add(status.condition(now))
        }));
    }
    let page = newest_first(db, query, invitation::Column::Id, paging).await?;
    let senders = users_by_id(db, page.items.iter().filter_map(|i| i.invited_by)).await?;
    Ok(page.map(|invitation| InvitationRow {
        status: InvitationStatus::of(&invitation, now),
        invited_by: invitation
            .invited_by
            .and_then(|id| senders.get(&id).cloned()),
        invitation,
    }))
}

/// The invitation and the person it invites, if it is of the caller's workspace and the caller
/// may manage it: needs USER_MANAGEMENT and a role the caller could grant. Accepted or revoked,
/// it can't be managed.
async fn manageable_invitation<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    invitation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(invitation::Model, Option<UserId>), RuleError> {
    let invitation = invitation::Entity::find_by_id(invitation_id)
        .one(db)
        .await?
        .filter(|invitation| invitation.workspace_id == principal.workspace_id)
        .ok_or(RuleError::NotFound("invitation"))?;
    principal.require_permission(Permission::UserManagement)?;
    if !principal.can_manage(invitation.role) {
        return Err(RuleError::rejected(
            UserErrorCode::RoleNotManageable,
            "You can't manage invitations to this role.",
        ));
    }
    match InvitationStatus::of(&invitation, now) {
        InvitationStatus::Accepted => Err(RuleError::rejected(
            UserErrorCode::InvitationInvalid,
            "This invitation was accepted: the person is a member now (remove them instead).",
        )),
        InvitationStatus::Revoked => Err(RuleError::rejected(
            UserErrorCode::AlreadyRevoked,
            "This invitation is already revoked.",
        )),
        InvitationStatus::Pending | InvitationStatus::Expired => {
            let invitee = membership::Entity::find_by_id(invitation.membership_id)
                .one(db)
                .await?
                .map(|membership| membership.user_id);
            Ok((invitation, invitee))
        }
    }
}

/// Revokes a pending or expired invitation: its link stops working and the INVITED membership
/// it would activate is removed, freeing the seat it held. Audit entry `invitation_revoke`.
pub async fn revoke_invitation<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    invitation_id: Uuid,
) -> Result<invitation::Model, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    // The workspace's lock orders this after an acceptance of the same invitation, or before.
    lock_workspace(db, principal.workspace_id).await?;
    let (invitation, invitee) = manageable_invitation(db, principal, invitation_id, now).await?;
    let mut writes = Writes::new(db.get_database_backend());
    withdraw_invited(&mut writes, principal, [invitation.id], now);
    writes.execute(db).await?;
    let mut revoked: invitation::ActiveModel = invitation.into();
    revoked.revoked_at = Set(Some(now));
    let invitation = revoked.update(db).await?;
    acting
        .record(
            db,
            invitation.workspace_id,
            AuditAction::InvitationRevoke,
            invitee,
            json!({
                "invitation_id": invitation.id,
                "email": invitation.email,
                "role": invitation.role.to_value(),
            }),
        )
        .await?;
    Ok(invitation)
}

/// Removes the INVITED memberships these invitations would have activated, freeing their seats:
/// what revoking an invitation does, and what a removal does to the invitations its people sent.
pub fn withdraw_invited(
    writes: &mut Writes,
    principal: &Principal,
    invitation_ids: impl IntoIterator<Item = Uuid>,
    now: DateTime<Utc>,
) {
    writes.push(
        &mark_removed(principal, now)
            .filter(
                membership::Column::Id.in_subquery(
                    Query::select()
                        .column(invitation::Column::MembershipId)
                        .from(invitation::Entity)
                        .and_where(invitation::Column::Id.is_in(invitation_ids))
                        .take(),
                ),
            )
            .filter(membership::Column::DeletedAt.is_null())
            .filter(membership::Column::Status.eq(MembershipStatus::Invited)),
    );
}

pub struct Resent {
    /// The new link's secret: shown once, stored only as a hash. The old one stops working.
    pub token: String,
    pub invitation: invitation::Model,
    /// The new invitation email's job, when one was asked for.
    pub email: Option<Recorded>,
}

/// Sends a pending or expired invitation again: a new token (the old links, the caller's and the
/// earlier email's, stop working) valid for another `invitation_ttl`, and, if asked, a new email
/// with a link of its own. Audit entry `invitation_resend`.
pub async fn resend_invitation<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    invitation_id: Uuid,
    invitation_ttl: Duration,
    send_email: bool,
) -> Result<Resent, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    // The lock order: the organization (its seats), then the workspace (its memberships).
    let organization = lock_organization(db, principal.organization_id)
        .await?
        .ok_or(RuleError::NotFound("organization"))?;
    lock_workspace(db, principal.workspace_id).await?;
    let (invitation, invitee) = manageable_invitation(db, principal, invitation_id, now).await?;
    // A new link is access handed out: not by a key whose creator is gone, nor to its creator.
    principal.require_active_creator(db).await?;
    if invitee.is_some_and(|invitee| principal.is_keys_creator(invitee)) {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::CannotRemoveSelf,
                "An API key can't resend the invitation of the person who created it.",
            )
            .on_field("invitation_id"),
        ]));
    }
    // An expired invitation held no seat: a new link takes one again, if there is one.
    if invitation.expires_at <= now
        && let Err(full) = take_a_seat(db, &organization, invitee, now).await?
    {
        return Err(RuleError::Rejected(vec![full.on_field("invitation_id")]));
    }
    let token = new_token(TokenKind::Invitation);
    let mut renewed: invitation::ActiveModel = invitation.into();
    renewed.token_hash = Set(token.hash);
    renewed.expires_at = Set(now + invitation_ttl);
    let invitation = renewed.update(db).await?;
    acting
        .record(
            db,
            invitation.workspace_id,
            AuditAction::InvitationResend,
            invitee,
            json!({ "invitation_id": invitation.id, "expires_at": invitation.expires_at }),
        )
        .await?;
    let email = if send_email {
        Some(write_invitation_email(db, acting, &invitation).await?)
    } else {
        None
    };
    Ok(Resent {
        token: token.token,
        invitation,
        email,
    })
}
