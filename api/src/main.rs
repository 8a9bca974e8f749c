use api::{Application, Settings, healthcheck};
use clap::{Parser, Subcommand};

/// The offboarding service's GraphQL API (and, in the embedded default, its worker).
/// Configured by environment variables: see the README.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Exit 0 when the API on BIND_ADDRESS is ready (GET /readyz), 1 when it isn't: for
    /// container healthchecks.
    Healthcheck,
}

#[tokio::main]
async fn main() {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    let config = match Settings::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            std::process::exit(2);
        }
    };
    match command {
        Command::Serve => serve(config).await,
        Command::Healthcheck => {
            if let Err(error) = healthcheck::probe(config.bind_address).await {
                eprintln!("not ready: {error}");
                std::process::exit(1);
            }
        }
    }
}

async fn serve(config: Settings) {
    let telemetry = telemetry::init("offboarding-api");
    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("failed to start: {error}");
            std::process::exit(1);
        }
    };
    println!("{}", application.welcome());
    let served = application.run_until_stopped().await;
    telemetry.shutdown().await;
    if let Err(error) = served {
        eprintln!("server error: {error}");
        std::process::exit(1);
    }
}
