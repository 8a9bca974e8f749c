//! Trace context across processes: a mutation's trace context is stored with its offboarding
//! ([`current_trace_parent`]), and each job's span continues it ([`continue_trace`]), so one
//! trace shows a removal and every side effect it caused, in whichever process ran them. The
//! exporter that sends the spans is the `telemetry` crate's.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C `traceparent` of the current span, when it is being traced: what an offboarding
/// stores so that its jobs join the mutation's trace.
pub fn current_trace_parent() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the span a `traceparent` names (one stored by
/// [`current_trace_parent`], or a caller's header); a missing or malformed one leaves it a root.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let parent = TraceContextPropagator::new().extract(&TraceParent(traceparent));
    if parent.span().span_context().is_valid() {
        // Fails only when the span isn't traced (no OTLP endpoint): nothing to continue then.
        let _ = span.set_parent(parent);
    }
}

struct TraceParent<'a>(&'a str);

impl Extractor for TraceParent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}
