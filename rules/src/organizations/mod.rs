//! Organizations: the first one made on an empty database ([`bootstrap`]), the people who own
//! them ([`owners`]), the workspaces those owners make and rename ([`workspaces`], named by
//! [`slugs`]), and the tokens they give identity providers ([`scim_tokens`]).

pub mod bootstrap;
pub mod owners;
pub mod scim_tokens;
pub mod slugs;
pub mod workspaces;
