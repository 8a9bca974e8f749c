//! A mutation, start to finish: its transaction, its idempotency key, the retry of a
//! transaction the database aborted for a conflict, and the hand-over of its jobs.

use async_graphql::Context;
use chrono::{SubsecRound, Utc};
use sea_orm::TransactionTrait;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use crate::changes::in_transaction;
use crate::graphql::ContextExt;
use crate::graphql::text::{IdempotencyKeyText, Text};
use crate::graphql::types::{Payload, UserError, respond};
use rules::access::Acting;
use rules::error::RuleError;
use rules::idempotency::{Claim, IdempotencyKey};

/// What a mutation's domain call produced: its payload, and the outbox rows to hand to the queue
/// once committed.
pub(crate) struct Done<P> {
    pub payload: P,
    pub outbox_ids: Vec<uuid::Uuid>,
}

impl<P> Done<P> {
    /// A payload with no side effects to hand over.
    pub(crate) fn answer(payload: P) -> Done<P> {
        Done {
            payload,
            outbox_ids: Vec::new(),
        }
    }
}

/// A mutation's input: what its idempotency key is.
pub(crate) trait MutationInput: Serialize {
    fn idempotency_key(&self) -> Option<IdempotencyKeyText>;
}

/// Every mutation input carries an optional `idempotencyKey`.
macro_rules! mutation_inputs {
    ($($input:ty),+ $(,)?) => {
        $(impl $crate::graphql::MutationInput for $input {
            fn idempotency_key(&self) -> Option<$crate::graphql::text::IdempotencyKeyText> {
                self.idempotency_key.clone()
            }
        })+
    };
}
pub(crate) use mutation_inputs;

/// Runs one mutation, start to finish: answers from its idempotency key if the call was already
/// made, else runs `act` in one transaction, stores the payload under the key and commits, then
/// hands the outbox rows to the queue. A refusal rolls everything back (the key's claim too) and
/// answers as `userErrors`. A transaction the database aborted for a conflict with another
/// (a deadlock, a serialization failure) is run again from the start, key claim included
/// ([`platform::db::retrying`]); if every attempt conflicts the answer is CONFLICT_RETRY, never
/// INTERNAL. Each resolver is then its input, one domain call and its payload.
/// The key is scoped to the operation by the resolver's field name.
pub(crate) async fn run_mutation<I, P>(
    ctx: &Context<'_>,
    input: I,
    act: impl AsyncFnOnce(&sea_orm::DatabaseTransaction, Acting<'_>, I) -> Result<Done<P>, RuleError>
    + Clone,
) -> async_graphql::Result<P>
where
    I: MutationInput + Clone,
    P: Payload + Serialize + DeserializeOwned,
{
    let operation = ctx.field().name();
    let answered = in_transaction(operation, || {
        let (act, input) = (act.clone(), input.clone());
        async move {
            let key = input.idempotency_key();
            let txn = match MutationTxn::begin(ctx, operation, key, &input).await? {
                Begun::Fresh(txn) => txn,
                Begun::Answered(payload) => return Ok(Ok(Done::answer(payload))),
            };
            let acting = Acting {
                principal: ctx.principal()?,
                request_id: ctx.request_id(),
                // To the microsecond, as the databases keep it: what a mutation answers is what a
                // later read finds (its writes don't read their rows back).
                now: Utc::now().trunc_subsecs(6),
            };
            match act(txn.db(), acting, input).await {
                Ok(done) => {
                    txn.commit(&done.payload).await?;
                    Ok(Ok(done))
                }
                Err(error) if error.is_transient_conflict() => {
                    txn.rollback().await?;
                    Err(error)
                }
                Err(error) => Ok(Err(txn.refuse(error).await)),
            }
        }
    })
    .await?;
    let done = match answered {
        Ok(done) => done,
        Err(refused) => return refused,
    };
    hand_over(ctx, done.outbox_ids);
    Ok(done.payload)
}

/// Queues the committed outbox rows without making the client wait.
fn hand_over(ctx: &Context<'_>, outbox_ids: Vec<uuid::Uuid>) {
    crate::changes::hand_over(ctx.writer(), ctx.queue(), outbox_ids);
}

/// A mutation's transaction together with its idempotency key.
struct MutationTxn {
    txn: sea_orm::DatabaseTransaction,
    key: Option<IdempotencyKey>,
}

enum Begun<P> {
    /// Run the mutation in this transaction.
    Fresh(MutationTxn),
    /// Nothing to run: the first answer for this idempotency key, or why the key is refused.
    Answered(P),
}

impl MutationTxn {
    /// Opens the transaction and claims the idempotency key, if the call sent one.
    async fn begin<P>(
        ctx: &Context<'_>,
        operation: &str,
        key: Option<IdempotencyKeyText>,
        input: &impl Serialize,
    ) -> Result<Begun<P>, RuleError>
    where
        P: Payload + DeserializeOwned,
    {
        let principal = ctx.principal()?;
        let key = IdempotencyKey::new(principal, operation, key.map(Text::into_inner), input)?;
        let txn = ctx.writer().begin().await?;
        let claimed = match &key {
            Some(key) => key.claim(&txn, Utc::now()).await,
            None => Ok(Claim::Fresh),
        };
        let answer = match claimed {
            Ok(Claim::Fresh) => return Ok(Begun::Fresh(MutationTxn { txn, key })),
            Ok(Claim::Replay(answer)) => serde_json::from_value(answer)
                .map_err(|error| RuleError::internal("reading a stored answer", error)),
            Err(RuleError::Rejected(errors)) => Ok(P::rejected(
                errors.into_iter().map(UserError::from).collect(),
            )),
            Err(error) => Err(error),
        };
        txn.rollback().await?;
        answer.map(Begun::Answered)
    }

    fn db(&self) -> &sea_orm::DatabaseTransaction {
        &self.txn
    }

    /// Rolls back an attempt the database aborted, to run it again.
    async fn rollback(self) -> Result<(), RuleError> {
        self.txn.rollback().await?;
        Ok(())
    }

    /// Rolls back a refused or failed mutation (its key claim too) and answers why.
    async fn refuse<P: Payload>(self, error: RuleError) -> async_graphql::Result<P> {
        self.txn.rollback().await.map_err(RuleError::from)?;
        respond(Err(error), |()| P::default())
    }

    /// Stores the answer under the idempotency key and commits, both or neither.
    async fn commit<P: Serialize>(self, payload: &P) -> Result<(), RuleError> {
        if let Some(key) = &self.key {
            let answer = serde_json::to_value(payload)
                .map_err(|error| RuleError::internal("storing the answer", error))?;
            key.store(&self.txn, answer).await?;
        }
        self.txn.commit().await?;
        Ok(())
    }
}

/// Commits when the service succeeded; rolls back when it refused or failed, so a rejected
/// mutation changes nothing.
pub(crate) async fn commit_if_ok<T>(
    txn: sea_orm::DatabaseTransaction,
    result: Result<T, RuleError>,
) -> Result<T, RuleError> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// What PostgreSQL answers a transaction it chose to abort in a deadlock.
    #[derive(Debug)]
    struct Deadlock;

    impl std::fmt::Display for Deadlock {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("deadlock detected")
        }
    }

    impl std::error::Error for Deadlock {}

    impl DatabaseError for Deadlock {
        fn message(&self) -> &str {
            "deadlock detected"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some("40P01".into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn deadlock() -> RuleError {
        RuleError::Database(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(sea_orm::sqlx::Error::Database(Box::new(Deadlock))),
        )))
    }

    /// A transaction that deadlocks every time it runs is run the most times allowed, then
    /// answered CONFLICT_RETRY (with a wait to retry after), never INTERNAL; one that deadlocks
    /// once is run again and answers what it found.
    #[tokio::test]
    async fn a_transaction_that_keeps_deadlocking_answers_conflict_retry() {
        assert!(deadlock().is_transient_conflict());
        let attempts = AtomicU32::new(0);
        let answer: Result<(), RuleError> = in_transaction("test", || {
            attempts.fetch_add(1, Ordering::Relaxed);
            async { Err(deadlock()) }
        })
        .await;
        let error = answer.expect_err("it never succeeds");
        assert_eq!(crate::graphql::errors::code(&error), "CONFLICT_RETRY");
        assert!(matches!(
            error,
            RuleError::ConflictRetry {
                retry_after_seconds: 1
            }
        ));
        assert_eq!(
            attempts.load(Ordering::Relaxed),
            platform::db::CONFLICT_ATTEMPTS
        );

        let attempts = AtomicU32::new(0);
        let answer = in_transaction("test", || {
            let first = attempts.fetch_add(1, Ordering::Relaxed) == 0;
            async move { if first { Err(deadlock()) } else { Ok(7) } }
        })
        .await;
        assert_eq!(answer.ok(), Some(7));
        assert_eq!(attempts.load(Ordering::Relaxed), 2);
    }
}
