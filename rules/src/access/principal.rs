use chrono::{DateTime, Utc};
use entities::{
    MembershipStatus, OrganizationId, Role, UserId, WorkspaceId, api_key, membership, session,
    user, workspace,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, RelationTrait,
};

use crate::error::RuleError;
use platform::tokens::{TokenKind, hash_token};

pub use platform::Actor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Invite, remove, deactivate and reactivate members; reassign their duties.
    UserManagement,
    /// Create API keys.
    ApiKeyManagement,
    /// List the workspace's members.
    ViewMembers,
}

impl Permission {
    /// Its name in messages, as the API's enum spells it.
    pub fn name(self) -> &'static str {
        match self {
            Permission::UserManagement => "USER_MANAGEMENT",
            Permission::ApiKeyManagement => "API_KEY_MANAGEMENT",
            Permission::ViewMembers => "VIEW_MEMBERS",
        }
    }
}

/// The names `viewer` shows.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Identity {
    pub email: String,
    pub name: String,
    pub workspace_name: String,
    pub workspace_slug: String,
}

/// What the authentication statement reads: the principal, and how long it holds.
#[derive(FromQueryResult)]
struct Authenticated {
    user_id: UserId,
    workspace_id: WorkspaceId,
    organization_id: OrganizationId,
    role: Role,
    access_version: i64,
    expires_at: DateTime<Utc>,
    #[sea_orm(nested)]
    identity: Identity,
}

/// A principal with what bounds its use: the workspace's access version it was read at (any
/// change that bears on access raises it, see `workspace::Model::access_version`) and, for a
/// session, its expiry.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    pub access_version: i64,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An authenticated caller, bound to one workspace.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    /// The person acting: the session's user, or the user who created the API key.
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub organization_id: OrganizationId,
    pub role: Role,
    /// The hash of the session's token, for `signOut`; `None` for an API key.
    pub session_token_hash: Option<String>,
    /// Names of the person and the workspace, read with the token: `viewer` answers from them
    /// and from the key (if one acts) without another statement.
    pub identity: Identity,
    pub api_key: Option<api_key::Model>,
}

impl Principal {
    pub fn permissions(&self) -> Vec<Permission> {
        let mut permissions = vec![Permission::ViewMembers];
        if matches!(self.role, Role::Owner | Role::Admin) {
            permissions.push(Permission::UserManagement);
            permissions.push(Permission::ApiKeyManagement);
        }
        permissions
    }

    /// The caller may act in this workspace with this permission. Another workspace is
    /// NOT_FOUND, never FORBIDDEN: no hint that it exists.
    pub fn require(
        &self,
        permission: Permission,
        workspace_id: WorkspaceId,
    ) -> Result<(), RuleError> {
        self.require_workspace(workspace_id)?;
        self.require_permission(permission)
    }

    /// The caller's token is for this workspace: any other is NOT_FOUND, never FORBIDDEN, so
    /// a caller learns nothing of workspaces they aren't in.
    pub fn require_workspace(&self, workspace_id: WorkspaceId) -> Result<(), RuleError> {
        if self.workspace_id == workspace_id {
            Ok(())
        } else {
            Err(RuleError::WorkspaceNotFound(workspace_id))
        }
    }

    /// The caller holds this permission (FORBIDDEN, naming it, if not); for what is checked
    /// against another scope than the workspace, or found by its own id.
    pub fn require_permission(&self, permission: Permission) -> Result<(), RuleError> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(RuleError::Forbidden(format!(
                "this needs the {} permission",
                permission.name()
            )))
        }
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// An OWNER manages every role; anyone else only roles ranked below their own.
    pub fn can_manage(&self, role: Role) -> bool {
        self.role == Role::Owner || role.rank() < self.role.rank()
    }

    /// Whether `user_id` is the caller acting for themself: a session's person. An API key is a
    /// principal of its own, bound by its own role in everything it does: to it, the person who
    /// created it is someone else, whom it never acts on ([`Principal::is_keys_creator`]), and
    /// whose sessions, keys and details it reads only as its role lets it read anyone's.
    pub fn is_self(&self, user_id: UserId) -> bool {
        matches!(self.actor, Actor::User(id) if id == user_id)
    }

    /// The person a change is recorded as made by, where a row keeps one (`removed_by`,
    /// `invited_by`): a session's person, a key's creator; no one for an identity provider,
    /// whose token the audit entry names.
    pub fn person_acting(&self) -> Option<UserId> {
        match self.actor {
            Actor::User(_) | Actor::ApiKey(_) => Some(self.user_id),
            Actor::ScimToken(_) => None,
        }
    }

    /// Whether the caller is an API key and `user_id` the person who created it.
    pub fn is_keys_creator(&self, user_id: UserId) -> bool {
        matches!(self.actor, Actor::ApiKey(_)) && self.user_id == user_id
    }

    /// A key whose creator is no longer an active member of its workspace keeps working (with
    /// `revokeApiKeys: false`, so automation doesn't break), but can't hand out access: it
    /// can't create keys, invite or send an invitation's link again, change roles, or reactivate
    /// or restore anyone. FORBIDDEN, saying why; a session passes (its person is active, or it
    /// would not authenticate).
    pub async fn require_active_creator<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<(), RuleError> {
        // A SCIM token acts for the organization, not for the owner who made it: it works
        // until it is revoked.
        if matches!(self.actor, Actor::User(_) | Actor::ScimToken(_)) {
            return Ok(());
        }
        let active = live_membership(db, self.workspace_id, self.user_id)
            .await?
            .is_some_and(|(membership, _)| membership.status == MembershipStatus::Active);
        if active {
            Ok(())
        } else {
            Err(RuleError::Forbidden(
                "this API key's creator is no longer an active member of the workspace: it can't create keys, invite, change roles or give anyone access back".into(),
            ))
        }
    }
}

/// Resolves a bearer token to a principal, or `None` if it is unknown, revoked, expired, or
/// belongs to someone whose membership is no longer active. Removal and deactivation cut access
/// at commit, not when a token expires.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, DbErr> {
    Ok(verify(db, token, now)
        .await?
        .map(|verified| verified.principal))
}

/// [`authenticate`], with what bounds the principal's use (for [`super::PrincipalCache`]).
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Verified>, DbErr> {
    let hash = hash_token(token);
    match TokenKind::of(token) {
        Some(TokenKind::Session) => authenticate_session(db, &hash, now).await,
        Some(TokenKind::ApiKey) => authenticate_api_key(db, &hash).await,
        // An invitation's link and an identity provider's SCIM token open no GraphQL session.
        Some(TokenKind::Invitation | TokenKind::Scim) | None => Ok(None),
    }
}

/// One statement of ten columns: the session's person, workspace and role, where the
/// session is unrevoked and unexpired, its membership live and ACTIVE, and the session younger
/// than both the membership (a session of an earlier, removed membership must not revive with a
/// new one) and the membership's `sessions_valid_after` (set when access is cut and given back).
async fn authenticate_session<C: ConnectionTrait>(
    db: &C,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Verified>, DbErr> {
    let session_created = Expr::col((session::Entity, session::Column::CreatedAt));
    let found = session::Entity::find()
        .select_only()
        .column_as(membership::Column::UserId, "user_id")
        .column_as(membership::Column::WorkspaceId, "workspace_id")
        .column_as(membership::Column::Role, "role")
        .column_as(workspace::Column::OrganizationId, "organization_id")
        .column_as(workspace::Column::Name, "workspace_name")
        .column_as(workspace::Column::Slug, "workspace_slug")
        .column_as(workspace::Column::AccessVersion, "access_version")
        .column_as(session::Column::ExpiresAt, "expires_at")
        .column_as(user::Column::Email, "email")
        .column_as(user::Column::Name, "name")
        .join(JoinType::InnerJoin, membership_of_session())
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(session::Column::TokenHash.eq(hash))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .filter(membership::Column::DeletedAt.is_null())
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(session_created.clone().gte(Expr::col((
            membership::Entity,
            membership::Column::CreatedAt,
        ))))
        .filter(
            Condition::any()
                .add(membership::Column::SessionsValidAfter.is_null())
                .add(session_created.gt(Expr::col((
                    membership::Entity,
                    membership::Column::SessionsValidAfter,
                )))),
        )
        .into_model::<Authenticated>()
        .one(db)
        .await?;
    Ok(found.map(|found| Verified {
        principal: Principal {
            actor: Actor::User(found.user_id),
            user_id: found.user_id,
            workspace_id: found.workspace_id,
            organization_id: found.organization_id,
            role: found.role,
            session_token_hash: Some(hash.to_owned()),
            identity: found.identity,
            api_key: None,
        },
        access_version: found.access_version,
        expires_at: Some(found.expires_at),
    }))
}

/// A session's membership: its person's in its workspace.
fn membership_of_session() -> RelationDef {
    session::Entity::belongs_to(membership::Entity)
        .from((session::Column::WorkspaceId, session::Column::UserId))
        .to((membership::Column::WorkspaceId, membership::Column::UserId))
        .into()
}

/// One statement: the unrevoked key with its workspace and the person it acts for.
async fn authenticate_api_key<C: ConnectionTrait>(
    db: &C,
    hash: &str,
) -> Result<Option<Verified>, DbErr> {
    let Some((key, Some(workspace), Some(user))) = api_key::Entity::find()
        .find_also_related(workspace::Entity)
        .find_also_related(user::Entity)
        .filter(api_key::Column::TokenHash.eq(hash))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Verified {
        principal: Principal {
            actor: Actor::ApiKey(key.id),
            user_id: key.created_by,
            workspace_id: workspace.id,
            organization_id: workspace.organization_id,
            role: key.role,
            session_token_hash: None,
            identity: Identity {
                email: user.email,
                name: user.name,
                workspace_name: workspace.name,
                workspace_slug: workspace.slug,
            },
            api_key: Some(key),
        },
        access_version: workspace.access_version,
        expires_at: None,
    }))
}

/// The workspaces the caller belongs to (invited, active or deactivated), by name, with their
/// memberships, in one statement: every one of the person's for a session, only its own
/// workspace's for an API key, which acts in that workspace alone.
pub async fn memberships_of<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
) -> Result<Vec<(membership::Model, workspace::Model)>, DbErr> {
    let mut query = membership::Entity::find()
        .find_also_related(workspace::Entity)
        .filter(membership::Column::UserId.eq(principal.user_id))
        .filter(membership::Column::DeletedAt.is_null());
    if principal.api_key.is_some() {
        query = query.filter(membership::Column::WorkspaceId.eq(principal.workspace_id));
    }
    Ok(query
        .order_by_asc(workspace::Column::Name)
        .order_by_asc(workspace::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(membership, workspace)| Some((membership, workspace?)))
        .collect())
}

/// The person's membership in the workspace that has not been removed, with its workspace.
pub async fn live_membership<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<Option<(membership::Model, Option<workspace::Model>)>, DbErr> {
    membership::Entity::find_live(workspace_id, [user_id])
        .find_also_related(workspace::Entity)
        .one(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn principal(role: Role) -> Principal {
        Principal {
            actor: Actor::User(UserId(Uuid::nil())),
            user_id: UserId(Uuid::nil()),
            workspace_id: WorkspaceId(Uuid::nil()),
            organization_id: OrganizationId(Uuid::nil()),
            role,
            session_token_hash: None,
            identity: Identity {
                email: "someone@example.com".into(),
                name: "Someone".into(),
                workspace_name: "Workspace".into(),
                workspace_slug: "workspace".into(),
            },
            api_key: None,
        }
    }

    #[test]
    fn owners_manage_every_role_others_only_lower_ones() {
        let owner = principal(Role::Owner);
        assert!(
            [Role::Owner, Role::Admin, Role::Member, Role::Guest]
                .iter()
                .all(|role| owner.can_manage(*role))
        );
        let admin = principal(Role::Admin);
        assert!(!admin.can_manage(Role::Owner));
        assert!(!admin.can_manage(Role::Admin));
        assert!(admin.can_manage(Role::Member) && admin.can_manage(Role::Guest));
        let member = principal(Role::Member);
        assert!(!member.can_manage(Role::Member));
        assert!(member.can_manage(Role::Guest));
    }

    #[test]
    fn only_owners_and_admins_manage_people() {
        assert!(principal(Role::Owner).has(Permission::UserManagement));
        assert!(principal(Role::Admin).has(Permission::UserManagement));
        assert!(!principal(Role::Member).has(Permission::UserManagement));
        assert!(!principal(Role::Guest).has(Permission::UserManagement));
        assert!(principal(Role::Guest).has(Permission::ViewMembers));
    }

    #[test]
    fn another_workspace_is_not_found_before_any_permission_is_looked_at() {
        let guest = principal(Role::Guest);
        let elsewhere = WorkspaceId::fresh();
        assert!(matches!(
            guest.require(Permission::UserManagement, elsewhere),
            Err(RuleError::WorkspaceNotFound(id)) if id == elsewhere
        ));
        match guest.require(Permission::UserManagement, guest.workspace_id) {
            Err(RuleError::Forbidden(message)) => {
                assert_eq!(message, "this needs the USER_MANAGEMENT permission");
            }
            other => panic!("expected FORBIDDEN, got {other:?}"),
        }
        assert!(
            guest
                .require(Permission::ViewMembers, guest.workspace_id)
                .is_ok()
        );
    }
}
