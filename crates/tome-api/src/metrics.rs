//! Prometheus metrics of one app instance: requests by route and status, a latency
//! histogram, and database pool gauges. Each app owns its registry (no global recorder), so
//! tests can run many apps in one process.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tome");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by method and route", latency.clone());
        registry.register("db_pool_connections", "Database pool connections by state", pool.clone());
        Self { registry, requests, latency, pool }
    }

    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        self.requests.get_or_create(&RequestLabels { method: method.to_owned(), route: route.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method: method.to_owned(), route }).observe(seconds);
    }

    /// The exposition text, with the pool gauges read now.
    pub fn render(&self, pool_open: u32, pool_idle: u32) -> String {
        self.pool.get_or_create(&PoolLabels { state: "open" }).set(i64::from(pool_open));
        self.pool.get_or_create(&PoolLabels { state: "idle" }).set(i64::from(pool_idle));
        self.pool.get_or_create(&PoolLabels { state: "in_use" }).set(i64::from(pool_open.saturating_sub(pool_idle)));
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Records every request. The route label is the matched route template, never the raw
/// path, so that ids in paths cannot blow up the number of series.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Counts a request that matched no route.
pub fn track_unmatched(metrics: &Metrics, method: &str, status: u16) {
    metrics.record(method, "unmatched", status, 0.0);
}

/// Counts a request for the web app (a page or a built file) under the route `web`.
pub fn track_web(metrics: &Metrics, method: &str, status: u16) {
    metrics.record(method, "web", status, 0.0);
}
