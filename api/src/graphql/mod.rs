//! Translates between GraphQL and the domain services; holds no rules of its own.

mod access;
mod audit;
pub mod budget;
mod contacts;
pub mod errors;
pub mod http;
mod offboarding;
mod people;
mod preview;
mod progress;
mod request_log;
mod text;
mod types;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::{Context, MergedObject, MergedSubscription, Schema, SchemaBuilder};
use chrono::{SubsecRound, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::JobQueue;

use crate::access::throttle::SignInThrottle;
use crate::access::{Acting, Principal};
use crate::config::Config;
use crate::error::ApiError;
use crate::graphql::types::{Payload, UserError, respond};
use crate::idempotency::{Claim, IdempotencyKey};
use crate::people::Paging;
use crate::text::{CursorText, IdempotencyKeyText};

#[derive(MergedObject, Default)]
pub struct Query(
    access::AccessQuery,
    people::PeopleQuery,
    offboarding::OffboardingQuery,
    preview::PreviewQuery,
    audit::AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    access::AccessMutation,
    people::PeopleMutation,
    offboarding::OffboardingMutation,
    contacts::ContactsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(progress::ProgressSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

const UUID_DESCRIPTION: &str = "An identifier: a UUID in its canonical text form, e.g. \
    `0190f3a2-7c1e-7b4e-9a51-2c6f0e1d4b7a` (RFC 9562; ids made here are version 7, ordered by \
    creation time). Map it to `string` in generated clients.";
const DATETIME_DESCRIPTION: &str = "An instant, as an RFC 3339 string in UTC with fractional \
    seconds, e.g. `2026-11-30T09:15:00.123456Z`. Map it to `string` (or parse it to a date) in \
    generated clients.";

/// The types, their descriptions and the error codes, shared by both schemas below.
fn described_types(config: &Config) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_directives(config.limits.directives_per_field)
    // Outermost, so that its line sees the codes ErrorCodes gives.
    .extension(request_log::RequestLog)
    .extension(errors::ErrorCodes)
    // The engine's own descriptions speak of its Rust types; clients and codegen read these.
    .override_input_type_description::<uuid::Uuid>(UUID_DESCRIPTION)
    .override_output_type_description::<uuid::Uuid>(UUID_DESCRIPTION)
    .override_output_type_description::<chrono::DateTime<Utc>>(DATETIME_DESCRIPTION)
}

/// The schema's types and limits, without runtime data: what `schema.graphql` is made from.
pub fn schema_builder(config: &Config) -> SchemaBuilder<Query, Mutation, Subscription> {
    let limits = &config.limits;
    let builder = described_types(config)
        .limit_depth(limits.query_depth)
        .limit_complexity(limits.query_complexity)
        .extension(budget::FieldsAtOnce)
        .extension(budget::BatchCost)
        .extension(http::QueriesOnlyOverGet)
        // Automatic persisted queries: a client may send a query's SHA-256 alone once the
        // query was sent with it, so GETs can be cached by URL.
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(
            PERSISTED_QUERIES,
        )));
    if config.introspection {
        builder
    } else {
        // "Did you mean …?" would hand out the schema that introspection keeps back.
        builder.disable_introspection().disable_suggestions()
    }
}

/// How many persisted queries one process remembers (the least recently used go first).
const PERSISTED_QUERIES: usize = 1_000;

/// The schema that answers operations selecting only `__schema`/`__type` (see
/// [`http::is_introspection_only`]): the same types without the depth and complexity limits,
/// which such an operation can't use to reach data. `None` when introspection is off.
pub fn build_introspection_schema(config: &Config) -> Option<AppSchema> {
    config
        .introspection
        .then(|| described_types(config).finish())
}

/// The connections queries read through ([`domain::db::connect_reader`]).
#[derive(Clone)]
pub struct Reader(pub DatabaseConnection);

pub fn build_schema(
    config: &Config,
    db: DatabaseConnection,
    reader: Reader,
    queue: JobQueue,
) -> AppSchema {
    schema_builder(config)
        .data(db)
        .data(reader)
        .data(queue)
        .data(SignInThrottle::new(&config.limits))
        .data(config.clone())
        .finish()
}

/// The token a WebSocket sent in `connection_init`. Only subscriptions read it, and they
/// authenticate it again and again: a socket outlives any one check. Queries and mutations sent
/// over the socket find no `RequestContext` and are UNAUTHENTICATED (use `POST /graphql`).
#[derive(Debug, Clone, Default)]
pub struct SocketToken(pub Option<String>);

/// Who opened a WebSocket (after trusted proxies): an operation sent over it counts against
/// that client's limits, as one sent over HTTP does.
pub struct SocketPeer(pub std::net::IpAddr);

/// What the HTTP layer learned about the request before GraphQL runs.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `None` when no valid token was sent.
    pub principal: Option<Principal>,
    pub request_id: Option<String>,
    /// The peer's address, for the sign-in limit per client address.
    pub client_address: Option<std::net::IpAddr>,
    /// The client's `User-Agent`, kept with a session it signs in to.
    pub user_agent: Option<String>,
    pub budget: budget::RequestBudget,
}

pub(crate) trait ContextExt {
    /// For changes, and for reads that must see them in the same transaction.
    fn writer(&self) -> &DatabaseConnection;
    /// For queries: on SQLite, read-only connections beside the single writer.
    fn reader(&self) -> &DatabaseConnection;
    fn queue(&self) -> &JobQueue;
    fn config(&self) -> &Config;
    fn principal(&self) -> Result<&Principal, ApiError>;
    fn request_id(&self) -> Option<&str>;
    fn client_address(&self) -> Option<std::net::IpAddr>;
    fn user_agent(&self) -> Option<&str>;
    fn sign_in_throttle(&self) -> &SignInThrottle;
    /// A list query's `first` and `after`, `first` checked against the configured page size.
    fn paging<'a>(
        &self,
        first: Option<i32>,
        after: Option<&'a CursorText>,
    ) -> Result<Paging<'a>, ApiError>;
}

impl ContextExt for Context<'_> {
    fn writer(&self) -> &DatabaseConnection {
        self.data_unchecked::<DatabaseConnection>()
    }

    fn reader(&self) -> &DatabaseConnection {
        &self.data_unchecked::<Reader>().0
    }

    fn queue(&self) -> &JobQueue {
        self.data_unchecked::<JobQueue>()
    }

    fn config(&self) -> &Config {
        self.data_unchecked::<Config>()
    }

    fn principal(&self) -> Result<&Principal, ApiError> {
        self.data_opt::<RequestContext>()
            .and_then(|request| request.principal.as_ref())
            .ok_or(ApiError::Unauthenticated)
    }

    fn request_id(&self) -> Option<&str> {
        self.data_opt::<RequestContext>()
            .and_then(|request| request.request_id.as_deref())
    }

    fn client_address(&self) -> Option<std::net::IpAddr> {
        self.data_opt::<RequestContext>()
            .and_then(|request| request.client_address)
            .or_else(|| self.data_opt::<SocketPeer>().map(|peer| peer.0))
    }

    fn user_agent(&self) -> Option<&str> {
        self.data_opt::<RequestContext>()
            .and_then(|request| request.user_agent.as_deref())
    }

    fn sign_in_throttle(&self) -> &SignInThrottle {
        self.data_unchecked::<SignInThrottle>()
    }

    fn paging<'a>(
        &self,
        first: Option<i32>,
        after: Option<&'a CursorText>,
    ) -> Result<Paging<'a>, ApiError> {
        Paging::new(first, after, self.config().limits.page_size)
    }
}

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
            fn idempotency_key(&self) -> Option<$crate::text::IdempotencyKeyText> {
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
/// ([`domain::db::retrying`]); if every attempt conflicts the answer is CONFLICT_RETRY, never
/// INTERNAL. Each resolver is then its input, one domain call and its payload.
/// The key is scoped to the operation by the resolver's field name.
pub(crate) async fn run_mutation<I, P>(
    ctx: &Context<'_>,
    input: I,
    act: impl AsyncFnOnce(&sea_orm::DatabaseTransaction, Acting<'_>, I) -> Result<Done<P>, ApiError>
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

/// Runs `attempt`, one whole transaction, again while the database aborts it for a transient
/// conflict with another ([`domain::db::retrying`]); when the last attempt still conflicts,
/// the error is CONFLICT_RETRY, for the client to send the request again a moment later.
pub(crate) async fn in_transaction<T, Attempt>(
    operation: &str,
    attempt: impl FnMut() -> Attempt,
) -> Result<T, ApiError>
where
    Attempt: Future<Output = Result<T, ApiError>>,
{
    domain::db::retrying(operation, ApiError::is_transient_conflict, attempt)
        .await
        .map_err(|error| {
            if error.is_transient_conflict() {
                tracing::warn!(operation, error = ?error, "a transaction kept conflicting");
                ApiError::ConflictRetry {
                    retry_after_seconds: 1,
                }
            } else {
                error
            }
        })
}

/// Queues the committed outbox rows without making the client wait; if the queue is down the
/// rows stay PENDING and the relay delivers them later.
fn hand_over(ctx: &Context<'_>, outbox_ids: Vec<uuid::Uuid>) {
    if outbox_ids.is_empty() {
        return;
    }
    let (db, queue) = (ctx.writer().clone(), ctx.queue().clone());
    tokio::spawn(async move {
        if let Err(error) = worker::relay::hand_over(&db, &queue, &outbox_ids).await {
            tracing::warn!(%error, "handing jobs to the queue failed; the relay will retry");
        }
    });
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
    ) -> Result<Begun<P>, ApiError>
    where
        P: Payload + DeserializeOwned,
    {
        let principal = ctx.principal()?;
        let key = IdempotencyKey::new(principal, operation, key, input)?;
        let txn = ctx.writer().begin().await?;
        let claimed = match &key {
            Some(key) => key.claim(&txn, Utc::now()).await,
            None => Ok(Claim::Fresh),
        };
        let answer = match claimed {
            Ok(Claim::Fresh) => return Ok(Begun::Fresh(MutationTxn { txn, key })),
            Ok(Claim::Replay(answer)) => serde_json::from_value(answer)
                .map_err(|error| ApiError::internal("reading a stored answer", error)),
            Err(ApiError::Rejected(errors)) => Ok(P::rejected(
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
    async fn rollback(self) -> Result<(), ApiError> {
        self.txn.rollback().await?;
        Ok(())
    }

    /// Rolls back a refused or failed mutation (its key claim too) and answers why.
    async fn refuse<P: Payload>(self, error: ApiError) -> async_graphql::Result<P> {
        self.txn.rollback().await.map_err(ApiError::from)?;
        respond(Err(error), |()| P::default())
    }

    /// Stores the answer under the idempotency key and commits, both or neither.
    async fn commit<P: Serialize>(self, payload: &P) -> Result<(), ApiError> {
        if let Some(key) = &self.key {
            let answer = serde_json::to_value(payload)
                .map_err(|error| ApiError::internal("storing the answer", error))?;
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
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
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

    fn deadlock() -> ApiError {
        ApiError::Database(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(
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
        let answer: Result<(), ApiError> = in_transaction("test", || {
            attempts.fetch_add(1, Ordering::Relaxed);
            async { Err(deadlock()) }
        })
        .await;
        let error = answer.expect_err("it never succeeds");
        assert_eq!(error.code(), "CONFLICT_RETRY");
        assert!(matches!(
            error,
            ApiError::ConflictRetry {
                retry_after_seconds: 1
            }
        ));
        assert_eq!(
            attempts.load(Ordering::Relaxed),
            domain::db::CONFLICT_ATTEMPTS
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

    /// `schema.graphql` at the repository root is what clients and reviewers read; it must be
    /// the schema the code serves. `UPDATE_SCHEMA=1 cargo test -p api` rewrites it.
    #[test]
    fn schema_file_matches_the_code() {
        let sdl = schema_builder(&Config::embedded())
            .finish()
            .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by());
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &sdl).unwrap();
        }
        let file = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            file == sdl,
            "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p api` and commit it"
        );
    }
}
