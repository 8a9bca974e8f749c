//! What an invitation link opens onto, before it is accepted: the workspace, the role, who
//! sent it, and whether the invited email already has an account (then its password joins,
//! not a new one). For the holder of the link only: its token is the proof.

use chrono::{DateTime, Utc};
use entities::{Role, invitation, invitation_email_link, user, workspace};
use platform::tokens::{TokenKind, hash_token};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::invalid_invitation;
use crate::error::RuleError;

pub struct InvitationOpening {
    pub invitation: invitation::Model,
    pub workspace_name: String,
    pub role: Role,
    /// Who sent it, if they are still known.
    pub invited_by: Option<String>,
    /// The email has an account with a password: accepting asks for that password.
    pub has_account: bool,
}

/// The invitation this token (an invitation's, or one of its emails') opens, while it is open:
/// INVITATION_INVALID, saying why, otherwise, as `acceptInvitation` would.
pub async fn invitation_opening<C: ConnectionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<InvitationOpening, RuleError> {
    let invitation = open_invitation(db, token, now).await?;
    let workspace = workspace::Entity::find_by_id(invitation.workspace_id)
        .one(db)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(invitation.workspace_id))?;
    let inviter = match invitation.invited_by {
        Some(id) => user::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(invitation.email.as_str()))
        .one(db)
        .await?;
    Ok(InvitationOpening {
        workspace_name: workspace.name,
        role: invitation.role,
        invited_by: inviter.map(|inviter| inviter.name),
        has_account: account.is_some_and(|account| account.password_hash.is_some()),
        invitation,
    })
}

/// The invitation this token opens: one not revoked, accepted or expired.
pub(super) async fn open_invitation<C: ConnectionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<invitation::Model, RuleError> {
    if TokenKind::of(token) != Some(TokenKind::Invitation) {
        return Err(invalid_invitation("This is not an invitation token."));
    }
    let hash = hash_token(token);
    // An email's link opens its invitation while the invitation's token is still the one the
    // link was made for (a resend replaces it). Both sides of the `IN` are index lookups: the
    // link by its hash, then the invitation by its token's.
    let emailed_for = Query::select()
        .column(invitation_email_link::Column::InvitationTokenHash)
        .from(invitation_email_link::Entity)
        .and_where(invitation_email_link::Column::TokenHash.eq(hash.as_str()))
        .take();
    let Some(invitation) = invitation::Entity::find()
        .filter(Expr::col(invitation::Column::TokenHash).is_in([
            Expr::val(hash.as_str()),
            Expr::SubQuery(None, Box::new(emailed_for.into())),
        ]))
        .one(db)
        .await?
    else {
        return Err(invalid_invitation("This invitation does not exist."));
    };
    if invitation.revoked_at.is_some() {
        return Err(invalid_invitation("This invitation has been revoked."));
    }
    if invitation.accepted_at.is_some() {
        return Err(invalid_invitation(
            "This invitation has already been accepted.",
        ));
    }
    if invitation.expires_at <= now {
        return Err(invalid_invitation(
            "This invitation has expired: ask for a new one.",
        ));
    }
    Ok(invitation)
}
