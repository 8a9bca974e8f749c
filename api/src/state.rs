//! What every request handler reads: the schema, the connections, the caches and the
//! configuration, built once by `startup`.

use std::sync::Arc;

use rules::access::PrincipalCache;
use rules::access::activity::TokenActivity;
use rules::access::throttle::ScimThrottle;
use sea_orm::DatabaseConnection;
use worker::JobQueue;

use crate::graphiql;
use crate::graphql::AppSchema;
use crate::settings::Settings;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) schema: AppSchema,
    /// Answers introspection-only operations, past the depth limit (None: introspection off).
    pub(crate) introspection: Option<AppSchema>,
    /// The GraphiQL page (None: GraphiQL off).
    pub(crate) graphiql: Option<Arc<graphiql::Pages>>,
    /// Authenticates requests: reads only.
    pub(crate) reader: DatabaseConnection,
    /// The principals of recently seen tokens, used while their workspace's access is unchanged.
    pub(crate) principals: Arc<PrincipalCache>,
    /// Writes when sessions and API keys were last used, at most once a minute each.
    pub(crate) activity: Arc<TokenActivity>,
    /// For the writes above, which happen beside a request, not in it.
    pub(crate) writer: DatabaseConnection,
    pub(crate) queue: JobQueue,
    pub(crate) config: Arc<Settings>,
    /// Each SCIM token's allowance of requests.
    pub(crate) scim_throttle: Arc<ScimThrottle>,
    /// Renders `GET /metrics` (None: METRICS_ENABLED=false).
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
}
