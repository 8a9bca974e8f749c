//! The integration suite: the real HTTP/GraphQL surface, on PostgreSQL and on SQLite.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

mod access;
mod api_keys;
mod audit;
mod audit_log;
mod authorization;
mod bootstrap;
mod browser;
mod concurrency;
mod contacts;
mod fuzz;
mod graphql_over_http;
mod groups;
mod health;
mod hostile;
mod http_conventions;
mod idempotency;
mod invitations;
mod limits;
mod member_detail;
mod members;
mod metrics;
mod offboarding;
mod ownership;
mod people_page;
mod pipeline;
mod preview;
mod progress;
mod races;
mod readme;
mod restore;
mod roles;
mod rules;
mod scim;
mod scim_accounts;
mod scim_groups;
mod scim_provisioning;
mod scim_tokens;
mod sessions;
mod status_preview;
mod support;
mod workspaces;
