//! Translates between GraphQL and the domain services; holds no rules of its own.

mod access;
mod audit;
mod audit_sentence;
pub mod budget;
mod consequences;
mod contacts;
pub mod errors;
pub mod http;
mod ids;
mod invitations;
mod mutation;
mod offboarding;
mod offboarding_mutation;
mod organizations;
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
use chrono::Utc;
use sea_orm::DatabaseConnection;
use worker::JobQueue;

use crate::graphql::text::CursorText;
use crate::settings::Settings;
use rules::access::Principal;
use rules::access::throttle::SignInThrottle;
use rules::error::RuleError;
use rules::lists::Paging;

pub(crate) use mutation::{
    Done, MutationInput, commit_if_ok, in_transaction, mutation_inputs, run_mutation,
};

#[derive(MergedObject, Default)]
pub struct Query(
    access::AccessQuery,
    people::PeopleQuery,
    invitations::InvitationsQuery,
    offboarding::OffboardingQuery,
    preview::PreviewQuery,
    audit::AuditQuery,
    organizations::OrganizationsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    access::AccessMutation,
    people::PeopleMutation,
    invitations::InvitationsMutation,
    offboarding_mutation::OffboardingMutation,
    contacts::ContactsMutation,
    organizations::OrganizationsMutation,
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
fn described_types(config: &Settings) -> SchemaBuilder<Query, Mutation, Subscription> {
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
pub fn schema_builder(config: &Settings) -> SchemaBuilder<Query, Mutation, Subscription> {
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
pub fn build_introspection_schema(config: &Settings) -> Option<AppSchema> {
    config
        .introspection
        .then(|| described_types(config).finish())
}

/// The connections queries read through ([`platform::db::connect_reader`]).
#[derive(Clone)]
pub struct Reader(pub DatabaseConnection);

pub fn build_schema(
    config: &Settings,
    db: DatabaseConnection,
    reader: Reader,
    queue: JobQueue,
) -> AppSchema {
    schema_builder(config)
        .data(db)
        .data(reader)
        .data(queue)
        .data(SignInThrottle::new(
            config.limits.sign_ins_per_email_per_hour,
            config.limits.sign_ins_per_address_per_minute,
        ))
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
    fn config(&self) -> &Settings;
    fn principal(&self) -> Result<&Principal, RuleError>;
    fn request_id(&self) -> Option<&str>;
    fn client_address(&self) -> Option<std::net::IpAddr>;
    fn user_agent(&self) -> Option<&str>;
    fn sign_in_throttle(&self) -> &SignInThrottle;
    /// A list query's `first` and `after`, `first` checked against the configured page size.
    fn paging<'a>(
        &self,
        first: Option<i32>,
        after: Option<&'a CursorText>,
    ) -> Result<Paging<'a>, RuleError>;
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

    fn config(&self) -> &Settings {
        self.data_unchecked::<Settings>()
    }

    fn principal(&self) -> Result<&Principal, RuleError> {
        self.data_opt::<RequestContext>()
            .and_then(|request| request.principal.as_ref())
            .ok_or(RuleError::Unauthenticated)
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
    ) -> Result<Paging<'a>, RuleError> {
        Paging::new(
            first,
            after.map(|after| &**after),
            self.config().limits.page_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// `schema.graphql` at the repository root is what clients and reviewers read; it must be
    /// the schema the code serves. `UPDATE_SCHEMA=1 cargo test -p api` rewrites it.
    #[test]
    fn schema_file_matches_the_code() {
        let sdl = schema_builder(&Settings::default())
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
