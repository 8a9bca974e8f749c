//! Who is calling: sessions, API keys, and the permission rules that follow from a role.

pub mod api_keys;
pub mod principal;
pub mod sessions;
pub mod throttle;

pub use principal::{Actor, Permission, Principal, authenticate};
