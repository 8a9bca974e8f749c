//! What the API and the worker share: who acts ([`Actor`]), the audit trail's entries, the outbox
//! that holds the jobs a change leaves behind, the database connection, and the
//! reading of configuration from the environment. The API writes changes with their audit
//! entries and outbox rows in one transaction; the worker runs the jobs and writes its own audit
//! entries, through the same functions.

pub mod actor;
pub mod audit;
pub mod db;
pub mod environment;
pub mod locks;
pub mod outbox;
pub mod tokens;
pub mod trace;

pub use actor::{Actor, ActorColumns};
