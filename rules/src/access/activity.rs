//! When each session and API key was last used (`lastSeenAt`, `lastUsedAt`), without a write per
//! request: an api process writes a token's use at most once a minute, beside the request.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use entities::token_activity;
use lru::LruCache;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// A token's use is written again only this long after this process last wrote it.
pub const LAST_USE_PRECISION: Duration = Duration::minutes(1);

/// Tokens remembered per api process; one forgotten is written again at its next use.
const KEPT_TOKENS: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

pub struct TokenActivity {
    /// By the token's hash: when this process last wrote that token's use.
    written: Mutex<LruCache<String, DateTime<Utc>>>,
}

impl Default for TokenActivity {
    fn default() -> Self {
        TokenActivity {
            written: Mutex::new(LruCache::new(KEPT_TOKENS)),
        }
    }
}

impl TokenActivity {
    /// Whether this use of the token is to be written (and, if so, counts as written): its
    /// first in this process, or [`LAST_USE_PRECISION`] after the last one written.
    pub fn due(&self, token_hash: &str, now: DateTime<Utc>) -> bool {
        // A panic while holding the lock leaves nothing half-written: an LRU map stays whole.
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if written
            .get(token_hash)
            .is_some_and(|at| now - *at < LAST_USE_PRECISION)
        {
            return false;
        }
        written.put(token_hash.to_owned(), now);
        true
    }
}

/// Records that the session or key with this token hash was used at `now`, in one statement.
pub async fn record_use<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    token_activity::Entity::insert(token_activity::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        last_used_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(token_activity::Column::TokenHash)
            .update_column(token_activity::Column::LastUsedAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// When each of these tokens was last used, in one statement (none for no tokens); a token never
/// used since it was made is absent.
pub async fn last_uses<'a, C: ConnectionTrait>(
    db: &C,
    token_hashes: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, DateTime<Utc>>, DbErr> {
    let token_hashes: Vec<&str> = token_hashes.into_iter().collect();
    if token_hashes.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(token_activity::Entity::find()
        .filter(token_activity::Column::TokenHash.is_in(token_hashes))
        .all(db)
        .await?
        .into_iter()
        .map(|activity| (activity.token_hash, activity.last_used_at))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_is_written_at_most_once_a_minute_per_token() {
        let activity = TokenActivity::default();
        let start = Utc::now();
        assert!(activity.due("a", start));
        assert!(!activity.due("a", start + Duration::seconds(59)));
        assert!(
            activity.due("b", start + Duration::seconds(59)),
            "per token"
        );
        assert!(activity.due("a", start + Duration::seconds(60)));
        assert!(!activity.due("a", start + Duration::seconds(61)));
    }
}
