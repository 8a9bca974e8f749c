//! The relay moves outbox rows into the queue: right after a mutation commits (`hand_over`), and
//! periodically (`relay_once`) for whatever is still pending — Redis was down at commit — due for
//! a retry after its backoff, or queued so long that its queue entry was probably lost.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::WorkerError;
use crate::config::WorkerConfig;
use crate::outbox;
use crate::queue::JobQueue;

/// How many rows one sweep moves at most.
const SWEEP_LIMIT: u64 = 500;

/// Queues these rows. Rows whose push fails go back to PENDING for the next sweep; the
/// error is only logged, since the rows are safe in the outbox either way.
pub async fn hand_over<C: ConnectionTrait>(
    db: &C,
    queue: &JobQueue,
    ids: &[Uuid],
) -> Result<usize, DbErr> {
    outbox::mark_queued(db, ids, Utc::now()).await?;
    let mut failed = Vec::new();
    for id in ids {
        if let Err(error) = queue.push(*id).await {
            tracing::warn!(%error, outbox_id = %id, "queue unavailable; the relay will retry");
            failed.push(*id);
        }
    }
    outbox::mark_pending(db, &failed).await?;
    Ok(ids.len() - failed.len())
}

/// One sweep: queues every row that is due. Returns how many were queued.
pub async fn relay_once<C: ConnectionTrait>(
    db: &C,
    queue: &JobQueue,
    config: &WorkerConfig,
) -> Result<usize, WorkerError> {
    let due = outbox::due_for_relay(db, Utc::now(), config.requeue_after, SWEEP_LIMIT).await?;
    if due.is_empty() {
        return Ok(0);
    }
    Ok(hand_over(db, queue, &due).await?)
}
