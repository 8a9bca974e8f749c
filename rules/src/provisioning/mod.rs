//! Provisioning by an identity provider (SCIM's Users and Groups): people added to, changed in,
//! deactivated in and removed from the organization by its SCIM token. Nothing here is a rule of
//! its own: a deactivation is [`deactivate_user`](crate::offboarding::deactivate::deactivate_user)
//! in each of the person's workspaces, a removal is
//! [`remove_members`](crate::offboarding::remove::remove_members), each acting as the token does,
//! as an OWNER of the workspace, so every guard (the last owner, open contact duties, seats)
//! holds as it does for an administrator.

pub mod accounts;
pub mod deprovision;
pub mod groups;
mod welcome;

use chrono::{DateTime, Utc};
use entities::{Role, UserId, membership, workspace};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::access::principal::Identity;
use crate::access::{Acting, Actor, Principal};
use crate::organizations::scim_tokens::ScimCaller;
use crate::text::{CheckedText, Reason};

/// An identity provider's request: its token, the request's id, and its instant.
#[derive(Debug, Clone, Copy)]
pub struct Provisioner<'a> {
    pub caller: &'a ScimCaller,
    pub request_id: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// How long a welcome's link (to choose a password) stays valid: an invitation's.
    pub welcome_ttl: chrono::Duration,
}

impl<'a> Provisioner<'a> {
    /// The token as a principal in one workspace of its organization: an OWNER of it, acting
    /// as itself (`Actor::ScimToken`), never as the owner who made it.
    pub fn principal_in(&self, workspace: &workspace::Model) -> Principal {
        Principal {
            actor: Actor::ScimToken(self.caller.token_id),
            user_id: self.caller.created_by,
            workspace_id: workspace.id,
            organization_id: self.caller.organization_id,
            role: Role::Owner,
            session_token_hash: None,
            identity: Identity {
                email: String::new(),
                name: self.caller.name.clone(),
                workspace_name: workspace.name.clone(),
                workspace_slug: workspace.slug.clone(),
            },
            api_key: None,
        }
    }

    /// Acting as `principal` (one of [`Provisioner::principal_in`]) for this request.
    pub fn acting(&self, principal: &'a Principal) -> Acting<'a> {
        Acting {
            principal,
            request_id: self.request_id,
            now: self.now,
        }
    }

    /// Why the identity provider acts, kept with a deactivation or removal.
    fn reason(&self, what: &str) -> Option<Reason> {
        Reason::parse(&format!(
            "{what} by the identity provider ({})",
            self.caller.name
        ))
        .ok()
    }
}

/// The person's memberships in the organization's workspaces that are not removed, with their
/// workspaces, in the order of the workspaces' ids: the order every multi-workspace change
/// locks them in.
pub async fn memberships_in_organization<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
) -> Result<Vec<(membership::Model, workspace::Model)>, DbErr> {
    Ok(membership::Entity::find()
        .find_also_related(workspace::Entity)
        .filter(workspace::Column::OrganizationId.eq(provisioner.caller.organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::DeletedAt.is_null())
        .order_by_asc(membership::Column::WorkspaceId)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(membership, workspace)| workspace.map(|workspace| (membership, workspace)))
        .collect())
}
