//! Inviting people, accepting invitations, and managing the invitations of a workspace: listing
//! them by status, sending one again with a new link, revoking one.

use crate::jobs::send_invitation_email::SendInvitationEmail;
use chrono::{DateTime, Duration, Utc};
use entities::{
    AuditAction, MembershipStatus, OffboardingKind, Role, UserId, UserKind, WorkspaceId,
    invitation, membership, user,
};
use platform::audit::{self, AuditEvent};
use platform::db::Writes;
use platform::locks::{lock_organization, lock_person, lock_workspace, lock_workspaces_of};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::access::principal::live_membership;
use crate::access::sessions::{SignedIn, start_session};
use crate::access::{Acting, Actor, Permission};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::groups::{groups_named, join_groups};
use crate::people::seats::take_a_seat;
use crate::security::{MIN_PASSWORD_LENGTH, hash_password, verify_password};
use crate::side_effects::{self, Recorded};
use crate::text::{Email, PersonName};
use platform::tokens::{TokenKind, new_token};

mod managing;
mod opening;
use opening::open_invitation;

pub use managing::{
    InvitationRow, InvitationStatus, Resent, list_invitations, resend_invitation,
    revoke_invitation, withdraw_invited,
};
pub use opening::{InvitationOpening, invitation_opening};

pub struct Invited {
    /// The invitation link's secret: shown once, stored only as a hash.
    pub token: String,
    pub invitation: invitation::Model,
    pub membership: membership::Model,
    pub user: user::Model,
    /// The invitation email's job, when one was asked for.
    pub email: Option<Recorded>,
}

pub struct InviteRequest<'a> {
    pub workspace_id: WorkspaceId,
    pub email: &'a Email,
    pub role: Role,
    pub invitation_ttl: Duration,
    /// Whether the invitation email goes out (through the outbox, like a removal's email).
    pub send_email: bool,
    /// The workspace's groups the person joins with the invitation.
    pub group_ids: &'a [Uuid],
}

/// Invites a person into the workspace: an INVITED membership (which takes a seat) and an
/// invitation whose token activates it.
pub async fn invite_member<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    request: InviteRequest<'_>,
) -> Result<Invited, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    principal.require(Permission::UserManagement, request.workspace_id)?;
    let email = request.email.as_str();
    if !principal.can_manage(request.role) {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::RoleNotManageable,
                "You can't manage this member's role: only an owner can grant a role equal to or above their own.",
            )
            .on_field("role"),
        ]));
    }

    // The lock order: the organization (its seats), then the workspace (its memberships).
    let organization = lock_organization(db, principal.organization_id)
        .await?
        .ok_or(RuleError::NotFound("organization"))?;
    lock_workspace(db, request.workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(request.workspace_id))?;
    principal.require_active_creator(db).await?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?;
    if let Some(existing) = &existing {
        refuse_existing(db, request.workspace_id, existing).await?;
    }
    let groups = groups_named(db, request.workspace_id, request.group_ids).await?;
    if let Err(full) = take_a_seat(db, &organization, existing.as_ref().map(|e| e.id), now).await? {
        return Err(RuleError::Rejected(vec![full]));
    }

    let user = match existing {
        Some(existing) => existing,
        None => new_person(db, email, None, now).await?,
    };
    let (membership, invitation, token) = write_invitation(db, acting, &request, &user).await?;
    join_groups(db, &groups, user.id, now).await?;
    acting
        .record(
            db,
            request.workspace_id,
            AuditAction::TeamMembershipInvite,
            Some(user.id),
            json!({ "role": invitation.role.to_value(), "invitation_id": invitation.id }),
        )
        .await?;
    let email = if request.send_email {
        Some(write_invitation_email(db, acting, &invitation).await?)
    } else {
        None
    };
    Ok(Invited {
        token,
        invitation,
        membership,
        user,
        email,
    })
}

/// The INVITED membership and its invitation, whose token (returned in the clear, stored hashed)
/// activates it.
async fn write_invitation<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    request: &InviteRequest<'_>,
    user: &user::Model,
) -> Result<(membership::Model, invitation::Model, String), RuleError> {
    let membership = membership::ActiveModel::new(
        request.workspace_id,
        user.id,
        request.role,
        MembershipStatus::Invited,
        acting.now,
    )
    .insert(db)
    .await?;
    let (invitation, token) = insert_invitation(
        db,
        acting,
        &membership,
        request.email.as_str(),
        request.invitation_ttl,
    )
    .await?;
    Ok((membership, invitation, token))
}

/// The invitation that opens this membership, valid for `ttl`, and its token (in the clear;
/// stored hashed), invited by [`Principal::person_acting`](crate::access::Principal).
pub(crate) async fn insert_invitation<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    membership: &membership::Model,
    email: &str,
    ttl: Duration,
) -> Result<(invitation::Model, String), RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    let token = new_token(TokenKind::Invitation);
    let invitation = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(membership.workspace_id),
        membership_id: Set(membership.id),
        email: Set(email.to_owned()),
        role: Set(membership.role),
        token_hash: Set(token.hash),
        invited_by: Set(principal.person_acting()),
        expires_at: Set(now + ttl),
        revoked_at: Set(None),
        accepted_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((invitation, token.token))
}

/// The account of someone invited (or provisioned) for the first time, named `name` or, until
/// they choose one, after their address. Two organizations may invite the same new address at
/// once (their locks don't order them): the second insert then finds the first's row, and uses
/// it.
pub(crate) async fn new_person<C: ConnectionTrait>(
    db: &C,
    email: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<user::Model, RuleError> {
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default());
    user::Entity::insert(user::ActiveModel {
        id: Set(UserId::fresh()),
        email: Set(email.to_owned()),
        name: Set(name.to_owned()),
        password_hash: Set(None),
        kind: Set(UserKind::Person),
        erased_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(user::Column::Email)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| RuleError::internal("reading a person just written", "it vanished"))
}

/// The invitation email, written with the invitation's change: an offboarding row of kind
/// `invitation_email`, so the email is followed, retried and audited as any side effect is,
/// and its one job.
pub(crate) async fn write_invitation_email<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    invitation: &invitation::Model,
) -> Result<Recorded, RuleError> {
    let mut writes = Writes::new(db.get_database_backend());
    let job = SendInvitationEmail {
        workspace_id: invitation.workspace_id,
        invitation_id: invitation.id,
        token_hash: invitation.token_hash.clone(),
    };
    let recorded = side_effects::record(
        &mut writes,
        acting,
        invitation.workspace_id,
        OffboardingKind::InvitationEmail,
        vec![job.into()],
    );
    writes.execute(db).await?;
    Ok(recorded)
}

/// Someone already known may be invited unless they are a system principal or already here.
/// (The creator of the API key inviting can't be invited by it: a key whose creator is not an
/// active member invites no one, see `Principal::require_active_creator`.)
async fn refuse_existing<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    existing: &user::Model,
) -> Result<(), RuleError> {
    if existing.kind == UserKind::System {
        return Err(RuleError::bad_input(
            "email",
            format!(
                "{:?} belongs to a system principal, who can't be invited",
                existing.email
            ),
        ));
    }
    if live_membership(db, workspace_id, existing.id)
        .await?
        .is_some()
    {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::AlreadyMember,
                "This person is already a member of the workspace (or already invited).",
            )
            .on_field("email"),
        ]));
    }
    Ok(())
}

pub struct AcceptRequest {
    pub token: String,
    pub name: Option<PersonName>,
    pub password: String,
    pub session_ttl: Duration,
    /// The client's `User-Agent`, kept with the new session.
    pub user_agent: Option<String>,
    /// The request's id, kept with the audit entry.
    pub request_id: Option<String>,
}

pub struct Accepted {
    pub signed_in: SignedIn,
    pub membership: membership::Model,
}

pub(super) fn invalid_invitation(message: &str) -> RuleError {
    RuleError::Rejected(vec![
        UserError::new(UserErrorCode::InvitationInvalid, message).on_field("token"),
    ])
}

/// Accepts an invitation: the membership becomes ACTIVE and the person is signed in.
///
/// Someone new chooses their name and password here; someone who already has an account
/// proves it with their password, which is never overwritten by an invitation.
pub async fn accept_invitation<C: ConnectionTrait>(
    db: &C,
    request: &AcceptRequest,
    now: DateTime<Utc>,
) -> Result<Accepted, RuleError> {
    let invitation = open_invitation(db, &request.token, now).await?;
    let membership = still_invited(db, invitation.membership_id).await?;
    let person = user::Entity::find_by_id(membership.user_id)
        .one(db)
        .await?
        .ok_or(RuleError::NotFound("user"))?;
    // An identity provider may change a person's address before they have chosen a password: a
    // link sent to the old one opens nothing.
    if !invitation.email.eq_ignore_ascii_case(&person.email) {
        return Err(invalid_invitation(
            "This invitation was sent to an address the account no longer has.",
        ));
    }
    let account = account_for(person, request.password.clone(), request.name.clone()).await?;

    // Locked before any write, as removals lock it, and only now: never across the password
    // hash. A removal, resend or revocation of this invitation that committed meanwhile wins. A
    // new account's name and password are written to the person's own row: then the person,
    // and every workspace they are in, are locked, in the lock order (this one among them).
    let account = if account.is_changed() {
        lock_person(db, membership.user_id).await?;
        lock_workspaces_of(db, membership.user_id).await?;
        still_new(db, membership.user_id, account, &request.password).await?
    } else {
        lock_workspace(db, invitation.workspace_id).await?;
        account
    };
    let invitation = open_invitation(db, &request.token, now).await?;
    let membership = still_invited(db, membership.id).await?;
    if account.is_changed() {
        account.update(db).await?;
    }
    let joined_at = membership.joined_at.or(Some(now));
    let mut activated: membership::ActiveModel = membership.into();
    activated.status = Set(MembershipStatus::Active);
    activated.joined_at = Set(joined_at);
    let membership = activated.update(db).await?;
    let mut accepted: invitation::ActiveModel = invitation.into();
    accepted.accepted_at = Set(Some(now));
    let invitation = accepted.update(db).await?;
    audit::record(
        db,
        AuditEvent::new(
            invitation.workspace_id,
            Some(Actor::User(membership.user_id)),
            AuditAction::TeamMembershipJoin,
            Some(membership.user_id),
            json!({ "invitation_id": invitation.id }),
        )
        .in_request(request.request_id.as_deref()),
        now,
    )
    .await?;
    let signed_in = start_session(
        db,
        membership.user_id,
        membership.workspace_id,
        request.session_ttl,
        request.user_agent.as_deref(),
        now,
    )
    .await?;
    Ok(Accepted {
        signed_in,
        membership,
    })
}

/// The invitation's membership, if it is still INVITED (or ACTIVE: the welcome of someone an
/// identity provider added, who has yet to choose a password) and not removed. A deactivated
/// membership opens nothing.
async fn still_invited<C: ConnectionTrait>(
    db: &C,
    membership_id: Uuid,
) -> Result<membership::Model, RuleError> {
    membership::Entity::find_by_id(membership_id)
        .one(db)
        .await?
        .filter(|m| {
            m.deleted_at.is_none()
                && matches!(
                    m.status,
                    MembershipStatus::Invited | MembershipStatus::Active
                )
        })
        .ok_or_else(|| invalid_invitation("This invitation is no longer valid."))
}

fn password_mismatch() -> RuleError {
    RuleError::Rejected(vec![
        UserError::new(
            UserErrorCode::PasswordMismatch,
            "You already have an account: enter its password to accept.",
        )
        .on_field("password"),
    ])
}

/// A new account as it stands once the person's row is locked: if another acceptance gave it a
/// password meanwhile, this one proves that password instead of overwriting it, and writes
/// nothing to the account.
async fn still_new<C: ConnectionTrait>(
    db: &C,
    user_id: UserId,
    account: user::ActiveModel,
    password: &str,
) -> Result<user::ActiveModel, RuleError> {
    let current = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(RuleError::NotFound("user"))?;
    match current.password_hash.clone() {
        None => Ok(account),
        Some(stored) => {
            if verify_password(password.to_owned(), Some(stored)).await? {
                Ok(current.into())
            } else {
                Err(password_mismatch())
            }
        }
    }
}

/// Someone with an account proves it with their password, which an invitation never
/// overwrites; someone new sets theirs (and their name) here.
async fn account_for(
    person: user::Model,
    password: String,
    name: Option<PersonName>,
) -> Result<user::ActiveModel, RuleError> {
    let mut account: user::ActiveModel = person.clone().into();
    match person.password_hash {
        Some(stored) => {
            if !verify_password(password, Some(stored)).await? {
                return Err(password_mismatch());
            }
        }
        None => {
            if password.chars().count() < MIN_PASSWORD_LENGTH {
                return Err(RuleError::Rejected(vec![
                    UserError::new(
                        UserErrorCode::PasswordTooShort,
                        format!("Choose a password of at least {MIN_PASSWORD_LENGTH} characters."),
                    )
                    .on_field("password"),
                ]));
            }
            account.password_hash = Set(Some(hash_password(password).await?));
            if let Some(name) = name {
                account.name = Set(name.into_string());
            }
        }
    }
    Ok(account)
}
