//! The integration suite: the real HTTP/GraphQL surface, on PostgreSQL and on SQLite.

mod access;
mod api_keys;
mod audit;
mod audit_log;
mod browser;
mod contacts;
mod flows;
mod fuzz;
mod health;
mod hostile;
mod http_conventions;
mod idempotency;
mod invitations;
mod limits;
mod members;
mod metrics;
mod offboarding;
mod ownership;
mod pipeline;
mod preview;
mod progress;
mod races;
mod restore;
mod rules;
mod sessions;
mod support;
