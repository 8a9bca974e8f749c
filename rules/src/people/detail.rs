//! `member`: one person of a workspace as a detail drawer shows them — their membership and
//! groups, the duties and keys they hold, the work attributed to them, and how their status
//! changed — and what anyone checks after a removal (were the campaigns reattributed?).

use entities::{
    AuditAction, UserId, WorkspaceId, api_key, audit_entry, campaign, creative, membership, rule,
    user, user_group, workspace,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::people::duties::{ContactDuties, contact_duties};
use crate::people::members::groups_of;

/// How many items of each kind of work the detail lists; `total_count` says how many there are.
pub const WORK_ITEMS_LISTED: u64 = 100;

/// The audit actions that tell a membership's story.
pub const STATUS_ACTIONS: [AuditAction; 7] = [
    AuditAction::TeamMembershipInvite,
    AuditAction::TeamMembershipJoin,
    AuditAction::TeamMembershipRoleChange,
    AuditAction::TeamMembershipDeactivate,
    AuditAction::TeamMembershipReactivate,
    AuditAction::TeamMembershipRemove,
    AuditAction::TeamMembershipRestore,
];

/// Something attributed to the person: a campaign, a rule, a creative.
pub struct WorkItem {
    pub id: Uuid,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A column that names who made or holds a row of one kind of work, whose table also has the
/// row's workspace and creation time.
trait MadeBy: ColumnTrait {
    type Work: EntityTrait<Column = Self, Model: Into<WorkItem> + Send + Sync>;
    const WORKSPACE_ID: Self;
    const CREATED_AT: Self;
}

macro_rules! kinds_of_work {
    ($($table:ident),*) => {
        $(
            impl From<$table::Model> for WorkItem {
                fn from(model: $table::Model) -> Self {
                    WorkItem {
                        id: model.id,
                        name: model.name,
                        created_at: model.created_at,
                    }
                }
            }

            impl MadeBy for $table::Column {
                type Work = $table::Entity;
                const WORKSPACE_ID: Self = $table::Column::WorkspaceId;
                const CREATED_AT: Self = $table::Column::CreatedAt;
            }
        )*
    };
}

kinds_of_work!(campaign, rule, creative);

/// The newest [`WORK_ITEMS_LISTED`] items of a kind, and how many there are.
pub struct WorkItems {
    pub total_count: u64,
    pub items: Vec<WorkItem>,
}

pub struct MemberDetail {
    /// The live membership, or the latest removed one when the person is out.
    pub membership: membership::Model,
    pub user: user::Model,
    pub groups: Vec<user_group::Model>,
    pub contact_duties: ContactDuties,
    /// The keys they created in the workspace, revoked ones too, newest first.
    pub api_keys: Vec<api_key::Model>,
    pub campaigns_owned: WorkItems,
    pub campaigns_created: WorkItems,
    pub rules_created: WorkItems,
    pub creatives_uploaded: WorkItems,
    /// Invitation, joining, role changes, deactivations, removals and restores, oldest first.
    pub status_history: Vec<audit_entry::Model>,
}

/// One member in detail, in a constant number of statements. Yourself, or anyone (removed
/// people included) with USER_MANAGEMENT; someone who was never a member is NOT_FOUND.
pub async fn member_detail<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<MemberDetail, RuleError> {
    if principal.is_self(user_id) {
        principal.require_workspace(workspace_id)?;
    } else {
        principal.require(Permission::UserManagement, workspace_id)?;
    }
    // The live one, else the latest removal: a person has few memberships of one workspace.
    let memberships = membership::Entity::find()
        .find_also_related(user::Entity)
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let (membership, person) = memberships
        .into_iter()
        .filter_map(|(membership, person)| Some((membership, person?)))
        .max_by_key(|(membership, _)| (membership.deleted_at.is_none(), membership.deleted_at))
        .ok_or(RuleError::NotFound("member"))?;
    let workspace = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(workspace_id))?;
    let groups = if membership.deleted_at.is_none() {
        groups_of(db, workspace_id, &[user_id])
            .await?
            .remove(&user_id)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let contact_duties = contact_duties(db, &workspace, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    let api_keys = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .filter(api_key::Column::CreatedBy.eq(user_id))
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?;
    let campaigns_owned = work(db, workspace_id, user_id, campaign::Column::OwnerId).await?;
    let campaigns_created = work(db, workspace_id, user_id, campaign::Column::CreatedBy).await?;
    let rules_created = work(db, workspace_id, user_id, rule::Column::CreatorId).await?;
    let creatives_uploaded = work(db, workspace_id, user_id, creative::Column::UploadedBy).await?;
    let status_history = audit_entry::Entity::find()
        .filter(audit_entry::Column::WorkspaceId.eq(workspace_id))
        .filter(audit_entry::Column::TargetUserId.eq(user_id))
        .filter(audit_entry::Column::Action.is_in(STATUS_ACTIONS))
        .order_by_asc(audit_entry::Column::Id)
        .limit(WORK_ITEMS_LISTED)
        .all(db)
        .await?;
    Ok(MemberDetail {
        membership,
        user: person,
        groups,
        contact_duties,
        api_keys,
        campaigns_owned,
        campaigns_created,
        rules_created,
        creatives_uploaded,
        status_history,
    })
}

/// The newest [`WORK_ITEMS_LISTED`] rows of one kind of work in the workspace that `made_by`
/// names this person in, and how many there are: two statements.
async fn work<M: MadeBy, C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_id: UserId,
    made_by: M,
) -> Result<WorkItems, RuleError> {
    let query = M::Work::find()
        .filter(M::WORKSPACE_ID.eq(workspace_id))
        .filter(made_by.eq(user_id));
    let total_count = query.clone().count(db).await?;
    let items = query
        .order_by_desc(M::CREATED_AT)
        .limit(WORK_ITEMS_LISTED)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(WorkItems { total_count, items })
}
