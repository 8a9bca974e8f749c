use std::process::ExitCode;

use api::cli::{Cli, Command, run_bootstrap};
use api::{Application, Settings, healthcheck};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    let config = match Settings::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve => serve(config).await,
        Command::Healthcheck => match healthcheck::probe(config.bind_address).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("not ready: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Bootstrap(args) => run_bootstrap(&config, args).await,
    }
}

async fn serve(config: Settings) -> ExitCode {
    let telemetry = telemetry::init("offboarding-api");
    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("failed to start: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", application.welcome());
    let served = application.run_until_stopped().await;
    telemetry.shutdown().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
