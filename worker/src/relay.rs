//! The relay moves outbox rows into the queue: right after a mutation commits (`hand_over`), and
//! in a loop (`relay_once`) for whatever is still pending — more than the queue's window, Redis
//! down at commit — due for a retry after its backoff, or queued so long that its queue entry
//! was probably lost.
//!
//! Either way at most one chunk ([`PUSH_CHUNK`]) is pushed per look at how many jobs wait, so
//! several processes pushing at once overshoot [`WINDOW`] by at most a chunk each.

use chrono::Utc;
use sea_orm::{ConnectionTrait, TransactionTrait};
use uuid::Uuid;

use crate::WorkerError;
use crate::queue::{JobQueue, PUSH_CHUNK, WINDOW};
use crate::settings::WorkerSettings;
use platform::outbox;

/// What a hand-over or a sweep came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relayed {
    /// Rows now in the queue.
    pub queued: usize,
    /// Rows are left PENDING because the queue was full (or down), or more are due than one
    /// sweep takes: the relay should come back soon rather than at its next tick.
    pub more_due: bool,
}

/// Room in the queue for the next chunk. A queue that doesn't answer counts as a failed push.
async fn room(queue: &JobQueue) -> Result<(u64, u64), WorkerError> {
    let waiting = queue.waiting().await.inspect_err(|_| {
        metrics::counter!("queue_push_failures_total").increment(1);
    })?;
    Ok((
        waiting,
        WINDOW.saturating_sub(waiting).min(PUSH_CHUNK as u64),
    ))
}

/// Pushes rows already marked QUEUED; if the queue refuses them they go back to PENDING, safe
/// in the outbox, and the error is only logged.
async fn push<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    queue: &JobQueue,
    ids: &[Uuid],
) -> Result<bool, WorkerError> {
    if let Err(error) = queue.push(ids).await {
        metrics::counter!("queue_push_failures_total").increment(1);
        tracing::warn!(%error, jobs = ids.len(), "queue unavailable; the relay will retry");
        outbox::mark_pending(db, ids).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Queues as many of these freshly committed rows as the queue's window has room for; the rest
/// stay PENDING for the relays, which the chunks pushed so far have woken.
pub async fn hand_over<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    queue: &JobQueue,
    ids: &[Uuid],
) -> Result<Relayed, WorkerError> {
    let mut relayed = Relayed::default();
    let mut rest = ids;
    while !rest.is_empty() {
        let (_, room) = room(queue).await?;
        if room == 0 {
            relayed.more_due = true;
            break;
        }
        let (chunk, later) = rest.split_at((room as usize).min(rest.len()));
        // Marked before the push, so that a worker finishing a job at once isn't overwritten.
        outbox::mark_queued(db, chunk, Utc::now()).await?;
        if !push(db, queue, chunk).await? {
            relayed.more_due = true;
            break;
        }
        relayed.queued += chunk.len();
        rest = later;
    }
    metrics::counter!("relay_jobs_queued_total", "by" => "hand_over")
        .increment(relayed.queued as u64);
    Ok(relayed)
}

/// One sweep: takes what is due, as far as the queue has room for one chunk.
pub async fn relay_once<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    queue: &JobQueue,
    config: &WorkerSettings,
) -> Result<Relayed, WorkerError> {
    metrics::counter!("relay_sweeps_total").increment(1);
    let (waiting, room) = room(queue).await?;
    if room == 0 {
        return Ok(Relayed {
            queued: 0,
            more_due: true,
        });
    }
    // A queued row is taken for lost only once the queue has (nearly) drained: in a long
    // queue it is most likely still waiting its turn.
    let lost_queued = waiting < PUSH_CHUNK as u64;
    let due = outbox::take_due(db, Utc::now(), config.requeue_after, lost_queued, room).await?;
    if due.is_empty() {
        return Ok(Relayed::default());
    }
    let pushed = push(db, queue, &due).await?;
    if pushed {
        metrics::counter!("relay_jobs_queued_total", "by" => "sweep").increment(due.len() as u64);
    }
    Ok(Relayed {
        queued: if pushed { due.len() } else { 0 },
        more_due: !pushed || due.len() as u64 == room,
    })
}
