//! What the HTTP layer needs to know about an operation before running it: whether it only
//! introspects the schema, and whether a GET request tries to change anything.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{ServerError, ServerResult, Variables};

/// Whether the operation to run selects nothing but `__schema`, `__type` and `__typename` at its
/// root. Such an operation reads only the schema, never our data, so it may go deeper than
/// ordinary queries: GraphiQL's and codegen's introspection query nests `ofType` well past the
/// depth limit. A root fragment or an unparsable document counts as not introspection.
pub fn is_introspection_only(query: &str, operation_name: Option<&str>) -> bool {
    if !query.contains("__schema") && !query.contains("__type") {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => {
            match operations.iter().find(|(n, _)| n.as_str() == name) {
                Some((_, operation)) => operation,
                None => return false,
            }
        }
        // A document of one named operation runs it without naming it.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            match operations.values().next() {
                Some(operation) => operation,
                None => return false,
            }
        }
        (DocumentOperations::Multiple(_), None) => return false,
    };
    let operation = &operation.node;
    operation.ty == OperationType::Query
        && operation
            .selection_set
            .node
            .items
            .iter()
            .all(|selection| match &selection.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                _ => false,
            })
}

/// Marks a request that came by GET: per GraphQL over HTTP, it may only run queries.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnly;

pub const MUTATION_OVER_GET: &str =
    "mutations and subscriptions can't be sent with GET: use POST /graphql";

/// Refuses a GET request whose document holds anything but queries. It checks the parsed
/// document, so a persisted query sent by its hash alone is checked as well.
pub struct QueriesOnlyOverGet;

impl ExtensionFactory for QueriesOnlyOverGet {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueriesOnlyOverGet)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueriesOnlyOverGet {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if ctx.data_opt::<ReadOnly>().is_some()
            && document
                .operations
                .iter()
                .any(|(_, operation)| operation.node.ty != OperationType::Query)
        {
            return Err(ServerError::new(MUTATION_OVER_GET, None));
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::is_introspection_only;

    #[test]
    fn only_root_selections_of_the_schema_count_as_introspection() {
        assert!(is_introspection_only(
            "query IntrospectionQuery { __schema { types { name } } }",
            None
        ));
        assert!(is_introspection_only(
            "{ __type(name: \"Member\") { name } __typename }",
            None
        ));
        assert!(!is_introspection_only(
            "{ __schema { queryType { name } } viewer { role } }",
            None
        ));
        assert!(!is_introspection_only("mutation { __typename }", None));
        assert!(!is_introspection_only(
            "{ ...F } fragment F on Query { __schema { description } }",
            None
        ));
        assert!(!is_introspection_only("{ __schema { description", None));
        let two = "query A { __schema { description } } query B { viewer { role } }";
        assert!(is_introspection_only(two, Some("A")));
        assert!(!is_introspection_only(two, Some("B")));
        assert!(!is_introspection_only(two, None));
    }
}
