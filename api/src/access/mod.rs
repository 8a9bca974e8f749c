//! Who is calling: sessions, API keys, and the permission rules that follow from a role.

pub mod activity;
pub mod api_keys;
pub mod cache;
pub mod principal;
pub mod sessions;
pub mod throttle;

pub use cache::PrincipalCache;
pub use principal::{Actor, Permission, Principal, authenticate};

/// Who acts, for which request, at what instant: what every change checks and records.
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    pub principal: &'a Principal,
    /// The request's `x-request-id`, kept in the audit entries.
    pub request_id: Option<&'a str>,
    pub now: chrono::DateTime<chrono::Utc>,
}
