use std::fmt::Display;
use std::process::ExitCode;

use api::cli::{Cli, Command, run_bootstrap};
use api::{Application, Settings, healthcheck};
use clap::Parser;
use telemetry::Telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Healthcheck => match settings() {
            Ok(config) => match healthcheck::probe(config.bind_address).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("not ready: {error}");
                    ExitCode::FAILURE
                }
            },
            Err(code) => code,
        },
        Command::Bootstrap(args) => match settings() {
            Ok(config) => run_bootstrap(&config, args).await,
            Err(code) => code,
        },
    }
}

/// The settings for a command run by a person: a refusal is a line on stderr and exit code 2.
fn settings() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|error| {
        eprintln!("configuration error: {error}");
        ExitCode::from(2)
    })
}

/// Runs the service. Everything it writes follows `LOG_FORMAT`: with `json`, its welcome and
/// its failures are JSON events too, one per line.
async fn serve() -> ExitCode {
    let telemetry = telemetry::init("offboarding-api");
    let config = match Settings::from_env() {
        Ok(config) => config,
        Err(error) => return failed(telemetry, "configuration error", error, 2).await,
    };
    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => return failed(telemetry, "failed to start", error, 1).await,
    };
    let welcome = application.welcome();
    if telemetry.json() {
        welcome.emit();
    } else {
        println!("{welcome}");
    }
    match application.run_until_stopped().await {
        Ok(()) => {
            telemetry.shutdown().await;
            ExitCode::SUCCESS
        }
        Err(error) => failed(telemetry, "server error", error, 1).await,
    }
}

/// Says why the service stopped (an event in JSON mode, a line for a person otherwise) and
/// exits with `code`.
async fn failed(telemetry: Telemetry, what: &str, error: impl Display, code: u8) -> ExitCode {
    if telemetry.json() {
        tracing::error!(%error, "{what}");
    } else {
        eprintln!("{what}: {error}");
    }
    telemetry.shutdown().await;
    ExitCode::from(code)
}
