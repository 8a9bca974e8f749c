//! Prometheus metrics: the api and the workers record with the `metrics` macros into one
//! recorder per process, which `GET /metrics` renders. README.md ("Operating it") lists every
//! metric.

use std::net::SocketAddr;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds, from a quick request to a slow email.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Members per `removeMembers` call, 1 to 10,000.
const MEMBER_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1_000.0, 10_000.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use; what it renders is the Prometheus text
/// format. (A process has one recorder, so applications started side by side in one process,
/// as the tests do, share their metrics.)
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; metrics then go there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Installs the process's recorder and answers `GET /metrics` (any path, in fact) on `address`
/// with what it recorded: for a worker process, which serves nothing else. Call it inside the
/// Tokio runtime, before anything is recorded.
pub fn serve(address: SocketAddr) -> Result<(), String> {
    let (recorder, exporter) = builder()
        .with_http_listener(address)
        .build()
        .map_err(|error| format!("metrics on {address}: {error}"))?;
    metrics::set_global_recorder(recorder)
        .map_err(|error| format!("metrics on {address}: {error}"))?;
    tokio::spawn(async move {
        if exporter.await.is_err() {
            tracing::error!(%address, "metrics: the listener stopped");
        }
    });
    Ok(())
}

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets(DURATION_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full("members_removed_per_call".into()),
                MEMBER_BUCKETS,
            )
        })
        .expect("bucket lists are not empty")
}
