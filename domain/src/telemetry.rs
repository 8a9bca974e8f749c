use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr, for the api and the worker alike; `RUST_LOG` filters (default `info`),
/// `LOG_FORMAT=json` for machines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
