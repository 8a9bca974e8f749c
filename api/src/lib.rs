//! The offboarding service's API: configuration, the HTTP server, the GraphQL schema and the
//! domain rules behind it. `main.rs` only reads the configuration and runs [`Application`].

pub mod access;
pub mod audit;
pub mod config;
pub mod demo;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod healthcheck;
pub mod idempotency;
pub mod metrics;
pub mod offboarding;
pub mod people;
pub mod people_page;
pub mod security;
pub mod startup;
pub mod text;
pub mod web;

pub use config::Config;
pub use error::ApiError;
pub use startup::Application;
