//! One `info` line per GraphQL operation: what ran, how it ended, how long it took, who asked
//! (the kind of principal, never a token) and the request id — what an operator greps for —
//! and the same as metrics (`graphql_requests_total`, `graphql_request_duration_seconds`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use std::any::TypeId;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Request, Response, ServerResult, Value, Variables};

use crate::access::Actor;
use crate::graphql::RequestContext;

pub struct RequestLog;

impl ExtensionFactory for RequestLog {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLogLine::default())
    }
}

#[derive(Default)]
struct RequestLogLine {
    /// The operation's name, or its kind and root fields when it has none.
    operation: Mutex<Option<String>>,
    /// Its kind and root fields (`mutation removeMembers`): the metrics' label, which the
    /// schema bounds (a client names its operations as it likes).
    fields: Mutex<Option<String>>,
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
        let operation = self
            .operation
            .lock()
            .map(|operation| operation.clone())
            .unwrap_or_default();
        let outcome = outcome(&response);
        let seconds = started.elapsed().as_secs_f64();
        let fields = self
            .fields
            .lock()
            .ok()
            .and_then(|fields| fields.clone())
            .unwrap_or_else(|| "-".to_owned());
        metrics::counter!(
            "graphql_requests_total",
            "operation" => fields.clone(),
            "outcome" => outcome.clone(),
        )
        .increment(1);
        metrics::histogram!("graphql_request_duration_seconds", "operation" => fields)
            .record(seconds);
        tracing::info!(
            operation = operation.as_deref().unwrap_or("-"),
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
        let (name, fields) = operation_of(&document);
        if let Ok(mut operation) = self.operation.lock() {
            *operation = Some(name.unwrap_or_else(|| fields.clone()));
        }
        if let Ok(mut kept) = self.fields.lock() {
            *kept = Some(fields);
        }
        Ok(document)
    }

    /// The operation that runs, when the document holds several and the request named one.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let (Some(name), Ok(mut operation)) = (operation_name, self.operation.lock()) {
            *operation = Some(name.to_owned());
        }
        next.run(ctx, operation_name).await
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

/// The operation's name, if it has one, and its kind and root fields:
/// `mutation removeMembers`.
fn operation_of(document: &ExecutableDocument) -> (Option<String>, String) {
    let Some((name, operation)) = document.operations.iter().next() else {
        return (None, "-".to_owned());
    };
    let kind = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let fields: Vec<String> = operation
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
    (
        name.map(|name| name.to_string()),
        format!("{kind} {}", fields.join(",")),
    )
}
