//! The members list: live memberships of one workspace, searchable, filterable by status.

use std::collections::HashMap;

use entities::{
    MembershipStatus, UserId, WorkspaceId, group_membership, membership, user, user_group,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};

use crate::access::{Permission, Principal};
use crate::error::ApiError;
use crate::people::{Page, decode_cursor, keep_page, prefix_pattern};
use crate::text::{CursorText, SearchText};

#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    /// Matches the start of the name or of the email, ignoring case.
    pub search: Option<SearchText>,
    /// `None` lists every status; removed members are never listed.
    pub statuses: Option<Vec<MembershipStatus>>,
}

pub struct MemberRow {
    pub membership: membership::Model,
    pub user: user::Model,
    pub groups: Vec<user_group::Model>,
}

/// One page of members in three statements, whatever the page size: the page, the total, and
/// the groups of everyone on the page.
pub async fn list_members<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &MemberFilter,
    first: u64,
    after: Option<&CursorText>,
) -> Result<Page<MemberRow>, ApiError> {
    principal.require(Permission::ViewMembers, workspace_id)?;
    let after = decode_cursor(after)?;

    let mut memberships = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::DeletedAt.is_null());
    if let Some(statuses) = &filter.statuses {
        memberships =
            memberships.filter(membership::Column::Status.is_in(statuses.iter().copied()));
    }
    let mut query = memberships
        .clone()
        .join(JoinType::InnerJoin, membership::Relation::User.def());
    let search = filter
        .search
        .as_ref()
        .map(SearchText::as_str)
        .filter(|s| !s.is_empty());
    if let Some(search) = search {
        let pattern = prefix_pattern(search);
        query = query.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col((user::Entity, user::Column::Name))))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::col((user::Entity, user::Column::Email))
                        .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    // Without a search the total needs no person: counted from the memberships' own index.
    let total_count = if search.is_some() {
        query.clone().count(db).await?
    } else {
        memberships.count(db).await?
    };

    let mut page = query;
    if let Some(after) = after {
        page = page.filter(user::Column::Email.gt(after));
    }
    let rows: Vec<(membership::Model, user::Model)> = page
        .select_also(user::Entity)
        .order_by_asc(user::Column::Email)
        .limit(first + 1)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(membership, user)| user.map(|user| (membership, user)))
        .collect();
    let (rows, has_next_page) = keep_page(rows, first);

    let user_ids: Vec<UserId> = rows.iter().map(|(_, user)| user.id).collect();
    let mut groups_by_user = groups_of(db, workspace_id, &user_ids).await?;
    let items = rows
        .into_iter()
        .map(|(membership, user)| MemberRow {
            groups: groups_by_user.remove(&user.id).unwrap_or_default(),
            membership,
            user,
        })
        .collect();
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// The workspace groups each of these people is in, in one statement.
pub async fn groups_of<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Vec<user_group::Model>>, ApiError> {
    let mut by_user: HashMap<UserId, Vec<user_group::Model>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(by_user);
    }
    let rows = group_membership::Entity::find()
        .find_also_related(user_group::Entity)
        .filter(group_membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(group_membership::Column::DeletedAt.is_null())
        .filter(user_group::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(user_group::Column::Name)
        .all(db)
        .await?;
    for (entry, group) in rows {
        if let Some(group) = group {
            by_user.entry(entry.user_id).or_default().push(group);
        }
    }
    Ok(by_user)
}

/// `group_membership.group_id IN (the workspace's groups)`: group rows of this workspace only.
pub fn in_workspace_groups(workspace_id: WorkspaceId) -> SimpleExpr {
    group_membership::Column::GroupId.in_subquery(
        Query::select()
            .column(user_group::Column::Id)
            .from(user_group::Entity)
            .and_where(user_group::Column::WorkspaceId.eq(workspace_id))
            .take(),
    )
}
