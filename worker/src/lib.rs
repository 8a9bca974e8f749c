//! The job side of the service: the handlers that carry jobs out, the mail they send, the relay
//! that feeds the queue, and the worker that runs them. The jobs themselves and the outbox they
//! wait in are `platform`'s, shared with the API that writes them.
//!
//! The outbox table is the truth about every job. The queue (Redis, or an SQLite file in the
//! embedded default) only carries "run outbox row X"; losing a queue entry delays a job, never
//! loses it, because the relay pushes again whatever is pending, due for a retry, or queued for
//! too long.

pub mod error;
pub mod handlers;
pub mod mail;
pub mod queue;
pub mod relay;
pub mod runner;
pub mod service;
pub mod settings;

pub use error::WorkerError;
pub use queue::JobQueue;
pub use settings::WorkerSettings;
