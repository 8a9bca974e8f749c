//! User groups as an identity provider pushes them (SCIM's Groups): the groups of the token's
//! workspace, made, renamed, given and relieved of members, deleted. Only people with a
//! membership in the workspace (not removed) can be in its groups. A change that changes
//! nothing (a member added twice, a replay) records nothing.

use std::collections::{BTreeSet, HashMap};

use entities::{AuditAction, UserId, WorkspaceId, group_membership, membership, user, user_group};
use platform::locks::lock_workspace;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::Provisioner;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::groups::by_group;
use crate::text::GroupName;

/// A group with every one of its members, by email.
#[derive(Debug, Clone)]
pub struct ProvisionedGroup {
    pub group: user_group::Model,
    pub members: Vec<user::Model>,
}

/// Which of the workspace's groups to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFilter {
    Everyone,
    Nobody,
    Id(Uuid),
    DisplayName(String),
}

/// One page of the workspace's groups and how many match.
pub struct GroupPage {
    pub total: u64,
    pub groups: Vec<ProvisionedGroup>,
}

/// The workspace's groups matching `filter`, by id, `limit` from `offset` on, with their
/// members: three statements (count, page, members) and one for the people.
pub async fn groups_of<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    filter: &GroupFilter,
    offset: u64,
    limit: u64,
) -> Result<GroupPage, RuleError> {
    let mut query =
        user_group::Entity::find().filter(user_group::Column::WorkspaceId.eq(workspace_id));
    query = match filter {
        GroupFilter::Everyone => query,
        GroupFilter::Nobody => query.filter(Expr::value(false)),
        GroupFilter::Id(id) => query.filter(user_group::Column::Id.eq(*id)),
        GroupFilter::DisplayName(name) => query.filter(same_name(name.as_str())),
    };
    let total = query.clone().count(db).await?;
    if limit == 0 || offset >= total {
        return Ok(GroupPage {
            total,
            groups: Vec::new(),
        });
    }
    let groups = query
        .order_by_asc(user_group::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let mut members = members_of(db, groups.iter().map(|group| group.id).collect()).await?;
    Ok(GroupPage {
        total,
        groups: groups
            .into_iter()
            .map(|group| ProvisionedGroup {
                members: members.remove(&group.id).unwrap_or_default(),
                group,
            })
            .collect(),
    })
}

/// A group named `name`, regardless of case (RFC 7643: `displayName` is not case-exact).
fn same_name(name: &str) -> sea_orm::sea_query::Expr {
    Expr::expr(Func::lower(Expr::col(user_group::Column::Name))).eq(name.to_lowercase())
}

/// One group of the workspace, or NOT_FOUND.
pub async fn group_of<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    group_id: Uuid,
) -> Result<ProvisionedGroup, RuleError> {
    groups_of(db, workspace_id, &GroupFilter::Id(group_id), 0, 1)
        .await?
        .groups
        .pop()
        .ok_or(RuleError::NotFound("group"))
}

/// Every member of these groups, by email.
async fn members_of<C: ConnectionTrait>(
    db: &C,
    group_ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Vec<user::Model>>, RuleError> {
    let rows: Vec<(Uuid, UserId)> = group_membership::Entity::find()
        .select_only()
        .column(group_membership::Column::GroupId)
        .column(group_membership::Column::UserId)
        .filter(group_membership::Column::GroupId.is_in(group_ids))
        .filter(group_membership::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    by_group(db, rows).await
}

/// One change of a group's members; a request's are applied in their order (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<UserId>),
    Remove(Vec<UserId>),
    /// These members and no others (PUT, or a PATCH replacing `members`).
    Replace(Vec<UserId>),
}

fn refusal(code: UserErrorCode, field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError::Rejected(vec![UserError::new(code, message).on_field(field)])
}

/// Makes a group in the token's workspace, with these members. GROUP_NAME_TAKEN for a name
/// the workspace already has.
pub async fn create_group<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    name: &GroupName,
    external_id: Option<String>,
    members: Vec<UserId>,
) -> Result<ProvisionedGroup, RuleError> {
    let workspace = lock_workspace(db, provisioner.caller.workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(
            provisioner.caller.workspace_id,
        ))?;
    refuse_taken_name(db, workspace.id, name, None).await?;
    let group = user_group::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace.id),
        name: Set(name.as_str().to_owned()),
        created_at: Set(provisioner.now),
        external_id: Set(external_id),
    }
    .insert(db)
    .await?;
    record(
        db,
        provisioner,
        &workspace,
        AuditAction::GroupCreate,
        json!({ "group_id": group.id, "name": group.name }),
    )
    .await?;
    apply_members(
        db,
        provisioner,
        &workspace,
        &group,
        vec![MemberOp::Add(members)],
    )
    .await?;
    group_of(db, workspace.id, group.id).await
}

/// Renames a group (when `name` is given) and changes its members, in one change.
pub async fn change_group<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    group_id: Uuid,
    name: Option<&GroupName>,
    external_id: Option<Option<String>>,
    ops: Vec<MemberOp>,
) -> Result<ProvisionedGroup, RuleError> {
    let workspace = lock_workspace(db, provisioner.caller.workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(
            provisioner.caller.workspace_id,
        ))?;
    let group = group_of(db, workspace.id, group_id).await?.group;
    if let Some(name) = name.filter(|name| name.as_str() != group.name) {
        refuse_taken_name(db, workspace.id, name, Some(group.id)).await?;
        let mut renamed: user_group::ActiveModel = group.clone().into();
        renamed.name = Set(name.as_str().to_owned());
        renamed.update(db).await?;
        record(
            db,
            provisioner,
            &workspace,
            AuditAction::GroupRename,
            json!({ "group_id": group.id, "from": group.name, "to": name.as_str() }),
        )
        .await?;
    }
    if let Some(external_id) = external_id.filter(|id| *id != group.external_id) {
        let mut kept: user_group::ActiveModel = group.clone().into();
        kept.external_id = Set(external_id);
        kept.update(db).await?;
    }
    apply_members(db, provisioner, &workspace, &group, ops).await?;
    group_of(db, workspace.id, group.id).await
}

/// Deletes a group of the token's workspace; its members stay members of the workspace.
pub async fn delete_group<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    group_id: Uuid,
) -> Result<(), RuleError> {
    let workspace = lock_workspace(db, provisioner.caller.workspace_id)
        .await?
        .ok_or(RuleError::WorkspaceNotFound(
            provisioner.caller.workspace_id,
        ))?;
    let group = group_of(db, workspace.id, group_id).await?;
    group_membership::Entity::delete_many()
        .filter(group_membership::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    user_group::Entity::delete_by_id(group_id).exec(db).await?;
    record(
        db,
        provisioner,
        &workspace,
        AuditAction::GroupDelete,
        json!({ "group_id": group_id, "name": group.group.name, "members": group.members.len() }),
    )
    .await
}

async fn refuse_taken_name<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    name: &GroupName,
    except: Option<Uuid>,
) -> Result<(), RuleError> {
    let taken = user_group::Entity::find()
        .filter(user_group::Column::WorkspaceId.eq(workspace_id))
        .filter(same_name(name.as_str()))
        .all(db)
        .await?
        .into_iter()
        .any(|group| Some(group.id) != except);
    if taken {
        return Err(refusal(
            UserErrorCode::GroupNameTaken,
            "displayName",
            format!(
                "the workspace already has a group named {:?}",
                name.as_str()
            ),
        ));
    }
    Ok(())
}

/// Applies member changes in order: everyone added must be a member of the workspace
/// (NOT_A_MEMBER names who isn't); who is already in (or already out) is left. One audit entry
/// with who joined and who left, if anyone did.
async fn apply_members<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    workspace: &entities::workspace::Model,
    group: &user_group::Model,
    ops: Vec<MemberOp>,
) -> Result<(), RuleError> {
    let named: BTreeSet<UserId> = ops
        .iter()
        .filter_map(|op| match op {
            MemberOp::Add(ids) | MemberOp::Replace(ids) => Some(ids),
            MemberOp::Remove(_) => None,
        })
        .flatten()
        .copied()
        .collect();
    refuse_strangers(db, workspace, &named).await?;
    let current: BTreeSet<UserId> = group_membership::Entity::find()
        .filter(group_membership::Column::GroupId.eq(group.id))
        .filter(group_membership::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect();
    let mut wanted = current.clone();
    for op in ops {
        match op {
            MemberOp::Add(ids) => wanted.extend(ids),
            MemberOp::Remove(ids) => {
                for id in ids {
                    wanted.remove(&id);
                }
            }
            MemberOp::Replace(ids) => wanted = ids.into_iter().collect(),
        }
    }
    let joining: Vec<UserId> = wanted.difference(&current).copied().collect();
    let leaving: Vec<UserId> = current.difference(&wanted).copied().collect();
    if joining.is_empty() && leaving.is_empty() {
        return Ok(());
    }
    // In batches: a statement's parameters are bounded (PostgreSQL's 65,535).
    for batch in leaving.chunks(BATCH) {
        group_membership::Entity::delete_many()
            .filter(group_membership::Column::GroupId.eq(group.id))
            .filter(group_membership::Column::UserId.is_in(batch.iter().copied()))
            .filter(group_membership::Column::DeletedAt.is_null())
            .exec(db)
            .await?;
    }
    for batch in joining.chunks(BATCH) {
        group_membership::Entity::insert_many(batch.iter().map(|user_id| {
            group_membership::ActiveModel {
                id: Set(Uuid::now_v7()),
                group_id: Set(group.id),
                user_id: Set(*user_id),
                created_at: Set(provisioner.now),
                deleted_at: Set(None),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    record(
        db,
        provisioner,
        workspace,
        AuditAction::GroupMembersChange,
        json!({ "group_id": group.id, "name": group.name, "added": joining, "removed": leaving }),
    )
    .await
}

/// Members read or written per statement.
const BATCH: usize = 1_000;

/// Only the workspace's people (a membership not removed) can be in its groups.
async fn refuse_strangers<C: ConnectionTrait>(
    db: &C,
    workspace: &entities::workspace::Model,
    named: &BTreeSet<UserId>,
) -> Result<(), RuleError> {
    let named: Vec<UserId> = named.iter().copied().collect();
    let mut here = BTreeSet::new();
    for batch in named.chunks(BATCH) {
        here.extend(
            membership::Entity::find_live(workspace.id, batch.iter().copied())
                .all(db)
                .await?
                .into_iter()
                .map(|membership| membership.user_id),
        );
    }
    if let Some(stranger) = named.iter().find(|id| !here.contains(*id)) {
        return Err(RuleError::Rejected(vec![
            UserError::new(
                UserErrorCode::NotAMember,
                format!("{stranger} is not a member of the workspace: only its members can be in its groups"),
            )
            .on_field("members")
            .for_user(*stranger),
        ]));
    }
    Ok(())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    workspace: &entities::workspace::Model,
    action: AuditAction,
    metadata: serde_json::Value,
) -> Result<(), RuleError> {
    let principal = provisioner.principal_in(workspace);
    provisioner
        .acting(&principal)
        .record(db, workspace.id, action, None, metadata)
        .await?;
    Ok(())
}
