//! OpenTelemetry traces as an operator collects them: the api binary, started with nothing but
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, sends its spans over OTLP/HTTP to a collector (here a small
//! one in the test), and a removal's trace holds its HTTP request, its GraphQL operation and
//! every job the removal caused, run later by the worker from the stored trace context.

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a failed unwrap is a failed test, and a walk through a feature reads best whole"
)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::{Value, json};
use support::{free_port, start_api, wait_for, workspace_and_gus};

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    attributes: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

type Spans = Arc<Mutex<Vec<Received>>>;

fn text(value: Option<&AnyValue>) -> String {
    match value {
        Some(AnyValue::StringValue(text)) => text.clone(),
        Some(AnyValue::IntValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// OTLP/HTTP's trace endpoint: protobuf in, an empty protobuf answer out.
async fn export(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf request");
    let mut received = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .map(|attribute| text(attribute.value.as_ref().and_then(|v| v.value.as_ref())))
            .unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            received.push(Received {
                service: service.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                name: span.name,
                attributes: span
                    .attributes
                    .iter()
                    .map(|attribute| {
                        (
                            attribute.key.clone(),
                            text(attribute.value.as_ref().and_then(|v| v.value.as_ref())),
                        )
                    })
                    .collect(),
            });
        }
    }
    Vec::new()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn start_collector() -> (String, Spans) {
    let spans = Spans::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/v1/traces", post(export))
        .with_state(spans.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), spans)
}

/// The spans of the removal's trace, once its three jobs are in: spans leave in batches (every
/// 5 s by default), jobs a moment after the mutation.
async fn removal_trace(spans: &Spans, trace_id: &str) -> Vec<Received> {
    wait_for(60, Duration::from_millis(200), async || {
        let trace: Vec<Received> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect();
        let jobs = trace
            .iter()
            .filter(|span| span.name.starts_with("job "))
            .count();
        // Sessions, campaigns, and gus's email.
        if jobs >= 3 {
            Ok(trace)
        } else {
            Err(format!("the removal's jobs in its trace: {trace:#?}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_s_trace_holds_its_request_its_operation_and_every_job() {
    let (collector, spans) = start_collector().await;
    let dir = tempfile::tempdir().unwrap();
    let (api, token) = start_api(
        dir.path(),
        free_port(),
        true,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str())],
    );
    let token = token.expect("the first start prints the owner's token");
    let (workspace, gus) = workspace_and_gus(&api, &token).await;

    // A malformed traceparent is ignored: the request is answered, in a trace of its own.
    let garbage = reqwest::Client::new()
        .post(&api.url)
        .bearer_auth(&token)
        .header("x-request-id", "req-garbage-trace")
        .header("traceparent", "00-zzzz-not-a-trace-99")
        .json(&json!({ "query": "{ viewer { workspace { id } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 200);

    // A caller that traces (a SPA with OpenTelemetry, say) sends its own trace context.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let removed: Value = reqwest::Client::new()
        .post(&api.url)
        .bearer_auth(&token)
        .header("x-request-id", "req-traced-removal")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({
            "query": "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { offboarding { id } userErrors { code } } }",
            "variables": { "input": { "workspaceId": workspace, "userIds": [gus] } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        removed["data"]["removeMembers"]["offboarding"]["id"].is_string(),
        "{removed}"
    );

    let every = Duration::from_millis(200);
    let trace = removal_trace(&spans, trace_id).await;
    let garbage_request = wait_for(30, every, async || {
        let spans = spans.lock().unwrap();
        let found = spans
            .iter()
            .find(|span| span.attribute("request_id") == Some("req-garbage-trace"));
        found.cloned().ok_or("the request with garbage".to_owned())
    })
    .await;
    drop(api);
    assert_eq!(garbage_request.parent_span_id, "", "a root span");
    assert_ne!(garbage_request.trace_id, trace_id);

    let named = |name: &str| {
        trace
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("a span {name}: {trace:#?}"))
    };
    let request = named("POST /graphql");
    assert_eq!(
        request.parent_span_id, caller_span,
        "the request continues the caller's trace"
    );
    assert_eq!(request.attribute("request_id"), Some("req-traced-removal"));
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    assert_eq!(request.service, "offboarding-api");
    let operation = named("mutation removeMembers");
    assert_eq!(operation.parent_span_id, request.span_id);

    let jobs: Vec<&Received> = trace
        .iter()
        .filter(|span| span.name.starts_with("job "))
        .collect();
    for kind in [
        "end_sessions",
        "reattribute_campaigns",
        "send_removal_email",
    ] {
        assert!(
            jobs.iter().any(|job| job.name == format!("job {kind}")),
            "job {kind} in {jobs:#?}"
        );
    }
    for job in &jobs {
        // Each job hangs off the operation that caused it, and says which request that was.
        assert_eq!(job.parent_span_id, operation.span_id, "{job:#?}");
        assert_eq!(job.attribute("request_id"), Some("req-traced-removal"));
    }
}
