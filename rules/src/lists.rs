//! Lists: keyset pages and their cursors, the people a page names, and search patterns.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use entities::{UserId, user};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::RuleError;
use crate::text::CursorText;

/// One page of a keyset-paginated list.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
    /// False when a search found more matches than it counts: `total_count` is then a floor.
    pub total_count_is_exact: bool,
}

impl<T> Page<T> {
    /// An empty list.
    pub fn empty() -> Page<T> {
        Page {
            items: Vec::new(),
            has_next_page: false,
            total_count: 0,
            total_count_is_exact: true,
        }
    }

    /// The same page, each item turned into another.
    pub fn map<U>(self, item: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(item).collect(),
            has_next_page: self.has_next_page,
            total_count: self.total_count,
            total_count_is_exact: self.total_count_is_exact,
        }
    }
}

/// These people by id, in one statement (none when there is no one to read). The ids are read
/// before the future starts, so a borrowing iterator is not held across its await.
pub fn users_by_id<'a, C: ConnectionTrait>(
    db: &'a C,
    ids: impl IntoIterator<Item = UserId>,
) -> impl Future<Output = Result<HashMap<UserId, user::Model>, DbErr>> + Send + 'a {
    let ids: HashSet<UserId> = ids.into_iter().collect();
    async move {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|person| (person.id, person))
            .collect())
    }
}

/// One page of `query` in `order`, after the cursor's row when `after` (a condition on the
/// order's column) is given, with the total of the whole list: two statements.
pub async fn page_of<E, C>(
    db: &C,
    query: Select<E>,
    after: Option<SimpleExpr>,
    (column, order): (E::Column, Order),
    first: u64,
) -> Result<Page<E::Model>, RuleError>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let total_count = query.clone().count(db).await?;
    let mut page = query;
    if let Some(after) = after {
        page = page.filter(after);
    }
    let rows = page
        .order_by(column, order)
        .limit(first + 1)
        .all(db)
        .await?;
    let (items, has_next_page) = keep_page(rows, first);
    Ok(Page {
        items,
        has_next_page,
        total_count,
        total_count_is_exact: true,
    })
}

/// One page of `query` newest first by its `id` column (UUID v7, so in creation order), after
/// the row the cursor names: two statements.
pub async fn newest_first<E, C>(
    db: &C,
    query: Select<E>,
    id: E::Column,
    paging: Paging<'_>,
) -> Result<Page<E::Model>, RuleError>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let after = decode_id_cursor(paging.after)?;
    let after = after.map(|after| ColumnTrait::lt(&id, after));
    page_of(db, query, after, (id, Order::Desc), paging.first).await
}

/// The id a cursor of a list paged by id (UUID v7, so newest first by `Id < after`) stands for.
fn decode_id_cursor(cursor: Option<&CursorText>) -> Result<Option<Uuid>, RuleError> {
    decode_cursor(cursor)?
        .map(|after| after.parse::<Uuid>().map_err(|_| not_a_cursor()))
        .transpose()
}

/// Lists read `first + 1` rows: this keeps the first `first` and says whether there were more.
pub fn keep_page<T>(mut rows: Vec<T>, first: u64) -> (Vec<T>, bool) {
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    (rows, has_next_page)
}

/// Lists page by a person's email, which is unique; the cursor is that email, made opaque.
pub fn encode_cursor(email: &str) -> String {
    URL_SAFE_NO_PAD.encode(email)
}

/// What a cursor stands for, or BAD_USER_INPUT for anything this service didn't hand out: not
/// base64url, not UTF-8, or holding a control character (NUL would reach the database).
pub fn decode_cursor(cursor: Option<&CursorText>) -> Result<Option<String>, RuleError> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|text| !text.is_empty() && !text.chars().any(char::is_control))
                .ok_or_else(not_a_cursor)
        })
        .transpose()
}

pub fn not_a_cursor() -> RuleError {
    RuleError::bad_input("after", "is not a cursor returned by this list")
}

/// Which page of a list a query asks for: at most `first` items after the cursor `after`.
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a> {
    pub first: u64,
    pub after: Option<&'a CursorText>,
}

impl<'a> Paging<'a> {
    /// `first` (20 when not given) checked against the configured page size.
    pub fn new(
        first: Option<i32>,
        after: Option<&'a CursorText>,
        max: usize,
    ) -> Result<Paging<'a>, RuleError> {
        Ok(Paging {
            first: page_size(first, max)?,
            after,
        })
    }
}

/// `first` must be between 1 and the configured page size.
pub fn page_size(first: Option<i32>, max: usize) -> Result<u64, RuleError> {
    let first = first.unwrap_or(20);
    if first < 1 || first as usize > max {
        return Err(RuleError::bad_input(
            "first",
            format!("must be between 1 and {max}, got {first}"),
        ));
    }
    Ok(first as u64)
}

/// A LIKE pattern matching values that contain `text`, lower-cased, with the wildcard
/// characters of the user's text escaped (by `\`).
pub fn contains_pattern(text: &str) -> String {
    format!("%{}", starts_with_pattern(text))
}

/// A LIKE pattern matching values that start with `text`, lower-cased and escaped as
/// [`contains_pattern`]'s.
pub fn starts_with_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::CheckedText;

    #[test]
    fn cursors_round_trip_and_garbage_is_bad_input() {
        let cursor = encode_cursor("ada@acme.test");
        let sent = |text: &str| CursorText::parse(text).unwrap();
        assert_eq!(
            decode_cursor(Some(&sent(&cursor))).unwrap().as_deref(),
            Some("ada@acme.test")
        );
        // "AAAA" is valid base64 for three NUL bytes: refused, never sent to the database.
        for garbage in ["%%%", "AAAA", "_-8"] {
            assert!(matches!(
                decode_cursor(Some(&sent(garbage))),
                Err(RuleError::BadUserInput { .. })
            ));
        }
        assert!(CursorText::parse("").is_err());
        assert_eq!(decode_cursor(None).unwrap(), None);
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(None, 100).unwrap(), 20);
        assert_eq!(page_size(Some(100), 100).unwrap(), 100);
        assert!(page_size(Some(101), 100).is_err());
        assert!(page_size(Some(0), 100).is_err());
        assert!(page_size(Some(-5), 100).is_err());
    }

    #[test]
    fn search_text_cannot_smuggle_wildcards() {
        assert_eq!(contains_pattern(" Ada "), "%ada%");
        assert_eq!(contains_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
        assert_eq!(starts_with_pattern(" A_"), "a\\_%");
    }
}
