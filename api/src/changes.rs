//! What every change made through a door shares, whichever door it came through (GraphQL,
//! SCIM): its transaction run again when the database aborts it for a conflict, and its jobs
//! handed to the queue once it is committed.

use rules::error::RuleError;
use sea_orm::DatabaseConnection;
use worker::JobQueue;

/// Runs `attempt`, one whole transaction, again while the database aborts it for a transient
/// conflict with another ([`platform::db::retrying`]); when the last attempt still conflicts,
/// the error is CONFLICT_RETRY, for the client to send the request again a moment later.
pub(crate) async fn in_transaction<T, Attempt>(
    operation: &str,
    attempt: impl FnMut() -> Attempt,
) -> Result<T, RuleError>
where
    Attempt: Future<Output = Result<T, RuleError>>,
{
    platform::db::retrying(operation, RuleError::is_transient_conflict, attempt)
        .await
        .map_err(|error| {
            if error.is_transient_conflict() {
                tracing::warn!(operation, error = ?error, "a transaction kept conflicting");
                RuleError::ConflictRetry {
                    retry_after_seconds: 1,
                }
            } else {
                error
            }
        })
}

/// Queues the committed outbox rows without making the client wait; if the queue is down the
/// rows stay PENDING and the relay delivers them later.
pub(crate) fn hand_over(db: &DatabaseConnection, queue: &JobQueue, outbox_ids: Vec<uuid::Uuid>) {
    if outbox_ids.is_empty() {
        return;
    }
    let (db, queue) = (db.clone(), queue.clone());
    tokio::spawn(async move {
        if let Err(error) = worker::relay::hand_over(&db, &queue, &outbox_ids).await {
            tracing::warn!(%error, "handing jobs to the queue failed; the relay will retry");
        }
    });
}
