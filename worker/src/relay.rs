//! The relay moves outbox rows into the queue: right after a mutation commits (`hand_over`), and
//! in a loop (`relay_once`) for whatever is still pending — more than the queue's window, Redis
//! down at commit — due for a retry after its backoff, or queued so long that its queue entry
//! was probably lost.

use chrono::Utc;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::WorkerError;
use crate::config::WorkerConfig;
use crate::outbox;
use crate::queue::{JobQueue, WINDOW};

/// What a hand-over or a sweep came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relayed {
    /// Rows now in the queue.
    pub queued: usize,
    /// Rows are left PENDING because the queue was full (or down): the relay should come back
    /// soon rather than at its next tick.
    pub more_due: bool,
}

/// Queues as many of these rows as the queue's window has room for; the rest stay PENDING for
/// the relay. Rows whose push fails go back to PENDING too: they are safe in the outbox either
/// way, so the error is only logged.
pub async fn hand_over<C: ConnectionTrait>(
    db: &C,
    queue: &JobQueue,
    ids: &[Uuid],
) -> Result<Relayed, WorkerError> {
    if ids.is_empty() {
        return Ok(Relayed::default());
    }
    let room = WINDOW.saturating_sub(queue.waiting().await?) as usize;
    let (now, later) = ids.split_at(room.min(ids.len()));
    if !later.is_empty() {
        // Whoever relays (every worker process) is told there is more.
        queue.wakeups().wake();
    }
    // Marked before the push, so that a worker finishing a job at once isn't overwritten.
    outbox::mark_queued(db, now, Utc::now()).await?;
    if let Err(error) = queue.push(now).await {
        tracing::warn!(%error, jobs = now.len(), "queue unavailable; the relay will retry");
        outbox::mark_pending(db, now).await?;
        return Ok(Relayed {
            queued: 0,
            more_due: true,
        });
    }
    Ok(Relayed {
        queued: now.len(),
        more_due: !later.is_empty(),
    })
}

/// One sweep: queues what is due, as far as the queue's window allows.
pub async fn relay_once<C: ConnectionTrait>(
    db: &C,
    queue: &JobQueue,
    config: &WorkerConfig,
) -> Result<Relayed, WorkerError> {
    let room = WINDOW.saturating_sub(queue.waiting().await?);
    if room == 0 {
        return Ok(Relayed {
            queued: 0,
            more_due: true,
        });
    }
    let due = outbox::due_for_relay(db, Utc::now(), config.requeue_after, room + 1).await?;
    let more = due.len() as u64 > room;
    let due = &due[..due.len().min(room as usize)];
    let mut relayed = hand_over(db, queue, due).await?;
    relayed.more_due |= more;
    Ok(relayed)
}
