//! One `info` line per GraphQL operation: what ran, how it ended, how long it took, who asked
//! (the kind of principal, never a token) and the request id — what an operator greps for —
//! and the same as metrics (`graphql_requests_total`, `graphql_request_duration_seconds`).
//! The operation runs in a span of its own, named like its metric label, which traces show.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use std::any::TypeId;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Request, Response, ServerResult, Value, Variables};
use tracing::Instrument;

use crate::graphql::RequestContext;
use rules::access::Actor;

pub struct RequestLog;

impl ExtensionFactory for RequestLog {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLogLine::default())
    }
}

#[derive(Default)]
struct RequestLogLine {
    /// Each operation of the document: its name, if it has one, and its kind and root fields.
    parsed: Mutex<Vec<(Option<String>, String)>>,
    /// The operation that ran, once the document passed validation: (its name or its kind and
    /// fields, its kind and fields). Only then do the fields name metrics: the schema bounds
    /// them, where a document that failed validation may name anything.
    executed: Mutex<Option<(String, String)>>,
    /// Who asked and the request id, read from the request's data before it runs.
    caller: Mutex<Caller>,
}

#[derive(Clone)]
struct Caller {
    principal: &'static str,
    request_id: Option<String>,
}

impl Default for Caller {
    fn default() -> Self {
        Caller {
            principal: "anonymous",
            request_id: None,
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLogLine {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let caller = self
            .caller
            .lock()
            .map(|caller| caller.clone())
            .unwrap_or_default();
        let executed = self
            .executed
            .lock()
            .ok()
            .and_then(|executed| executed.clone());
        let (operation, label) = match executed {
            Some((operation, fields)) => (operation, fields),
            // Refused before it ran: logged as parsed, counted under "-".
            None => {
                let parsed = self
                    .parsed
                    .lock()
                    .ok()
                    .and_then(|parsed| parsed.first().map(|(_, fields)| fields.clone()));
                (parsed.unwrap_or_else(|| "-".to_owned()), "-".to_owned())
            }
        };
        let outcome = outcome(&response);
        let seconds = started.elapsed().as_secs_f64();
        metrics::counter!(
            "graphql_requests_total",
            "operation" => label.clone(),
            "outcome" => outcome.clone(),
        )
        .increment(1);
        metrics::histogram!("graphql_request_duration_seconds", "operation" => label)
            .record(seconds);
        tracing::info!(
            operation,
            outcome,
            duration_ms = seconds * 1_000.0,
            request_id = caller.request_id.as_deref(),
            principal = caller.principal,
            "graphql request"
        );
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let context = request
            .data
            .get(&TypeId::of::<RequestContext>())
            .and_then(|data| data.downcast_ref::<RequestContext>());
        if let (Some(context), Ok(mut caller)) = (context, self.caller.lock()) {
            *caller = Caller {
                principal: match context.principal.as_ref().map(|principal| principal.actor) {
                    None => "anonymous",
                    Some(Actor::User(_)) => "session",
                    Some(Actor::ApiKey(_)) => "api_key",
                    Some(Actor::ScimToken(_)) => "scim_token",
                },
                request_id: context.request_id.clone(),
            };
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut parsed) = self.parsed.lock() {
            *parsed = operations_of(&document);
        }
        Ok(document)
    }

    /// Reached once the document passed validation, with the operation that runs.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let ran = self.parsed.lock().ok().and_then(|parsed| {
            parsed
                .iter()
                .find(|(name, _)| operation_name.is_none() || name.as_deref() == operation_name)
                .map(|(name, fields)| {
                    (
                        name.clone().unwrap_or_else(|| fields.clone()),
                        fields.clone(),
                    )
                })
        });
        let span = tracing::info_span!(
            "graphql",
            otel.name = ran.as_ref().map(|(_, fields)| fields.as_str()),
            graphql.operation.name = operation_name,
        );
        if let (Some(ran), Ok(mut executed)) = (ran, self.executed.lock()) {
            *executed = Some(ran);
        }
        next.run(ctx, operation_name).instrument(span).await
    }
}

/// `ok`, `user_errors` (a payload refused the call), or the first error's code.
fn outcome(response: &Response) -> String {
    if let Some(error) = response.errors.first() {
        return error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map_or_else(
                || "error".to_owned(),
                |code| code.to_string().replace('"', ""),
            );
    }
    let refused = match &response.data {
        Value::Object(fields) => fields.values().any(|payload| match payload {
            Value::Object(payload) => {
                matches!(payload.get("userErrors"), Some(Value::List(errors)) if !errors.is_empty())
            }
            _ => false,
        }),
        _ => false,
    };
    if refused { "user_errors" } else { "ok" }.to_owned()
}

/// Root fields named in a metric label, at most; more are counted (`+2`).
const FIELDS_IN_A_LABEL: usize = 3;

/// Each operation's name, if it has one, and its kind and root fields, sorted and each once:
/// `mutation removeMembers`.
fn operations_of(document: &ExecutableDocument) -> Vec<(Option<String>, String)> {
    document
        .operations
        .iter()
        .map(|(name, operation)| {
            let kind = match operation.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            let mut fields: Vec<String> = operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .filter_map(|selection| match &selection.node {
                    Selection::Field(field) => Some(field.node.name.node.to_string()),
                    _ => None,
                })
                .collect();
            fields.sort();
            fields.dedup();
            let more = fields.len().saturating_sub(FIELDS_IN_A_LABEL);
            fields.truncate(FIELDS_IN_A_LABEL);
            let mut label = format!("{kind} {}", fields.join(","));
            if more > 0 {
                label.push_str(&format!(" +{more}"));
            }
            (name.map(|name| name.to_string()), label)
        })
        .collect()
}
