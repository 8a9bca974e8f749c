use api::{Application, Config, telemetry};

#[tokio::main]
async fn main() {
    telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            std::process::exit(2);
        }
    };
    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("failed to start: {error}");
            std::process::exit(1);
        }
    };
    println!("{}", application.welcome());
    if let Err(error) = application.run_until_stopped().await {
        eprintln!("server error: {error}");
        std::process::exit(1);
    }
}
