//! Organizations: the first one made on an empty database ([`bootstrap`]), the people who own
//! them ([`owners`]), the workspaces those owners make and rename ([`workspaces`], named by
//! [`slugs`]), the tokens they give identity providers ([`scim_tokens`]), and the people of an
//! organization as those providers see them ([`people`]).

pub mod bootstrap;
pub mod owners;
pub mod people;
pub mod scim_tokens;
pub mod slugs;
pub mod workspaces;
