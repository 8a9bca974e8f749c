//! What one HTTP request may cost, beyond the depth and complexity the schema checks before
//! anything runs: the member ids it names, across all its aliases and batched operations, and
//! how many of its top-level fields run at once (each may hold a database connection), so that
//! one request can't take the whole pool from everyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, NextValidation,
    ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Context, ServerError, ServerResult, ValidationResult, Value, Variables};
use tokio::sync::Semaphore;

use crate::graphql::RequestContext;
use crate::settings::Limits;
use rules::error::RuleError;

/// In a field's complexity, a list of ids costs one point per this many ids. With the default
/// limit of 1,000 points, one call over 10,000 ids fits (500 points) and two don't.
pub const IDS_PER_POINT: usize = 20;

/// The complexity a list of `count` ids adds to its field.
pub fn id_list_cost(count: usize) -> usize {
    count.div_ceil(IDS_PER_POINT)
}

/// One HTTP request's allowance, shared by its operations.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    ids_limit: usize,
    ids_named: Arc<AtomicUsize>,
    fields: Arc<Semaphore>,
    complexity_limit: usize,
    complexity_spent: Arc<AtomicUsize>,
    /// Whether an operation of the request is a mutation (see [`RequestBudget::changes`]).
    changes: Arc<AtomicBool>,
}

impl RequestBudget {
    pub fn new(limits: &Limits) -> RequestBudget {
        RequestBudget {
            ids_limit: limits.ids_per_request,
            ids_named: Arc::new(AtomicUsize::new(0)),
            fields: Arc::new(Semaphore::new(limits.fields_at_once.max(1))),
            complexity_limit: limits.query_complexity,
            complexity_spent: Arc::new(AtomicUsize::new(0)),
            changes: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the request sent a mutation: its answer goes out whole, however long, since a
    /// refusal would hide from the client what was done.
    pub fn changes(&self) -> bool {
        self.changes.load(Ordering::SeqCst)
    }

    /// Counts an operation's complexity against the request: the limit that bounds one
    /// operation bounds a whole batch, or ten operations would cost ten times it. Refuses (counting
    /// nothing) an operation that would take the request past it.
    pub fn spend_complexity(&self, complexity: usize) -> Result<(), String> {
        let limit = self.complexity_limit;
        self.complexity_spent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |spent| {
                spent
                    .checked_add(complexity)
                    .filter(|total| *total <= limit)
            })
            .map(|_| ())
            .map_err(|spent| {
                format!(
                    "{BATCH_TOO_COMPLEX}: its operations together cost {}, over the limit of \
                     {limit}; send them in separate requests",
                    spent.saturating_add(complexity)
                )
            })
    }

    /// Counts `count` more ids against the request, or refuses them (counting nothing) when
    /// the request would name more than the limit.
    pub fn spend_ids(&self, count: usize) -> Result<(), RuleError> {
        let limit = self.ids_limit;
        self.ids_named
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |named| {
                named.checked_add(count).filter(|total| *total <= limit)
            })
            .map(|_| ())
            .map_err(|named| {
                RuleError::bad_request(format!(
                    "one request may name at most {limit} member ids across its aliases and \
                     batched operations; this one names {}: send them in separate requests",
                    named.saturating_add(count)
                ))
            })
    }
}

/// Charges ids to the request the resolver runs in; a WebSocket operation has no budget of its
/// own (subscriptions take no id lists).
pub fn spend_ids(ctx: &Context<'_>, count: usize) -> Result<(), RuleError> {
    match ctx.data_opt::<RequestContext>() {
        Some(request) => request.budget.spend_ids(count),
        None => Ok(()),
    }
}

/// The start of the message of an operation refused by [`RequestBudget::spend_complexity`].
pub const BATCH_TOO_COMPLEX: &str = "The batch is too complex";

/// Charges each operation's complexity, once validated, to the request it came in, and notes a
/// mutation among its operations.
pub struct BatchCost;

impl ExtensionFactory for BatchCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(BatchCost)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for BatchCost {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutates = document
            .operations
            .iter()
            .any(|(_, operation)| operation.node.ty == OperationType::Mutation);
        if let Some(request) = ctx.data_opt::<RequestContext>().filter(|_| mutates) {
            request.budget.changes.store(true, Ordering::SeqCst);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = next.run(ctx).await?;
        if let Some(request) = ctx.data_opt::<RequestContext>() {
            request
                .budget
                .spend_complexity(validated.complexity)
                .map_err(|message| vec![ServerError::new(message, None)])?;
        }
        Ok(validated)
    }
}

/// Lets a request's top-level fields (aliases included) run only a few at a time; each runs
/// whole, children too, before its slot frees.
pub struct FieldsAtOnce;

impl ExtensionFactory for FieldsAtOnce {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldsAtOnce)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for FieldsAtOnce {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Every field of every request passes here: nested ones go straight on.
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        let slots = ctx
            .data_opt::<RequestContext>()
            .map(|request| request.budget.fields.clone());
        let _slot = match slots {
            Some(slots) => Some(slots.acquire_owned().await),
            None => None,
        };
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(ids: usize, fields: usize) -> RequestBudget {
        RequestBudget::new(&Limits {
            ids_per_request: ids,
            fields_at_once: fields,
            ..Limits::default()
        })
    }

    #[test]
    fn ids_are_counted_across_calls_and_a_refusal_counts_nothing() {
        let budget = budget(100, 2);
        budget.spend_ids(60).unwrap();
        let shared = budget.clone();
        assert!(matches!(
            shared.spend_ids(41),
            Err(RuleError::BadUserInput { .. })
        ));
        shared.spend_ids(40).unwrap();
        assert!(budget.spend_ids(1).is_err());
    }

    #[test]
    fn id_lists_cost_a_point_per_twenty_ids() {
        assert_eq!(id_list_cost(0), 0);
        assert_eq!(id_list_cost(1), 1);
        assert_eq!(id_list_cost(20), 1);
        assert_eq!(id_list_cost(10_000), 500);
    }

    /// Top-level fields queue for the request's slots: never more than two run at once.
    #[tokio::test]
    async fn a_request_runs_at_most_its_slots_of_fields_at_once() {
        use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
        use std::time::Duration;

        #[derive(Default)]
        struct Running {
            now: AtomicUsize,
            most: AtomicUsize,
        }
        struct Query;
        #[Object]
        impl Query {
            async fn slow(&self, ctx: &Context<'_>) -> bool {
                let running = ctx.data_unchecked::<Arc<Running>>();
                let now = running.now.fetch_add(1, Ordering::SeqCst) + 1;
                running.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.now.fetch_sub(1, Ordering::SeqCst);
                true
            }
        }
        let running = Arc::new(Running::default());
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(FieldsAtOnce)
            .data(running.clone())
            .finish();
        let query: String = (0..8).map(|i| format!("a{i}: slow ")).collect();
        let request = async_graphql::Request::new(format!("{{ {query} }}")).data(RequestContext {
            principal: None,
            request_id: None,
            client_address: None,
            user_agent: None,
            budget: budget(10, 2),
        });
        let response = schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(running.most.load(Ordering::SeqCst), 2);

        // Without the extension the same query runs all eight at once: the test can tell.
        let unlimited = Arc::new(Running::default());
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .data(unlimited.clone())
            .finish();
        schema.execute(format!("{{ {query} }}")).await;
        assert_eq!(unlimited.most.load(Ordering::SeqCst), 8);
    }
}
