//! `removalPreview`: what the confirmation dialog shows before anyone clicks. It reads only, and
//! judges with the same [`assess`] as `removeMembers`, so the two never disagree.

use std::collections::{HashMap, HashSet};

use entities::{
    MembershipStatus, OrganizationId, Role, UserId, WorkspaceId, api_key, campaign, invitation,
    membership, rule, workspace,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationDef, RelationTrait,
};

use crate::access::Permission;
use crate::access::Principal;
use crate::error::{RuleError, UserError};
use crate::offboarding::MAX_MEMBERS_PER_CALL;
use crate::offboarding::facts::Facts;
use crate::offboarding::remove::{Assessment, assess};
use crate::people::duties::ContactDuties;
use crate::people::guards::{load_candidates, member_ids};

/// Who the member is; `None` for an id that is not a live member of the workspace.
pub struct PreviewedPerson {
    pub name: String,
    pub email: String,
    pub status: MembershipStatus,
    pub role: Role,
    /// The workspace's groups they would leave, by name.
    pub groups: Vec<String>,
    /// Their live memberships elsewhere: other workspaces, and organizations other than this one.
    pub other_workspaces: u64,
    pub other_organizations: u64,
}

pub struct MemberPreview {
    pub user_id: UserId,
    pub person: Option<PreviewedPerson>,
    pub seat_freed: bool,
    pub contact_duties: ContactDuties,
    pub campaigns_to_reattribute: u64,
    /// Open invitations they sent to people staying: revoked with them, freeing those seats.
    pub invitations_to_revoke: u64,
    /// Their keys in use in this workspace: what `revokeApiKeys` would revoke, and what keeps
    /// acting, each with its role, without it.
    pub api_keys: Vec<api_key::Model>,
    pub rules_keep_running: u64,
    pub blockers: Vec<UserError>,
}

pub struct Preview {
    pub workspace_name: String,
    pub members: Vec<MemberPreview>,
}

impl Preview {
    /// `removeMembers` with these ids (and no reassignments) would succeed.
    pub fn can_remove(&self) -> bool {
        self.members.iter().all(|m| m.blockers.is_empty())
    }
}

pub async fn removal_preview<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_ids: Vec<UserId>,
) -> Result<Preview, RuleError> {
    let user_ids = member_ids(user_ids, MAX_MEMBERS_PER_CALL)?;
    principal.require(Permission::UserManagement, workspace_id)?;
    let workspace = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    let loaded = load_candidates(db, workspace.id, &user_ids).await?;
    let Assessment {
        user_ids,
        candidates,
        duties,
        errors,
        facts: Facts { mut groups, .. },
    } = assess(db, principal, &workspace, user_ids, loaded, &[]).await?;
    let live: Vec<UserId> = candidates.keys().copied().collect();
    let elsewhere = memberships_elsewhere(db, &workspace, &live).await?;
    let Holdings {
        campaigns,
        mut api_keys,
        invitations_sent,
        rules,
    } = holdings(db, &workspace, &live, &user_ids).await?;

    // Each member's blockers, found by id: scanning every error for every member would cost
    // the square of the members named (10,000 of them, each blocked, made 100 million looks).
    let mut blockers: HashMap<UserId, Vec<UserError>> = HashMap::new();
    for error in errors {
        if let Some(user_id) = error.user_id {
            blockers.entry(user_id).or_default().push(error);
        }
    }
    let members = user_ids
        .iter()
        .map(|&user_id| {
            let person = candidates.get(&user_id).map(|candidate| {
                let other = elsewhere.get(&user_id);
                PreviewedPerson {
                    name: candidate.user.name.clone(),
                    email: candidate.user.email.clone(),
                    status: candidate.membership.status,
                    role: candidate.membership.role,
                    groups: groups.remove(&user_id).unwrap_or_default(),
                    other_workspaces: other.map_or(0, |o| o.workspaces),
                    other_organizations: other.map_or(0, |o| o.organizations.len() as u64),
                }
            });
            MemberPreview {
                user_id,
                seat_freed: person.is_some()
                    && !elsewhere.get(&user_id).is_some_and(|o| o.same_organization),
                person,
                contact_duties: duties.get(&user_id).cloned().unwrap_or_default(),
                campaigns_to_reattribute: campaigns.get(&user_id).copied().unwrap_or(0),
                api_keys: api_keys.remove(&user_id).unwrap_or_default(),
                invitations_to_revoke: invitations_sent.get(&user_id).copied().unwrap_or(0),
                rules_keep_running: rules.get(&user_id).copied().unwrap_or(0),
                blockers: blockers.remove(&user_id).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Preview {
        workspace_name: workspace.name,
        members,
    })
}

/// What the people leaving hold in the workspace, counted per person: campaigns they own, keys
/// they made still in use, invitations they sent still open (to people staying), rules they
/// created still enabled.
struct Holdings {
    campaigns: HashMap<UserId, u64>,
    api_keys: HashMap<UserId, Vec<api_key::Model>>,
    invitations_sent: HashMap<UserId, u64>,
    rules: HashMap<UserId, u64>,
}

/// Four statements, whatever the number of people.
async fn holdings<C: ConnectionTrait>(
    db: &C,
    workspace: &workspace::Model,
    live: &[UserId],
    user_ids: &[UserId],
) -> Result<Holdings, DbErr> {
    let campaigns = count_by(
        db,
        campaign::Entity::find()
            .filter(campaign::Column::WorkspaceId.eq(workspace.id))
            .filter(campaign::Column::OwnerId.is_in(live.iter().copied())),
        campaign::Column::OwnerId,
        live,
    )
    .await?;
    let mut api_keys: HashMap<UserId, Vec<api_key::Model>> = HashMap::new();
    for key in api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace.id))
        .filter(api_key::Column::CreatedBy.is_in(live.iter().copied()))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?
    {
        api_keys.entry(key.created_by).or_default().push(key);
    }
    let invitations_sent = count_by(
        db,
        invitation::Entity::find()
            .join(JoinType::InnerJoin, invitation_membership())
            .filter(invitation::Column::WorkspaceId.eq(workspace.id))
            .filter(invitation::Column::InvitedBy.is_in(live.iter().copied()))
            .filter(invitation::Column::RevokedAt.is_null())
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(membership::Column::DeletedAt.is_null())
            .filter(membership::Column::Status.eq(MembershipStatus::Invited))
            .filter(membership::Column::UserId.is_not_in(user_ids.iter().copied())),
        invitation::Column::InvitedBy,
        live,
    )
    .await?;
    let rules = count_by(
        db,
        rule::Entity::find()
            .filter(rule::Column::WorkspaceId.eq(workspace.id))
            .filter(rule::Column::CreatorId.is_in(live.iter().copied()))
            .filter(rule::Column::Enabled.eq(true)),
        rule::Column::CreatorId,
        live,
    )
    .await?;
    Ok(Holdings {
        campaigns,
        api_keys,
        invitations_sent,
        rules,
    })
}

#[derive(Default)]
struct Elsewhere {
    workspaces: u64,
    organizations: HashSet<OrganizationId>,
    /// Another workspace of this organization: the seat stays taken.
    same_organization: bool,
}

/// An invitation's membership: the one it would activate.
fn invitation_membership() -> RelationDef {
    invitation::Entity::belongs_to(membership::Entity)
        .from(invitation::Column::MembershipId)
        .to(membership::Column::Id)
        .into()
}

/// Each person's live memberships outside this workspace, in one statement.
async fn memberships_elsewhere<C: ConnectionTrait>(
    db: &C,
    workspace: &workspace::Model,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Elsewhere>, DbErr> {
    let mut elsewhere: HashMap<UserId, Elsewhere> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(elsewhere);
    }
    let rows: Vec<(UserId, OrganizationId)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .column(workspace::Column::OrganizationId)
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(membership::Column::WorkspaceId.ne(workspace.id))
        .filter(membership::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for (user_id, organization_id) in rows {
        let entry = elsewhere.entry(user_id).or_default();
        entry.workspaces += 1;
        if organization_id == workspace.organization_id {
            entry.same_organization = true;
        } else {
            entry.organizations.insert(organization_id);
        }
    }
    Ok(elsewhere)
}

/// Rows of `query` per value of `column` (one grouped statement).
async fn count_by<C, E>(
    db: &C,
    query: sea_orm::Select<E>,
    column: E::Column,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, u64>, DbErr>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(UserId, i64)> = query
        .select_only()
        .column(column)
        .column_as(column.count(), "n")
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}
