//! The data model shared by the api and the worker (DESIGN §2).
//!
//! Entities are plain SeaORM models; GraphQL types live in the api crate and are converted
//! from these, so the schema never leaks a column by accident.

pub mod api_key;
pub mod application;
pub mod audit_entry;
pub mod campaign;
pub mod creative;
pub mod enums;
pub mod group_membership;
pub mod idempotency_key;
pub mod ids;
pub mod invitation;
pub mod invitation_email_link;
pub mod job_event;
pub mod member_count;
pub mod membership;
pub mod offboarding;
pub mod organization;
pub mod organization_owner;
pub mod outbox;
pub mod rule;
pub mod scim_account;
pub mod scim_token;
pub mod session;
pub mod token_activity;
pub mod user;
pub mod user_group;
pub mod workspace;

pub use enums::{AuditAction, MembershipStatus, OffboardingKind, OutboxStatus, Role, UserKind};
pub use ids::{OrganizationId, UserId, WorkspaceId};
