//! The one place where errors become what a client sees.
//!
//! Every GraphQL error leaves with an `extensions.code`. Errors raised by our code carry an
//! [`RuleError`]; anything else with a source (a database error that slipped through with `?`)
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

use rules::error::{RuleError, is_statement_timeout};

use crate::graphql::types::field_refusal;

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

/// The `extensions.code` of a rule's error.
pub fn code(error: &RuleError) -> &'static str {
    match error {
        RuleError::Unauthenticated => "UNAUTHENTICATED",
        RuleError::Forbidden(_) => "FORBIDDEN",
        RuleError::NotFound(_) | RuleError::WorkspaceNotFound(_) => "NOT_FOUND",
        RuleError::BadUserInput { .. } => "BAD_USER_INPUT",
        RuleError::Rejected(_) => "REJECTED",
        RuleError::RateLimited { .. } => "RATE_LIMITED",
        RuleError::ConflictRetry { .. } => "CONFLICT_RETRY",
        RuleError::Database(_) | RuleError::Internal { .. } => "INTERNAL",
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
    let (retry_after, timed_out) = match error.source::<RuleError>() {
        Some(
            RuleError::RateLimited {
                retry_after_seconds,
            }
            | RuleError::ConflictRetry {
                retry_after_seconds,
            },
        ) => (Some(*retry_after_seconds), false),
        Some(RuleError::Database(database)) => (None, is_statement_timeout(database)),
        Some(_) => (None, false),
        None => (
            None,
            error.source::<DbErr>().is_some_and(is_statement_timeout),
        ),
    };
    if let Some(seconds) = retry_after {
        error
            .extensions
            .get_or_insert_default()
            .set("retryAfter", seconds);
    }
    let code = if timed_out {
        tracing::warn!(path = ?error.path, "a statement ran past the statement timeout");
        error.message =
            "the request took longer than the database allows: ask for less at once".to_owned();
        "TIMEOUT"
    } else if let Some(api_error) = error.source::<RuleError>() {
        let code = code(api_error);
        let field_at_fault = match api_error {
            RuleError::BadUserInput {
                field: Some(field),
                problem,
            } => Some(field_refusal(field, problem)),
            _ => None,
        };
        if code == "INTERNAL" {
            tracing::error!(error = ?api_error, path = ?error.path, "request failed");
            error.message = INTERNAL_MESSAGE.to_owned();
        }
        if let Some((field, message)) = field_at_fault {
            error.message = message;
            error.extensions.get_or_insert_default().set("field", field);
        }
        code
    } else if error.source.is_some() {
        tracing::error!(message = %error.message, path = ?error.path, "request failed");
        error.message = INTERNAL_MESSAGE.to_owned();
        "INTERNAL"
    } else if let Some((field, message)) = refused_text(&error.message) {
        let (field, message) = (field.to_owned(), message.to_owned());
        let extensions = error.extensions.get_or_insert_default();
        if extensions.get("field").is_none() {
            extensions.set("field", field);
        }
        error.message = message;
        "BAD_USER_INPUT"
    } else {
        engine_code(&error.message)
    };
    error.extensions.get_or_insert_default().set("code", code);
}

/// A refused free text (`rules::text::TextError`) as the engine words it — `Failed to parse
/// "String": `field` … (occurred while parsing "SomeInput")` — split into its field and our own
/// message, which is all the client needs. A field whose complexity reads its arguments has them
/// parsed during validation, where the engine keeps only this message, not `extensions.field`.
fn refused_text(message: &str) -> Option<(&str, &str)> {
    let ours = message.strip_prefix("Failed to parse \"String\": ")?;
    let ours = ours
        .split_once(" (occurred while parsing")
        .map_or(ours, |(ours, _)| ours);
    let field = ours.strip_prefix('`')?.split_once('`')?.0;
    Some((field, ours))
}

/// Codes for the errors the GraphQL engine raises by itself, recognised by their fixed text.
fn engine_code(message: &str) -> &'static str {
    if message == "Query is nested too deep." || message.starts_with("The recursion depth") {
        "QUERY_TOO_DEEP"
    } else if message == "Query is too complex."
        || message.starts_with(crate::graphql::budget::BATCH_TOO_COMPLEX)
    {
        "QUERY_TOO_COMPLEX"
    } else if message.starts_with("The number of directives") {
        "TOO_MANY_DIRECTIVES"
    } else if message == "PersistedQueryNotFound" {
        // The code Apollo Client looks for before it sends the whole query.
        "PERSISTED_QUERY_NOT_FOUND"
    } else if message == crate::graphql::http::MUTATION_OVER_GET {
        "METHOD_NOT_ALLOWED"
    } else {
        "BAD_USER_INPUT"
    }
}

#[cfg(test)]
mod tests {
    use super::refused_text;

    #[test]
    fn a_refused_text_keeps_only_our_message_and_its_field() {
        let engine = "Failed to parse \"String\": `reason` must be at most 1000 characters (occurred while parsing \"RemoveMembersInput\")";
        assert_eq!(
            refused_text(engine),
            Some(("reason", "`reason` must be at most 1000 characters"))
        );
        assert_eq!(
            refused_text("Failed to parse \"String\": `email` is not an email address"),
            Some(("email", "`email` is not an email address"))
        );
        assert_eq!(
            refused_text("Failed to parse \"UUID\": invalid length"),
            None
        );
        assert_eq!(refused_text("Unknown field \"viewr\""), None);
    }
}
