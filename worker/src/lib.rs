//! The job side of the service: job definitions, the outbox they are written to, the handlers
//! that carry them out, the relay that feeds the queue, and the worker that runs them.
//!
//! The outbox table is the truth about every job. The queue (Redis, or an SQLite file in the
//! embedded default) only carries "run outbox row X"; losing a queue entry delays a job, never
//! loses it, because the relay pushes again whatever is pending, due for a retry, or queued for
//! too long.

pub mod config;
pub mod db;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod mail;
pub mod outbox;
pub mod queue;
pub mod relay;
pub mod runner;

pub use config::WorkerConfig;
pub use error::WorkerError;
pub use jobs::Job;
pub use queue::JobQueue;
