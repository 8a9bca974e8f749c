use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The queue failed while doing `context`; the cause is kept, and shown in logs.
    #[error("queue: {context}: {source}")]
    Queue {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The job itself failed: its database work, or its email.
    #[error(transparent)]
    Job(#[from] rules::jobs::JobError),
    #[error("job payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("panicked: {0}")]
    Panicked(String),
    /// The job ran out of time; it may be retried.
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// Its attempts are spent by runs that never reported back (timed out, or the worker died).
    #[error("gave up after {0} attempts that never finished")]
    GaveUp(i32),
    #[error("configuration: {0}")]
    Config(String),
}

impl WorkerError {
    /// The database aborted the job's transaction for a conflict with another one
    /// ([`platform::db::is_transient_conflict`]): running it again will likely pass.
    pub fn is_transient_conflict(&self) -> bool {
        match self {
            WorkerError::Database(error) => platform::db::is_transient_conflict(error),
            WorkerError::Job(error) => error.is_transient_conflict(),
            _ => false,
        }
    }

    /// A queue failure while doing `context`, keeping what caused it.
    pub fn queue(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> WorkerError {
        WorkerError::Queue {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Whether running the same job again could ever succeed; if not, it is DEAD at once.
    pub fn can_never_succeed(&self) -> bool {
        match self {
            WorkerError::Job(error) => error.can_never_succeed(),
            WorkerError::Payload(_) | WorkerError::GaveUp(_) => true,
            _ => false,
        }
    }
}
