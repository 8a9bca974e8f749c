//! The workspace's user groups with their members: who a removal takes out of which group, and
//! the groups an invited person joins.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entities::{UserId, WorkspaceId, group_membership, user, user_group};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::lists::users_by_id;
use crate::people::members::in_workspace_groups;

/// The most groups one invitation joins.
const GROUPS_PER_INVITATION: usize = 100;

/// Members listed per group, by email; `member_count` counts them all.
pub const GROUP_MEMBERS_LISTED: i64 = 100;

pub struct GroupRow {
    pub group: user_group::Model,
    pub member_count: u64,
    /// The first [`GROUP_MEMBERS_LISTED`] members, by email.
    pub members: Vec<user::Model>,
}

/// The workspace's groups by name, each with its member count and first members: four
/// statements (groups, counts, first members, their people), whatever the numbers.
pub async fn list_groups<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
) -> Result<Vec<GroupRow>, RuleError> {
    principal.require(Permission::ViewMembers, workspace_id)?;
    let groups = user_group::Entity::find()
        .filter(user_group::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(user_group::Column::Name)
        .order_by_asc(user_group::Column::Id)
        .all(db)
        .await?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let counts: HashMap<Uuid, i64> = group_membership::Entity::find()
        .select_only()
        .column(group_membership::Column::GroupId)
        .column_as(group_membership::Column::Id.count(), "members")
        .filter(in_workspace_groups(workspace_id))
        .filter(group_membership::Column::DeletedAt.is_null())
        .group_by(group_membership::Column::GroupId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut members = first_members(db, workspace_id).await?;
    Ok(groups
        .into_iter()
        .map(|group| GroupRow {
            member_count: counts
                .get(&group.id)
                .map_or(0, |count| u64::try_from(*count).unwrap_or(0)),
            members: members.remove(&group.id).unwrap_or_default(),
            group,
        })
        .collect())
}

/// The first members of each of the workspace's groups by email, in two statements: each
/// group's rows numbered by a window function (PostgreSQL and SQLite alike) and the first
/// kept, then those people.
async fn first_members<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
) -> Result<HashMap<Uuid, Vec<user::Model>>, RuleError> {
    let ranked = Alias::new("ranked");
    let position = Alias::new("position");
    let numbered = Query::select()
        .column((group_membership::Entity, group_membership::Column::GroupId))
        .column((group_membership::Entity, group_membership::Column::UserId))
        .expr_as(
            Expr::cust(
                "ROW_NUMBER() OVER (PARTITION BY \"group_membership\".\"group_id\" \
                 ORDER BY \"user\".\"email\")",
            ),
            position.clone(),
        )
        .from(group_membership::Entity)
        .inner_join(
            user::Entity,
            Expr::col((user::Entity, user::Column::Id))
                .equals((group_membership::Entity, group_membership::Column::UserId)),
        )
        .and_where(in_workspace_groups(workspace_id))
        .and_where(
            Expr::col((
                group_membership::Entity,
                group_membership::Column::DeletedAt,
            ))
            .is_null(),
        )
        .take();
    let kept = Query::select()
        .column((ranked.clone(), group_membership::Column::GroupId))
        .column((ranked.clone(), group_membership::Column::UserId))
        .from_subquery(numbered, ranked.clone())
        .and_where(Expr::col((ranked.clone(), position)).lte(GROUP_MEMBERS_LISTED))
        .take();
    let rows: Vec<(Uuid, UserId)> = db
        .query_all_raw(db.get_database_backend().build(&kept))
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("", "group_id")?, row.try_get("", "user_id")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    by_group(db, rows).await
}

/// These (group, person) rows as each group's people by email, the people read in one
/// statement.
pub(crate) async fn by_group<C: ConnectionTrait>(
    db: &C,
    rows: Vec<(Uuid, UserId)>,
) -> Result<HashMap<Uuid, Vec<user::Model>>, RuleError> {
    let people = users_by_id(db, rows.iter().map(|(_, user_id)| *user_id)).await?;
    let mut by_group: HashMap<Uuid, Vec<user::Model>> = HashMap::new();
    for (group_id, user_id) in rows {
        if let Some(person) = people.get(&user_id) {
            by_group.entry(group_id).or_default().push(person.clone());
        }
    }
    for members in by_group.values_mut() {
        members.sort_by(|a, b| a.email.cmp(&b.email));
    }
    Ok(by_group)
}

/// The workspace's groups with these ids, each once; BAD_USER_INPUT naming `group_ids` when one
/// isn't a group of the workspace.
pub(crate) async fn groups_named<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    group_ids: &[Uuid],
) -> Result<Vec<Uuid>, RuleError> {
    let wanted: BTreeSet<Uuid> = group_ids.iter().copied().collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    if wanted.len() > GROUPS_PER_INVITATION {
        return Err(RuleError::bad_input(
            "group_ids",
            "names more than 100 groups",
        ));
    }
    let found: Vec<Uuid> = user_group::Entity::find()
        .select_only()
        .column(user_group::Column::Id)
        .filter(user_group::Column::WorkspaceId.eq(workspace_id))
        .filter(user_group::Column::Id.is_in(wanted.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    if found.len() != wanted.len() {
        return Err(RuleError::bad_input(
            "group_ids",
            "names a group this workspace doesn't have",
        ));
    }
    Ok(found)
}

/// The invited person joins these groups with their invitation (one statement).
pub(crate) async fn join_groups<C: ConnectionTrait>(
    db: &C,
    groups: &[Uuid],
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if groups.is_empty() {
        return Ok(());
    }
    group_membership::Entity::insert_many(groups.iter().map(|group_id| {
        group_membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            group_id: Set(*group_id),
            user_id: Set(user_id),
            created_at: Set(now),
            deleted_at: Set(None),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}
