//! "Select all that match": the members a filter keeps, as ids, so one call can act on all of
//! them (a removal takes up to 10,000), not only on the page a list shows.

use entities::{UserId, WorkspaceId, membership, user};
use sea_orm::{
    ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::people::members::{MemberFilter, live_memberships, people_matching};

/// The user ids of the live members `filter` keeps, by email, at most `limit` of them, and
/// whether more match. One statement. Needs USER_MANAGEMENT: it serves acting on them.
pub async fn matching_member_ids<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &MemberFilter,
    limit: usize,
) -> Result<(Vec<UserId>, bool), RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let mut query = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .filter(live_memberships(workspace_id, filter.statuses.as_deref()))
        .join(JoinType::InnerJoin, membership::Relation::User.def());
    if let Some(matching) = people_matching(db.get_database_backend(), filter.search.as_ref()) {
        query = query.filter(matching);
    }
    let mut ids: Vec<UserId> = query
        .order_by_asc(user::Column::Email)
        .limit(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .into_tuple()
        .all(db)
        .await?;
    let more = ids.len() > limit;
    ids.truncate(limit);
    Ok((ids, more))
}
