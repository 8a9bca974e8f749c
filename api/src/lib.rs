//! The offboarding service's API: configuration, the HTTP server, and the GraphQL schema that
//! translates between clients and the `rules` crate. `main.rs` only reads the configuration and
//! runs [`Application`].

mod changes;
pub mod cli;
pub mod graphiql;
pub mod graphql;
mod handlers;
pub mod healthcheck;
pub mod metrics;
mod middleware;
mod over_http;
pub mod people_page;
mod scim;
pub mod settings;
pub mod startup;
mod state;
pub mod web;
pub mod welcome;

pub use settings::Settings;
pub use startup::Application;
