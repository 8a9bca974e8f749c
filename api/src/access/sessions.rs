//! Signing in and out.

use chrono::{DateTime, Duration, Utc};
use entities::{MembershipStatus, UserId, UserKind, WorkspaceId, session, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::access::principal::live_membership;
use crate::error::{ApiError, UserErrorCode};
use crate::security::{TokenKind, new_token, verify_password};
use crate::text::Email;

pub struct SignedIn {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub session: session::Model,
}

/// Signs a person in to one workspace.
///
/// A wrong email and a wrong password give the same answer. Only once the password is proven
/// does the answer say why the person can't enter this workspace (deactivated, invitation not
/// accepted, not a member), which tells nothing to someone who doesn't know the password.
pub async fn sign_in<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    email: &Email,
    password: String,
    session_ttl: Duration,
    now: DateTime<Utc>,
) -> Result<SignedIn, ApiError> {
    let person = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::Kind.eq(UserKind::Person))
        .filter(user::Column::ErasedAt.is_null())
        .one(db)
        .await?;
    let stored = person
        .as_ref()
        .and_then(|person| person.password_hash.clone());
    let verified = verify_password(password, stored).await?;
    let Some(person) = person.filter(|_| verified) else {
        return Err(ApiError::rejected(
            UserErrorCode::InvalidCredentials,
            "Wrong email or password.",
        ));
    };
    match live_membership(db, workspace_id, person.id).await? {
        None => Err(ApiError::rejected(
            UserErrorCode::NotAMember,
            "You are not a member of this workspace.",
        )),
        Some((membership, _)) => match membership.status {
            MembershipStatus::Deactivated => Err(ApiError::rejected(
                UserErrorCode::MembershipDeactivated,
                "Your access to this workspace has been deactivated. Ask an administrator to reactivate it.",
            )),
            MembershipStatus::Invited => Err(ApiError::rejected(
                UserErrorCode::InvitationPending,
                "Accept your invitation to this workspace before signing in.",
            )),
            MembershipStatus::Active => {
                start_session(db, person.id, workspace_id, session_ttl, now).await
            }
        },
    }
}

pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    user_id: UserId,
    workspace_id: WorkspaceId,
    session_ttl: Duration,
    now: DateTime<Utc>,
) -> Result<SignedIn, ApiError> {
    let token = new_token(TokenKind::Session);
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        workspace_id: Set(workspace_id),
        token_hash: Set(token.hash),
        created_at: Set(now),
        expires_at: Set(now + session_ttl),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(SignedIn {
        token: token.token,
        session,
    })
}

/// Ends the caller's own session; API keys have no session to end.
pub async fn sign_out<C: ConnectionTrait>(
    db: &C,
    session_token_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(token_hash) = session_token_hash else {
        return Err(ApiError::BadUserInput(
            "signOut ends a session; an API key has none (revoke the key instead)".into(),
        ));
    };
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, now.into())
        .filter(session::Column::TokenHash.eq(token_hash))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
