//! Prometheus metrics at `GET /metrics`: HTTP requests and latency, GraphQL operations, SQL
//! statements, pool use, and the outbox. Labels never carry personal data or client input
//! beyond a fixed set of values.

use std::sync::Arc;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::domain::OutboxStatus;
use crate::service::error::ServiceResult;
use crate::state::AppState;

/// The process's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    graphql_operations: IntCounterVec,
    sql_statements: IntGauge,
    pool: IntGaugeVec,
    outbox: IntGaugeVec,
}

/// Latency buckets in seconds, finer where the screens should answer.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("patchwork_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("metric");
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "patchwork_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(BUCKETS.to_vec()),
            &["route"],
        )
        .expect("metric");
        let graphql_operations = IntCounterVec::new(
            Opts::new(
                "patchwork_graphql_operations_total",
                "GraphQL operations, by outcome: ok, error (some field failed) or refused",
            ),
            &["outcome"],
        )
        .expect("metric");
        // Counters kept elsewhere, copied in at scrape time.
        let sql_statements = IntGauge::new(
            "patchwork_sql_statements_total",
            "SQL statements this process has sent",
        )
        .expect("metric");
        let pool = IntGaugeVec::new(
            Opts::new("patchwork_db_pool_connections", "Database pool connections"),
            &["state"],
        )
        .expect("metric");
        let outbox = IntGaugeVec::new(
            Opts::new(
                "patchwork_outbox_messages",
                "Notifications waiting to be sent, or failed for good",
            ),
            &["status"],
        )
        .expect("metric");
        for m in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_seconds.clone()),
            Box::new(graphql_operations.clone()),
            Box::new(sql_statements.clone()),
            Box::new(pool.clone()),
            Box::new(outbox.clone()),
        ] {
            registry.register(m).expect("register a metric once");
        }
        Metrics(Arc::new(Inner {
            registry,
            http_requests,
            http_seconds,
            graphql_operations,
            sql_statements,
            pool,
            outbox,
        }))
    }

    /// Records one answered HTTP request. `route` is the matched pattern, never the raw path.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.0
            .http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.0
            .http_seconds
            .with_label_values(&[route])
            .observe(seconds);
    }

    /// Records one GraphQL operation's outcome: ok, error or refused.
    pub fn observe_operation(&self, outcome: &str) {
        self.0
            .graphql_operations
            .with_label_values(&[outcome])
            .inc();
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.0.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        // The SQL counter only grows, so expose it with the type its name promises.
        String::from_utf8(out).expect("metrics are UTF-8").replace(
            "# TYPE patchwork_sql_statements_total gauge",
            "# TYPE patchwork_sql_statements_total counter",
        )
    }
}

/// The metrics as Prometheus text, with the gauges (SQL statements, pool, outbox) read now.
pub async fn current(state: &AppState) -> String {
    let metrics = &state.metrics;
    metrics.0.sql_statements.set(state.statements.get() as i64);
    let pool = state.pool.state();
    metrics
        .0
        .pool
        .with_label_values(&["open"])
        .set(i64::from(pool.connections));
    metrics
        .0
        .pool
        .with_label_values(&["idle"])
        .set(i64::from(pool.idle_connections));
    metrics
        .0
        .pool
        .with_label_values(&["max"])
        .set(i64::from(state.pool.max_size()));
    let counts = crate::db::run(&state.pool, |conn| -> ServiceResult<_> {
        Ok(crate::db::notifications::count_by_status(
            conn,
            &[OutboxStatus::Pending, OutboxStatus::Failed],
        )?)
    })
    .await;
    match counts {
        Ok(rows) => {
            for status in [
                OutboxStatus::Pending.as_str(),
                OutboxStatus::Failed.as_str(),
            ] {
                let n = rows
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                metrics
                    .0
                    .outbox
                    .with_label_values(&[&status.to_ascii_lowercase()])
                    .set(n);
            }
        }
        // The rest still tells an operator something; the outbox figures keep their last value.
        Err(err) => tracing::warn!(error = ?err, "could not count the outbox for /metrics"),
    }
    metrics.render()
}
