//! What a process reports about itself, installed once by each binary: logs to stderr, traces
//! over OTLP (HTTP, protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and the Prometheus recorder ([`metrics`]). The
//! rules only record (`tracing`, `metrics` macros, `platform::trace`); the exporters live here so
//! that nothing but a binary pulls in an HTTP client to send them.

pub mod metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// What must outlive the process's work: the trace exporter, flushed by [`Telemetry::shutdown`].
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    json: bool,
}

/// The target of the events that greet whoever started the process (where to open what, the
/// demo's token). With `LOG_FORMAT=json` they are JSON lines on stdout, where a person's text
/// welcome goes otherwise; never in the logs on stderr, which must carry no token.
pub const WELCOME: &str = "welcome";

impl Telemetry {
    /// Whether the process speaks JSON (`LOG_FORMAT=json`): then everything it writes is one
    /// JSON event per line, its welcome included (as [`WELCOME`] events).
    pub fn json(&self) -> bool {
        self.json
    }

    /// Sends the spans still buffered. Blocks until they are sent (or the exporter's timeout).
    pub async fn shutdown(self) {
        if let Some(provider) = self.traces {
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = flushed {
                eprintln!("traces: the last spans were not sent: {error}");
            }
        }
    }
}

/// What is traced when traces are exported, whatever `RUST_LOG` keeps of the logs: the spans
/// of requests, operations and jobs, not the database driver's.
const TRACED: &str = "info,sqlx=warn,sea_orm=warn";

/// Installs the process's logging and tracing: `RUST_LOG` filters the logs (default `info`),
/// `LOG_FORMAT=json` for machines, and OTLP traces when an endpoint is configured, under
/// `service` unless `OTEL_SERVICE_NAME` names it.
pub fn init(service: &'static str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(TRACED));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json");
    let logs = fmt::layer().with_writer(std::io::stderr).with_ansi(colours(
        std::io::stderr().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    ));
    let logs = if json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let traces = tracer_provider(service);
    let trace_layer = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("offboarding-service"))
            .with_filter(EnvFilter::new(TRACED))
    });
    let welcome = json.then(|| {
        fmt::layer()
            .json()
            .with_writer(std::io::stdout)
            .with_filter(filter_fn(|event| event.target() == WELCOME))
    });
    tracing_subscriber::registry()
        .with(
            logs.with_filter(filter)
                .with_filter(filter_fn(|event| event.target() != WELCOME)),
        )
        .with(welcome)
        .with(trace_layer)
        .init();
    Telemetry { traces, json }
}

/// Colour codes only for a person at a terminal: not in a file, a pipe or a log collector, and
/// never when `NO_COLOR` is set to anything but the empty string (no-color.org).
fn colours(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

fn configured(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| !value.trim().is_empty())
}

/// The OTLP exporter, when an endpoint is configured. It reads the standard `OTEL_EXPORTER_OTLP_*`
/// variables (endpoint, headers, timeout) itself; an exporter that can't be built is reported
/// and the process runs without traces rather than not at all.
fn tracer_provider(service: &'static str) -> Option<SdkTracerProvider> {
    if !configured("OTEL_EXPORTER_OTLP_ENDPOINT")
        && !configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("traces: not exported, the OTLP exporter failed to start: {error}");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if !configured("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name(service);
    }
    Some(
        SdkTracerProvider::builder()
            .with_resource(resource.build())
            .with_batch_exporter(exporter)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::colours;

    #[test]
    fn colour_codes_only_reach_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some("")), "an empty NO_COLOR is unset");
        assert!(!colours(true, Some("1")));
        assert!(!colours(false, None), "a pipe or a file gets plain text");
    }
}
