//! Logging, human-readable in development and JSON lines in production, and optional trace
//! export over OTLP.
//!
//! Export is on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set: every request's span goes to the collector over OTLP/HTTP (protobuf), in batches, as a
//! child of the caller's `traceparent` when one came. The standard `OTEL_*` variables tune it
//! (headers, timeout, batch delay, sampler); the service is named `patchwork` unless
//! `OTEL_SERVICE_NAME` says otherwise. Spans carry what the log lines carry: ids, method, route,
//! status, actor and operation name, never arguments or personal data.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Keeps the trace exporter alive; dropping it sends the spans still queued.
#[must_use = "dropping the guard stops trace export"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // The exporter's HTTP client blocks: shut it down away from the async runtime.
            let _ = std::thread::spawn(move || provider.shutdown()).join();
        }
    }
}

/// Whether the environment asks for trace export.
pub fn export_requested() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// Installs the global subscriber once (later calls install nothing and return an empty
/// guard). Fails only when trace export was asked for and cannot be set up.
pub fn init(json: bool) -> anyhow::Result<Guard> {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = if json {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.compact().boxed()
    };
    let provider = if export_requested() {
        Some(provider()?)
    } else {
        None
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("patchwork"))
            .with_location(false)
            .with_threads(false)
    });
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .with(filter)
        .try_init()
        .is_ok();
    Ok(Guard {
        provider: provider.filter(|_| installed),
    })
}

fn provider() -> anyhow::Result<SdkTracerProvider> {
    // The exporter's blocking HTTP client must not be built on an async runtime's thread.
    std::thread::spawn(|| {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").is_err() {
            resource = resource.with_service_name("patchwork");
        }
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: the trace exporter panicked"))?
    .map_err(|e: opentelemetry_otlp::ExporterBuildError| {
        anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}")
    })
}
