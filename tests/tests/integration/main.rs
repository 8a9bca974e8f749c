//! The integration suite: the real HTTP/GraphQL surface, on PostgreSQL and on SQLite.

mod access;
mod audit;
mod health;
mod invitations;
mod limits;
mod members;
mod offboarding;
mod support;
