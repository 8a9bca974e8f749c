//! Translates between GraphQL and the domain services; holds no rules of its own.

mod access;
pub mod errors;
mod offboarding;
mod people;
mod types;

use async_graphql::{Context, EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;
use worker::JobQueue;

use crate::access::Principal;
use crate::config::Config;
use crate::error::ApiError;

#[derive(MergedObject, Default)]
pub struct Query(
    access::AccessQuery,
    people::PeopleQuery,
    offboarding::OffboardingQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    access::AccessMutation,
    people::PeopleMutation,
    offboarding::OffboardingMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema's types and limits, without runtime data: what `schema.graphql` is made from.
pub fn schema_builder(config: &Config) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let limits = &config.limits;
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(limits.query_depth)
        .limit_complexity(limits.query_complexity)
        .limit_directives(limits.directives_per_field)
        .extension(errors::ErrorCodes);
    if config.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

pub fn build_schema(config: &Config, db: DatabaseConnection, queue: JobQueue) -> AppSchema {
    schema_builder(config)
        .data(db)
        .data(queue)
        .data(config.clone())
        .finish()
}

/// What the HTTP layer learned about the request before GraphQL runs.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `None` when no valid token was sent.
    pub principal: Option<Principal>,
    pub request_id: Option<String>,
}

pub(crate) trait ContextExt {
    fn db(&self) -> &DatabaseConnection;
    fn queue(&self) -> &JobQueue;
    fn config(&self) -> &Config;
    fn principal(&self) -> Result<&Principal, ApiError>;
    fn request_id(&self) -> Option<&str>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> &DatabaseConnection {
        self.data_unchecked::<DatabaseConnection>()
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

    /// `schema.graphql` at the repository root is what clients and reviewers read; it must be
    /// the schema the code serves. `UPDATE_SCHEMA=1 cargo test -p api` rewrites it.
    #[test]
    fn schema_file_matches_the_code() {
        let sdl = schema_builder(&Config::embedded()).finish().sdl();
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
