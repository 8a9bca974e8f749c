//! The offboarding rules, free of any wire protocol: who may act ([`access`]), members,
//! invitations and seats ([`people`]), organizations, their owners and workspaces, and the
//! first start ([`organizations`]), removal, deactivation and what follows them
//! ([`offboarding`]), and the audit trail's reading side ([`audit`]). Each rule is a plain
//! function over a SeaORM connection or transaction; the GraphQL API and any other door call
//! them and translate [`RuleError`] into their own answers.

pub mod access;
pub mod audit;
pub mod demo;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod lists;
pub mod offboarding;
pub mod organizations;
pub mod people;
pub mod provisioning;
pub mod security;
pub mod side_effects;
pub mod text;

pub use error::{RuleError, UserError, UserErrorCode};
