//! Gives every request an id (the caller's `x-request-id` when it is sane, else a new one),
//! logs within a span carrying it, counts it in the metrics, and returns it on every response.
//! A W3C `traceparent` (Trace Context) is taken up: its trace id is logged with every line of
//! the request, and the response's `traceparent` names the same trace and this request as its
//! span, so a call can be followed from the caller's logs into ours. Without one, the request
//! starts a trace of its own.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;

/// The request's id, readable by handlers from the request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// A W3C trace context: the trace, and the caller's span within it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub parent_id: Option<String>,
    pub sampled: bool,
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses `traceparent` as Trace Context level 1 says: version 00 (or a later one read as
/// 00), a 32-hex trace id and a 16-hex parent id, neither all zeros, and flags.
pub fn parse_traceparent(value: &str) -> Option<TraceContext> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let [version, trace, parent, flags, ..] = parts.as_slice() else {
        return None;
    };
    let version_ok = lower_hex(version, 2) && *version != "ff";
    let exact = *version == "00" && parts.len() == 4;
    if !version_ok || (*version == "00" && !exact) {
        return None;
    }
    if !lower_hex(trace, 32) || !lower_hex(parent, 16) || !lower_hex(flags, 2) {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(TraceContext {
        trace_id: (*trace).to_owned(),
        parent_id: Some((*parent).to_owned()),
        sampled: flags & 1 == 1,
    })
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn acceptable(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let trace = req
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_traceparent)
        .unwrap_or_else(|| TraceContext {
            trace_id: random_hex(16),
            parent_id: None,
            sampled: false,
        });
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        parent_span_id = trace.parent_id.as_deref().unwrap_or(""),
        method = %req.method(),
        path = %req.path(),
        // Filled in by the GraphQL handler: who called, and which operation (never arguments).
        actor = tracing::field::Empty,
        operation = tracing::field::Empty,
    );
    let (trace, span_id) = join_trace(&span, trace);
    span.record("trace_id", trace.trace_id.as_str());
    span.record("span_id", span_id.as_str());
    let started = std::time::Instant::now();
    let metrics = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().clone();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Some(metrics) = metrics {
        let route = res.request().match_pattern();
        metrics.observe_http(
            method.as_str(),
            route.as_deref().unwrap_or("unmatched"),
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "served"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    let flags = if trace.sampled { "01" } else { "00" };
    if let Ok(value) = HeaderValue::from_str(&format!("00-{}-{span_id}-{flags}", trace.trace_id)) {
        res.headers_mut().insert(TRACEPARENT, value);
    }
    Ok(res)
}

/// Makes `span` this request's span in `trace`. When traces are exported, the exporter's span
/// is a child of the caller's and its ids (and sampling decision) are the ones reported;
/// otherwise the span gets an id of its own.
fn join_trace(span: &tracing::Span, trace: TraceContext) -> (TraceContext, String) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    if let Some(parent) = &trace.parent_id {
        let remote = SpanContext::new(
            TraceId::from_hex(&trace.trace_id).unwrap_or(TraceId::INVALID),
            SpanId::from_hex(parent).unwrap_or(SpanId::INVALID),
            if trace.sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let exported = span.context().span().span_context().clone();
    if exported.is_valid() {
        let joined = TraceContext {
            trace_id: exported.trace_id().to_string(),
            parent_id: trace.parent_id,
            sampled: exported.is_sampled(),
        };
        (joined, exported.span_id().to_string())
    } else {
        (trace, random_hex(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_read_as_trace_context_says() {
        let ok =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(ok.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ok.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(ok.sampled);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "nonsense",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
        // A later version may carry more fields; its first four are read as version 00's.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
                .is_some()
        );
    }
}
