//! The worker process: `cargo run -p worker` with DATABASE_URL, REDIS_URL and SMTP settings.
//! Run as many as you like; each takes jobs from the shared queue.

use std::collections::HashMap;

use platform::db;
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
    let vars: HashMap<String, String> = std::env::vars().collect();
    let config = WorkerSettings::from_vars(&vars)?;
    if let Some(address) = worker::settings::metrics_address(&vars)? {
        telemetry::metrics::serve(address).map_err(worker::WorkerError::Config)?;
        tracing::info!(%address, "serving metrics");
    }
    let database_url = vars
        .get("DATABASE_URL")
        .filter(|url| !url.is_empty())
        .map_or(db::DEFAULT_DATABASE_URL, String::as_str);
    let db = db::connect(database_url).await?;
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
