//! The one place where errors become what a client sees.
//!
//! Every GraphQL error leaves with an `extensions.code`. Errors raised by our code carry an
//! [`ApiError`]; anything else with a source (a database error that slipped through with `?`)
//! is INTERNAL, its detail logged and never sent, except a statement cancelled by PostgreSQL's
//! statement timeout, which is TIMEOUT. Errors without a source come from the
//! GraphQL engine itself: the query limits get their own codes, the rest (syntax, unknown
//! fields, malformed values such as a bad UUID) are BAD_USER_INPUT.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::futures_util::StreamExt;
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Response, ServerError};

use sea_orm::DbErr;

use crate::error::{ApiError, is_statement_timeout};

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            assign_code(error);
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                for error in &mut response.errors {
                    assign_code(error);
                }
                response
            })
            .boxed()
    }
}

pub const INTERNAL_MESSAGE: &str = "internal error; the details are in the server's log";

fn assign_code(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some())
    {
        return;
    }
    let retry_after = match error.source::<ApiError>() {
        Some(ApiError::RateLimited {
            retry_after_seconds,
        }) => Some(*retry_after_seconds),
        _ => None,
    };
    if let Some(seconds) = retry_after {
        error
            .extensions
            .get_or_insert_default()
            .set("retryAfter", seconds);
    }
    let timed_out = match error.source::<ApiError>() {
        Some(ApiError::Database(database)) => is_statement_timeout(database),
        Some(_) => false,
        None => error.source::<DbErr>().is_some_and(is_statement_timeout),
    };
    let code = if timed_out {
        tracing::warn!(path = ?error.path, "a statement ran past the statement timeout");
        error.message =
            "the request took longer than the database allows: ask for less at once".to_owned();
        "TIMEOUT"
    } else if let Some(api_error) = error.source::<ApiError>() {
        let code = api_error.code();
        if code == "INTERNAL" {
            tracing::error!(error = ?api_error, path = ?error.path, "request failed");
            error.message = INTERNAL_MESSAGE.to_owned();
        }
        code
    } else if error.source.is_some() {
        tracing::error!(message = %error.message, path = ?error.path, "request failed");
        error.message = INTERNAL_MESSAGE.to_owned();
        "INTERNAL"
    } else {
        if let Some(field) = refused_text_field(&error.message) {
            let extensions = error.extensions.get_or_insert_default();
            if extensions.get("field").is_none() {
                extensions.set("field", field);
            }
        }
        engine_code(&error.message)
    };
    error.extensions.get_or_insert_default().set("code", code);
}

/// The field a refused free text arrived in. A field whose complexity reads its arguments has
/// them parsed during validation, where the engine keeps only the message of the refusal
/// (`crate::text::TextError`, "`field` …"), not its `extensions.field`.
fn refused_text_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Failed to parse \"String\": `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// Codes for the errors the GraphQL engine raises by itself, recognised by their fixed text.
fn engine_code(message: &str) -> &'static str {
    if message == "Query is nested too deep." || message.starts_with("The recursion depth") {
        "QUERY_TOO_DEEP"
    } else if message == "Query is too complex." {
        "QUERY_TOO_COMPLEX"
    } else if message.starts_with("The number of directives") {
        "TOO_MANY_DIRECTIVES"
    } else {
        "BAD_USER_INPUT"
    }
}
