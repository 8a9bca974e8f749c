//! Organizations: the first one made on an empty database ([`bootstrap`]), the people who own
//! them ([`owners`]), and the workspaces those owners make and rename ([`workspaces`], named by
//! [`slugs`]).

pub mod bootstrap;
pub mod owners;
pub mod slugs;
pub mod workspaces;
