//! The recently removed: who is out of a workspace, since when, by whom and why, and until when
//! `restoreMember` can bring them back — what a People page's "Undo" lists.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entities::{MembershipStatus, WorkspaceId, membership, user};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait,
};
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::lists::{Page, Paging, decode_cursor, keep_page, not_a_cursor, users_by_id};
use crate::people::members::people_matching;
use crate::text::{CursorText, SearchText};

/// How long after a removal it can be undone.
pub const RESTORE_WINDOW_DAYS: i64 = 30;

#[derive(Debug, Default, Clone)]
pub struct RemovedFilter {
    /// Matches in the name or the email, as the members list's search does.
    pub search: Option<SearchText>,
}

pub struct FormerMember {
    pub membership: membership::Model,
    pub user: user::Model,
    /// Who removed them: the person behind the session or API key.
    pub removed_by: Option<user::Model>,
    pub removed_at: DateTime<Utc>,
    pub restorable_until: DateTime<Utc>,
    /// Whether the caller may restore them now: within the window, in a role the caller manages,
    /// and not the caller. A seat is still needed, and checked by `restoreMember`.
    pub can_restore: bool,
}

/// The people removed from the workspace and not back, newest removal first, in three
/// statements whatever the page size: the total, the page, and the people on it with those who
/// removed them. A search keeps those whose name or email matches, as in the members list.
///
/// A person appears once, by their latest removal, and only while nothing live (a membership or
/// an invitation) has replaced it; a revoked invitation is not a removal (nobody was a member),
/// so someone whose latest removal was one is not listed — as `restoreMember` refuses them.
pub async fn list_removed<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &RemovedFilter,
    paging: Paging<'_>,
    now: DateTime<Utc>,
) -> Result<Page<FormerMember>, RuleError> {
    principal.require(Permission::UserManagement, workspace_id)?;
    let after = paging.after.map(RemovalCursor::decode).transpose()?;
    let mut query = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::DeletedAt.is_not_null())
        .filter(membership::Column::Status.ne(MembershipStatus::Invited))
        .filter(Expr::exists(replacing_memberships()).not());
    if let Some(matching) = people_matching(db.get_database_backend(), filter.search.as_ref()) {
        query = query
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(matching);
    }
    let total_count = query.clone().count(db).await?;
    let mut page = query;
    if let Some(after) = after {
        page = page.filter(after.condition());
    }
    let rows = page
        .order_by(membership::Column::DeletedAt, Order::Desc)
        .order_by(membership::Column::Id, Order::Desc)
        .limit(paging.first + 1)
        .all(db)
        .await?;
    let (rows, has_next_page) = keep_page(rows, paging.first);

    let ids = rows
        .iter()
        .flat_map(|row| [Some(row.user_id), row.removed_by])
        .flatten();
    let people = users_by_id(db, ids).await?;
    let items = rows
        .into_iter()
        .filter_map(|membership| {
            let removed_at = membership.deleted_at?;
            let restorable_until = removed_at + Duration::days(RESTORE_WINDOW_DAYS);
            let can_restore = now <= restorable_until
                && principal.can_manage(membership.role)
                && membership.user_id != principal.user_id;
            Some(FormerMember {
                user: people.get(&membership.user_id)?.clone(),
                removed_by: membership
                    .removed_by
                    .and_then(|id| people.get(&id).cloned()),
                removed_at,
                restorable_until,
                can_restore,
                membership,
            })
        })
        .collect();
    Ok(Page {
        items,
        has_next_page,
        total_count,
        total_count_is_exact: true,
    })
}

/// The person's memberships of the workspace that take the place of this removed one: a live one
/// (member again, or invited), or a later removal.
fn replacing_memberships() -> SelectStatement {
    let other = Alias::new("other");
    let removed = |column| Expr::col((membership::Entity, column));
    let of_other = |column| Expr::col((other.clone(), column));
    Query::select()
        .expr(Expr::val(1))
        .from_as(membership::Entity, other.clone())
        .and_where(
            of_other(membership::Column::WorkspaceId)
                .equals((membership::Entity, membership::Column::WorkspaceId)),
        )
        .and_where(
            of_other(membership::Column::UserId)
                .equals((membership::Entity, membership::Column::UserId)),
        )
        .cond_where(
            Condition::any()
                .add(of_other(membership::Column::DeletedAt).is_null())
                .add(
                    of_other(membership::Column::DeletedAt)
                        .gt(removed(membership::Column::DeletedAt)),
                )
                .add(
                    Condition::all()
                        .add(
                            of_other(membership::Column::DeletedAt)
                                .eq(removed(membership::Column::DeletedAt)),
                        )
                        .add(of_other(membership::Column::Id).gt(removed(membership::Column::Id))),
                ),
        )
        .take()
}

/// Where a page of the list ends: its last removal's instant and membership id, made opaque.
pub struct RemovalCursor {
    removed_at: DateTime<Utc>,
    id: Uuid,
}

impl RemovalCursor {
    pub fn of(row: &FormerMember) -> String {
        RemovalCursor {
            removed_at: row.removed_at,
            id: row.membership.id,
        }
        .encode()
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.removed_at.to_rfc3339(), self.id))
    }

    fn decode(cursor: &CursorText) -> Result<RemovalCursor, RuleError> {
        let text = decode_cursor(Some(cursor))?.ok_or_else(not_a_cursor)?;
        let (removed_at, id) = text.split_once('|').ok_or_else(not_a_cursor)?;
        Ok(RemovalCursor {
            removed_at: DateTime::parse_from_rfc3339(removed_at)
                .map_err(|_| not_a_cursor())?
                .with_timezone(&Utc),
            id: id.parse().map_err(|_| not_a_cursor())?,
        })
    }

    /// The rows after this one in the list's order (`deleted_at DESC, id DESC`).
    fn condition(&self) -> Condition {
        Condition::any()
            .add(membership::Column::DeletedAt.lt(self.removed_at))
            .add(
                Condition::all()
                    .add(membership::Column::DeletedAt.eq(self.removed_at))
                    .add(membership::Column::Id.lt(self.id)),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::CheckedText;

    #[test]
    fn a_cursor_round_trips_to_the_instant_and_garbage_is_bad_input() {
        let removed_at = DateTime::parse_from_rfc3339("2026-11-30T10:20:30.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = Uuid::now_v7();
        let text = RemovalCursor { removed_at, id }.encode();
        let cursor = RemovalCursor::decode(&CursorText::parse(&text).unwrap()).unwrap();
        assert_eq!((cursor.removed_at, cursor.id), (removed_at, id));
        for garbage in [
            URL_SAFE_NO_PAD.encode("ada@acme.test"),
            URL_SAFE_NO_PAD.encode(format!("yesterday|{id}")),
            URL_SAFE_NO_PAD.encode(format!("{}|42", removed_at.to_rfc3339())),
        ] {
            assert!(matches!(
                RemovalCursor::decode(&CursorText::parse(&garbage).unwrap()),
                Err(RuleError::BadUserInput { .. })
            ));
        }
    }
}
