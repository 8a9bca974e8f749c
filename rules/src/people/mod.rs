//! The people of a workspace: listing them, inviting them, and the seats they take.

pub mod detail;
pub mod duties;
pub mod groups;
pub mod guards;
pub mod invitations;
pub mod members;
pub mod removed;
pub mod roles;
pub mod seats;
pub mod selection;
