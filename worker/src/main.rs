//! The worker process: `cargo run -p worker` with DATABASE_URL, REDIS_URL and SMTP settings.
//! Run as many as you like; each takes jobs from the shared queue.

use platform::db;
use secrecy::ExposeSecret;
use tokio::sync::watch;
use worker::runner::Dependencies;
use worker::service::{run, shutdown_signal};
use worker::{JobQueue, WorkerSettings, mail::Mailer};

#[tokio::main]
async fn main() {
    let telemetry = telemetry::init("offboarding-worker");
    let started = start().await;
    telemetry.shutdown().await;
    if let Err(error) = started {
        eprintln!("worker: {error}");
        std::process::exit(1);
    }
}

async fn start() -> Result<(), worker::WorkerError> {
    let config = WorkerSettings::from_env()?;
    if let Some(address) = config.metrics.worker_address() {
        telemetry::metrics::serve(address).map_err(worker::WorkerError::Config)?;
        tracing::info!(%address, "serving metrics");
    }
    let db = db::connect(config.database.url.expose_secret()).await?;
    let queue = JobQueue::connect(&config.queue).await?;
    let mailer = Mailer::new(&config.mail)?;
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing jobs in flight");
        let _ = stop.send(true);
    });
    tracing::info!(queue = %config.queue.name, "worker started");
    run(Dependencies { db, mailer, config }, queue, stopped).await;
    Ok(())
}
