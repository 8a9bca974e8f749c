//! The one lock order of every write, so that concurrent writes wait for each other instead of
//! deadlocking (PostgreSQL; SQLite's single writer connection runs transactions one after the
//! other).
//!
//! 1. **The organization**, when the write counts seats (inviting, restoring, changing the seat
//!    limit): [`lock_organization`].
//! 2. **A person's own row**, before a write to it (only accepting an invitation with a new
//!    account writes one): [`lock_person`]. Two acceptances for the same person then run one
//!    after the other, and the workspaces the person is in can't change under the next step.
//! 3. **The workspace**, before the first write to a membership, invitation, session or API key
//!    of it: [`lock_workspace`], or [`lock_workspaces_of`] a person, in id order, before a write
//!    to their own row, which every workspace they belong to shows.
//! 4. **Rows of the workspace** (memberships, sessions, keys), which only the holder of the
//!    workspace's lock changes, so their order among themselves can't matter.
//!
//! Each lock is taken before any lock of a later step, and each is the strongest the
//! transaction will need on that row: `FOR NO KEY UPDATE`, what the update of `access_version`
//! by the triggers (migration `m20261130_000004_access_version`) takes. Those triggers then find
//! the lock already held and never wait mid-transaction. `FOR NO KEY UPDATE` doesn't conflict
//! with `FOR KEY SHARE`, what a foreign-key check takes when a row referencing the workspace or
//! the organization is inserted: a write that only inserts such rows (signing in, creating a
//! key, an audit entry) needs no lock and can't take part in a deadlock.
//!
//! Found by a concurrency walk: a restore held the workspace `FOR UPDATE` and waited for the
//! organization, while an invitation held the organization and its membership's foreign-key
//! check waited for the workspace. What is left (an operator's SQL, a pattern this order
//! misses) is retried by [`crate::db::retrying`].

use entities::{OrganizationId, UserId, WorkspaceId, membership, organization, user, workspace};
use sea_orm::sea_query::{LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

/// Step 1: the organization's row, so two calls can't both take its last seat.
pub async fn lock_organization<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
) -> Result<Option<organization::Model>, DbErr> {
    locked(db, organization::Entity::find_by_id(organization_id))
        .one(db)
        .await
}

/// Step 2: the person's row, before their name or password is written.
pub async fn lock_person<C: ConnectionTrait>(
    db: &C,
    user_id: UserId,
) -> Result<Option<user::Model>, DbErr> {
    locked(db, user::Entity::find_by_id(user_id)).one(db).await
}

/// Step 3: the workspace's row. Every change of who may do what in the workspace takes it, so
/// two such calls run one after the other and the second sees the first's result (the last
/// owner, an invitation accepted or revoked).
pub async fn lock_workspace<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
) -> Result<Option<workspace::Model>, DbErr> {
    locked(db, workspace::Entity::find_by_id(workspace_id))
        .one(db)
        .await
}

/// Step 3 for a write to a person's own row (their name, their password), which every
/// workspace they have a membership in shows: all those workspaces, in id order, in one
/// statement.
pub async fn lock_workspaces_of<C: ConnectionTrait>(
    db: &C,
    user_id: UserId,
) -> Result<Vec<workspace::Model>, DbErr> {
    let theirs = Query::select()
        .column(membership::Column::WorkspaceId)
        .from(membership::Entity)
        .and_where(membership::Column::UserId.eq(user_id))
        .take();
    let query = workspace::Entity::find()
        .filter(workspace::Column::Id.in_subquery(theirs))
        .order_by_asc(workspace::Column::Id);
    locked(db, query).all(db).await
}

/// The query's rows locked `FOR NO KEY UPDATE` until the transaction ends, on PostgreSQL (also
/// a job's outbox row, which a run locks before anything else). SQLite has no row locks; its
/// single writer connection serializes writes instead.
pub(crate) fn locked<E: EntityTrait, C: ConnectionTrait>(db: &C, query: Select<E>) -> Select<E> {
    if db.get_database_backend() == DbBackend::Postgres {
        query.lock(LockType::NoKeyUpdate)
    } else {
        query
    }
}

/// The key of the bootstrap's advisory lock: any number no other lock uses ("BOOT" in ASCII).
const BOOTSTRAP_LOCK: i64 = 0x424F_4F54;

/// Before anything else, in the transaction that makes the first organization: on PostgreSQL
/// a transaction-scoped advisory lock, so replicas starting at once on an empty database make
/// their check "is there an organization yet?" one after the other. On SQLite the writer's
/// lock does it: a second process's write fails as busy once the first commits, and its
/// transaction runs again ([`crate::db::retrying`]) to find the organization made.
pub async fn lock_bootstrap<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [BOOTSTRAP_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}
