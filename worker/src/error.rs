use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("queue: {0}")]
    Queue(String),
    #[error("mail: {0}")]
    Mail(String),
    #[error("job payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("configuration: {0}")]
    Config(String),
}
