//! The members list: live memberships of one workspace, searchable, filterable by status.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use entities::{
    MembershipStatus, UserId, WorkspaceId, group_membership, member_count, membership, user,
    user_group,
};
use sea_orm::sea_query::{
    Condition, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, SelectTwo, Statement,
    UpdateMany,
};

use crate::access::{Permission, Principal};
use crate::error::RuleError;
use crate::lists::{Page, Paging, contains_pattern, decode_cursor, keep_page, starts_with_pattern};
use crate::text::SearchText;

/// A search counts its matches up to this many; past it, the list's total is a floor.
pub const SEARCH_COUNTED_UP_TO: u64 = 1_000;

#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    /// Matches anywhere in the name or the email, ignoring case.
    pub search: Option<SearchText>,
    /// `None` lists every status; removed members are never listed.
    pub statuses: Option<Vec<MembershipStatus>>,
}

pub struct MemberRow {
    pub membership: membership::Model,
    pub user: user::Model,
    pub groups: Vec<user_group::Model>,
}

/// The rows of a page. A search's statement is sent with its values written in, so that
/// PostgreSQL plans for the pattern at hand ([`planned_with_values`]).
async fn page_rows<C: ConnectionTrait>(
    db: &C,
    page: SelectTwo<membership::Entity, user::Entity>,
    searching: bool,
) -> Result<Vec<(membership::Model, user::Model)>, DbErr> {
    if searching {
        let page = planned_with_values(page.build(db.get_database_backend()));
        db.query_all_raw(page)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    membership::Model::from_query_result(row, SELECT_A)?,
                    user::Model::from_query_result(row, SELECT_B)?,
                ))
            })
            .collect::<Result<_, DbErr>>()
    } else {
        Ok(page
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(membership, user)| user.map(|user| (membership, user)))
            .collect())
    }
}

/// One page of members in three statements, whatever the page size and the workspace's size:
/// the total, the page, and the groups of everyone on the page (one, when a search matches
/// nobody).
///
/// Without a search the total is the count the database keeps per workspace and status
/// (`member_count`); with one, the matches are counted up to [`SEARCH_COUNTED_UP_TO`].
pub async fn list_members<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    filter: &MemberFilter,
    paging: Paging<'_>,
) -> Result<Page<MemberRow>, RuleError> {
    principal.require(Permission::ViewMembers, workspace_id)?;
    let after = decode_cursor(paging.after)?;
    let statuses = filter.statuses.as_deref();
    let search = Search::of(db.get_database_backend(), filter.search.as_ref());

    let (total_count, total_count_is_exact, matching) = match &search {
        None => (kept_count(db, workspace_id, statuses).await?, true, None),
        Some(search) => {
            let live = live_memberships(workspace_id, statuses);
            let matches = count_rows(db, search.counting(live, SEARCH_COUNTED_UP_TO + 1)).await?;
            if matches == 0 {
                return Ok(Page::empty());
            }
            let few = matches <= SEARCH_COUNTED_UP_TO;
            let matching = search.paging(few);
            (
                Ord::min(matches, SEARCH_COUNTED_UP_TO),
                few,
                Some((matching, few)),
            )
        }
    };

    let mut page = membership::Entity::find()
        .filter(live_memberships(workspace_id, statuses))
        .join(JoinType::InnerJoin, membership::Relation::User.def());
    let mut sort_matches = false;
    if let Some((matching, few)) = matching {
        page = page.filter(matching);
        sort_matches = few;
    }
    if let Some(after) = after {
        page = page.filter(user::Column::Email.gt(after));
    }
    let page = page.select_also(user::Entity).limit(paging.first + 1);
    let page = if sort_matches {
        // At most SEARCH_COUNTED_UP_TO matches: fetched through the search's indexes and
        // sorted, in the same order as the email (same collation), rather than found by
        // walking every member in email order. An expression keeps the planner off the email
        // index's order.
        page.order_by(Expr::cust(r#""user"."email" || ''"#), Order::Asc)
    } else {
        page.order_by_asc(user::Column::Email)
    };
    let rows = page_rows(db, page, search.is_some()).await?;
    let (rows, has_next_page) = keep_page(rows, paging.first);

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
        total_count_is_exact,
    })
}

/// The workspace's live memberships, of these statuses only when given.
pub(crate) fn live_memberships(
    workspace_id: WorkspaceId,
    statuses: Option<&[MembershipStatus]>,
) -> Condition {
    let mut live = Condition::all()
        .add(membership::Column::WorkspaceId.eq(workspace_id))
        .add(membership::Column::DeletedAt.is_null());
    if let Some(statuses) = statuses {
        live = live.add(membership::Column::Status.is_in(statuses.iter().copied()));
    }
    live
}

/// The live memberships of these statuses, from the counts the database keeps: at most three
/// rows, whatever the workspace's size.
async fn kept_count<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    statuses: Option<&[MembershipStatus]>,
) -> Result<u64, RuleError> {
    let mut counts =
        member_count::Entity::find().filter(member_count::Column::WorkspaceId.eq(workspace_id));
    if let Some(statuses) = statuses {
        counts = counts.filter(member_count::Column::Status.is_in(statuses.iter().copied()));
    }
    let members: i64 = counts
        .all(db)
        .await?
        .iter()
        .map(|count| count.members)
        .sum();
    Ok(u64::try_from(members).unwrap_or_default())
}

/// How many rows a query returns (it carries its own `LIMIT`, so this stops there).
async fn count_rows<C: ConnectionTrait>(db: &C, rows: SelectStatement) -> Result<u64, RuleError> {
    let count = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(rows, "matching")
        .take();
    let count = planned_with_values(db.get_database_backend().build(&count));
    let counted: i64 = match db.query_one_raw(count).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(counted).unwrap_or_default())
}

/// How a search finds the people it matches.
///
/// A text of three characters or more matches anywhere in the lower-cased name or the email
/// (`LIKE '%text%'`). PostgreSQL serves it from trigram indexes when that pays, and otherwise
/// walks the email order, which finds a page of a frequent text at once. SQLite can't use an
/// index for it, so it also asks the FTS5 trigram index `user_search`: fast to count any number
/// of matches up to the cap, and to list a few among many people, but slow to list thousands
/// (they are fetched before they are sorted). So the page uses the index only when the count
/// found at most [`SEARCH_COUNTED_UP_TO`] matches, and the `LIKE` otherwise.
///
/// A shorter text matches the start of the name or of the email: one or two characters are
/// in nearly every name somewhere, and no trigram index holds them, so "anywhere" would read
/// every member. Their start is a range of an index: PostgreSQL finds it from the `LIKE 'text%'`
/// in its `text_pattern_ops` indexes (which compare characters, whatever the database's
/// collation); SQLite, whose indexes compare bytes, is given the range.
struct Search {
    pattern: String,
    /// On SQLite, for a text under three characters: the values starting with it lie in
    /// `[text, upper bound)`; the bound is missing past the last character Unicode has.
    prefix_range: Option<(String, Option<String>)>,
    /// The text as an FTS5 string, on SQLite when it has a trigram.
    trigrams: Option<String>,
}

/// Texts shorter than this match at the start only.
const TRIGRAM: usize = 3;

/// The people a search matches, as a condition on `user` (joined to the query), for a list
/// short enough to read through: the recently removed. `None` when there is nothing to search.
pub(crate) fn people_matching(
    backend: DbBackend,
    search: Option<&SearchText>,
) -> Option<Condition> {
    Search::of(backend, search).map(|search| search.like())
}

impl Search {
    /// The search a filter's text asks for: none for a missing or blank one.
    fn of(backend: DbBackend, text: Option<&SearchText>) -> Option<Self> {
        text.map(|text| text.as_str().trim())
            .filter(|text| !text.is_empty())
            .map(|text| Search::new(backend, text))
    }

    fn new(backend: DbBackend, text: &str) -> Self {
        let short = text.chars().count() < TRIGRAM;
        let trigrams = (backend == DbBackend::Sqlite && !short)
            .then(|| format!("\"{}\"", text.replace('"', "\"\"")));
        let prefix_range = (backend == DbBackend::Sqlite && short).then(|| {
            let lower = text.to_lowercase();
            (lower.clone(), after_every_extension_of(&lower))
        });
        Search {
            pattern: if short {
                starts_with_pattern(text)
            } else {
                contains_pattern(text)
            },
            prefix_range,
            trigrams,
        }
    }

    fn like(&self) -> Condition {
        let name = Expr::expr(Func::lower(Expr::col((user::Entity, user::Column::Name))));
        let email = Expr::col((user::Entity, user::Column::Email));
        Condition::any()
            .add(self.matches(name))
            .add(self.matches(email))
    }

    /// The pattern on one value, within the prefix's range when SQLite is given one.
    fn matches(&self, value: Expr) -> Condition {
        let mut matches = Condition::all().add(
            value
                .clone()
                .like(LikeExpr::new(self.pattern.clone()).escape('\\')),
        );
        if let Some((from, until)) = &self.prefix_range {
            matches = matches.add(value.clone().gte(from.clone()));
            if let Some(until) = until {
                matches = matches.add(value.lt(until.clone()));
            }
        }
        matches
    }

    /// Up to `cap` rows, one per live membership matched.
    fn counting(&self, live: Condition, cap: u64) -> SelectStatement {
        let mut rows = Query::select();
        rows.expr(Expr::val(1));
        match &self.trigrams {
            // From the index to the people's memberships, so the count stops at the cap
            // without fetching every match first.
            Some(trigrams) => rows
                .from(USER_SEARCH)
                .join(
                    JoinType::InnerJoin,
                    USER_SEARCH_KEY,
                    Expr::cust("user_search_key.id = user_search.rowid"),
                )
                .join(
                    JoinType::InnerJoin,
                    membership::Entity,
                    Expr::col((membership::Entity, membership::Column::UserId))
                        .equals((USER_SEARCH_KEY, "user_id")),
                )
                .and_where(Expr::cust_with_values(
                    "user_search MATCH ?",
                    [trigrams.clone()],
                )),
            None => rows
                .from(membership::Entity)
                .join(
                    JoinType::InnerJoin,
                    user::Entity,
                    Expr::col((user::Entity, user::Column::Id))
                        .equals((membership::Entity, membership::Column::UserId)),
                )
                .cond_where(self.like()),
        };
        rows.cond_where(live).limit(cap).take()
    }

    /// The condition a page's people meet; `few`: the count found at most the cap.
    fn paging(&self, few: bool) -> Condition {
        match (&self.trigrams, few) {
            (Some(trigrams), true) => Condition::all().add(
                Expr::col((user::Entity, user::Column::Id)).in_subquery(
                    Query::select()
                        .column((USER_SEARCH_KEY, "user_id"))
                        .from(USER_SEARCH)
                        .join(
                            JoinType::InnerJoin,
                            USER_SEARCH_KEY,
                            Expr::cust("user_search_key.id = user_search.rowid"),
                        )
                        .and_where(Expr::cust_with_values(
                            "user_search MATCH ?",
                            [trigrams.clone()],
                        ))
                        .take(),
                ),
            ),
            _ => self.like(),
        }
    }
}

/// The least string greater than every string that starts with `prefix` (its last character
/// raised by one), if there is one.
fn after_every_extension_of(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A search's statement, to run: on PostgreSQL with its values written into the SQL. With
/// parameters, PostgreSQL's plan cache settles after five runs on a generic plan, made without
/// knowing the text, the workspace or the limit, and that plan walks every member in email
/// order looking for a rare text: 197 ms instead of 3 ms (p50 over HTTP) for a text found once
/// among 100,000 members (docs/BENCHMARKS.md). Without parameters every run is planned with what it looks
/// for, at ~0.6 ms of planning. The values are written by sea-query, which quotes strings as
/// `E''` constants with `'` and `\` escaped; SQLite plans every run anyway.
fn planned_with_values(statement: Statement) -> Statement {
    match statement.db_backend {
        DbBackend::Postgres => Statement::from_string(DbBackend::Postgres, statement.to_string()),
        _ => statement,
    }
}

/// The column prefixes SeaORM gives the two models of a `select_also`.
const SELECT_A: &str = "A_";
const SELECT_B: &str = "B_";

/// SQLite's FTS5 trigram index of names and emails, and each person's number in it (migration
/// `m20261130_000003_member_search`).
const USER_SEARCH: &str = "user_search";
const USER_SEARCH_KEY: &str = "user_search_key";

/// The workspace groups each of these people is in, in one statement.
pub async fn groups_of<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Vec<user_group::Model>>, RuleError> {
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

/// The update that takes memberships out of their workspace, by whom and when (a removal's, or
/// the withdrawal of an invitation): the caller says which memberships.
pub fn mark_removed(principal: &Principal, now: DateTime<Utc>) -> UpdateMany<membership::Entity> {
    membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(
            membership::Column::RemovedBy,
            Expr::value(principal.person_acting()),
        )
}

#[cfg(test)]
mod tests {
    use super::after_every_extension_of;

    #[test]
    fn a_prefix_range_ends_past_every_string_it_starts() {
        assert_eq!(after_every_extension_of("ab").as_deref(), Some("ac"));
        assert_eq!(
            after_every_extension_of("a\u{d7ff}").as_deref(),
            Some("a\u{e000}")
        );
        assert_eq!(
            after_every_extension_of("a\u{10ffff}").as_deref(),
            Some("b")
        );
        assert_eq!(after_every_extension_of("\u{10ffff}"), None);
    }
}
