//! When each session was last used (`Session.lastSeenAt`), without a write per request: an api
//! process writes a session's use at most once a minute, off the request's path.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use entities::{session, session_activity};
use lru::LruCache;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr};

/// A session's use is written again only this long after this process last wrote it.
pub const LAST_SEEN_PRECISION: Duration = Duration::minutes(1);

/// Sessions remembered per api process; one forgotten is written again at its next use.
const KEPT_SESSIONS: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

pub struct SessionActivity {
    /// By the session token's hash: when this process last wrote that session's use.
    written: Mutex<LruCache<String, DateTime<Utc>>>,
}

impl Default for SessionActivity {
    fn default() -> Self {
        SessionActivity {
            written: Mutex::new(LruCache::new(KEPT_SESSIONS)),
        }
    }
}

impl SessionActivity {
    /// Whether this use of the session is to be written (and, if so, counts as written): its
    /// first in this process, or [`LAST_SEEN_PRECISION`] after the last one written.
    pub fn due(&self, token_hash: &str, now: DateTime<Utc>) -> bool {
        // A panic while holding the lock leaves nothing half-written: an LRU map stays whole.
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if written
            .get(token_hash)
            .is_some_and(|at| now - *at < LAST_SEEN_PRECISION)
        {
            return false;
        }
        written.put(token_hash.to_owned(), now);
        true
    }
}

/// Records that the session with this token hash was used at `now`, in one statement.
pub async fn record_use<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let session = Query::select()
        .column(session::Column::Id)
        .expr(Expr::val(now))
        .from(session::Entity)
        .and_where(session::Column::TokenHash.eq(token_hash))
        .take();
    let upsert = Query::insert()
        .into_table(session_activity::Entity)
        .columns([
            session_activity::Column::SessionId,
            session_activity::Column::LastSeenAt,
        ])
        .select_from(session)
        .map_err(|error| DbErr::Custom(error.to_string()))?
        .on_conflict(
            OnConflict::column(session_activity::Column::SessionId)
                .update_column(session_activity::Column::LastSeenAt)
                .to_owned(),
        )
        .take();
    db.execute_raw(db.get_database_backend().build(&upsert))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_is_written_at_most_once_a_minute_per_session() {
        let activity = SessionActivity::default();
        let start = Utc::now();
        assert!(activity.due("a", start));
        assert!(!activity.due("a", start + Duration::seconds(59)));
        assert!(
            activity.due("b", start + Duration::seconds(59)),
            "per session"
        );
        assert!(activity.due("a", start + Duration::seconds(60)));
        assert!(!activity.due("a", start + Duration::seconds(61)));
    }
}
