//! The welcome of someone an identity provider added: the invitation email whose link lets a
//! new account choose its password. Sent to the address the person has now, never to one they
//! had: a changed address withdraws the links sent before and sends a new one.

use entities::{MembershipStatus, invitation, membership, user, workspace};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Provisioner, memberships_in_organization};
use crate::error::RuleError;
use crate::people::invitations::{insert_invitation, write_invitation_email};

/// Makes sure the person can get in: if their account has no password yet and they are an
/// ACTIVE member of the token's workspace, a welcome to their current address is open (one is
/// sent if none is), and every link sent to another address of theirs is withdrawn. Returns
/// the email's jobs.
pub(crate) async fn welcome<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    person: &user::Model,
) -> Result<Vec<Uuid>, RuleError> {
    // Someone who has chosen a password needs no welcome, and has no links to another address
    // of theirs: an address changes only before a password is chosen (`accounts::update`).
    if person.password_hash.is_some() {
        return Ok(Vec::new());
    }
    let memberships = memberships_in_organization(db, provisioner, person.id).await?;
    let open = Condition::all()
        .add(invitation::Column::MembershipId.is_in(memberships.iter().map(|(m, _)| m.id)))
        .add(invitation::Column::AcceptedAt.is_null())
        .add(invitation::Column::RevokedAt.is_null());
    // Links to an address the person no longer has open nothing.
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::RevokedAt,
            Expr::value(Some(provisioner.now)),
        )
        .filter(open.clone())
        .filter(invitation::Column::Email.ne(person.email.as_str()))
        .exec(db)
        .await?;
    let Some((membership, workspace)) = memberships.into_iter().find(|(membership, workspace)| {
        workspace.id == provisioner.caller.workspace_id
            && membership.status == MembershipStatus::Active
    }) else {
        return Ok(Vec::new());
    };
    let waiting = invitation::Entity::find()
        .filter(open)
        .filter(invitation::Column::MembershipId.eq(membership.id))
        .filter(invitation::Column::ExpiresAt.gt(provisioner.now))
        .one(db)
        .await?;
    if waiting.is_some() {
        return Ok(Vec::new());
    }
    send(db, provisioner, &workspace, &membership, person).await
}

/// Sends a welcome to the person's address, opening this membership: its invitation and its
/// email's job, whose ids are returned.
pub(crate) async fn send<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    workspace: &workspace::Model,
    membership: &membership::Model,
    person: &user::Model,
) -> Result<Vec<Uuid>, RuleError> {
    let principal = provisioner.principal_in(workspace);
    let acting = provisioner.acting(&principal);
    let (invitation, _token) = insert_invitation(
        db,
        acting,
        membership,
        &person.email,
        provisioner.welcome_ttl,
    )
    .await?;
    Ok(write_invitation_email(db, acting, &invitation)
        .await?
        .outbox_ids)
}
