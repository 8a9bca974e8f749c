//! The principals of recently seen tokens, each with the workspace's access version it was
//! read at. A request with a known token reads that one number instead of running
//! the authentication statement, and uses the kept principal only while the number is the
//! same: every change that bears on a token's access raises it in its own transaction (database
//! triggers, see migration `m20261130_000004_access_version`), so access is still cut at
//! commit, in every api process, whoever made the change.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use entities::workspace;
use lru::LruCache;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use crate::access::Principal;
use crate::access::principal::{Verified, verify};
use platform::tokens::hash_token;

/// Tokens kept per api process; the least recently used is dropped past this.
const KEPT_TOKENS: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

pub struct PrincipalCache {
    /// By the token's hash: the token itself is never kept.
    verified: Mutex<LruCache<String, Verified>>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            verified: Mutex::new(LruCache::new(KEPT_TOKENS)),
        }
    }
}

impl PrincipalCache {
    /// What [`crate::access::authenticate`] answers, in one statement either way: the
    /// workspace's access version when the token was seen lately and its session hasn't
    /// expired, else the authentication statement (then two when the version had moved).
    pub async fn authenticate<C: ConnectionTrait>(
        &self,
        db: &C,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, DbErr> {
        let hash = hash_token(token);
        let kept = self.lock().get(&hash).cloned();
        if let Some(kept) = kept.filter(|kept| kept.expires_at.is_none_or(|at| at > now)) {
            let current: Option<i64> = workspace::Entity::find_by_id(kept.principal.workspace_id)
                .select_only()
                .column(workspace::Column::AccessVersion)
                .into_tuple()
                .one(db)
                .await?;
            if current == Some(kept.access_version) {
                return Ok(Some(kept.principal));
            }
        }
        let verified = verify(db, token, now).await?;
        let mut kept = self.lock();
        match &verified {
            Some(verified) => {
                kept.put(hash, verified.clone());
            }
            None => {
                kept.pop(&hash);
            }
        }
        Ok(verified.map(|verified| verified.principal))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Verified>> {
        // A panic while holding the lock leaves nothing half-written: an LRU map stays whole.
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
