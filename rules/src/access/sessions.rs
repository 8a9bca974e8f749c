//! Signing in and out.

use chrono::{DateTime, Duration, Utc};
use entities::{
    AuditAction, MembershipStatus, UserId, UserKind, WorkspaceId, session, user, workspace,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::access::activity::last_uses;
use crate::access::principal::live_membership;
use crate::access::{Acting, Permission, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::lists::{Page, Paging, newest_first};
use crate::security::verify_password;
use crate::text::Email;
use crate::text::WorkspaceSlug;
use platform::locks::lock_workspace;
use platform::tokens::{TokenKind, new_token};

pub struct SignedIn {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub session: session::Model,
}

/// The workspace a person signs in to: by id, or by its slug (what a person can type).
pub enum WorkspaceRef {
    Id(WorkspaceId),
    Slug(WorkspaceSlug),
}

/// Signs a person in to one workspace.
///
/// A wrong email and a wrong password give the same answer. Only once the password is proven
/// does the answer say why the person can't enter this workspace (deactivated, invitation not
/// accepted, not a member), which tells nothing to someone who doesn't know the password.
pub async fn sign_in<C: ConnectionTrait>(
    db: &C,
    workspace: &WorkspaceRef,
    email: &Email,
    password: String,
    session_ttl: Duration,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SignedIn, RuleError> {
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
        return Err(RuleError::rejected(
            UserErrorCode::InvalidCredentials,
            "Wrong email or password.",
        ));
    };
    // An unknown slug is "not a member", as an unknown id is: said only to the password's owner.
    let workspace_id = match workspace {
        WorkspaceRef::Id(id) => Some(*id),
        WorkspaceRef::Slug(slug) => {
            workspace::Entity::find()
                .select_only()
                .column(workspace::Column::Id)
                .filter(workspace::Column::Slug.eq(slug.as_str()))
                .into_tuple()
                .one(db)
                .await?
        }
    };
    let membership = match workspace_id {
        Some(workspace_id) => live_membership(db, workspace_id, person.id).await?,
        None => None,
    };
    match membership {
        None => Err(RuleError::rejected(
            UserErrorCode::NotAMember,
            "You are not a member of this workspace.",
        )),
        Some((membership, _)) => match membership.status {
            MembershipStatus::Deactivated => Err(RuleError::rejected(
                UserErrorCode::MembershipDeactivated,
                "Your access to this workspace has been deactivated. Ask an administrator to reactivate it.",
            )),
            MembershipStatus::Invited => Err(RuleError::rejected(
                UserErrorCode::InvitationPending,
                "Accept your invitation to this workspace before signing in.",
            )),
            MembershipStatus::Active => {
                start_session(
                    db,
                    person.id,
                    membership.workspace_id,
                    session_ttl,
                    user_agent,
                    now,
                )
                .await
            }
        },
    }
}

pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    user_id: UserId,
    workspace_id: WorkspaceId,
    session_ttl: Duration,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SignedIn, RuleError> {
    let token = new_token(TokenKind::Session);
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        workspace_id: Set(workspace_id),
        token_hash: Set(token.hash),
        created_at: Set(now),
        expires_at: Set(now + session_ttl),
        revoked_at: Set(None),
        user_agent: Set(user_agent.map(kept_user_agent)),
    }
    .insert(db)
    .await?;
    Ok(SignedIn {
        token: token.token,
        session,
    })
}

/// Ends the caller's own session; API keys have no session to end. Takes the workspace's lock
/// first, as every change to its sessions does ([`platform::locks`]).
pub async fn sign_out<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    let Some(token_hash) = principal.session_token_hash.as_deref() else {
        return Err(RuleError::bad_request(
            "signing out ends a session; an API key has none (revoke the key instead)",
        ));
    };
    lock_workspace(db, principal.workspace_id).await?;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, now.into())
        .filter(session::Column::TokenHash.eq(token_hash))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// What is kept of a `User-Agent`: enough to tell browsers and clients apart, bounded whatever a
/// client sends, control characters (a tab) made spaces.
const USER_AGENT_KEPT_CHARS: usize = 300;

fn kept_user_agent(user_agent: &str) -> String {
    user_agent
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(USER_AGENT_KEPT_CHARS)
        .collect()
}

pub struct SessionRow {
    pub session: session::Model,
    /// When a request last used it (to the minute); `None` if none has since signing in.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The session of the request asking.
    pub current: bool,
}

/// The sessions a person can use in the workspace now, newest first: unrevoked, unexpired, and
/// not cut off by a removal or a "sign out everywhere" — the ones authentication accepts. A
/// person sees their own; USER_MANAGEMENT sees anyone's. Four statements a page.
pub async fn list_sessions<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_id: UserId,
    paging: Paging<'_>,
    now: DateTime<Utc>,
) -> Result<Page<SessionRow>, RuleError> {
    if principal.is_self(user_id) {
        principal.require_workspace(workspace_id)?;
    } else {
        principal.require(Permission::UserManagement, workspace_id)?;
    }
    let membership = live_membership(db, workspace_id, user_id)
        .await?
        .map(|(membership, _)| membership)
        .filter(|membership| membership.status == MembershipStatus::Active);
    let Some(membership) = membership else {
        return Ok(Page::empty());
    };
    let mut query = session::Entity::find()
        .filter(session::Column::WorkspaceId.eq(workspace_id))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .filter(session::Column::CreatedAt.gte(membership.created_at));
    if let Some(valid_after) = membership.sessions_valid_after {
        query = query.filter(session::Column::CreatedAt.gt(valid_after));
    }
    let page = newest_first(db, query, session::Column::Id, paging).await?;
    let seen = last_uses(db, page.items.iter().map(|s| s.token_hash.as_str())).await?;
    let current = principal.session_token_hash.as_deref();
    Ok(page.map(|session| SessionRow {
        last_seen_at: seen.get(&session.token_hash).copied(),
        current: current == Some(session.token_hash.as_str()),
        session,
    }))
}

/// "Sign out everywhere": ends every session the person has in the workspace, this request's
/// too when it is theirs, with an audit entry `sessions_end`. Anyone may end their own; ending
/// another member's needs USER_MANAGEMENT and a role the caller manages; an API key never ends
/// its creator's (CANNOT_REMOVE_SELF). Access is cut at commit. Returns how many sessions were
/// ended (0 is not an error: nothing was open). With `session_id`, only that session of theirs
/// ends (ALREADY_REVOKED when it isn't open any more).
pub async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    session_id: Option<Uuid>,
) -> Result<u64, RuleError> {
    let (principal, now) = (acting.principal, acting.now);
    let own = principal.is_self(user_id);
    if own {
        principal.require_workspace(workspace_id)?;
    } else {
        principal.require(Permission::UserManagement, workspace_id)?;
    }
    let refuse = |code, message: &str| {
        Err(RuleError::Rejected(vec![
            UserError::new(code, message).for_user(user_id),
        ]))
    };
    if principal.is_keys_creator(user_id) {
        return refuse(
            UserErrorCode::CannotRemoveSelf,
            "An API key can't end the sessions of the person who created it: they sign out themselves, or another administrator does.",
        );
    }
    lock_workspace(db, workspace_id).await?;
    let Some((membership, _)) = live_membership(db, workspace_id, user_id).await? else {
        return refuse(
            UserErrorCode::MemberNotFound,
            "This person is not a member of the workspace.",
        );
    };
    if !own && !principal.can_manage(membership.role) {
        return refuse(
            UserErrorCode::RoleNotManageable,
            "You can't manage this member's role.",
        );
    }
    let mut whose = Condition::all().add(session::Column::UserId.eq(user_id));
    if let Some(session_id) = session_id {
        whose = whose.add(session::Column::Id.eq(session_id));
    }
    let ended = end_open_sessions(db, workspace_id, whose, now)
        .await?
        .first()
        .map_or(0, |(_, sessions)| sessions.unsigned_abs());
    if session_id.is_some() && ended == 0 {
        return refuse(
            UserErrorCode::AlreadyRevoked,
            "This session is not open any more (ended, expired, or not theirs).",
        );
    }
    acting
        .record(
            db,
            workspace_id,
            AuditAction::SessionsEnd,
            Some(user_id),
            json!({ "sessions": ended, "session_id": session_id }),
        )
        .await?;
    Ok(ended)
}

/// Ends the open sessions (neither revoked nor expired) in the workspace of the people `whose`
/// selects, at `now`, and says how many each had: what `endSessions` and a removal's or a
/// deactivation's job both do. The caller holds the workspace's lock (the lock order:
/// the workspace before its sessions).
pub(crate) async fn end_open_sessions<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    whose: Condition,
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, i64)>, DbErr> {
    let open = || {
        Condition::all()
            .add(session::Column::WorkspaceId.eq(workspace_id))
            .add(whose.clone())
            .add(session::Column::RevokedAt.is_null())
            .add(session::Column::ExpiresAt.gt(now))
    };
    let counts: Vec<(UserId, i64)> = session::Entity::find()
        .select_only()
        .column(session::Column::UserId)
        .column_as(session::Column::Id.count(), "sessions")
        .filter(open())
        .group_by(session::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    if !counts.is_empty() {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(now)))
            .filter(open())
            .exec(db)
            .await?;
    }
    Ok(counts)
}
