//! The job side of the service: the relay that feeds the queue, the runner that carries jobs
//! out, and the mail transport they send with. What each kind of job is and does is the rules'
//! (`rules::jobs`), written by the API's changes; the outbox they wait in is `platform`'s.
//!
//! The outbox table is the truth about every job. The queue (Redis, or an SQLite file in the
//! embedded default) only carries "run outbox row X"; losing a queue entry delays a job, never
//! loses it, because the relay pushes again whatever is pending, due for a retry, or queued for
//! too long.

pub mod error;
pub mod mail;
pub mod queue;
pub mod relay;
pub mod runner;
pub mod service;
pub mod settings;

pub use error::WorkerError;
pub use queue::JobQueue;
pub use settings::WorkerSettings;
